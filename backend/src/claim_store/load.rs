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
    let history = keys::history(claim_id);
    let snapshot_key = keys::snapshot(claim_id);
    let mut reads = vec![vec!["LRANGE", history.as_str(), "0", "-1"]];
    if replay == Replay::FromSnapshot {
        reads.push(vec!["GET", snapshot_key.as_str()]);
    }
    let replies = db.pipeline(trace, &reads).await?;
    let mut ids: Vec<String> = match replies.first() {
        Some(Value::Array(ids)) => ids.iter().filter_map(db::text).collect(),
        _ => Vec::new(),
    };
    if let Some(until) = until {
        ids.retain(|id| id.parse::<EntryId>().is_ok_and(|id| id <= until));
    }
    let snapshot = replies
        .get(1)
        .and_then(db::text)
        .and_then(|json| match Snapshot::trusted(&json, &ids) {
            Ok(s) => Some(s),
            Err(why) => {
                tracing::debug!(claim_id, %why, "snapshot not used");
                None
            }
        });
    let (start, mut claim, snapshot_version) = match snapshot {
        Some(s) => (s.version as usize, s.claim, Some(s.version)),
        None => (0, Claim::default(), None),
    };

    let tail = &ids[start..];
    let reads: Vec<Vec<&str>> = tail
        .iter()
        .map(|id| vec!["XRANGE", keys::EVENTS, id, id])
        .collect();
    let replies = if reads.is_empty() {
        Vec::new()
    } else {
        db.pipeline(trace, &reads).await?
    };
    let mut entries = Vec::with_capacity(tail.len());
    let mut states = Vec::new();
    for (n, reply) in replies.iter().enumerate() {
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

    // Rebuild a missing, stale or untrusted snapshot once enough events are folded past it.
    let every = db.snapshot_every;
    if replay == Replay::FromSnapshot && until.is_none() && every > 0 && tail.len() as u64 >= every
    {
        if let Some(last) = ids.last() {
            save_snapshot(db, trace, claim_id, &claim, last).await?;
        }
    }
    Ok(LoadedClaim {
        claim,
        entries,
        states,
        snapshot_version,
        last_entry_id: ids.last().cloned(),
    })
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
