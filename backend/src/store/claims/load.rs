//! Loading a claim: its index (the history list) says which entries are its events; the
//! newest trusted snapshot saves folding all of them.

use std::collections::HashMap;

use redis::Value;
use shared::api::StreamEntry;
use shared::snapshot::Snapshot;
use shared::{Claim, upcast};

use super::Claims;
use crate::store::db::{Db, DbError};
use crate::store::entry_id::EntryId;
use crate::store::keys::Partition;
use crate::store::reply;
use crate::store::trace::Trace;

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
    /// The ids of `entries` that did not follow the lifecycle (`shared::within_lifecycle`),
    /// with [`Replay::Full`] only.
    pub outside_lifecycle: Vec<String>,
    /// The version of the snapshot the fold started from.
    pub snapshot_version: Option<u64>,
    /// The id of the claim's last event (within the bound asked for).
    pub last_entry_id: Option<String>,
}

pub async fn load(
    claims: &Claims,
    trace: &mut Trace,
    claim_id: &str,
) -> Result<LoadedClaim, DbError> {
    load_until(claims, trace, claim_id, Replay::FromSnapshot, None).await
}

/// The claim as its events up to `until` (an entry id, inclusive) left it.
pub async fn load_until(
    claims: &Claims,
    trace: &mut Trace,
    claim_id: &str,
    replay: Replay,
    until: Option<EntryId>,
) -> Result<LoadedClaim, DbError> {
    let mut loaded = load_all(claims, trace, &[claim_id], replay, until, &Known::default()).await?;
    Ok(loaded.pop().expect("one claim asked, one loaded"))
}

/// Several claims, with three round trips whatever their number: their indexes and
/// snapshots, then the events after the snapshots, then the snapshots that are due. Events
/// among `known` (just read from its stream) are taken from there, not read again.
pub async fn load_many(
    claims: &Claims,
    trace: &mut Trace,
    claim_ids: &[&str],
    known: &Known<'_>,
) -> Result<Vec<LoadedClaim>, DbError> {
    load_all(claims, trace, claim_ids, Replay::FromSnapshot, None, known).await
}

/// Entries already in hand, and the stream they were read from (ids are unique only within
/// a stream): a load takes its events from here rather than read them again.
#[derive(Debug, Default)]
pub struct Known<'a> {
    stream: &'a str,
    by_id: HashMap<&'a str, &'a StreamEntry>,
}

impl<'a> Known<'a> {
    pub fn new(stream: &'a str, entries: &'a [StreamEntry]) -> Self {
        Self {
            stream,
            by_id: entries.iter().map(|e| (e.id.as_str(), e)).collect(),
        }
    }

    fn get(&self, stream: &str, id: &str) -> Option<&'a StreamEntry> {
        (stream == self.stream)
            .then(|| self.by_id.get(id).copied())
            .flatten()
    }
}

/// Where one claim's fold starts: its index (within the bound) and a trusted snapshot.
struct Plan {
    ids: Vec<String>,
    start: usize,
    claim: Claim,
    snapshot_version: Option<u64>,
}

