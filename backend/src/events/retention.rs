//! Trimming a stream safely: what a trim would remove, and what stands against it (a group
//! that has not read or acknowledged what goes; a claim whose events go without a snapshot
//! covering them, so it could no longer be loaded).

use std::collections::HashMap;

use shared::snapshot::SNAPSHOT_SCHEMA;

use crate::store::db::{Db, DbError};
use crate::store::entry_id::EntryId;
use crate::store::groups;
use crate::store::keys::Partition;
use crate::store::streams::Pages;
use crate::store::trace::Trace;
pub use crate::store::trim::{Cut, Plan, plan, trim};

/// Entries of `claims:events` a trim checks claim by claim at most; a larger trim is refused
/// unless forced, because its claims were not all checked.
pub const MAX_CHECKED: u64 = 100_000;

/// What stands against removing everything up to `last_removed`.
pub async fn blockers(
    db: &Db,
    trace: &mut Trace,
    stream: &str,
    last_removed: &str,
) -> Result<Vec<String>, DbError> {
    let Ok(last) = last_removed.parse::<EntryId>() else {
        return Ok(Vec::new());
    };
    let mut blockers = groups_behind(db, trace, stream, last).await?;
    if let Some(partition) = db.partitions.by_stream(stream) {
        blockers.extend(claims_uncovered(db, trace, partition, last_removed).await?);
    }
    Ok(blockers)
}

async fn groups_behind(
    db: &Db,
    trace: &mut Trace,
    stream: &str,
    last: EntryId,
) -> Result<Vec<String>, DbError> {
    let mut blockers = Vec::new();
    for group in groups::groups(db, trace, stream).await? {
        let (name, delivered) = (&group.name, &group.last_delivered_id);
        if delivered.parse::<EntryId>().is_ok_and(|d| d < last) {
            blockers.push(format!(
                "group {name} has not read everything that would go (it has read up to {delivered})"
            ));
        }
        if group.pending > 0 {
            let pending = groups::pending_summary(db, trace, stream, name).await?;
            let oldest = pending.oldest.unwrap_or_default();
            if oldest.parse::<EntryId>().is_ok_and(|o| o <= last) {
                blockers.push(format!(
                    "group {name} has {} entries read but not acknowledged, the oldest {oldest}",
                    pending.count
                ));
            }
        }
    }
    Ok(blockers)
}

/// Claims with events up to `last_removed` whose snapshot does not cover the last of them.
async fn claims_uncovered(
    db: &Db,
    trace: &mut Trace,
    partition: Partition,
    last_removed: &str,
) -> Result<Vec<String>, DbError> {
    let stream = partition.events();
    // The newest removed entry of each claim.
    let mut newest: HashMap<String, EntryId> = HashMap::new();
    let mut checked = 0u64;
    let mut pages = Pages::new(stream.clone(), last_removed, 1000);
    while let Some(page) = pages.next(db, trace).await? {
        for (id, fields) in page {
            checked += 1;
            let claim = fields
                .iter()
                .find(|(k, _)| k == "claim_id")
                .map(|(_, v)| v)
                .filter(|c| shared::ClaimId::parse(c).is_ok());
            if let (Some(claim), Ok(id)) = (claim, id.parse::<EntryId>()) {
                newest.insert(claim.clone(), id);
            }
        }
        if !pages.done() && checked >= MAX_CHECKED {
            return Ok(vec![format!(
                "more than {MAX_CHECKED} entries would go; their claims' snapshots were not all checked"
            )]);
        }
    }
    let claims: Vec<(String, EntryId)> = newest.into_iter().collect();
    let mut uncovered = Vec::new();
    for chunk in claims.chunks(1000) {
        let ids: Vec<&str> = chunk.iter().map(|(c, _)| c.as_str()).collect();
        let found = crate::store::claims::snapshots(db, partition, &ids).await?;
        for ((claim, last), snapshot) in chunk.iter().zip(found) {
            let covered = snapshot
                .filter(|s| s.schema == SNAPSHOT_SCHEMA)
                .and_then(|s| s.entry_id.parse::<EntryId>().ok())
                .is_some_and(|covers| covers >= *last);
            if !covered {
                uncovered.push(claim.clone());
            }
        }
    }
    if uncovered.is_empty() {
        return Ok(Vec::new());
    }
    uncovered.sort();
    let examples = uncovered
        .iter()
        .take(5)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    Ok(vec![format!(
        "{} claims would lose events that no snapshot covers (e.g. {examples}); they could no longer be loaded",
        uncovered.len()
    )])
}
