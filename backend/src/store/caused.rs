//! Finding the entries of a stream that name given entries as their cause, inside Redis: a
//! bounded `XRANGE` from a point, of which only the matches travel back. What a cause means
//! is `shared::causes`'s; which streams are searched, the caller's.

use std::sync::LazyLock;

use redis::Value;

use crate::store::db::{Db, DbError};
use crate::store::lua::Lua;
use crate::store::reply;
use crate::store::trace::Trace;

/// Entries one search looks at, at most: about a millisecond of Redis's time.
pub const EXAMINED_AT_MOST: usize = 1_000;

pub(in crate::store) static CAUSED: LazyLock<Lua> = LazyLock::new(|| {
    Lua::new(
        "find the entries that name one of the given causes",
        r"
-- KEYS: a stream
-- ARGV: the id to start at, entries to look at, the field naming a cause, the causes...
local wanted = {}
for i = 4, #ARGV do wanted[ARGV[i]] = true end
local entries = redis.call('XRANGE', KEYS[1], ARGV[1], '+', 'COUNT', ARGV[2])
local found = {}
for _, entry in ipairs(entries) do
  local fields = entry[2]
  for i = 1, #fields, 2 do
    if fields[i] == ARGV[3] and wanted[fields[i + 1]] then
      found[#found + 1] = entry
      break
    end
  end
end
return {found, #entries}
",
    )
});

/// What one search found, and how far it looked.
pub struct Caused {
    /// The matching entries, in stream order, each with its fields in order.
    pub entries: Vec<(String, Vec<(String, String)>)>,
    /// Entries looked at.
    pub examined: usize,
    /// Whether it looked at every entry from the start to the stream's end.
    pub complete: bool,
}

/// The entries of `stream` from `start` on whose `field` names one of `causes`, looking at
/// [`EXAMINED_AT_MOST`] entries at most.
pub async fn search(
    db: &Db,
    trace: &mut Trace,
    stream: &str,
    start: &str,
    field: &str,
    causes: &[String],
) -> Result<Caused, DbError> {
    let mut args = vec![
        start.to_owned(),
        EXAMINED_AT_MOST.to_string(),
        field.to_owned(),
    ];
    args.extend(causes.iter().cloned());
    let evalsha = CAUSED.evalsha(&[stream], &args);
    trace.record(&evalsha);
    let (found, examined): (Value, usize) = db.eval(&CAUSED, &evalsha).await?;
    Ok(Caused {
        entries: reply::entries(found),
        examined,
        complete: examined < EXAMINED_AT_MOST,
    })
}