async fn load_all(
    claims: &Claims,
    trace: &mut Trace,
    claim_ids: &[&str],
    replay: Replay,
    until: Option<EntryId>,
    known: &Known<'_>,
) -> Result<Vec<LoadedClaim>, DbError> {
    if claim_ids.is_empty() {
        return Ok(Vec::new());
    }
    let db = claims.db();
    let from_snapshot = replay == Replay::FromSnapshot;
    let partitions: Vec<Partition> = claim_ids.iter().map(|c| db.partition_of(c)).collect();
    let histories: Vec<String> = claim_ids
        .iter()
        .zip(&partitions)
        .map(|(c, p)| p.history(c))
        .collect();
    let snapshot_keys: Vec<String> = claim_ids
        .iter()
        .zip(&partitions)
        .map(|(c, p)| p.snapshot(c))
        .collect();
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

    let streams: Vec<String> = partitions.iter().map(|p| p.events()).collect();
    let tails: Vec<(&str, &[String])> = plans
        .iter()
        .zip(&streams)
        .map(|(p, stream)| (stream.as_str(), &p.ids[p.start..]))
        .collect();
    let mut found = read_entries(db, trace, &tails, known).await?.into_iter();
    let mut loaded = Vec::with_capacity(plans.len());
    for (claim_id, plan) in claim_ids.iter().zip(plans) {
        let tail: Vec<Option<StreamEntry>> =
            found.by_ref().take(plan.ids.len() - plan.start).collect();
        let claim = fold(plan, tail, replay, 0);
        // Rebuild a missing, stale or untrusted snapshot once enough events are folded past it.
        if let Some(last) = claim.last_entry_id.as_ref().filter(|_| {
            from_snapshot
                && until.is_none()
                && claims.snapshot_every().stale(claim.entries.len() as u64)
        }) {
            save_snapshot(db, trace, claim_id, &claim.claim, last).await?;
        }
        loaded.push(claim);
    }
    Ok(loaded)
}

