//! Claims on Redis: loading one claim from its own index (never a scan of the stream), the
//! atomic version-checked append, and the claim list read model.

use std::sync::LazyLock;

use redis::{Script, Value};
use shared::api::{ClaimView, StreamEntry};
use shared::stream_codec;
use shared::{Claim, ClaimEvent, ClaimStatus};

use crate::db::{self, Db, DbError};
use crate::idempotency::IdempotencyMark;
use crate::keys;
use crate::redis_cli::Trace;

/// A claim as folded from its events, and the entries it was folded from.
pub struct LoadedClaim {
    pub claim: Claim,
    pub entries: Vec<StreamEntry>,
}

pub async fn load(db: &Db, trace: &mut Trace, claim_id: &str) -> Result<LoadedClaim, DbError> {
    let history = keys::history(claim_id);
    let ids: Vec<String> = db.run(trace, &["LRANGE", &history, "0", "-1"]).await?;
    if ids.is_empty() {
        return Ok(LoadedClaim {
            claim: Claim::default(),
            entries: Vec::new(),
        });
    }
    let reads: Vec<Vec<&str>> = ids
        .iter()
        .map(|id| vec!["XRANGE", keys::EVENTS, id, id])
        .collect();
    let replies = db.pipeline(trace, &reads).await?;
    let entries: Vec<StreamEntry> = replies
        .iter()
        .flat_map(db::entries)
        .map(|(id, fields)| StreamEntry::decode(id, fields))
        .collect();
    let mut claim = Claim::from_events(entries.iter().filter_map(|e| e.event.as_ref()));
    // The index, not the entries still in the stream, is what appends are checked against:
    // if someone trimmed the stream the claim keeps counting the events it had.
    claim.version = ids.len() as u64;
    Ok(LoadedClaim { claim, entries })
}

pub enum Appended {
    Ok {
        entry_id: String,
    },
    /// Someone appended to the claim first; it is now at this version.
    Conflict {
        version: u64,
    },
}

/// Appends `event` to `claims:events` and updates the claim's index and read model, all in
/// one Lua script, only if the claim is still at `before.version`.
const APPEND_SOURCE: &str = r"
-- KEYS: events stream, claim history, all claims, snapshots, old status set, new status set,
--       and the idempotency key of the request, if it has one
-- ARGV: expected version, claim id, score, snapshot json, the request's fingerprint (or ''),
--       event field/value pairs...
local version = redis.call('LLEN', KEYS[2])
if version ~= tonumber(ARGV[1]) then
  return {'conflict', tostring(version)}
end
local id = redis.call('XADD', KEYS[1], '*', unpack(ARGV, 6))
redis.call('RPUSH', KEYS[2], id)
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[2])
if KEYS[5] ~= KEYS[6] then
  redis.call('ZREM', KEYS[5], ARGV[2])
end
redis.call('ZADD', KEYS[6], ARGV[3], ARGV[2])
redis.call('HSET', KEYS[4], ARGV[2], ARGV[4])
if KEYS[7] then
  -- Applied, in the same step: a retry after a crash before the answer is not applied again.
  local mark = cjson.encode({state = 'applied', fingerprint = ARGV[5], claim_id = ARGV[2], entry_id = id})
  redis.call('SET', KEYS[7], mark, 'EX', 86400)
end
return {'ok', id}
";

static APPEND: LazyLock<Script> = LazyLock::new(|| Script::new(APPEND_SOURCE));

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
    let snapshots = keys::snapshots();
    let old_set = keys::by_status(before.status().unwrap_or(ClaimStatus::Submitted));
    let new_set = keys::by_status(view.status);
    let score = after
        .details
        .as_ref()
        .map_or(0, |d| d.submitted_at.unix_millis())
        .to_string();
    let snapshot = serde_json::to_string(&view).expect("views serialize");
    let fields = stream_codec::encode(event);

    let version = before.version.to_string();
    let mut script_keys = vec![keys::EVENTS, &history, &all, &snapshots, &old_set, &new_set];
    script_keys.extend(mark.map(|m| m.key.as_str()));
    let fingerprint = mark.map_or("", |m| m.fingerprint.as_str());
    let mut script_args = vec![version.as_str(), claim_id, &score, &snapshot, fingerprint];
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
    let mut inside = vec![vec!["LLEN", history.as_str()]];
    let appended = match reply.as_slice() {
        [ok, entry_id] if ok == "ok" && !trace.is_on() => Ok(Appended::Ok {
            entry_id: entry_id.clone(),
        }),
        [ok, entry_id] if ok == "ok" => {
            let mut xadd = vec!["XADD", keys::EVENTS, "*"];
            xadd.extend(fields.iter().flat_map(|(k, v)| [*k, v.as_str()]));
            inside.push(xadd);
            inside.push(vec!["RPUSH", &history, entry_id]);
            inside.push(vec!["ZADD", &all, &score, claim_id]);
            if old_set != new_set {
                inside.push(vec!["ZREM", &old_set, claim_id]);
            }
            inside.push(vec!["ZADD", &new_set, &score, claim_id]);
            inside.push(vec!["HSET", &snapshots, claim_id, &snapshot]);
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
        other => Err(DbError::Redis(redis::RedisError::from((
            redis::ErrorKind::Client,
            "unexpected reply from the append script",
            format!("{other:?} (expected version {version})"),
        )))),
    };
    trace.record_script(&APPEND, APPEND_SOURCE, &script_keys, &script_args, &inside);
    appended
}

pub struct ClaimPage {
    pub claims: Vec<ClaimView>,
    pub total: u64,
}

/// Newest first, from the read model the append script keeps.
pub async fn list(
    db: &Db,
    trace: &mut Trace,
    status: Option<ClaimStatus>,
    offset: u64,
    limit: u64,
) -> Result<ClaimPage, DbError> {
    let set = status.map_or_else(keys::all_claims, keys::by_status);
    let stop = (offset + limit).saturating_sub(1).to_string();
    let offset_s = offset.to_string();
    let replies = db
        .pipeline(
            trace,
            &[
                vec!["ZCARD", set.as_str()],
                vec!["ZREVRANGE", set.as_str(), offset_s.as_str(), stop.as_str()],
            ],
        )
        .await?;
    let total = match replies.first() {
        Some(Value::Int(n)) => u64::try_from(*n).unwrap_or(0),
        _ => 0,
    };
    let ids: Vec<String> = match replies.get(1) {
        Some(Value::Array(ids)) => ids.iter().filter_map(db::text).collect(),
        _ => Vec::new(),
    };
    if ids.is_empty() || limit == 0 {
        return Ok(ClaimPage {
            claims: Vec::new(),
            total,
        });
    }
    let snapshots = keys::snapshots();
    let mut hmget = vec!["HMGET", snapshots.as_str()];
    hmget.extend(ids.iter().map(String::as_str));
    let json: Vec<Option<String>> = db.run(trace, &hmget).await?;
    let claims = json
        .iter()
        .flatten()
        .filter_map(|j| serde_json::from_str(j).ok())
        .collect();
    Ok(ClaimPage { claims, total })
}
