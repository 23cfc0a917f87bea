//! The dead letters in Redis: each partition's `claims:failed` (`MAXLEN`-free: a letter stays
//! until it is replayed or discarded; the API lists at most a page at a time), a letter's
//! fields (`original_id`, `stream`, `group`, `consumer`, `error`, `attempts`, `failed_at`, and
//! the entry's own fields as `entry.<name>`), and `claims:failed:log` (`MAXLEN ~`), the record
//! of what became of each. What a group does with a letter is the workers' business.

use shared::Timestamp;
use shared::api::StreamEntry;
use shared::causes::Causes;

use crate::store::db::{Db, DbError};
use crate::store::keys::{self, Partition};
use crate::store::reply;
use crate::store::streams::Pages;
use crate::store::trace::Trace;

/// An entry a group gave up on, to be lettered.
pub struct DeadLetter<'a> {
    pub partition: Partition,
    pub entry: &'a StreamEntry,
    pub group: &'a str,
    pub consumer: &'a str,
    pub error: &'a str,
    pub attempts: u64,
    pub failed_at: Timestamp,
}

/// Records the entry in its partition's dead letters and acknowledges it for the group, in
/// one transaction, so it is neither lost nor left pending. One exception: on a cluster with
/// one partition, `claims:failed` has a slot of its own, so the letter is written first and
/// the entry acknowledged after; a crash between them delivers the entry again, and it may
/// be lettered twice (its `original_id` tells).
pub async fn send(db: &Db, trace: &mut Trace, letter: DeadLetter<'_>) -> Result<String, DbError> {
    let attempts = letter.attempts.to_string();
    let failed_at = letter.failed_at.to_string();
    let (failed, stream) = (letter.partition.failed(), letter.partition.events());
    let causes = Causes::reacting_to(&letter.entry.id, &letter.entry.fields);
    let mut xadd = vec![
        "XADD",
        failed.as_str(),
        "*",
        "original_id",
        letter.entry.id.as_str(),
        "stream",
        stream.as_str(),
        "group",
        letter.group,
        "consumer",
        letter.consumer,
        "error",
        letter.error,
        "attempts",
        &attempts,
        "failed_at",
        &failed_at,
    ];
    for (k, v) in causes.fields() {
        xadd.push(k);
        xadd.push(v);
    }
    // The original fields ride along, prefixed, so the letter is readable on its own.
    let prefixed: Vec<(String, &str)> = letter
        .entry
        .fields
        .iter()
        .map(|(k, v)| (format!("entry.{k}"), v.as_str()))
        .collect();
    for (k, v) in &prefixed {
        xadd.push(k);
        xadd.push(v);
    }
    let commands = [
        xadd,
        vec![
            "XACK",
            stream.as_str(),
            letter.group,
            letter.entry.id.as_str(),
        ],
    ];
    let replies = db.together(trace, &commands).await?;
    Ok(replies.first().and_then(reply::text).unwrap_or_default())
}

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

    /// The group that gave up on the entry. A letter another program wrote (the lab's:
    /// `original_id`, `error_message`, `failed_at`, then the entry's own fields) names none:
    /// its entry is the processors' to handle, as the lab's own consumer does.
    pub fn group(&self) -> &str {
        match self.field("group") {
            "" => crate::store::keys::PROCESSORS,
            group => group,
        }
    }
}

/// The letter `id` of `partition`, if there is one.
pub async fn find(
    db: &Db,
    trace: &mut Trace,
    partition: Partition,
    id: &str,
) -> Result<Option<Letter>, DbError> {
    let found = super::streams::entry(db, trace, &partition.failed(), id).await?;
    Ok(found.map(|(id, fields)| Letter {
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
