//! The atomic, version-checked append of one event.

use std::sync::LazyLock;

use shared::stream_codec;
use shared::{Claim, ClaimEvent};

use super::idempotency::IdempotencyMark;
use super::index::{INDEX_BACKLOG_LUA, PAGE};
use crate::store::db::{Db, DbError};
use crate::store::keys::Partitions;
use crate::store::lua::Lua;
use crate::store::trace::Trace;

pub enum Appended {
    Ok {
        entry_id: String,
    },
    /// Someone appended to the claim first; it is now at this version.
    Conflict {
        version: u64,
    },
    /// More entries of other programs wait to be indexed than one script run indexes;
    /// index them (`index::catch_up`) and decide again.
    IndexBehind,
}

/// Appends `event` to `claims:events` and its id to the claim's index, in one Lua script,
/// only if the claim is still at `before.version`. The entry names its cause and its story's
/// (`shared::causes`): the story is the claim's, so the script reads it from the claim's first
/// entry. Entries other programs appended are
/// indexed first, so the version it checks counts them. The read model is the projection's
/// business: a command only appends.
const APPEND_SOURCE: &str = r"
-- KEYS: events stream, claim history, index cursor, and the request's idempotency key, if any
-- ARGV: expected version, claim id, the request's fingerprint (or ''), history key prefix,
--       index page size, 'log' to list the commands run (or ''), the event's cause,
--       event field/value pairs...
local log = ARGV[6] == 'log' and {} or false
local read = index_backlog(KEYS[1], KEYS[3], ARGV[4], tonumber(ARGV[5]), log)
if read >= tonumber(ARGV[5]) then
  return {'index_behind', '', log or {}}
end
local version = run(log, 'LLEN', KEYS[2])
if version ~= tonumber(ARGV[1]) then
  return {'conflict', tostring(version), log or {}}
end
-- The claim's story began where its first entry's did (that entry, if it names nothing);
-- a submission begins one with its own cause.
local correlation = ARGV[7]
if version > 0 then
  local first = run(log, 'LINDEX', KEYS[2], 0)
  correlation = first
  local entry = run(log, 'XRANGE', KEYS[1], first, first)[1]
  if entry then
    for i = 1, #entry[2], 2 do
      if entry[2][i] == 'correlation_id' then correlation = entry[2][i + 1] end
    end
  end
end
local fields = {unpack(ARGV, 8)}
fields[#fields + 1] = 'causation_id'
fields[#fields + 1] = ARGV[7]
fields[#fields + 1] = 'correlation_id'
fields[#fields + 1] = correlation
local id = run(log, 'XADD', KEYS[1], '*', unpack(fields))
run(log, 'RPUSH', KEYS[2], id)
run(log, 'SET', KEYS[3], id)
if KEYS[4] then
  -- Applied, in the same step: a retry after a crash before the answer is not applied again.
  local mark = cjson.encode({state = 'applied', fingerprint = ARGV[3], claim_id = ARGV[2], entry_id = id})
  run(log, 'SET', KEYS[4], mark, 'EX', 86400)
end
return {'ok', id, log or {}}
";

pub(in crate::store) static APPEND: LazyLock<Lua> = LazyLock::new(|| {
    Lua::new(
        "append an event if the claim is still at the expected version",
        format!("{INDEX_BACKLOG_LUA}{APPEND_SOURCE}"),
    )
});

/// The append script's keys and arguments for one event; `log` asks it to list what it ran.
fn call(
    partitions: Partitions,
    before: &Claim,
    event: &ClaimEvent,
    cause: &str,
    mark: Option<&IdempotencyMark>,
    log: bool,
) -> (Vec<String>, Vec<String>) {
    let claim_id = event.claim_id.as_str();
    let partition = partitions.of(claim_id);
    let mut script_keys = vec![
        partition.events(),
        partition.history(claim_id),
        partition.indexed(),
    ];
    script_keys.extend(mark.map(|m| m.key.clone()));
    let mut script_args = vec![
        before.version.to_string(),
        claim_id.to_owned(),
        mark.map(|m| m.fingerprint.clone()).unwrap_or_default(),
        partition.history_prefix(),
        PAGE.to_string(),
        if log { "log" } else { "" }.to_owned(),
        cause.to_owned(),
    ];
    script_args.extend(
        stream_codec::encode(event)
            .into_iter()
            .flat_map(|(k, v)| [k.to_owned(), v]),
    );
    (script_keys, script_args)
}

/// Appends `event`, caused by `cause` (an entry's id or a request's), recording the script's
/// `EVALSHA` and the commands it reports running.
pub async fn append(
    db: &Db,
    trace: &mut Trace,
    before: &Claim,
    event: &ClaimEvent,
    cause: &str,
    mark: Option<&IdempotencyMark>,
) -> Result<Appended, DbError> {
    let (script_keys, script_args) = call(
        db.partitions,
        before,
        event,
        cause,
        mark,
        trace.wants_inside(),
    );
    let evalsha = APPEND.evalsha(&script_keys, &script_args);
    let reply: (String, String, Vec<Vec<String>>) = db.eval(&APPEND, &evalsha).await?;
    trace.record_script(&evalsha, &reply.2);
    parse(&reply.0, reply.1)
}

/// The script's answer: what happened, and the entry id or the claim's version.
fn parse(outcome: &str, detail: String) -> Result<Appended, DbError> {
    match outcome {
        "ok" => Ok(Appended::Ok { entry_id: detail }),
        "conflict" => Ok(Appended::Conflict {
            version: detail.parse().unwrap_or_default(),
        }),
        "index_behind" => Ok(Appended::IndexBehind),
        other => Err(DbError::Unexpected(format!(
            "the append script answered {other:?}"
        ))),
    }
}

/// Appends one event to each of several claims in one round trip, each with its cause: the
/// same script, each run on its own (one claim's conflict does not hold up the others).
pub async fn append_many(
    db: &Db,
    appends: &[(&Claim, &ClaimEvent, &str)],
) -> Result<Vec<Appended>, DbError> {
    if appends.is_empty() {
        return Ok(Vec::new());
    }
    let calls: Vec<(Vec<String>, Vec<String>)> = appends
        .iter()
        .map(|(before, event, cause)| call(db.partitions, before, event, cause, None, false))
        .collect();
    let evalshas: Vec<redis::Cmd> = calls
        .iter()
        .map(|(script_keys, script_args)| APPEND.evalsha(script_keys, script_args))
        .collect();
    db.evals(&APPEND, &evalshas)
        .await?
        .into_iter()
        .map(
            |reply| match redis::from_redis_value::<(String, String, Vec<Vec<String>>)>(reply) {
                Ok((outcome, detail, _)) => parse(&outcome, detail),
                Err(e) => Err(DbError::Unexpected(format!(
                    "the append script answered {e}"
                ))),
            },
        )
        .collect()
}