fn plan(claim_id: &str, replies: &[Value], until: Option<EntryId>) -> Plan {
    let mut ids: Vec<String> = match replies.first() {
        Some(Value::Array(ids)) => ids.iter().filter_map(reply::text).collect(),
        _ => Vec::new(),
    };
    if let Some(until) = until {
        ids.retain(|id| id.parse::<EntryId>().is_ok_and(|id| id <= until));
    }
    let snapshot = replies.get(1).and_then(reply::text).and_then(|json| {
        match Snapshot::trusted(&json, &ids) {
            Ok(s) => Some(s),
            Err(why) => {
                tracing::debug!(claim_id, %why, "snapshot not used");
                None
            }
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

/// Tails at least this long are read in spans, not entry by entry.
const SPAN_FROM: usize = 64;
/// Ids of a tail one span read covers.
const SPAN: usize = 100;

/// The entries with these ids, in order (`None` for one trimmed from the stream). Each id
/// is one `XRANGE id id`, except in long tails: an `XRANGE` from the first to the last of
/// [`SPAN`] ids reads them in one go when few other claims' entries lie between (a point
/// read costs Redis about as much as reading a hundred neighbours); ids a span did not
/// reach within its `COUNT` are read one by one after it. Ids of short tails found among
/// `known` are not read at all.
async fn read_entries(
    db: &Db,
    trace: &mut Trace,
    tails: &[(&str, &[String])],
    known: &Known<'_>,
) -> Result<Vec<Option<StreamEntry>>, DbError> {
    let span_count = (SPAN * 2).to_string();
    let mut reads: Vec<Vec<&str>> = Vec::new();
    // Per read: where its ids start in the answer, and the ids.
    let mut covers: Vec<(usize, &[String])> = Vec::new();
    let mut in_hand: Vec<(usize, StreamEntry)> = Vec::new();
    let mut at = 0;
    for &(stream, tail) in tails {
        if tail.len() >= SPAN_FROM {
            for run in tail.chunks(SPAN) {
                let (first, last) = (&run[0], &run[run.len() - 1]);
                reads.push(vec!["XRANGE", stream, first, last, "COUNT", &span_count]);
                covers.push((at, run));
                at += run.len();
            }
        } else {
            for id in tail.iter() {
                match known.get(stream, id) {
                    Some(entry) => in_hand.push((at, (*entry).clone())),
                    None => {
                        reads.push(vec!["XRANGE", stream, id, id]);
                        covers.push((at, std::slice::from_ref(id)));
                    }
                }
                at += 1;
            }
        }
    }
    let mut found: Vec<Option<StreamEntry>> = vec![None; at];
    for (pos, entry) in in_hand {
        found[pos] = Some(entry);
    }
    if reads.is_empty() {
        return Ok(found);
    }
    let replies = db.pipeline_spread(trace, &reads, decoded).await?;
    let id_of = |id: &str| id.parse::<EntryId>().unwrap_or_default();
    let mut missing: Vec<usize> = Vec::new();
    for ((start, run), got) in covers.iter().zip(replies) {
        let ran_out = run.len() > 1 && got.len() == SPAN * 2;
        let reached = got.last().map(|entry| id_of(&entry.id));
        // Both in stream order: walk them together.
        let mut k = 0;
        for entry in got {
            while k < run.len() && run[k] != entry.id && id_of(&run[k]) < id_of(&entry.id) {
                k += 1;
            }
            if k < run.len() && run[k] == entry.id {
                found[start + k] = Some(entry);
                k += 1;
            }
        }
        if let (true, Some(reached)) = (ran_out, reached) {
            // The span's COUNT ran out before its last id: read the rest one by one.
            missing.extend(
                (0..run.len())
                    .filter(|&j| found[start + j].is_none() && id_of(&run[j]) > reached)
                    .map(|j| start + j),
            );
        }
    }
    if !missing.is_empty() {
        let ids: Vec<(&str, &String)> = tails
            .iter()
            .flat_map(|&(stream, tail)| tail.iter().map(move |id| (stream, id)))
            .collect();
        let reads: Vec<Vec<&str>> = missing
            .iter()
            .map(|&pos| {
                let (stream, id) = ids[pos];
                vec!["XRANGE", stream, id.as_str(), id.as_str()]
            })
            .collect();
        for (pos, reply) in missing.iter().zip(db.pipeline(trace, &reads).await?) {
            found[*pos] = decoded(reply).into_iter().next();
        }
    }
    Ok(found)
}

/// An XRANGE reply's entries, decoded (on the task that read them).
fn decoded(reply: Value) -> Vec<StreamEntry> {
    reply::entries(reply)
        .into_iter()
        .map(|(id, fields)| StreamEntry::decode(id, fields))
        .collect()
}

/// Folds the events after the plan's start into its claim, keeping those after version
/// `kept_after` (and with [`Replay::Full`] the claim after each).
fn fold(
    plan: Plan,
    tail: Vec<Option<StreamEntry>>,
    replay: Replay,
    kept_after: u64,
) -> LoadedClaim {
    let Plan {
        ids,
        start,
        mut claim,
        snapshot_version,
    } = plan;
    let mut entries = Vec::with_capacity(tail.len());
    let mut states = Vec::new();
    let mut outside_lifecycle = Vec::new();
    for (n, found) in tail.into_iter().enumerate() {
        // An entry trimmed from the stream still counts: the index is what versions count.
        let version = (start + n + 1) as u64;
        if let Some(mut entry) = found {
            if let Some(event) = &mut entry.event {
                upcast::complete(&claim, event);
                if replay == Replay::Full
                    && version > kept_after
                    && !shared::within_lifecycle(&claim, event)
                {
                    outside_lifecycle.push(entry.id.clone());
                }
                shared::apply(&mut claim, event);
            }
            claim.version = version;
            if version <= kept_after {
                continue;
            }
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
        outside_lifecycle,
        snapshot_version,
        last_entry_id: ids.last().cloned(),
    }
}

/// A page of a claim's history.
pub struct HistoryPage {
    /// Events in the claim's index: its version now.
    pub version: u64,
    /// The events after the version asked for, at most as many as asked (fewer where entries
    /// were trimmed from the stream: versions still count them).
    pub entries: Vec<StreamEntry>,
    /// The claim after each of `entries`.
    pub states: Vec<Claim>,
    /// The ids among `entries` that did not follow the lifecycle.
    pub outside_lifecycle: Vec<String>,
}

/// The claim's events after version `after`, at most `limit`, each with the claim after it.
/// The states need the fold from the first event (or a trusted snapshot at or before
/// `after`), so a page reads the index and the entries up to its end, never past it.
pub async fn load_page(
    db: &Db,
    trace: &mut Trace,
    claim_id: &str,
    after: u64,
    limit: u64,
) -> Result<HistoryPage, DbError> {
    let partition = db.partition_of(claim_id);
    let (history, snapshot) = (partition.history(claim_id), partition.snapshot(claim_id));
    let last = (after + limit).saturating_sub(1).to_string();
    let replies = db
        .pipeline(
            trace,
            &[
                vec!["LLEN", history.as_str()],
                vec!["LRANGE", history.as_str(), "0", last.as_str()],
                vec!["GET", snapshot.as_str()],
            ],
        )
        .await?;
    let version = reply::int(replies.first()).unwrap_or(0) as u64;
    let mut plan = plan(claim_id, &replies[1..], None);
    if plan.snapshot_version.is_some_and(|v| v > after) {
        // The snapshot is past the page's start: the states before it need the whole fold.
        plan.start = 0;
        plan.claim = Claim::default();
        plan.snapshot_version = None;
    }
    let stream = partition.events();
    let tail = read_entries(
        db,
        trace,
        &[(stream.as_str(), &plan.ids[plan.start..])],
        &Known::default(),
    )
    .await?;
    let folded = fold(plan, tail, Replay::Full, after);
    Ok(HistoryPage {
        version,
        entries: folded.entries,
        states: folded.states,
        outside_lifecycle: folded.outside_lifecycle,
    })
}

/// The stored snapshot of each claim in `partition` (`None` where there is none or it does
/// not read as one), in one round trip. Whether to trust it is the caller's to decide.
pub async fn snapshots(
    db: &Db,
    partition: Partition,
    claim_ids: &[&str],
) -> Result<Vec<Option<Snapshot>>, DbError> {
    if claim_ids.is_empty() {
        return Ok(Vec::new());
    }
    let keys: Vec<String> = claim_ids.iter().map(|c| partition.snapshot(c)).collect();
    let mut mget = vec!["MGET"];
    mget.extend(keys.iter().map(String::as_str));
    let found: Vec<Option<String>> = db.run(&mut Trace::off(), &mget).await?;
    Ok(found
        .into_iter()
        .map(|json| json.and_then(|j| serde_json::from_str(&j).ok()))
        .collect())
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
    let key = db.partition_of(claim_id).snapshot(claim_id);
    db.run::<(), _>(trace, &["SET", &key, &json]).await
}

/// Whom claim `claim_id` is for, as the first event in its index names them: for an entry of
/// another program that left the customer to its claim. `None` when the claim has no event
/// naming one.
pub async fn customer_of(db: &Db, claim_id: &str) -> Result<Option<String>, DbError> {
    let partition = db.partition_of(claim_id);
    let first: Option<String> = db
        .run(
            &mut Trace::off(),
            &["LINDEX", &partition.history(claim_id), "0"],
        )
        .await?;
    let Some(first) = first else {
        return Ok(None);
    };
    let found =
        crate::store::streams::entry(db, &mut Trace::off(), &partition.events(), &first).await?;
    Ok(found.and_then(|(_, fields)| {
        fields
            .into_iter()
            .find(|(name, _)| name == "customer_id")
            .map(|(_, customer)| customer)
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_in_hand_are_found_by_id_in_their_own_stream_only() {
        let entries = vec![StreamEntry::decode(
            "5-1".into(),
            vec![("claim_id".into(), "CLM-A".into())],
        )];
        let known = Known::new("claims:events", &entries);
        assert_eq!(
            known.get("claims:events", "5-1").map(|e| e.id.as_str()),
            Some("5-1")
        );
        assert!(known.get("claims:events", "5-2").is_none());
        assert!(
            known.get("claims:{p1}:events", "5-1").is_none(),
            "the same id in another stream is another entry"
        );
    }
}
