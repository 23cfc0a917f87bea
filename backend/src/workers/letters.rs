//! What the API does with dead letters: find one, list a group's, replay one for its group
//! (its entry handled again, as a consumer would) or discard it. Either way the letter leaves
//! its stream and a record of what happened goes to `claims:failed:log`. It knows nothing of
//! HTTP: a letter's name is parsed by the caller, and its errors say what went wrong.

use shared::Timestamp;
use shared::api::StreamEntry;

use super::supervisor::{WorkerError, Workers};
use crate::events::feed::tagged;
use crate::store::db::{Db, DbError};
use crate::store::keys::{self, Partition};
use crate::store::reply;
use crate::store::streams::Pages;
use crate::store::trace::Trace;

/// Letters read per page when a group's are listed.
const PAGE: usize = 500;

/// A letter in a partition's `claims:failed`, as stored.
#[derive(Debug, Clone)]
pub struct Letter {
    pub partition: Partition,
    pub id: String,
    pub fields: Vec<(String, String)>,
}

impl Letter {
    /// The letter's name in the API: its id, with its partition when there are several.
    pub fn name(&self) -> String {
        self.partition.marker(&self.id)
    }

    /// A field of the letter, or "" when it has none.
    pub fn field(&self, name: &str) -> &str {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }

    /// The group that gave up on the entry.
    pub fn group(&self) -> &str {
        self.field("group")
    }
}

/// Why a replay did not happen; the letter stays.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("entry {original} is no longer in {stream}; discard the letter instead")]
    EntryGone { original: String, stream: String },
    #[error("the replay failed again: {0}")]
    FailedAgain(String),
    #[error(transparent)]
    Group(#[from] WorkerError),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// The letter `id` of `partition`, if there is one.
pub async fn find(
    db: &Db,
    trace: &mut Trace,
    partition: Partition,
    id: &str,
) -> Result<Option<Letter>, DbError> {
    let reply = db
        .run(trace, &["XRANGE", &partition.failed(), id, id])
        .await?;
    Ok(reply::entries(reply)
        .into_iter()
        .next()
        .map(|(id, fields)| Letter {
            partition,
            id,
            fields,
        }))
}

/// Every letter of `group`, oldest first in each partition, up to `max`.
pub async fn of_group(
    db: &Db,
    trace: &mut Trace,
    group: &str,
    max: usize,
) -> Result<Vec<Letter>, DbError> {
    let mut letters = Vec::new();
    for partition in db.partitions.all() {
        let mut pages = Pages::new(partition.failed(), "+", PAGE);
        while let Some(page) = pages.next(db, trace).await? {
            for (id, fields) in page {
                let letter = Letter {
                    partition,
                    id,
                    fields,
                };
                if letter.group() == group && letters.len() < max {
                    letters.push(letter);
                }
            }
            if letters.len() >= max {
                break;
            }
        }
    }
    Ok(letters)
}

/// Removes the letter and records why (`action`) in `claims:failed:log`, kept near `keep`
/// entries, in one transaction (on a cluster: the record first).
pub async fn close(
    db: &Db,
    trace: &mut Trace,
    letter: &Letter,
    action: &str,
    at: Timestamp,
    keep: u64,
) -> Result<(), DbError> {
    let (name, failed) = (letter.name(), letter.partition.failed());
    let (at, keep) = (at.to_string(), keep.to_string());
    db.together(
        trace,
        &[
            vec![
                "XADD",
                keys::FAILED_LOG,
                "MAXLEN",
                "~",
                &keep,
                "*",
                "action",
                action,
                "letter_id",
                &name,
                "original_id",
                letter.field("original_id"),
                "group",
                letter.group(),
                "at",
                &at,
            ],
            vec!["XDEL", failed.as_str(), &letter.id],
        ],
    )
    .await?;
    Ok(())
}

/// Handles the letter's entry again for its group, then closes the letter (at `at`); says
/// what was done.
pub async fn replay(
    db: &Db,
    trace: &mut Trace,
    workers: &Workers,
    letter: &Letter,
    at: Timestamp,
    keep: u64,
) -> Result<String, ReplayError> {
    let group = workers.group(letter.group())?;
    let original = letter.field("original_id");
    let stream = letter.partition.events();
    let reply = db
        .run(trace, &["XRANGE", &stream, original, original])
        .await?;
    let Some((entry_id, fields)) = reply::entries(reply).into_iter().next() else {
        return Err(ReplayError::EntryGone {
            original: original.to_owned(),
            stream,
        });
    };
    let entry = tagged(letter.partition, StreamEntry::decode(entry_id, fields));
    group
        .process(db, entry)
        .await
        .map_err(ReplayError::FailedAgain)?;
    close(db, trace, letter, "replayed", at, keep).await?;
    Ok(format!(
        "entry {original} processed again; letter {} removed",
        letter.name()
    ))
}
