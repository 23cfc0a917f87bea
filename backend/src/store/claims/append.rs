//! The atomic, version-checked append of one event.

use std::sync::LazyLock;

use redis::{Script, ScriptInvocation};
use shared::stream_codec;
use shared::{Claim, ClaimEvent};

use super::idempotency::IdempotencyMark;
use super::index::{INDEX_BACKLOG_LUA, PAGE};
use crate::store::db::{Db, DbError};
use crate::store::keys::Partitions;
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
/// only if the claim is still at `before.version`. Entries other programs appended are
/// indexed first, so the version it checks counts them. The read model is the projection's
/// business: a command only appends.
const APPEND_SOURCE: &str = r"
-- KEYS: events stream, claim history, index cursor, and the request's idempotency key, if any
-- ARGV: expected version, claim id, the request's fingerprint (or ''), history key prefix,
--       index page size, event field/value pairs...
local read = index_backlog(KEYS[1], KEYS[3], ARGV[4], tonumber(ARGV[5]))
if read >= tonumber(ARGV[5]) then
  return {'index_behind', ''}
end
local version = redis.call('LLEN', KEYS[2])
if version ~= tonumber(ARGV[1]) then
  return {'conflict', tostring(version)}
end
local id = redis.call('XADD', KEYS[1], '*', unpack(ARGV, 6))
redis.call('RPUSH', KEYS[2], id)
redis.call('SET', KEYS[3], id)
if KEYS[4] then
  -- Applied, in the same step: a retry after a crash before the answer is not applied again.
  local mark = cjson.encode({state = 'applied', fingerprint = ARGV[3], claim_id = ARGV[2], entry_id = id})
  redis.call('SET', KEYS[4], mark, 'EX', 86400)
end
return {'ok', id}
";

static SOURCE: LazyLock<String> = LazyLock::new(|| format!("{INDEX_BACKLOG_LUA}{APPEND_SOURCE}"));
static APPEND: LazyLock<Script> = LazyLock::new(|| Script::new(&SOURCE));

/// The append script's keys and arguments for one event.
fn call(
    partitions: Partitions,
    before: &Claim,
    event: &ClaimEvent,
    mark: Option<&IdempotencyMark>,
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
    ];
    script_args.extend(
        stream_codec::encode(event)
            .into_iter()
            .flat_map(|(k, v)| [k.to_owned(), v]),
    );
    (script_keys, script_args)
}

fn invocation<'a>(script_keys: &'a [String], script_args: &'a [String]) -> ScriptInvocation<'a> {
    let mut invocation = APPEND.prepare_invoke();
    for key in script_keys {
        invocation.key(key);
    }
    for arg in script_args {
        invocation.arg(arg);
    }
    invocation
}

pub async fn append(
    db: &Db,
    trace: &mut Trace,
    before: &Claim,
    event: &ClaimEvent,
    mark: Option<&IdempotencyMark>,
) -> Result<Appended, DbError> {
    let (script_keys, script_args) = call(db.partitions, before, event, mark);
    let (stream, history, cursor, page) = (
        &script_keys[0],
        &script_keys[1],
        &script_keys[2],
        &script_args[4],
    );
    let fields = &script_args[5..];

    let reply: Vec<String> = db.script(&invocation(&script_keys, &script_args)).await?;
    let appended = parse(&reply);
    // What the script did inside, for the learner: one atomic step. Entries other programs
    // appended since the cursor are indexed first (usually none).
    let mut inside = vec![
        vec!["GET", cursor.as_str()],
        vec!["XRANGE", stream, "(<indexed>", "+", "COUNT", page],
        vec!["LLEN", history.as_str()],
    ];
    if let (true, Ok(Appended::Ok { entry_id })) = (trace.is_on(), &appended) {
        let mut xadd = vec!["XADD", stream.as_str(), "*"];
        xadd.extend(fields.iter().map(String::as_str));
        inside.push(xadd);
        inside.push(vec!["RPUSH", history, entry_id]);
        inside.push(vec!["SET", cursor, entry_id]);
        if let Some(m) = mark {
            inside.push(vec!["SET", m.key.as_str(), "<applied>", "EX", "86400"]);
        }
    }
    trace.record_script(&APPEND, &SOURCE, &script_keys, &script_args, &inside);
    appended
}

/// The script's answer, for a caller that records nothing.
fn parse(reply: &[String]) -> Result<Appended, DbError> {
    match reply {
        [ok, entry_id] if ok == "ok" => Ok(Appended::Ok {
            entry_id: entry_id.clone(),
        }),
        [conflict, actual] if conflict == "conflict" => Ok(Appended::Conflict {
            version: actual.parse().unwrap_or_default(),
        }),
        [behind, _] if behind == "index_behind" => Ok(Appended::IndexBehind),
        other => Err(DbError::Unexpected(format!(
            "the append script answered {other:?}"
        ))),
    }
}

/// Appends one event to each of several claims in one round trip: the same script, each run
/// on its own (one claim's conflict does not hold up the others).
pub async fn append_many(
    db: &Db,
    appends: &[(&Claim, &ClaimEvent)],
) -> Result<Vec<Appended>, DbError> {
    if appends.is_empty() {
        return Ok(Vec::new());
    }
    let calls: Vec<(Vec<String>, Vec<String>)> = appends
        .iter()
        .map(|(before, event)| call(db.partitions, before, event, None))
        .collect();
    let invocations: Vec<ScriptInvocation<'_>> = calls
        .iter()
        .map(|(script_keys, script_args)| invocation(script_keys, script_args))
        .collect();
    db.scripts(&APPEND, &invocations)
        .await?
        .into_iter()
        .map(|reply| {
            let reply: Vec<String> = redis::from_redis_value(reply).unwrap_or_default();
            parse(&reply)
        })
        .collect()
}
