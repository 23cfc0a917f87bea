//! Loading a claim: its index (the history list) says which entries are its events; the
//! newest trusted snapshot saves folding all of them.

use redis::Value;
use shared::api::StreamEntry;
use shared::snapshot::Snapshot;
use shared::{Claim, upcast};

use crate::db::{self, Db, DbError};
use crate::entry_id::EntryId;
use crate::keys;
use crate::redis_cli::Trace;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replay {
    /// Start from the newest snapshot that can be trusted.
    FromSnapshot,
    /// Fold every event, keeping the state after each (for showing the fold).
    Full,
}

/// A claim as folded from its events.
pub struct LoadedClaim {
    pub claim: Claim,
    /// The entries folded, oldest first: all of them with [`Replay::Full`], else those after
    /// the snapshot.
    pub entries: Vec<StreamEntry>,
    /// The claim after each of `entries`, with [`Replay::Full`] only.
    pub states: Vec<Claim>,
    /// The version of the snapshot the fold started from.
    pub snapshot_version: Option<u64>,
    /// The id of the claim's last event (within the bound asked for).
    pub last_entry_id: Option<String>,
}

pub async fn load(db: &Db, trace: &mut Trace, claim_id: &str) -> Result<LoadedClaim, DbError> {
    load_until(db, trace, claim_id, Replay::FromSnapshot, None).await
}

/// The claim as its events up to `until` (an entry id, inclusive) left it.
pub async fn load_until(
    db: &Db,
    trace: &mut Trace,
    claim_id: &str,
    replay: Replay,
    until: Option<EntryId>,
) -> Result<LoadedClaim, DbError> {
    let mut loaded = load_all(db, trace, &[claim_id], replay, until).await?;
    Ok(loaded.pop().expect("one claim asked, one loaded"))
}

/// Several claims, with three round trips whatever their number: their indexes and
/// snapshots, then the events after the snapshots, then the snapshots that are due.
pub async fn load_many(
    db: &Db,
    trace: &mut Trace,
    claim_ids: &[&str],
) -> Result<Vec<LoadedClaim>, DbError> {
    load_all(db, trace, claim_ids, Replay::FromSnapshot, None).await
}

/// Where one claim's fold starts: its index (within the bound) and a trusted snapshot.
struct Plan {
    ids: Vec<String>,
    start: usize,
    claim: Claim,
    snapshot_version: Option<u64>,
}

async fn load_all(
    db: &Db,
    trace: &mut Trace,
    claim_ids: &[&str],
    replay: Replay,
    until: Option<EntryId>,
) -> Result<Vec<LoadedClaim>, DbError> {
    if claim_ids.is_empty() {
        return Ok(Vec::new());
    }
    let from_snapshot = replay == Replay::FromSnapshot;
    let histories: Vec<String> = claim_ids.iter().map(|c| keys::history(c)).collect();
    let snapshot_keys: Vec<String> = claim_ids.iter().map(|c| keys::snapshot(c)).collect();
    let mut reads = Vec::with_capacity(claim_ids.len() * 2);
    for (history, snapshot) in histories.iter().zip(&snapshot_keys) {
        reads.push(vec!["LRANGE", history.as_str(), "0", "-1"]);
        if from_snapshot {
            reads.push(vec!["GET", snapshot.as_str()]);
        }
    }
    let replies = db.pipeline(trace, &reads).await?;
    let per_claim = if from_snapshot { 2 } else { 1 };
    let plans: Vec<Plan> = claim_ids
        .iter()
        .zip(replies.chunks(per_claim))
        .map(|(claim_id, replies)| plan(claim_id, replies, until))
        .collect();

    let reads: Vec<Vec<&str>> = plans
        .iter()
        .flat_map(|p| &p.ids[p.start..])
        .map(|id| vec!["XRANGE", keys::EVENTS, id, id])
        .collect();
    let mut replies = if reads.is_empty() {
        Vec::new()
    } else {
        db.pipeline(trace, &reads).await?
    }
    .into_iter();

    let mut loaded = Vec::with_capacity(plans.len());
    for (claim_id, plan) in claim_ids.iter().zip(plans) {
        let tail: Vec<Value> = replies.by_ref().take(plan.ids.len() - plan.start).collect();
        let claim = fold(plan, &tail, replay);
        // Rebuild a missing, stale or untrusted snapshot once enough events are folded past it.
        let every = db.snapshot_every;
        if let Some(last) = claim.last_entry_id.as_ref().filter(|_| {
            from_snapshot && until.is_none() && every > 0 && claim.entries.len() as u64 >= every
        }) {
            save_snapshot(db, trace, claim_id, &claim.claim, last).await?;
        }
        loaded.push(claim);
    }
    Ok(loaded)
}

fn plan(claim_id: &str, replies: &[Value], until: Option<EntryId>) -> Plan {
    let mut ids: Vec<String> = match replies.first() {
        Some(Value::Array(ids)) => ids.iter().filter_map(db::text).collect(),
        _ => Vec::new(),
    };
    if let Some(until) = until {
        ids.retain(|id| id.parse::<EntryId>().is_ok_and(|id| id <= until));
    }
    let snapshot =
        replies
            .get(1)
            .and_then(db::text)
            .and_then(|json| match Snapshot::trusted(&json, &ids) {
                Ok(s) => Some(s),
                Err(why) => {
                    tracing::debug!(claim_id, %why, "snapshot not used");
                    None
                }
            });
    match snapshot {
        Some(s) => Plan {
            ids,
            start: s.version as usize,
            claim: s.claim,
            snapshot_version: Some(s.version),
        },
        None => Plan {
            ids,
            start: 0,
            claim: Claim::default(),
            snapshot_version: None,
        },
    }
}

/// Folds the events after the plan's start into its claim.
fn fold(plan: Plan, tail: &[Value], replay: Replay) -> LoadedClaim {
    let Plan {
        ids,
        start,
        mut claim,
        snapshot_version,
    } = plan;
    let mut entries = Vec::with_capacity(tail.len());
    let mut states = Vec::new();
    for (n, reply) in tail.iter().enumerate() {
        // An entry trimmed from the stream still counts: the index is what versions count.
        let version = (start + n + 1) as u64;
        for (id, fields) in db::entries(reply) {
            let mut entry = StreamEntry::decode(id, fields);
            if let Some(event) = &mut entry.event {
                upcast::complete(&claim, event);
                shared::apply(&mut claim, event);
            }
            claim.version = version;
            if replay == Replay::Full {
                states.push(claim.clone());
            }
            entries.push(entry);
        }
        claim.version = version;
    }
    claim.version = ids.len() as u64;
    LoadedClaim {
        claim,
        entries,
        states,
        snapshot_version,
        last_entry_id: ids.last().cloned(),
    }
}

/// Writes the snapshot of `claim`, whose last event is `entry_id`. A snapshot only saves
/// work, so it is written after the append, not inside it.
pub async fn save_snapshot(
    db: &Db,
    trace: &mut Trace,
    claim_id: &str,
    claim: &Claim,
    entry_id: &str,
) -> Result<(), DbError> {
    let json = Snapshot::of(claim, entry_id).to_json();
    db.run::<(), _>(trace, &["SET", &keys::snapshot(claim_id), &json])
        .await
}
