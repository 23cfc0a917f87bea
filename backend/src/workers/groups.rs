//! Creating the consumer groups, idempotently.

use crate::db::{Db, DbError};
use crate::keys;
use crate::redis_cli::Trace;

/// Creates `group` on `claims:events` (and the stream if missing), reading from new entries.
/// A group that already exists (BUSYGROUP) is left as it is, with its cursor and pending entries.
pub async fn ensure(db: &Db, group: &str) -> Result<(), DbError> {
    let created: Result<String, DbError> = db
        .run(
            &mut Trace::off(),
            &["XGROUP", "CREATE", keys::EVENTS, group, "$", "MKSTREAM"],
        )
        .await;
    match created {
        Ok(_) => {
            tracing::info!(group, "created consumer group");
            Ok(())
        }
        Err(DbError::Redis(e)) if e.code() == Some("BUSYGROUP") => Ok(()),
        Err(e) => Err(e),
    }
}

/// Removes a consumer from the group only if it owns no pending entries, atomically: a
/// `DELCONSUMER` with entries pending would drop them from the group's pending list for good.
static FORGET_IF_IDLE: std::sync::LazyLock<redis::Script> = std::sync::LazyLock::new(|| {
    redis::Script::new(
        r"
-- KEYS: stream, the group's parked hash; ARGV: group, consumer.
-- -1: it still owns entries; else DELCONSUMER's answer.
if #redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', 1, ARGV[2]) > 0 then
  return -1
end
redis.call('HDEL', KEYS[2], ARGV[2])
return redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], ARGV[2])
",
    )
});

/// Whether `consumer` is gone from `group` (removed now, or never there). A consumer that
/// still owns pending entries stays until the others have claimed them.
pub async fn forget_if_idle(db: &Db, group: &str, consumer: &str) -> Result<bool, DbError> {
    let mut invocation = FORGET_IF_IDLE.key(keys::EVENTS);
    invocation.key(keys::parked(group));
    invocation.arg(group).arg(consumer);
    let answer: i64 = db.script(&invocation).await?;
    if answer >= 0 {
        tracing::info!(
            group,
            consumer,
            "removed a departed consumer from the group"
        );
    }
    Ok(answer >= 0)
}
