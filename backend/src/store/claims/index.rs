//! Indexing entries that other programs appended to `claims:events`.
//!
//! The append script puts each event's id in its claim's history list (the claim's index,
//! whose length is its version). Entries written with a plain `XADD` by other programs (the
//! lab's own scripts) never went through it. They are indexed in stream order, from a cursor
//! (`keys::indexed`): an entry goes to the end of its claim's history if it is newer than the
//! last id there, so nothing is indexed twice and the event itself is never copied. The append
//! script runs the same step before its version check, so a command never decides on a claim
//! whose older foreign events are not counted yet.

use std::sync::LazyLock;

use redis::{Script, Value};

use crate::store::db::{Db, DbError};
use crate::store::keys::Partition;
use crate::store::reply;

/// The Lua functions both scripts share. Keys of other claims' histories are not declared,
/// but they carry the same hash tag as the stream, so the script stays in one slot.
pub(super) const INDEX_BACKLOG_LUA: &str = r"
-- Runs a command, and lists it in `log` when the caller asked for one: the learner's trace
-- shows what ran inside a script from this list, so it cannot differ from what ran.
local function run(log, ...)
  if log then
    local command = {}
    for i, arg in ipairs({...}) do command[i] = tostring(arg) end
    log[#log + 1] = command
  end
  return redis.call(...)
end
local function newer(a, b)
  local am, as = string.match(a, '^(%d+)-(%d+)$')
  local bm, bs = string.match(b, '^(%d+)-(%d+)$')
  am, as, bm, bs = tonumber(am), tonumber(as), tonumber(bm), tonumber(bs)
  return am > bm or (am == bm and as > bs)
end
-- Indexes up to `limit` entries after the cursor, in stream order; returns how many it read
-- and the claims it indexed.
local function index_backlog(stream, cursor_key, history_prefix, limit, log)
  local cursor = run(log, 'GET', cursor_key) or '0-0'
  local batch = run(log, 'XRANGE', stream, '(' .. cursor, '+', 'COUNT', limit)
  local claims = {}
  for _, entry in ipairs(batch) do
    local id, fields = entry[1], entry[2]
    for i = 1, #fields, 2 do
      if fields[i] == 'claim_id' then
        local claim = fields[i + 1]
        if #claim <= 64 and string.match(claim, '^[%w_-]+$') then
          local history = history_prefix .. claim
          local last = run(log, 'LINDEX', history, -1)
          if not last or newer(id, last) then
            run(log, 'RPUSH', history, id)
            claims[#claims + 1] = claim
          end
        end
        break
      end
    end
    cursor = id
  end
  if #batch > 0 then
    run(log, 'SET', cursor_key, cursor)
  end
  return #batch, claims
end
";

/// Entries read per script run: a bound on how long one run holds Redis.
pub(super) const PAGE: usize = 1000;

static INDEX: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "{INDEX_BACKLOG_LUA}
-- KEYS: events stream, index cursor. ARGV: history key prefix, page size
local read, claims = index_backlog(KEYS[1], KEYS[2], ARGV[1], tonumber(ARGV[2]), false)
return {{read, claims}}
"
    ))
});

/// What a catch-up did.
#[derive(Debug, Default)]
pub struct Indexed {
    /// Entries read past the cursor.
    pub read: usize,
    /// Claims that gained an entry, in the order indexed (a claim may repeat).
    pub claims: Vec<String>,
}

/// Indexes every entry appended since the cursor in every partition.
pub async fn catch_up_all(db: &Db) -> Result<Indexed, DbError> {
    let mut done = Indexed::default();
    for partition in db.partitions.all() {
        let indexed = catch_up(db, partition).await?;
        done.read += indexed.read;
        done.claims.extend(indexed.claims);
    }
    Ok(done)
}

/// Indexes every entry appended to `partition` since its cursor, a page per script run.
/// Other programs must append claim `c` to the stream of its partition (`Partitions::of`):
/// one found in another partition's stream is indexed there, where loading never looks.
pub async fn catch_up(db: &Db, partition: Partition) -> Result<Indexed, DbError> {
    let mut done = Indexed::default();
    loop {
        let mut invocation = INDEX.prepare_invoke();
        invocation
            .key(partition.events())
            .key(partition.indexed())
            .arg(partition.history_prefix())
            .arg(PAGE);
        let reply: Value = db.script(&invocation).await?;
        let Value::Array(parts) = reply else {
            return Err(unexpected());
        };
        let read = match parts.first() {
            Some(Value::Int(n)) => usize::try_from(*n).unwrap_or(0),
            _ => return Err(unexpected()),
        };
        if let Some(Value::Array(claims)) = parts.get(1) {
            done.claims.extend(claims.iter().filter_map(reply::text));
        }
        done.read += read;
        if read < PAGE {
            return Ok(done);
        }
    }
}

fn unexpected() -> DbError {
    DbError::Unexpected("the index script answered in a shape it never sends".into())
}
