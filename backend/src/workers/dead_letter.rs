//! `claims:failed`: entries a group gave up on, with what is needed to understand and replay them.

use shared::api::StreamEntry;

use crate::db::{Db, DbError};
use crate::keys;
use crate::redis_cli::Trace;

pub struct DeadLetter<'a> {
    pub entry: &'a StreamEntry,
    pub group: &'a str,
    pub consumer: &'a str,
    pub error: &'a str,
    pub attempts: u64,
}

/// Records the entry in `claims:failed` and acknowledges it for the group, in one transaction,
/// so it is neither lost nor left pending.
pub async fn send(db: &Db, trace: &mut Trace, letter: DeadLetter<'_>) -> Result<String, DbError> {
    let attempts = letter.attempts.to_string();
    let failed_at = crate::commands::now().to_string();
    let mut xadd = vec![
        "XADD",
        keys::FAILED,
        "*",
        "original_id",
        letter.entry.id.as_str(),
        "stream",
        keys::EVENTS,
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
    let replies = db
        .transaction(
            trace,
            &[
                xadd,
                vec!["XACK", keys::EVENTS, letter.group, letter.entry.id.as_str()],
            ],
        )
        .await?;
    Ok(replies
        .first()
        .and_then(crate::db::text)
        .unwrap_or_default())
}
