//! Leases in Redis: a key whose value names its holder, with an expiry the holder keeps
//! renewing, so a process that dies frees what it held once the expiry passes.

use std::sync::LazyLock;
use std::time::Duration;

use redis::Script;

use crate::store::db::{Db, DbError};

/// Renews the lease if it is still ours (1), or takes it if it lapsed (1), else 0.
static RENEW: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
-- KEYS: lease; ARGV: owner, seconds
local owner = redis.call('GET', KEYS[1])
if owner == ARGV[1] then
  redis.call('EXPIRE', KEYS[1], ARGV[2])
  return 1
end
if not owner then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
  return 1
end
return 0
",
    )
});

static RELEASE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
-- KEYS: lease; ARGV: owner
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
",
    )
});

/// Takes `key` for `owner` for `lease`, only if no one holds it (`SET NX`).
pub async fn take(db: &Db, key: &str, owner: &str, lease: Duration) -> Result<bool, DbError> {
    let secs = lease.as_secs().max(1).to_string();
    let taken: Option<String> = db
        .run(
            &mut crate::store::trace::Trace::off(),
            &["SET", key, owner, "NX", "EX", &secs],
        )
        .await?;
    Ok(taken.is_some())
}

/// Whether `owner` holds `key` for `lease` from now: renewed if it did, taken if it was free.
pub async fn renew(db: &Db, key: &str, owner: &str, lease: Duration) -> Result<bool, DbError> {
    let mut renew = RENEW.key(key);
    renew.arg(owner).arg(lease.as_secs().max(1));
    Ok(db.script::<i64>(&renew).await? == 1)
}

/// Gives `key` back if `owner` still holds it.
pub async fn release(db: &Db, key: &str, owner: &str) -> Result<(), DbError> {
    let mut release = RELEASE.key(key);
    release.arg(owner);
    db.script::<i64>(&release).await.map(|_| ())
}
