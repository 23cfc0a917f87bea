//! Searching streams by field inside Redis: one script per stream (one key, so it stays valid
//! on Redis Cluster) walks a bounded range with `XRANGE` and sends back only the entries whose
//! fields match, with how far it walked. Several streams (the partitions) are searched side by
//! side and merged by id, so a page continues exactly where the last one stopped. What may be
//! searched, and with which bounds, is not its to say.

use std::cmp::Ordering;
use std::sync::LazyLock;
use std::time::Instant;

use redis::Value;

use crate::store::db::{Db, DbError};
use crate::store::entry_id::EntryId;
use crate::store::keys::Partition;
use crate::store::lua::Lua;
use crate::store::reply;
use crate::store::streams::Entry;
use crate::store::trace::Trace;

/// Entries one script call examines at most: Redis runs nothing else while a script runs, so
/// a search is cut into calls this short, and other clients' commands pass between them.
pub const CHUNK: u64 = 2_000;

/// One condition on an entry's fields: any of `fields` holds `value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    pub fields: Vec<String>,
    pub value: String,
    /// Compare as event types: `claim.submitted` is `claim_submitted`.
    pub event_type: bool,
}

/// Where a search is: just after the entry `id` of the partition numbered `partition` (the
/// order of merged streams is by id, then by partition).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Position {
    pub id: EntryId,
    pub partition: u32,
}

/// What to search for, and how far to look.
#[derive(Debug, Clone)]
pub struct Search<'a> {
    /// The first id that may match, and the last (both inclusive).
    pub from: EntryId,
    pub to: EntryId,
    /// Continue after this position (a page's [`Found::next`]).
    pub after: Option<Position>,
    /// Entries examined at most, over all streams.
    pub scan_bound: u64,
    /// Matches returned at most.
    pub limit: usize,
    /// No script call starts after this.
    pub deadline: Instant,
    /// Every condition must hold.
    pub conditions: &'a [Condition],
}

/// Why a search stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    /// Every stream was read through `to`.
    End,
    /// `limit` matches were found.
    Limit,
    /// `scan_bound` entries were examined.
    ScanBound,
    /// The deadline passed.
    Deadline,
}

/// What a search found.
#[derive(Debug)]
pub struct Found {
    /// The matches, oldest first, each with the partition of its stream.
    pub matches: Vec<(Option<Partition>, Entry)>,
    /// Entries examined (with several streams, a few past `through` may be examined again by
    /// the next page).
    pub examined: u64,
    /// Every entry up to this position was examined; `None` when none was.
    pub through: Option<Position>,
    pub stopped: Stopped,
}

impl Found {
    /// Where the next page starts after; `None` once the end was reached.
    pub fn next(&self) -> Option<Position> {
        (self.stopped != Stopped::End)
            .then_some(self.through)
            .flatten()
    }
}

