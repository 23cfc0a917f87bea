//! Keeps claims that other programs append to (a plain `XADD` from the lab's own scripts)
//! loadable, listed and movable: as entries arrive it indexes them into their claims'
//! histories (`claim_store::catch_up`) and refreshes those claims' views in the read model.
//! Every relay runs one; the index step is idempotent, so several relays do no harm.

use std::time::Duration;

use redis::Value;
use tokio_util::sync::CancellationToken;

use crate::claim_store;
use crate::db::{Db, DbError};
use crate::keys;

/// How long one `XREAD` waits for new entries before it checks again.
const BLOCK: Duration = Duration::from_secs(5);

/// Indexes what arrived while the relay was away, then follows the stream until `stop`.
pub async fn run(db: Db, stop: CancellationToken) {
    let mut backoff = Duration::from_millis(100);
    while !stop.is_cancelled() {
        let result = tokio::select! {
            r = follow(&db) => r,
            () = stop.cancelled() => return,
        };
        if let Err(e) = result {
            tracing::warn!(error = %e, retry_in = ?backoff, "indexer lost Redis");
            tokio::select! {
                () = tokio::time::sleep(backoff) => {}
                () = stop.cancelled() => return,
            }
            backoff = (backoff * 2).min(Duration::from_secs(2));
        }
    }
}

/// Indexes every entry not indexed yet and refreshes the views of the claims that changed.
pub async fn index_new_entries(db: &Db) -> Result<usize, DbError> {
    let indexed = claim_store::catch_up(db).await?;
    if !indexed.claims.is_empty() {
        tracing::info!(
            entries = indexed.claims.len(),
            "indexed entries other programs appended"
        );
        claim_store::refresh(db, &indexed.claims).await?;
    }
    Ok(indexed.claims.len())
}

async fn follow(db: &Db) -> Result<(), DbError> {
    let mut conn = db.dedicated_connection(BLOCK + Duration::from_secs(3)).await?;
    let mut after = crate::feed::last_id(db).await?.to_string();
    index_new_entries(db).await?;
    loop {
        // Wakes on any new entry; the index step then reads from its own cursor, so an entry
        // that arrived between the two is not missed.
        let reply: Value = redis::cmd("XREAD")
            .arg("COUNT")
            .arg(1000)
            .arg("BLOCK")
            .arg(BLOCK.as_millis() as u64)
            .arg("STREAMS")
            .arg(keys::EVENTS)
            .arg(&after)
            .query_async(&mut conn)
            .await
            .map_err(|e| db.classify(e))?;
        if let Some((id, _)) = crate::feed::xread_entries(&reply).last() {
            after = id.to_string();
            index_new_entries(db).await?;
        }
    }
}
