//! Trimming a stream in Redis: finding what a cut would remove without sending it out of Redis
//! (one script), and trimming exactly that (`XTRIM MINID`). Whether a trim is safe is
//! `events::retention`'s to say.

use std::sync::LazyLock;

use crate::store::db::{Db, DbError};
use crate::store::entry_id::EntryId;
use crate::store::lua::Lua;
use crate::store::trace::Trace;

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
pub(in crate::store) static PLAN: LazyLock<Lua> = LazyLock::new(|| {
    Lua::new(
        "find what a trim would remove, without reading it out of Redis",
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
    let args = match cut {
        Cut::MaxLen(n) => ["maxlen".to_owned(), n.to_string()],
        Cut::MinId(id) => ["minid".to_owned(), id.to_string()],
    };
    let evalsha = PLAN.evalsha(&[stream], &args);
    trace.record(&evalsha);
    let (length, would_remove, first_removed, last_removed, first_kept): (
        u64,
        u64,
        String,
        String,
        String,
    ) = db.eval(&PLAN, &evalsha).await?;
    let given = |id: String| (!id.is_empty()).then_some(id);
    Ok(Plan {
        length,
        would_remove,
        first_removed: given(first_removed),
        last_removed: given(last_removed),
        first_kept: given(first_kept),
    })
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