/// Walks a range of one stream and returns only what matches, and how far it walked.
pub(in crate::store) static SEARCH: LazyLock<Lua> = LazyLock::new(|| {
    Lua::new(
        "search a stream by field, in a bounded range",
        r"
-- KEYS: stream; ARGV: start, end (as XRANGE takes them), most entries to examine, most
-- matches, number of conditions, then per condition: 'exact' or 'type', its number of
-- fields, the fields (any may hold the value), the value
-- returns {examined, last examined id ('' for none), 1 if the end was reached, matches...}
local key, start, stop = KEYS[1], ARGV[1], ARGV[2]
local budget, want = tonumber(ARGV[3]), tonumber(ARGV[4])
local function as_type(v) return (string.gsub(v, '%.', '_')) end
local conditions, i = {}, 6
for _ = 1, tonumber(ARGV[5]) do
  local c = {type = ARGV[i] == 'type', fields = {}}
  local n = tonumber(ARGV[i + 1])
  for j = 1, n do c.fields[ARGV[i + 1 + j]] = true end
  c.value = ARGV[i + 2 + n]
  if c.type then c.value = as_type(c.value) end
  conditions[#conditions + 1] = c
  i = i + 3 + n
end
local function matches(fields)
  for _, c in ipairs(conditions) do
    local held = false
    for k = 1, #fields, 2 do
      if c.fields[fields[k]] then
        local v = fields[k + 1]
        if c.type then v = as_type(v) end
        if v == c.value then held = true break end
      end
    end
    if not held then return false end
  end
  return true
end
-- The reply's first three items are filled in at the end; matches follow them.
local out, examined, last, ended = {0, '', 0}, 0, '', 0
while examined < budget do
  local n = math.min(200, budget - examined)
  local page = redis.call('XRANGE', key, start, stop, 'COUNT', n)
  for _, e in ipairs(page) do
    examined = examined + 1
    last = e[1]
    if matches(e[2]) then
      out[#out + 1] = e
      if #out - 3 == want then
        out[1], out[2] = examined, last
        return out
      end
    end
  end
  if #page < n then ended = 1 break end
  start = '(' .. last
end
out[1], out[2], out[3] = examined, last, ended
return out
",
    )
});

/// One stream's part in a search.
struct Walk {
    partition: Option<Partition>,
    stream: String,
    /// Where its next call starts (as XRANGE takes it).
    start: String,
    last: Option<EntryId>,
    ended: bool,
}

impl Walk {
    fn index(&self) -> u32 {
        self.partition.map_or(0, Partition::index)
    }

    fn position(&self, id: EntryId) -> Position {
        Position {
            id,
            partition: self.index(),
        }
    }
}

/// Searches `streams` (each with its partition when several are merged) from oldest to
/// newest. Each script call examines at most [`CHUNK`] entries of one stream; calls go on
/// until `limit` matches are certain, `scan_bound` entries were examined, every stream ended,
/// or the deadline passed.
pub async fn search(
    db: &Db,
    trace: &mut Trace,
    streams: &[(Option<Partition>, String)],
    search: &Search<'_>,
) -> Result<Found, DbError> {
    let mut walks: Vec<Walk> = streams
        .iter()
        .map(|(partition, stream)| {
            let index = partition.map_or(0, Partition::index);
            Walk {
                partition: *partition,
                stream: stream.clone(),
                start: start_of(search.from, search.after, index),
                last: None,
                ended: false,
            }
        })
        .collect();
    let end = search.to.to_string();
    let mut pending: Vec<(Position, Option<Partition>, Entry)> = Vec::new();
    let mut examined = 0_u64;
    let mut rounds = 0;
    let stopped = loop {
        let active: Vec<usize> = (0..walks.len()).filter(|i| !walks[*i].ended).collect();
        if active.is_empty() {
            break Stopped::End;
        }
        let share = (search.scan_bound - examined) / active.len() as u64;
        if share == 0 {
            break Stopped::ScanBound;
        }
        // The first round always runs, so every page moves on.
        if rounds > 0 && Instant::now() >= search.deadline {
            break Stopped::Deadline;
        }
        rounds += 1;
        let budget = share.min(CHUNK).to_string();
        let want = search.limit.to_string();
        let calls: Vec<redis::Cmd> = active
            .iter()
            .map(|i| {
                let walk = &walks[*i];
                let mut args = vec![
                    walk.start.clone(),
                    end.clone(),
                    budget.clone(),
                    want.clone(),
                ];
                args.extend(condition_args(search.conditions));
                let evalsha = SEARCH.evalsha(&[walk.stream.as_str()], &args);
                trace.record(&evalsha);
                evalsha
            })
            .collect();
        let replies = db.evals(&SEARCH, &calls).await?;
        for (i, reply) in active.iter().zip(replies) {
            let walk = &mut walks[*i];
            let (n, last, ended, entries) = read_reply(reply)?;
            examined += n;
            walk.ended = ended;
            if let Some(last) = last {
                walk.start = format!("({last}");
                walk.last = Some(last.parse().map_err(DbError::Unexpected)?);
            }
            for (id, fields) in entries {
                let position = walk.position(id.parse().map_err(DbError::Unexpected)?);
                pending.push((position, walk.partition, (id, fields)));
            }
        }
        pending.sort_by_key(|m| m.0);
        let unfinished = walks.iter().any(|w| !w.ended);
        if unfinished && certain(&walks, &pending) >= search.limit {
            break Stopped::Limit;
        }
    };
    // Only what comes before every unfinished stream's last examined entry is certain.
    let frontier = frontier(&walks);
    let certain = certain(&walks, &pending);
    pending.truncate(certain);
    let full =
        pending.len() > search.limit || (pending.len() == search.limit && stopped != Stopped::End);
    let (stopped, through) = if full {
        pending.truncate(search.limit);
        (Stopped::Limit, pending.last().map(|m| m.0))
    } else if stopped == Stopped::End {
        let newest = walks
            .iter()
            .filter_map(|w| w.last.map(|id| w.position(id)))
            .max();
        (Stopped::End, newest.or(search.after))
    } else {
        (stopped, frontier.or(search.after))
    };
    Ok(Found {
        matches: pending.into_iter().map(|(_, p, e)| (p, e)).collect(),
        examined,
        through,
        stopped,
    })
}

/// Where a stream's walk starts: at `from`, or just after `after` in the merged order, which
/// in partition `index` is after its id for partitions up to `after`'s, and at it for those
/// after (their entry at that id comes later).
fn start_of(from: EntryId, after: Option<Position>, index: u32) -> String {
    match after {
        Some(after) if after.id >= from => {
            if index <= after.partition {
                format!("({}", after.id)
            } else {
                after.id.to_string()
            }
        }
        _ => from.to_string(),
    }
}

/// The earliest last-examined position of the streams not read to their end: everything
/// before it was examined in every stream.
fn frontier(walks: &[Walk]) -> Option<Position> {
    walks
        .iter()
        .filter(|w| !w.ended)
        .map(|w| w.last.map(|id| w.position(id)))
        .min_by(|a, b| match (a, b) {
            // A stream that examined nothing yet holds everything back.
            (None, None) => Ordering::Equal,
            (None, _) => Ordering::Less,
            (_, None) => Ordering::Greater,
            (Some(a), Some(b)) => a.cmp(b),
        })
        .unwrap_or(Some(Position {
            id: EntryId {
                ms: u64::MAX,
                seq: u64::MAX,
            },
            partition: u32::MAX,
        }))
}

/// How many of the (sorted) pending matches are certain: not after the frontier.
fn certain(walks: &[Walk], pending: &[(Position, Option<Partition>, Entry)]) -> usize {
    match frontier(walks) {
        None => 0,
        Some(frontier) => pending.partition_point(|m| m.0 <= frontier),
    }
}

fn condition_args(conditions: &[Condition]) -> Vec<String> {
    let mut args = vec![conditions.len().to_string()];
    for c in conditions {
        args.push(if c.event_type { "type" } else { "exact" }.to_owned());
        args.push(c.fields.len().to_string());
        args.extend(c.fields.iter().cloned());
        args.push(c.value.clone());
    }
    args
}

type Reply = (u64, Option<String>, bool, Vec<Entry>);

fn read_reply(reply: Value) -> Result<Reply, DbError> {
    let unexpected = || DbError::Unexpected("the search script's reply".into());
    let Value::Array(mut items) = reply else {
        return Err(unexpected());
    };
    if items.len() < 3 {
        return Err(unexpected());
    }
    let entries = reply::entries(Value::Array(items.split_off(3)));
    let examined = reply::int(items.first()).ok_or_else(unexpected)?.max(0) as u64;
    let last = items
        .get(1)
        .and_then(reply::text)
        .filter(|id| !id.is_empty());
    let ended = reply::int(items.get(2)) == Some(1);
    Ok((examined, last, ended, entries))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(ms: u64, seq: u64) -> EntryId {
        EntryId { ms, seq }
    }

    #[test]
    fn a_walk_continues_after_the_position_in_id_then_partition_order() {
        let after = Some(Position {
            id: id(5, 1),
            partition: 1,
        });
        assert_eq!(start_of(id(0, 0), after, 0), "(5-1");
        assert_eq!(start_of(id(0, 0), after, 1), "(5-1");
        assert_eq!(start_of(id(0, 0), after, 2), "5-1");
        // A later `from` wins.
        assert_eq!(start_of(id(9, 0), after, 0), "9-0");
        assert_eq!(start_of(id(3, 0), None, 0), "3-0");
    }

    #[test]
    fn conditions_are_sent_as_counted_groups() {
        let conditions = [
            Condition {
                fields: vec!["type".into(), "event_type".into()],
                value: "claim_paid".into(),
                event_type: true,
            },
            Condition {
                fields: vec!["claim_id".into()],
                value: "CLM-1".into(),
                event_type: false,
            },
        ];
        assert_eq!(
            condition_args(&conditions),
            [
                "2",
                "type",
                "2",
                "type",
                "event_type",
                "claim_paid",
                "exact",
                "1",
                "claim_id",
                "CLM-1"
            ]
        );
    }
}
