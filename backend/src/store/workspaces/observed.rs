//! A learner's stream in their workspace as a lab's checks look at it: read from Redis in one
//! script run whose answer is bounded whatever the workspace holds. Which stream and groups
//! the lab is about is the lab's to say ([`Watched`]).

use std::sync::LazyLock;

use redis::Script;
use serde::Deserialize;

use super::{Place, Workspace};
use crate::store::db::{Db, DbError};

/// What a lab watches, by the names the learner types.
#[derive(Debug, Clone, Copy)]
pub struct Watched<'a> {
    /// The stream the lab works on, and the one its dead letters go to.
    pub stream: &'a str,
    pub failed: &'a str,
    /// The group whose consumers and pending entries are read too.
    pub processors: &'a str,
    /// The groups the lab's tasks name: always read, however many others the learner made.
    pub groups: &'a [&'a str],
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Observed {
    pub length: u64,
    /// Entries ever added (XINFO STREAM), so trims and deletions show.
    pub entries_added: u64,
    pub first_id: Option<String>,
    /// The first entries, oldest first: their `type` and `claim_id` fields only.
    pub entries: Vec<(String, Vec<(String, String)>)>,
    pub groups: Vec<Group>,
    /// Consumers of the processors group.
    pub consumers: Vec<String>,
    /// Pending entries of the processors group: (id, consumer, deliveries).
    pub pending: Vec<(String, String, u64)>,
    pub dead_letters: u64,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Group {
    pub name: String,
    pub pending: u64,
    pub last_delivered: String,
    pub entries_read: Option<u64>,
    pub lag: Option<u64>,
}

/// The workspace seen from inside Redis, in one script run, and bounded whatever the learner
/// stored: of each of the first [`READ`] entries only its id, `type` and `claim_id`; of the
/// groups at most [`GROUPS`] (the lab's own first); at most [`PENDING`] pending entries;
/// every name and value cut at [`LONGEST`] bytes. So a lab check, and the class view over
/// hundreds of workspaces, costs a few KB a workspace, not what each workspace holds.
static OBSERVE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local read, longest, most = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local processors, pending_read = ARGV[4], ARGV[5]
local function cut(v)
  if type(v) == 'string' and #v > longest then return string.sub(v, 1, longest) end
  return v
end
local function num(v) if type(v) == 'number' then return v end return nil end
local function field(flat, name)
  for i = 1, #flat, 2 do if flat[i] == name then return flat[i + 1] end end
  return nil
end
local function list(t) if #t > 0 then return t end return nil end
local seen = {}
local failed = redis.pcall('XLEN', KEYS[2])
seen.dead_letters = num(failed) or 0
local info = redis.pcall('XINFO', 'STREAM', KEYS[1])
if info.err then return cjson.encode(seen) end
seen.length = num(field(info, 'length'))
seen.entries_added = num(field(info, 'entries-added'))
local first = field(info, 'first-entry')
if type(first) == 'table' then seen.first_id = first[1] end
local wanted = {}
for i = 6, #ARGV do wanted[ARGV[i]] = true end
local groups, others, has_processors = {}, 0, false
for _, g in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do
  local name = field(g, 'name')
  if name == processors then has_processors = true end
  local lab = wanted[name]
  if lab or others < most then
    if not lab then others = others + 1 end
    table.insert(groups, {
      name = cut(name),
      pending = num(field(g, 'pending')) or 0,
      last_delivered = field(g, 'last-delivered-id'),
      entries_read = num(field(g, 'entries-read')),
      lag = num(field(g, 'lag')),
    })
  end
end
seen.groups = list(groups)
local entries = {}
for _, e in ipairs(redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', read)) do
  table.insert(entries, {
    id = e[1], type = cut(field(e[2], 'type')), claim_id = cut(field(e[2], 'claim_id')),
  })
end
seen.entries = list(entries)
if has_processors then
  local consumers = {}
  for i, c in ipairs(redis.call('XINFO', 'CONSUMERS', KEYS[1], processors)) do
    if i > most then break end
    table.insert(consumers, cut(field(c, 'name')))
  end
  seen.consumers = list(consumers)
  local pending = {}
  for _, p in ipairs(redis.call('XPENDING', KEYS[1], processors, '-', '+', pending_read)) do
    table.insert(pending, {p[1], cut(p[2]), p[4]})
  end
  seen.pending = list(pending)
end
return cjson.encode(seen)
",
    )
});

/// Entries of the stream the checks read.
const READ: usize = 200;
/// Groups, and consumers of the processors group, read besides the lab's own groups.
const GROUPS: usize = 32;
/// Pending entries of the processors group read.
const PENDING: usize = 100;
/// Longest name or value kept, in bytes.
const LONGEST: usize = 128;

/// What the script answers, as JSON (empty lists are left out).
#[derive(Deserialize)]
struct Summary {
    #[serde(default)]
    dead_letters: u64,
    #[serde(default)]
    length: u64,
    #[serde(default)]
    entries_added: u64,
    first_id: Option<String>,
    #[serde(default)]
    groups: Vec<SummaryGroup>,
    #[serde(default)]
    entries: Vec<SummaryEntry>,
    #[serde(default)]
    consumers: Vec<String>,
    #[serde(default)]
    pending: Vec<(String, String, u64)>,
}

#[derive(Deserialize)]
struct SummaryGroup {
    name: String,
    pending: u64,
    #[serde(default)]
    last_delivered: String,
    entries_read: Option<u64>,
    lag: Option<u64>,
}

#[derive(Deserialize)]
struct SummaryEntry {
    id: String,
    #[serde(rename = "type")]
    kind: Option<String>,
    claim_id: Option<String>,
}

pub async fn observe(
    db: &Db,
    workspace: &Workspace,
    watched: &Watched<'_>,
) -> Result<Observed, DbError> {
    let (Ok(Place::Own(stream)), Ok(Place::Own(failed))) = (
        workspace.place(watched.stream),
        workspace.place(watched.failed),
    ) else {
        return Err(DbError::Unexpected(format!(
            "{} and {} are not keys of the workspace's own",
            watched.stream, watched.failed
        )));
    };
    let mut invocation = OBSERVE.prepare_invoke();
    invocation
        .key(&stream)
        .key(&failed)
        .arg(READ)
        .arg(LONGEST)
        .arg(GROUPS)
        .arg(watched.processors)
        .arg(PENDING);
    for group in watched.groups {
        invocation.arg(group);
    }
    // Bytes: a value cut at LONGEST may end inside a character, and a learner's values need
    // not be UTF-8 at all.
    let json: Vec<u8> = db.script(&invocation).await?;
    let seen: Summary = serde_json::from_str(&String::from_utf8_lossy(&json)).map_err(|e| {
        DbError::Unexpected(format!(
            "the lab's observe script answered unexpectedly: {e}"
        ))
    })?;
    Ok(Observed {
        length: seen.length,
        entries_added: seen.entries_added,
        first_id: seen.first_id,
        entries: seen
            .entries
            .into_iter()
            .map(|e| {
                let fields = [("type", e.kind), ("claim_id", e.claim_id)]
                    .into_iter()
                    .filter_map(|(k, v)| Some((k.to_owned(), v?)))
                    .collect();
                (e.id, fields)
            })
            .collect(),
        groups: seen
            .groups
            .into_iter()
            .map(|g| Group {
                name: g.name,
                pending: g.pending,
                last_delivered: g.last_delivered,
                entries_read: g.entries_read,
                lag: g.lag,
            })
            .collect(),
        consumers: seen.consumers,
        pending: seen.pending,
        dead_letters: seen.dead_letters,
    })
}
