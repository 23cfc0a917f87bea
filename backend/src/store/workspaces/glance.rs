//! A quick, bounded look at one stream's consumer groups, for the console's mistake
//! detectors: which groups it has, what each holds pending, and which of a few ids each
//! holds. One script run; the answer is a few hundred bytes whatever the stream holds.

use std::sync::LazyLock;

use redis::Script;
use serde::Deserialize;

use crate::store::db::{Db, DbError};

/// Groups looked at (a workspace's streams hold at most 8; the class's a few).
const GROUPS: usize = 16;
/// Ids looked up in each group's pending list.
pub const IDS: usize = 10;

/// A stream's groups, as the detectors need them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Glance {
    /// The stream's oldest entry, if it holds any.
    pub first_id: Option<String>,
    #[serde(default)]
    pub groups: Vec<GroupGlance>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct GroupGlance {
    pub name: String,
    pub pending: u64,
    /// The oldest id the group holds pending.
    pub oldest_pending: Option<String>,
    /// Which of the ids asked about the group holds pending.
    #[serde(default)]
    pub holds: Vec<String>,
}

/// KEYS: the stream. ARGV: most groups, then the ids to look up. An empty answer when the key
/// is no stream.
static GLANCE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local most = tonumber(ARGV[1])
local groups = redis.pcall('XINFO', 'GROUPS', KEYS[1])
if groups.err then return '{}' end
local function field(flat, name)
  for i = 1, #flat, 2 do if flat[i] == name then return flat[i + 1] end end
  return nil
end
local seen = { groups = {} }
local first = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)
if #first > 0 then seen.first_id = first[1][1] end
for i, g in ipairs(groups) do
  if i > most then break end
  local name = field(g, 'name')
  local group = { name = name, pending = field(g, 'pending') or 0 }
  local oldest = redis.call('XPENDING', KEYS[1], name, '-', '+', 1)
  if #oldest > 0 then group.oldest_pending = oldest[1][1] end
  local holds = {}
  for j = 2, #ARGV do
    local held = redis.pcall('XPENDING', KEYS[1], name, ARGV[j], ARGV[j], 1)
    if not held.err and #held > 0 then table.insert(holds, ARGV[j]) end
  end
  if #holds > 0 then group.holds = holds end
  table.insert(seen.groups, group)
end
if #seen.groups == 0 then seen.groups = nil end
return cjson.encode(seen)
",
    )
});

/// The groups of the stream `real` (a real key name), and which of the first [`IDS`] of `ids`
/// each holds pending.
pub async fn glance(db: &Db, real: &str, ids: &[&str]) -> Result<Glance, DbError> {
    let mut invocation = GLANCE.prepare_invoke();
    invocation.key(real).arg(GROUPS);
    for id in ids.iter().take(IDS) {
        invocation.arg(*id);
    }
    let json: Vec<u8> = db.script(&invocation).await?;
    serde_json::from_slice(&json).map_err(|e| {
        DbError::Unexpected(format!(
            "the console's glance script answered unexpectedly: {e}"
        ))
    })
}
