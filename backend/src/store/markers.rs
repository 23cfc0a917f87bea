//! The idempotence markers of `claims-notifications` and `claims-analytics`: sorted sets of
//! the entry ids already applied, scored by the id's milliseconds. A marker is only needed
//! while its entry can still be delivered again, that is while it is pending or not yet
//! delivered; everything older than the group's oldest pending entry (or its cursor, when
//! nothing is pending) is acknowledged for good, so those markers are trimmed. When to trim
//! is the workers' business.

use super::db::{Db, DbError};
use super::groups;
use super::keys;
use super::trace::Trace;

/// The marker set of each group that has one.
pub fn of_group(group: &str) -> Option<String> {
    match group {
        keys::NOTIFICATIONS_GROUP => Some(keys::notified()),
        keys::ANALYTICS_GROUP => Some(keys::counted()),
        _ => None,
    }
}

/// The score of an entry id: its milliseconds.
pub fn score(entry_id: &str) -> u64 {
    entry_id
        .split('-')
        .next()
        .and_then(|ms| ms.parse().ok())
        .unwrap_or(0)
}

/// Trims `group`'s markers below what it may still be handed again; returns how many went.
pub async fn trim(db: &Db, group: &str) -> Result<u64, DbError> {
    let Some(marker) = of_group(group) else {
        return Ok(0);
    };
    let mut trace = Trace::off();
    // The oldest entry the group may still be handed, over every partition. The cursor is
    // read first: every entry up to it was delivered by then, so any of them not acknowledged
    // is in the pending list read after it. Read the other way round, a batch delivered
    // between the two reads would count as acknowledged, its markers would go while it is
    // still pending, and a consumer claiming it later would notify it a second time.
    let mut floor = u64::MAX;
    for partition in db.partitions.all() {
        let stream = partition.events();
        let cursor = groups::groups(db, &mut trace, &stream)
            .await?
            .into_iter()
            .find(|g| g.name == group)
            .map(|g| g.last_delivered_id);
        let Some(cursor) = cursor else {
            return Ok(0);
        };
        let pending = groups::pending_summary(db, &mut trace, &stream, group).await?;
        let oldest_pending = pending.oldest.as_deref().map_or(u64::MAX, score);
        floor = floor.min(score(&cursor)).min(oldest_pending);
    }
    if floor == 0 {
        return Ok(0);
    }
    // Exclusive: an entry in the same millisecond as the floor may still come.
    db.run(
        &mut trace,
        &["ZREMRANGEBYSCORE", &marker, "-inf", &format!("({floor}")],
    )
    .await
}

/// Unlinks the markers of the hash-based layout of earlier versions: never read any more.
pub async fn unlink_earlier_layout(db: &Db) -> Result<(), DbError> {
    db.run::<i64, _>(
        &mut Trace::off(),
        &[&["UNLINK"][..], &keys::EARLIER_MARKERS].concat(),
    )
    .await
    .map(drop)
}
