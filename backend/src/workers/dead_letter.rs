//! `claims:failed` (per partition): entries a group gave up on, with what is needed to understand and replay them.

use shared::Timestamp;
use shared::api::StreamEntry;

use crate::store::db::{Db, DbError};
use crate::store::keys::Partition;
use crate::store::trace::Trace;

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
    Ok(replies
        .first()
        .and_then(crate::store::reply::text)
        .unwrap_or_default())
}
