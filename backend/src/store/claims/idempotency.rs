//! The idempotency records: one key per `Idempotency-Key` a client sent (named by the key's
//! hash, in the partition the command appends to), holding where its request is: running,
//! applied (written by the append script in the same step as the append), or done with its
//! answer. Reserved for [`RESERVE`] while the request runs, kept [`KEEP`] once answered.
//! What makes two requests the same, and the HTTP around it, is `http::idempotency`'s.

use std::sync::LazyLock;
use std::time::Duration;

use redis::Script;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::store::db::{Db, DbError};
use crate::store::keys::Partition;
use crate::store::trace::Trace;

/// How long an answer is kept for its key.
pub const KEEP: Duration = Duration::from_secs(24 * 60 * 60);
/// How long a key stays reserved while its request runs (a relay that dies meanwhile frees it).
pub const RESERVE: Duration = Duration::from_secs(60);

/// An `Idempotency-Key` the append script marks applied in the same atomic step as the append.
#[derive(Debug, Clone)]
pub struct IdempotencyMark {
    /// The Redis key.
    pub key: String,
    /// The partition the key is kept in, which the command must append to: the claim's
    /// for a command on a claim; a new claim's id is drawn until it falls in it.
    pub partition: Partition,
    /// The request's fingerprint.
    pub fingerprint: String,
}

impl IdempotencyMark {
    /// The mark of the client's `key` for a request with `fingerprint`, kept in `partition`.
    pub fn new(partition: Partition, key: &str, fingerprint: String) -> Self {
        Self {
            key: partition.idempotency(&hash(key)),
            partition,
            fingerprint,
        }
    }

    /// Where a key for a new claim is kept: by its hash, spread over the partitions.
    pub fn partition_for_new(db: &Db, key: &str) -> Partition {
        db.partition_of(&hash(key))
    }
}

/// Where a key's request is.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Record {
    /// The first request with this key is running.
    Running { fingerprint: String },
    /// Its command was appended (written by the append script), its answer not yet recorded.
    Applied {
        fingerprint: String,
        claim_id: String,
        entry_id: String,
    },
    /// Its answer.
    Done {
        fingerprint: String,
        status: u16,
        body: String,
    },
}

impl Record {
    pub fn fingerprint(&self) -> &str {
        match self {
            Self::Running { fingerprint }
            | Self::Applied { fingerprint, .. }
            | Self::Done { fingerprint, .. } => fingerprint,
        }
    }
}

/// Reserves the key for this request (`SET NX`, for [`RESERVE`]); `false` if it is taken.
pub async fn reserve(db: &Db, mark: &IdempotencyMark) -> Result<bool, DbError> {
    let reserved: Option<String> = db
        .run(
            &mut Trace::off(),
            &[
                "SET",
                &mark.key,
                &running(mark),
                "NX",
                "EX",
                &RESERVE.as_secs().to_string(),
            ],
        )
        .await?;
    Ok(reserved.is_some())
}

/// Frees the key for a retry, unless the append script marked it applied meanwhile.
pub async fn free(db: &Db, mark: &IdempotencyMark) -> Result<(), DbError> {
    static FREE_IF_RUNNING: LazyLock<Script> = LazyLock::new(|| {
        Script::new(
            r"
-- KEYS: the key; ARGV: its reservation
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
",
        )
    });
    let mut free = FREE_IF_RUNNING.key(&mark.key);
    free.arg(running(mark));
    db.script::<i64>(&free).await.map(drop)
}

/// Keeps the request's answer for [`KEEP`].
pub async fn answered(
    db: &Db,
    mark: &IdempotencyMark,
    status: u16,
    body: String,
) -> Result<(), DbError> {
    let done = serde_json::to_string(&Record::Done {
        fingerprint: mark.fingerprint.clone(),
        status,
        body,
    })
    .expect("records serialize");
    db.run(
        &mut Trace::off(),
        &["SET", &mark.key, &done, "EX", &KEEP.as_secs().to_string()],
    )
    .await
}

/// What the key's record says, if it holds one (it may have expired, or never been).
pub async fn read(db: &Db, mark: &IdempotencyMark) -> Result<Option<Record>, DbError> {
    let stored: Option<String> = db.run(&mut Trace::off(), &["GET", &mark.key]).await?;
    Ok(stored.and_then(|s| serde_json::from_str(&s).ok()))
}

fn running(mark: &IdempotencyMark) -> String {
    serde_json::to_string(&Record::Running {
        fingerprint: mark.fingerprint.clone(),
    })
    .expect("records serialize")
}

fn hash(key: &str) -> String {
    Sha256::digest(key.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
