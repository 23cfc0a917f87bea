//! A workspace's caps that need Redis to check: keys, bytes, groups per stream and consumers
//! per group. Checked and reserved in one script before a line that grows the workspace runs,
//! so lines sent in parallel (from one browser or several relays) cannot pass them together;
//! the line's real size is recorded after it ran (`Workspace::touch`). Knows nothing of HTTP.

use std::sync::LazyLock;

use redis::Script;
use shared::console::caps::{self, MAX_CONSUMERS_PER_GROUP, MAX_GROUPS_PER_STREAM};
use shared::console::{ConsoleError, Parsed};

use super::workspace::{self, Place, Workspace};
use crate::store::db::{Db, DbError};

/// How a line grows its workspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Growth {
    /// `XADD`: may make a key, adds an entry.
    Add,
    /// `XGROUP CREATE`: may make a key (MKSTREAM), adds a group.
    Group,
    /// `XREADGROUP`, `XGROUP CREATECONSUMER`, `XCLAIM`, `XAUTOCLAIM`: may add a consumer
    /// and pending entries.
    Consumer,
}

impl Growth {
    fn of(parsed: &Parsed) -> Option<Self> {
        match parsed.spec.name {
            "XADD" => Some(Self::Add),
            "XGROUP CREATE" => Some(Self::Group),
            "XGROUP CREATECONSUMER" | "XREADGROUP" | "XCLAIM" | "XAUTOCLAIM" => {
                Some(Self::Consumer)
            }
            _ => None,
        }
    }

    fn word(self) -> &'static str {
        match self {
            Self::Add => "add",
            Self::Group => "group",
            Self::Consumer => "consumer",
        }
    }
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

/// Checks the workspace's caps for a line that grows it and reserves what it may take, or says
/// which cap it would pass. Lines that do not grow the workspace pass untouched. `parsed`
/// holds the keys' real names; `named` pairs each typed name with where it leads.
pub async fn reserve(
    db: &Db,
    workspace: &Workspace,
    parsed: &Parsed,
    named: &[(String, Place)],
    line_bytes: usize,
) -> Result<Result<(), ConsoleError>, DbError> {
    let Some(growth) = Growth::of(parsed) else {
        return Ok(Ok(()));
    };
    let own: Vec<(&str, &str)> = named
        .iter()
        .filter_map(|(typed, place)| match place {
            Place::Own(real) => Some((typed.as_str(), real.as_str())),
            Place::Demo(_) => None,
        })
        .collect();
    let names = caps::created_names(parsed);
    let name = |what: &str| {
        names
            .iter()
            .find(|(w, _)| *w == what)
            .and_then(|&(_, at)| parsed.argv.get(at))
            .cloned()
            .unwrap_or_default()
    };
    let entry = caps::xadd_fields(parsed).map_or(0, caps::entry_reply_bytes);
    let mut invocation = SCRIPT.prepare_invoke();
    invocation.key(workspace.meta());
    for (_, real) in &own {
        invocation.key(*real);
    }
    invocation
        .arg(workspace::MAX_KEYS)
        .arg(workspace::MAX_BYTES)
        .arg(MAX_GROUPS_PER_STREAM)
        .arg(MAX_CONSUMERS_PER_GROUP)
        .arg(growth.word())
        .arg(name("group"))
        .arg(name("consumer"))
        .arg(entry)
        .arg(line_bytes);
    for (typed, _) in &own {
        invocation.arg(*typed);
    }
    let refused: Vec<redis::Value> = db.script(&invocation).await?;
    let (Some(cap), Some(figure)) = (refused.first(), refused.get(1)) else {
        return Ok(Ok(()));
    };
    let figure = crate::store::reply::text(figure).unwrap_or_default();
    Ok(Err(refusal(
        &crate::store::reply::text(cap).unwrap_or_default(),
        &figure,
    )))
}

fn refusal(cap: &str, figure: &str) -> ConsoleError {
    match cap {
        "keys" => ConsoleError::new(
            format!(
                "your workspace has {figure} keys, its most is {}",
                workspace::MAX_KEYS
            ),
            "DEL a key you no longer need",
        ),
        "groups" => ConsoleError::new(
            format!(
                "the stream has {figure} consumer groups, the console's most is {MAX_GROUPS_PER_STREAM}"
            ),
            "XGROUP DESTROY a group you no longer need",
        ),
        "consumers" => ConsoleError::new(
            format!(
                "the group has {figure} consumers, the console's most is {MAX_CONSUMERS_PER_GROUP}"
            ),
            "read as a consumer the group already has, or XGROUP DELCONSUMER one",
        ),
        _ => ConsoleError::new(
            format!(
                "your workspace holds {figure} bytes, its most is {} KB",
                workspace::MAX_BYTES / 1024
            ),
            "free room with XTRIM, XDEL or DEL, then try again",
        ),
    }
}
