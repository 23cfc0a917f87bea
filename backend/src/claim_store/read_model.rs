//! The claim list read model: claim ids by status and by submission time, and each claim's
//! view. The append script keeps it for the relay's own events; [`refresh`] for claims that
//! other programs' entries changed.

use std::sync::LazyLock;

use redis::{Script, Value};
use shared::ClaimStatus;
use shared::api::ClaimView;

use super::load;
use crate::db::{self, Db, DbError};
use crate::keys;
use crate::redis_cli::Trace;

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
    let views = keys::views();
    let mut hmget = vec!["HMGET", views.as_str()];
    hmget.extend(ids.iter().map(String::as_str));
    let json: Vec<Option<String>> = db.run(trace, &hmget).await?;
    let claims = json
        .iter()
        .flatten()
        .filter_map(|j| serde_json::from_str(j).ok())
        .collect();
    Ok(ClaimPage { claims, total })
}

/// Writes a claim's view unless the model already holds this version or a newer one, so
/// refreshes racing each other (or the append script) never move a claim backwards.
const PUT_VIEW_SOURCE: &str = r"
-- KEYS: views, all claims, the status sets (new status first)
-- ARGV: claim id, version, score, view json
local old = redis.call('HGET', KEYS[1], ARGV[1])
if old and cjson.decode(old).version >= tonumber(ARGV[2]) then
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[4])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
for i = 4, #KEYS do
  redis.call('ZREM', KEYS[i], ARGV[1])
end
return 1
";

static PUT_VIEW: LazyLock<Script> = LazyLock::new(|| Script::new(PUT_VIEW_SOURCE));

/// Loads each claim and puts its view in the read model; claims that do not exist (only
/// foreign entries that never submitted them) are left out. Returns how many views changed.
pub async fn refresh(db: &Db, claim_ids: &[String]) -> Result<usize, DbError> {
    let mut unique: Vec<&String> = claim_ids.iter().collect();
    unique.sort();
    unique.dedup();
    let mut changed = 0;
    for claim_id in unique {
        let loaded = load::load(db, &mut Trace::default(), claim_id).await?;
        let Some(view) = ClaimView::of(&loaded.claim) else {
            continue;
        };
        let score = loaded
            .claim
            .details
            .as_ref()
            .map_or(0, |d| d.submitted_at.unix_millis());
        let mut invocation = PUT_VIEW.prepare_invoke();
        invocation
            .key(keys::views())
            .key(keys::all_claims())
            .key(keys::by_status(view.status));
        for other in ClaimStatus::ALL.into_iter().filter(|s| *s != view.status) {
            invocation.key(keys::by_status(other));
        }
        invocation
            .arg(claim_id)
            .arg(view.version)
            .arg(score)
            .arg(serde_json::to_string(&view).expect("views serialize"));
        changed += db.script::<usize>(&invocation).await?;
    }
    Ok(changed)
}
