//! The atomic, version-checked append of one event.

use std::sync::LazyLock;

use redis::Script;
use shared::api::ClaimView;
use shared::stream_codec;
use shared::{Claim, ClaimEvent, ClaimStatus};

use super::index::{INDEX_BACKLOG_LUA, PAGE};
use crate::db::{Db, DbError};
use crate::idempotency::IdempotencyMark;
use crate::keys;
use crate::redis_cli::Trace;

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

/// Appends `event` to `claims:events` and updates the claim's index and read model, all in
/// one Lua script, only if the claim is still at `before.version`. Entries other programs
/// appended are indexed first, so the version it checks counts them.
const APPEND_SOURCE: &str = r"
-- KEYS: events stream, claim history, all claims, views, old status set, new status set,
--       index cursor, and the idempotency key of the request, if it has one
-- ARGV: expected version, claim id, score, view json, the request's fingerprint (or ''),
--       history key prefix, index page size, event field/value pairs...
local read = index_backlog(KEYS[1], KEYS[7], ARGV[6], tonumber(ARGV[7]))
if read >= tonumber(ARGV[7]) then
  return {'index_behind', ''}
end
local version = redis.call('LLEN', KEYS[2])
if version ~= tonumber(ARGV[1]) then
  return {'conflict', tostring(version)}
end
local id = redis.call('XADD', KEYS[1], '*', unpack(ARGV, 8))
redis.call('RPUSH', KEYS[2], id)
redis.call('SET', KEYS[7], id)
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[2])
if KEYS[5] ~= KEYS[6] then
  redis.call('ZREM', KEYS[5], ARGV[2])
end
redis.call('ZADD', KEYS[6], ARGV[3], ARGV[2])
redis.call('HSET', KEYS[4], ARGV[2], ARGV[4])
if KEYS[8] then
  -- Applied, in the same step: a retry after a crash before the answer is not applied again.
  local mark = cjson.encode({state = 'applied', fingerprint = ARGV[5], claim_id = ARGV[2], entry_id = id})
  redis.call('SET', KEYS[8], mark, 'EX', 86400)
end
return {'ok', id}
";

static SOURCE: LazyLock<String> = LazyLock::new(|| format!("{INDEX_BACKLOG_LUA}{APPEND_SOURCE}"));
static APPEND: LazyLock<Script> = LazyLock::new(|| Script::new(&SOURCE));

pub async fn append(
    db: &Db,
    trace: &mut Trace,
    before: &Claim,
    event: &ClaimEvent,
    after: &Claim,
    mark: Option<&IdempotencyMark>,
) -> Result<Appended, DbError> {
    let view = ClaimView::of(after).expect("an appended event leaves a claim that exists");
    let claim_id = event.claim_id.as_str();
    let history = keys::history(claim_id);
    let all = keys::all_claims();
    let views = keys::views();
    let cursor = keys::indexed();
    let prefix = keys::history_prefix();
    let page = PAGE.to_string();
    let old_set = keys::by_status(before.status().unwrap_or(ClaimStatus::Submitted));
    let new_set = keys::by_status(view.status);
    let score = after
        .details
        .as_ref()
        .map_or(0, |d| d.submitted_at.unix_millis())
        .to_string();
    let view_json = serde_json::to_string(&view).expect("views serialize");
    let fields = stream_codec::encode(event);

    let version = before.version.to_string();
    let mut script_keys = vec![
        keys::EVENTS,
        &history,
        &all,
        &views,
        &old_set,
        &new_set,
        &cursor,
    ];
    script_keys.extend(mark.map(|m| m.key.as_str()));
    let fingerprint = mark.map_or("", |m| m.fingerprint.as_str());
    let mut script_args = vec![
        version.as_str(),
        claim_id,
        &score,
        &view_json,
        fingerprint,
        &prefix,
        &page,
    ];
    script_args.extend(fields.iter().flat_map(|(k, v)| [*k, v.as_str()]));
    let mut invocation = APPEND.prepare_invoke();
    for key in &script_keys {
        invocation.key(*key);
    }
    for arg in &script_args {
        invocation.arg(*arg);
    }

    let reply: Vec<String> = db.script(&invocation).await?;
    // What the script did inside, for the learner: one atomic step.
    // Entries other programs appended since the cursor, indexed first (usually none).
    let mut inside = vec![
        vec!["GET", cursor.as_str()],
        vec!["XRANGE", keys::EVENTS, "(<indexed>", "+", "COUNT", &page],
        vec!["LLEN", history.as_str()],
    ];
    let appended = match reply.as_slice() {
        [ok, entry_id] if ok == "ok" && !trace.is_on() => Ok(Appended::Ok {
            entry_id: entry_id.clone(),
        }),
        [ok, entry_id] if ok == "ok" => {
            let mut xadd = vec!["XADD", keys::EVENTS, "*"];
            xadd.extend(fields.iter().flat_map(|(k, v)| [*k, v.as_str()]));
            inside.push(xadd);
            inside.push(vec!["RPUSH", &history, entry_id]);
            inside.push(vec!["SET", &cursor, entry_id]);
            inside.push(vec!["ZADD", &all, &score, claim_id]);
            if old_set != new_set {
                inside.push(vec!["ZREM", &old_set, claim_id]);
            }
            inside.push(vec!["ZADD", &new_set, &score, claim_id]);
            inside.push(vec!["HSET", &views, claim_id, &view_json]);
            if let Some(m) = mark {
                inside.push(vec!["SET", m.key.as_str(), "<applied>", "EX", "86400"]);
            }
            Ok(Appended::Ok {
                entry_id: entry_id.clone(),
            })
        }
        [conflict, actual] if conflict == "conflict" => Ok(Appended::Conflict {
            version: actual.parse().unwrap_or_default(),
        }),
        [behind, _] if behind == "index_behind" => Ok(Appended::IndexBehind),
        other => Err(DbError::Redis(redis::RedisError::from((
            redis::ErrorKind::Client,
            "unexpected reply from the append script",
            format!("{other:?} (expected version {version})"),
        )))),
    };
    trace.record_script(&APPEND, &SOURCE, &script_keys, &script_args, &inside);
    appended
}

