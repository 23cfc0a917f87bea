//! Claims on Redis: loading one claim from its own index and snapshot (never a scan of the
//! stream), the atomic version-checked append, and indexing entries other programs appended.

mod append;
pub mod idempotency;
mod index;
mod load;

pub(in crate::store) use append::APPEND;
pub use append::{Appended, append, append_many};
pub use idempotency::IdempotencyMark;
pub use index::{Indexed, catch_up, catch_up_all};
pub use load::{
    HistoryPage, Known, LoadedClaim, Replay, customer_of, load, load_many, load_page, load_until,
    save_snapshot, snapshots,
};

use crate::store::command_log::{CommandLog, Writer};

/// `--snapshot-every`'s default.
pub const DEFAULT_SNAPSHOT_EVERY: u64 = 50;

/// The claims in Redis, with the rule of when a claim's snapshot is written: made once at the
/// start from the relay's settings, so no caller carries the rule or `Db` a domain setting.
#[derive(Clone)]
pub struct Claims {
    db: crate::store::db::Db,
    snapshot_every: shared::snapshot::SnapshotEvery,
    log: CommandLog,
}

impl Claims {
    /// Claims whose commands are logged before they are answered.
    pub fn new(db: crate::store::db::Db, snapshot_every: shared::snapshot::SnapshotEvery) -> Self {
        Self {
            log: CommandLog::Direct,
            db,
            snapshot_every,
        }
    }

    /// The same, with commands logged by a writer task of their own (started now), so an
    /// answer does not wait for its log entry: see [`CommandLog::Queued`].
    pub fn with_queued_log(self) -> Self {
        Self {
            log: CommandLog::Queued(Writer::start(self.db.clone())),
            ..self
        }
    }

    /// Where commands carried out on these claims are logged.
    pub fn command_log(&self) -> &CommandLog {
        &self.log
    }

    pub fn db(&self) -> &crate::store::db::Db {
        &self.db
    }

    /// The same over the expensive reads' own connection ([`Db::heavy`]).
    ///
    /// [`Db::heavy`]: crate::store::db::Db::heavy
    pub fn heavy(&self) -> Self {
        Self {
            db: self.db.heavy(),
            snapshot_every: self.snapshot_every,
            log: self.log.clone(),
        }
    }

    pub fn snapshot_every(&self) -> shared::snapshot::SnapshotEvery {
        self.snapshot_every
    }
}
