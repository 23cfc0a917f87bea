//! Moving a consumer group's position on one stream: the id it goes to, worked out in Redis
//! from a point (the start, the end, an id, a time, N entries back, another group's), and
//! `XGROUP SETID ... ENTRIESREAD` with the count that keeps the group's lag known, all in one
//! script, so nothing appended meanwhile falls between the count and the move. A dry run
//! works it out and moves nothing. Which groups may be moved is not its to say.

use std::sync::LazyLock;

use crate::store::db::{Db, DbError};
use crate::store::lua::Lua;
use crate::store::trace::Trace;

/// Where to move a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Point {
    /// Before the first entry: everything is delivered again.
    Start,
    /// After the newest entry: only entries appended from now on.
    End,
    /// Just after this entry id.
    Id(String),
    /// Just after the last entry appended at or before this Unix millisecond.
    Time(i64),
    /// This many entries back from where the group is.
    Rewind(u64),
    /// Where another group of the stream is.
    CopyFrom(String),
}

/// What a move does (or would do) on one stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Moved {
    /// The group's last-delivered id before, and after.
    pub from: String,
    pub to: String,
    /// The `ENTRIESREAD` given: entries the stream has had up to `to`.
    pub entries_read: u64,
    /// Entries after `to`: what the group is given (again) next.
    pub redelivered: u64,
    /// The first of them.
    pub first_redelivered: Option<String>,
}

/// Why a move cannot be made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// The group (or, for [`Point::CopyFrom`], the other group) is not on the stream.
    NoGroup(String),
    /// The id is after the stream's newest: entries appended later with smaller ids would
    /// never be delivered.
    Ahead { newest: String },
}

/// Works the position out and, unless a dry run, sets it.
pub(in crate::store) static POSITION: LazyLock<Lua> = LazyLock::new(|| {
    Lua::new(
        "move a consumer group, with the ENTRIESREAD that keeps its lag known",
        r"
-- KEYS: stream; ARGV: group, point ('start'|'end'|'id'|'time'|'rewind'|'copy'), its value,
-- '1' to move ('0': a dry run)
-- returns {'ok', from, to, entries read, redelivered, first redelivered ('' for none)},
-- {'nogroup', name} or {'ahead', newest id}
local key, group, point, value = KEYS[1], ARGV[1], ARGV[2], ARGV[3]
local function fields(flat)
  local t = {}
  for i = 1, #flat, 2 do t[flat[i]] = flat[i + 1] end
  return t
end
if redis.call('EXISTS', key) == 0 then return {'nogroup', group} end
local stream = fields(redis.call('XINFO', 'STREAM', key))
local groups = {}
for _, g in ipairs(redis.call('XINFO', 'GROUPS', key)) do
  local t = fields(g)
  groups[t['name']] = t
end
if not groups[group] then return {'nogroup', group} end
local from = groups[group]['last-delivered-id']
local newest = stream['last-generated-id']
local function first(range) return range[1] and range[1][1] or '' end
local function parts(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  return tonumber(ms), tonumber(seq)
end
local to
if point == 'start' then
  to = '0-0'
elseif point == 'end' then
  to = newest
elseif point == 'id' then
  to = value
  local ms, seq = parts(to)
  local nms, nseq = parts(newest)
  if ms > nms or (ms == nms and seq > nseq) then return {'ahead', newest} end
elseif point == 'time' then
  -- An incomplete end id is its millisecond's last.
  to = first(redis.call('XREVRANGE', key, value, '-', 'COUNT', 1))
  if to == '' then to = '0-0' end
elseif point == 'rewind' then
  local n = tonumber(value)
  local back = redis.call('XREVRANGE', key, from, '-', 'COUNT', n + 1)
  if #back < n + 1 then to = '0-0' else to = back[n + 1][1] end
else
  if not groups[value] then return {'nogroup', value} end
  to = groups[value]['last-delivered-id']
end
-- Count what comes after, a page at a time.
local count, cursor = 0, '(' .. to
while true do
  local page = redis.call('XRANGE', key, cursor, '+', 'COUNT', 10000)
  count = count + #page
  if #page < 10000 then break end
  cursor = '(' .. page[#page][1]
end
local again = first(redis.call('XRANGE', key, '(' .. to, '+', 'COUNT', 1))
local read = math.max(stream['entries-added'] - count, 0)
if ARGV[4] == '1' then
  redis.call('XGROUP', 'SETID', key, group, to, 'ENTRIESREAD', read)
end
return {'ok', from, to, read, count, again}
",
    )
});

/// Moves `group` on `stream` to `point` (or, with `dry_run`, says what that would do).
pub async fn move_group(
    db: &Db,
    trace: &mut Trace,
    stream: &str,
    group: &str,
    point: &Point,
    dry_run: bool,
) -> Result<Result<Moved, Refused>, DbError> {
    let (kind, value) = match point {
        Point::Start => ("start", String::new()),
        Point::End => ("end", String::new()),
        Point::Id(id) => ("id", id.clone()),
        Point::Time(ms) => ("time", ms.to_string()),
        Point::Rewind(n) => ("rewind", n.to_string()),
        Point::CopyFrom(other) => ("copy", other.clone()),
    };
    let apply = if dry_run { "0" } else { "1" };
    let evalsha = POSITION.evalsha(&[stream], &[group, kind, &value, apply]);
    trace.record(&evalsha);
    let reply: Vec<redis::Value> = db.eval(&POSITION, &evalsha).await?;
    let text = |i: usize| {
        reply
            .get(i)
            .and_then(crate::store::reply::text)
            .unwrap_or_default()
    };
    let number = |i: usize| crate::store::reply::int(reply.get(i)).unwrap_or(0).max(0) as u64;
    Ok(match text(0).as_str() {
        "ok" => Ok(Moved {
            from: text(1),
            to: text(2),
            entries_read: number(3),
            redelivered: number(4),
            first_redelivered: Some(text(5)).filter(|id| !id.is_empty()),
        }),
        "ahead" => Err(Refused::Ahead { newest: text(1) }),
        _ => Err(Refused::NoGroup(text(1))),
    })
}
