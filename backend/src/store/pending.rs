//! A group's pending entries one at a time, as a console lists them: a page of the pending
//! list, finding one entry, and acknowledging or claiming just that one. Which group and
//! which consumer is for the caller to say.

use redis::Value;

use crate::store::db::{Db, DbError};
use crate::store::groups::PendingEntry;
use crate::store::trace::Trace;

/// Up to `count` entries of `group`'s pending list on `stream` after `after` (from the start
/// when none), of `consumer` only if given, oldest first.
pub async fn page(
    db: &Db,
    trace: &mut Trace,
    stream: &str,
    group: &str,
    after: Option<&str>,
    count: usize,
    consumer: Option<&str>,
) -> Result<Vec<PendingEntry>, DbError> {
    let start = after.map_or_else(|| "-".to_owned(), |id| format!("({id}"));
    let count = count.to_string();
    let mut args = vec![
        "XPENDING",
        stream,
        group,
        start.as_str(),
        "+",
        count.as_str(),
    ];
    args.extend(consumer);
    let reply: Value = db.run(trace, &args).await?;
    Ok(PendingEntry::all_in(&reply))
}

/// Entry `id` of `group`'s pending list on `stream`, if it is pending there; and whether
/// `stream` holds an entry `id` at all.
pub async fn find(
    db: &Db,
    trace: &mut Trace,
    stream: &str,
    group: &str,
    id: &str,
) -> Result<(Option<PendingEntry>, bool), DbError> {
    let replies = db
        .pipeline(
            trace,
            &[
                vec!["XPENDING", stream, group, id, id, "1"],
                vec!["XRANGE", stream, id, id, "COUNT", "1"],
            ],
        )
        .await?;
    let pending = replies
        .first()
        .map(PendingEntry::all_in)
        .and_then(|found| found.into_iter().next());
    let exists = matches!(replies.get(1), Some(Value::Array(found)) if !found.is_empty());
    Ok((pending, exists))
}

/// Acknowledges entry `id` for `group` on `stream`: whether it was pending there.
pub async fn ack_one(
    db: &Db,
    trace: &mut Trace,
    stream: &str,
    group: &str,
    id: &str,
) -> Result<bool, DbError> {
    let acked: u64 = db.run(trace, &["XACK", stream, group, id]).await?;
    Ok(acked == 1)
}

/// Gives entry `id` to `consumer` if it has been idle `min_idle_ms` (`XCLAIM`, which counts
/// a delivery; with `force`, even if no consumer of the group has it): whether it moved.
#[allow(clippy::too_many_arguments)]
pub async fn claim_one(
    db: &Db,
    trace: &mut Trace,
    stream: &str,
    group: &str,
    consumer: &str,
    min_idle_ms: u64,
    id: &str,
    force: bool,
) -> Result<bool, DbError> {
    let idle = min_idle_ms.to_string();
    let mut args = vec!["XCLAIM", stream, group, consumer, idle.as_str(), id];
    if force {
        args.push("FORCE");
    }
    let moved: Value = db.run(trace, &args).await?;
    Ok(matches!(moved, Value::Array(entries) if !entries.is_empty()))
}
