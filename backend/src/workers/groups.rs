//! Creating the consumer groups, idempotently.

use crate::store::db::{Db, DbError, Refusal};
use crate::store::keys;
use crate::store::trace::Trace;

/// Creates `group` on every partition's stream (and the stream if missing), reading from new
/// entries. A group that already exists (BUSYGROUP) is left as it is, with its cursor and
/// pending entries.
pub async fn ensure(db: &Db, group: &str) -> Result<(), DbError> {
    for partition in db.partitions.all() {
        let created: Result<String, DbError> = db
            .run(
                &mut Trace::off(),
                &[
                    "XGROUP",
                    "CREATE",
                    &partition.events(),
                    group,
                    "$",
                    "MKSTREAM",
                ],
            )
            .await;
        match created {
            Ok(_) => tracing::info!(
                group,
                partition = partition.index(),
                "created consumer group"
            ),
            Err(e) if e.refusal() == Some(Refusal::BusyGroup) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Removes a consumer from the group only if it owns no pending entries, atomically: a
/// `DELCONSUMER` with entries pending would drop them from the group's pending list for good.
static FORGET_IF_IDLE: std::sync::LazyLock<redis::Script> = std::sync::LazyLock::new(|| {
    redis::Script::new(
        r"
-- KEYS: stream; ARGV: group, consumer.
-- -1: it still owns entries; else DELCONSUMER's answer.
if #redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', 1, ARGV[2]) > 0 then
  return -1
end
return redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], ARGV[2])
",
    )
});

/// Whether `consumer` is gone from `group` in every partition (removed now, or never there).
/// A consumer that still owns pending entries stays until the others have claimed them.
pub async fn forget_if_idle(db: &Db, group: &str, consumer: &str) -> Result<bool, DbError> {
    let mut gone = true;
    for partition in db.partitions.all() {
        let mut invocation = FORGET_IF_IDLE.key(partition.events());
        invocation.arg(group).arg(consumer);
        gone &= db.script::<i64>(&invocation).await? >= 0;
    }
    if gone {
        // Its pause acknowledgement goes with it (a hash of the group's, in another slot).
        db.run::<i64, _>(&mut Trace::off(), &["HDEL", &keys::parked(group), consumer])
            .await?;
        tracing::info!(
            group,
            consumer,
            "removed a departed consumer from the group"
        );
    }
    Ok(gone)
}
