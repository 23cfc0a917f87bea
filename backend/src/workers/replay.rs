//! Replaying a dead letter for its group: its entry handled again, as a consumer would, then
//! the letter closed (`store::letters`). It knows nothing of HTTP: its errors say what went
//! wrong.

use shared::Timestamp;
use shared::api::StreamEntry;

use super::supervisor::{WorkerError, Workers};
use crate::events::feed::tagged;
use crate::store::db::{Db, DbError};
use crate::store::letters::{Letter, close};
use crate::store::streams;
use crate::store::trace::Trace;

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

/// Handles the letter's entry again for its group, then closes the letter (at `at`); says
/// what was done.
pub async fn letter(
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
    let Some((entry_id, fields)) = streams::entry(db, trace, &stream, original).await? else {
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
