//! The workspace's caps that need Redis to check (keys, bytes, groups per stream, consumers
//! per group), checked and reserved in one script before a line that grows the workspace runs,
//! so lines sent in parallel (from one browser or several relays) cannot pass them together.
//! The line's real size is recorded after it ran ([`Workspace::touch`]).

use std::sync::LazyLock;

use redis::Script;
use shared::console::caps::{MAX_CONSUMERS_PER_GROUP, MAX_GROUPS_PER_STREAM};

use super::{MAX_BYTES, MAX_KEYS, Workspace};
use crate::store::db::{Db, DbError};

/// How a line grows its workspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Growth {
    /// May make a key, adds an entry.
    Add,
    /// May make a key, adds a group.
    Group,
    /// May add a consumer and pending entries.
    Consumer,
}

impl Growth {
    fn word(self) -> &'static str {
        match self {
            Self::Add => "add",
            Self::Group => "group",
            Self::Consumer => "consumer",
        }
    }
}

/// What a line may add to its workspace.
#[derive(Debug, Clone, Copy)]
pub struct Reservation<'a> {
    pub growth: Growth,
    /// The group and the consumer the line names (empty when it names none).
    pub group: &'a str,
    pub consumer: &'a str,
    /// The entry it adds, in reply bytes (0 when it adds none).
    pub entry_bytes: usize,
    /// The bytes it may add at most.
    pub bytes: usize,
    /// The workspace's keys it names: each as typed and by its real name.
    pub keys: &'a [(&'a str, &'a str)],
}

/// The cap a line would pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cap {
    /// Keys in the workspace ([`MAX_KEYS`]).
    Keys,
    /// Bytes the workspace's keys take ([`MAX_BYTES`]).
    Bytes,
    /// Consumer groups on a stream.
    Groups,
    /// Consumers in a group.
    Consumers,
}

/// A cap the line would pass, and the figure the workspace is at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exceeded {
    pub cap: Cap,
    pub figure: u64,
}

/// KEYS: the workspace's hash, then the keys the line names (real names, one slot: the
/// workspace's hash tag). ARGV: the caps, what the line does, its group and consumer, the
/// entry it adds (reply bytes), the bytes it may add, then each key's typed name.
///
/// Refuses with `{cap, figure}`, or reserves: each key the line may make counts from now on,
/// the bytes it may add count against the workspace, an added entry raises the key's largest.
const RESERVE: &str = r"
local meta = KEYS[1]
local max_keys, max_bytes = tonumber(ARGV[1]), tonumber(ARGV[2])
local max_groups, max_consumers = tonumber(ARGV[3]), tonumber(ARGV[4])
local what, group, consumer = ARGV[5], ARGV[6], ARGV[7]
local entry, grows = tonumber(ARGV[8]), tonumber(ARGV[9])
local held, count, bytes = {}, 0, 0
local flat = redis.call('HGETALL', meta)
for i = 1, #flat, 2 do
  local name = string.match(flat[i], '^bytes:(.*)$')
  if name then
    held[name] = true
    count = count + 1
    bytes = bytes + tonumber(flat[i + 1])
  end
end
if bytes + grows > max_bytes then return {'bytes', bytes} end
if what ~= 'consumer' then
  local new = 0
  for i = 2, #KEYS do
    if not held[ARGV[8 + i]] then new = new + 1 end
  end
  if new > 0 and count + new > max_keys then return {'keys', count} end
end
local function named(list, name)
  for _, item in ipairs(list) do
    if item[2] == name then return true end
  end
  return false
end
for i = 2, #KEYS do
  if what == 'group' and redis.call('EXISTS', KEYS[i]) == 1 then
    local groups = redis.call('XINFO', 'GROUPS', KEYS[i])
    if #groups >= max_groups and not named(groups, group) then return {'groups', #groups} end
  elseif what == 'consumer' then
    local consumers = redis.pcall('XINFO', 'CONSUMERS', KEYS[i], group)
    if type(consumers) == 'table' and not consumers.err
      and #consumers >= max_consumers and not named(consumers, consumer) then
      return {'consumers', #consumers}
    end
  end
end
for i = 2, #KEYS do
  local typed = ARGV[8 + i]
  if what ~= 'consumer' or held[typed] then
    redis.call('HINCRBY', meta, 'bytes:' .. typed, grows)
  end
  if what == 'add' then
    local largest = tonumber(redis.call('HGET', meta, 'entry:' .. typed) or '0')
    if entry > largest then redis.call('HSET', meta, 'entry:' .. typed, entry) end
  end
end
return {}
";

static SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(RESERVE));

impl Workspace {
    /// Checks the workspace's caps for a line that grows it and reserves what it may take, or
    /// says which cap it would pass.
    pub async fn reserve(
        &self,
        db: &Db,
        line: &Reservation<'_>,
    ) -> Result<Result<(), Exceeded>, DbError> {
        let mut invocation = SCRIPT.prepare_invoke();
        invocation.key(self.meta());
        for (_, real) in line.keys {
            invocation.key(*real);
        }
        invocation
            .arg(MAX_KEYS)
            .arg(MAX_BYTES)
            .arg(MAX_GROUPS_PER_STREAM)
            .arg(MAX_CONSUMERS_PER_GROUP)
            .arg(line.growth.word())
            .arg(line.group)
            .arg(line.consumer)
            .arg(line.entry_bytes)
            .arg(line.bytes);
        for (typed, _) in line.keys {
            invocation.arg(*typed);
        }
        let refused: Vec<String> = db.script(&invocation).await?;
        let [cap, figure] = refused.as_slice() else {
            return Ok(Ok(()));
        };
        let cap = match cap.as_str() {
            "keys" => Cap::Keys,
            "groups" => Cap::Groups,
            "consumers" => Cap::Consumers,
            "bytes" => Cap::Bytes,
            other => {
                return Err(DbError::Unexpected(format!(
                    "the reserve script named cap {other:?}"
                )));
            }
        };
        let figure = figure.parse().map_err(|_| {
            DbError::Unexpected(format!("the reserve script answered figure {figure:?}"))
        })?;
        Ok(Err(Exceeded { cap, figure }))
    }
}
