//! A group's controls as they live in Redis, so every process with consumers of the group
//! (this relay, other relays, `backend worker`) obeys the same pause, injected failures and
//! circuit breaker, and every relay reports the same state. Each process keeps a cached copy
//! in its `GroupControls` (`workers::controls`), refreshed every [`SYNC_EVERY`]. Knows the
//! hash's fields, not what the consumers do with them.

use std::collections::HashMap;
use std::sync::LazyLock;
use std::time::Duration;

use redis::Script;
use shared::Timestamp;

use super::db::{Db, DbError};
use super::keys;
use super::trace::Trace;

/// How stale a consumer's copy of the controls may get.
pub const SYNC_EVERY: Duration = Duration::from_millis(250);
/// A consumer that talked to Redis this recently is taken to be alive, so a pause waits for it.
pub const ALIVE: Duration = Duration::from_secs(5);
/// How long one consumer holds a half-open breaker's trial batch at most.
const TRIAL_MS: &str = "30000";

/// Failures injected for teaching: every entry of a claim, or a share of all entries (what
/// they do to an entry is `workers::handler`'s).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Injection {
    pub poison_claim: Option<String>,
    /// 0.0 to 1.0.
    pub fail_ratio: f64,
}

/// What `claims:{claims:events}:controls:<group>` holds.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Shared {
    pub paused: bool,
    /// Bumped by every pause, so a consumer's "parked" is tied to the pause it saw.
    pub epoch: u64,
    pub injection: Injection,
    /// Failures in a row, counted by every process.
    pub failures: u64,
    /// When the breaker opened (Unix ms), if it is open or half-open.
    pub opened_ms: Option<i64>,
}

pub async fn load(db: &Db, group: &str) -> Result<Shared, DbError> {
    let fields: HashMap<String, String> = db
        .run(&mut Trace::off(), &["HGETALL", &keys::controls(group)])
        .await?;
    Ok(Shared::from_fields(&fields))
}

impl Shared {
    /// From the hash's fields (`HGETALL`); missing fields are the defaults.
    pub fn from_fields(fields: &HashMap<String, String>) -> Self {
        let get = |name: &str| fields.get(name).map(String::as_str);
        Self {
            paused: get("paused") == Some("1"),
            epoch: get("epoch").and_then(|v| v.parse().ok()).unwrap_or(0),
            injection: Injection {
                poison_claim: get("poison_claim")
                    .filter(|v| !v.is_empty())
                    .map(str::to_owned),
                fail_ratio: get("fail_ratio")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0.0),
            },
            failures: get("failures").and_then(|v| v.parse().ok()).unwrap_or(0),
            opened_ms: get("opened_ms").and_then(|v| v.parse().ok()),
        }
    }
}

/// Pauses or resumes; a pause returns its epoch.
pub async fn set_paused(
    db: &Db,
    trace: &mut Trace,
    group: &str,
    paused: bool,
) -> Result<u64, DbError> {
    let key = keys::controls(group);
    if !paused {
        db.run::<(), _>(trace, &["HSET", &key, "paused", "0"])
            .await?;
        return Ok(0);
    }
    let replies = db
        .transaction(
            trace,
            &[
                vec!["HINCRBY", key.as_str(), "epoch", "1"],
                vec!["HSET", key.as_str(), "paused", "1"],
            ],
        )
        .await?;
    Ok(replies
        .first()
        .and_then(|v| redis::from_redis_value::<u64>(v.clone()).ok())
        .unwrap_or(0))
}

pub async fn set_injection(
    db: &Db,
    trace: &mut Trace,
    group: &str,
    injection: &Injection,
) -> Result<(), DbError> {
    let key = keys::controls(group);
    let ratio = injection.fail_ratio.to_string();
    let poison = injection.poison_claim.clone().unwrap_or_default();
    db.run::<(), _>(
        trace,
        &["HSET", &key, "poison_claim", &poison, "fail_ratio", &ratio],
    )
    .await
}

/// Counts a failure for every process; opens the breaker at `open_after` in a row, or again
/// at once when `reopen` (a failed trial).
static RECORD_FAILURE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
-- KEYS: controls; ARGV: open after, now (ms), reopen (1/0)
local failures = redis.call('HINCRBY', KEYS[1], 'failures', 1)
local open = redis.call('HEXISTS', KEYS[1], 'opened_ms') == 1
if ARGV[3] == '1' or (not open and failures >= tonumber(ARGV[1])) then
  redis.call('HSET', KEYS[1], 'opened_ms', ARGV[2])
end
return failures
",
    )
});

/// Counts a failure at `at` for every process; opens the breaker after `open_after`.
pub async fn record_failure(
    db: &Db,
    at: Timestamp,
    group: &str,
    open_after: u32,
    reopen: bool,
) -> Result<(), DbError> {
    let mut invocation = RECORD_FAILURE.key(keys::controls(group));
    invocation
        .arg(open_after)
        .arg(at.unix_millis())
        .arg(if reopen { "1" } else { "0" });
    db.script::<i64>(&invocation).await.map(drop)
}

/// Closes the breaker for every process.
pub async fn reset_breaker(db: &Db, group: &str) -> Result<(), DbError> {
    let key = keys::controls(group);
    db.transaction(
        &mut Trace::off(),
        &[
            vec!["HSET", key.as_str(), "failures", "0"],
            vec!["HDEL", key.as_str(), "opened_ms"],
        ],
    )
    .await
    .map(drop)
}

/// Takes the half-open breaker's one trial batch, if no consumer anywhere has it.
pub async fn try_trial(db: &Db, group: &str, consumer: &str) -> Result<bool, DbError> {
    let taken: Option<String> = db
        .run(
            &mut Trace::off(),
            &[
                "SET",
                &keys::breaker_trial(group),
                consumer,
                "NX",
                "PX",
                TRIAL_MS,
            ],
        )
        .await?;
    Ok(taken.is_some())
}

pub async fn end_trial(db: &Db, group: &str) -> Result<(), DbError> {
    db.run::<i64, _>(&mut Trace::off(), &["DEL", &keys::breaker_trial(group)])
        .await
        .map(drop)
}

/// Records that `consumer` saw the pause of `epoch` and reads nothing until it is lifted.
pub async fn park(db: &Db, group: &str, consumer: &str, epoch: u64) -> Result<(), DbError> {
    db.run::<i64, _>(
        &mut Trace::off(),
        &["HSET", &keys::parked(group), consumer, &epoch.to_string()],
    )
    .await
    .map(drop)
}

/// The consumers that have parked for `epoch` (or a later pause).
pub async fn parked_since(db: &Db, group: &str, epoch: u64) -> Result<Vec<String>, DbError> {
    let all: HashMap<String, u64> = db
        .run(&mut Trace::off(), &["HGETALL", &keys::parked(group)])
        .await?;
    Ok(all
        .into_iter()
        .filter(|(_, e)| *e >= epoch)
        .map(|(c, _)| c)
        .collect())
}
