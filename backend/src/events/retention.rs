//! Trimming a stream safely: what a trim would remove, and what stands against it (a group
//! that has not read or acknowledged what goes; a claim whose events go without a snapshot
//! covering them, so it could no longer be loaded).

use std::collections::HashMap;
use std::sync::LazyLock;

use redis::Script;
use shared::snapshot::{SNAPSHOT_SCHEMA, Snapshot};

use crate::store::db::{Db, DbError};
use crate::store::entry_id::EntryId;
use crate::store::groups;
use crate::store::keys::Partition;
use crate::store::streams::Pages;
use crate::store::trace::Trace;

/// Entries of `claims:events` a trim checks claim by claim at most; a larger trim is refused
/// unless forced, because its claims were not all checked.
pub const MAX_CHECKED: u64 = 100_000;

/// What to trim, as `XTRIM` takes it.
#[derive(Debug, Clone)]
pub enum Cut {
    MaxLen(u64),
    MinId(EntryId),
}

/// What a trim would remove.
#[derive(Debug, Default)]
pub struct Plan {
    pub length: u64,
    pub would_remove: u64,
    pub first_removed: Option<String>,
    pub last_removed: Option<String>,
    pub first_kept: Option<String>,
}

/// Finds the entries a cut removes without sending them out of Redis: the first and last of
/// them, the first kept, and how many.
static PLAN: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
-- KEYS: stream; ARGV: 'maxlen' n | 'minid' id
-- returns {length, to remove, first removed, last removed, first kept} ('' for none)
local len = redis.call('XLEN', KEYS[1])
local function first(range) return range[1] and range[1][1] or '' end
local head = first(redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1))
if ARGV[1] == 'maxlen' then
  local keep = tonumber(ARGV[2])
  local remove = math.max(len - keep, 0)
  if remove == 0 then
    return {len, 0, '', '', head}
  end
  if keep == 0 then
    return {len, len, head, first(redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)), ''}
  end
  -- Walk from whichever end is nearer.
  if keep < remove then
    local tail = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', keep + 1)
    return {len, remove, head, tail[keep + 1][1], tail[keep][1]}
  end
  local front = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', remove + 1)
  return {len, remove, head, front[remove][1], front[remove + 1][1]}
end
local kept = first(redis.call('XRANGE', KEYS[1], ARGV[2], '+', 'COUNT', 1))
local last = first(redis.call('XREVRANGE', KEYS[1], '(' .. ARGV[2], '-', 'COUNT', 1))
if last == '' then
  return {len, 0, '', '', kept}
end
-- Count what goes, a page at a time.
local count, from = 0, '-'
while true do
  local page = redis.call('XRANGE', KEYS[1], from, last, 'COUNT', 10000)
  count = count + #page
  if #page < 10000 then break end
  from = '(' .. page[#page][1]
end
return {len, count, head, last, kept}
",
    )
});

pub async fn plan(db: &Db, trace: &mut Trace, stream: &str, cut: &Cut) -> Result<Plan, DbError> {
    let mut invocation = PLAN.key(stream);
    match cut {
        Cut::MaxLen(n) => invocation.arg("maxlen").arg(*n),
        Cut::MinId(id) => invocation.arg("minid").arg(id.to_string()),
    };
    trace.record(&["XLEN", stream]);
    let (length, would_remove, first_removed, last_removed, first_kept): (
        u64,
        u64,
        String,
        String,
        String,
    ) = db.script(&invocation).await?;
    let given = |id: String| (!id.is_empty()).then_some(id);
    Ok(Plan {
        length,
        would_remove,
        first_removed: given(first_removed),
        last_removed: given(last_removed),
        first_kept: given(first_kept),
    })
}

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
    while let Some(page) = pages.next(db, &mut Trace::off()).await? {
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
    trace.record(&["XRANGE", &stream, "-", last_removed]);
    let claims: Vec<(String, EntryId)> = newest.into_iter().collect();
    let mut uncovered = Vec::new();
    for chunk in claims.chunks(1000) {
        let snapshot_keys: Vec<String> = chunk.iter().map(|(c, _)| partition.snapshot(c)).collect();
        let mut mget = vec!["MGET"];
        mget.extend(snapshot_keys.iter().map(String::as_str));
        let found: Vec<Option<String>> = db.run(&mut Trace::off(), &mget).await?;
        for ((claim, last), json) in chunk.iter().zip(found) {
            let covered = json
                .and_then(|j| serde_json::from_str::<Snapshot>(&j).ok())
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

/// Trims exactly what was planned: up to the first kept entry (`MINID`), so entries appended
/// meanwhile never push unchecked ones out. Returns the length after.
pub async fn trim(
    db: &Db,
    trace: &mut Trace,
    stream: &str,
    plan: &Plan,
    approximate: bool,
) -> Result<u64, DbError> {
    // Everything goes: cut just past the last entry planned, not MAXLEN 0.
    let past_last = plan
        .last_removed
        .as_deref()
        .and_then(|l| l.parse::<EntryId>().ok())
        .map(|l| {
            EntryId {
                seq: l.seq + 1,
                ..l
            }
            .to_string()
        });
    if let Some(cut) = plan.first_kept.clone().or(past_last) {
        let mut xtrim = vec!["XTRIM", stream, "MINID"];
        if approximate {
            xtrim.push("~");
        }
        xtrim.push(&cut);
        db.run::<i64, _>(trace, &xtrim).await?;
    }
    db.run(trace, &["XLEN", stream]).await
}
