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
