//! Which relay this is among those sharing one Redis: a numbered lease, so the consumers of
//! each relay have names of their own (`notifier-1` in the first, `notifier-1@relay2` in the
//! second). Two processes reading as one consumer name would share its pending entries.

use std::sync::LazyLock;
use std::time::Duration;

use redis::Script;
use tokio_util::sync::CancellationToken;

use crate::db::{Db, DbError};
use crate::keys;
use crate::redis_cli::Trace;

/// A lease lasts this long unless renewed; a relay killed outright frees its number then.
const LEASE: Duration = Duration::from_secs(30);
/// Relays one Redis serves at most.
const MAX_RELAYS: u32 = 64;

/// Renews the lease if it is still ours (1), or takes it again if it lapsed (1), else 0.
static RENEW: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
-- KEYS: slot; ARGV: owner, seconds
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
-- KEYS: slot; ARGV: owner
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
",
    )
});

#[derive(Debug, Clone)]
pub struct RelaySlot {
    pub number: u32,
    owner: String,
}

impl RelaySlot {
    /// The lowest free number.
    pub async fn lease(db: &Db) -> Result<Self, DbError> {
        let owner = format!("{:032x}", rand::random::<u128>());
        let secs = LEASE.as_secs().to_string();
        for number in 1..=MAX_RELAYS {
            let taken: Option<String> = db
                .run(
                    &mut Trace::off(),
                    &["SET", &keys::relay_slot(number), &owner, "NX", "EX", &secs],
                )
                .await?;
            if taken.is_some() {
                return Ok(Self { number, owner });
            }
        }
        Err(DbError::Redis(redis::RedisError::from((
            redis::ErrorKind::Client,
            "no relay number free",
            format!("{MAX_RELAYS} relays already share this Redis"),
        ))))
    }

    /// What this relay adds to its consumers' names: nothing for the first.
    pub fn suffix(&self) -> String {
        match self.number {
            1 => String::new(),
            n => format!("@relay{n}"),
        }
    }

    /// Keeps the lease until `stop`, then gives it back.
    pub async fn keep(self, db: Db, stop: CancellationToken) {
        let mut tick = tokio::time::interval(LEASE / 3);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                () = stop.cancelled() => break,
            }
            let mut renew = RENEW.key(keys::relay_slot(self.number));
            renew.arg(&self.owner).arg(LEASE.as_secs());
            match db.script::<i64>(&renew).await {
                Ok(1) => {}
                Ok(_) => tracing::warn!(
                    number = self.number,
                    "another relay took this relay's number while it could not renew it"
                ),
                Err(e) => tracing::debug!(error = %e, "relay number not renewed"),
            }
        }
        let mut release = RELEASE.key(keys::relay_slot(self.number));
        release.arg(&self.owner);
        let _ = db.script::<i64>(&release).await;
    }
}
