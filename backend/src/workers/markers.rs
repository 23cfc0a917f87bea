//! Trimming the idempotence markers of `claims-notifications` and `claims-analytics` while the
//! relay runs (`store::markers` says what a marker is and how far it may be trimmed).

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::store::db::Db;
use crate::store::markers;

/// How often markers are trimmed.
pub const TRIM_EVERY: Duration = Duration::from_secs(30);

/// Trims the markers of `groups` every [`TRIM_EVERY`] until `stop`.
pub async fn trim_every(db: Db, groups: Vec<&'static str>, stop: CancellationToken) {
    let mut tick = tokio::time::interval(TRIM_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    if let Err(e) = markers::unlink_earlier_layout(&db).await {
        tracing::debug!(error = %e, "markers of the earlier layout not unlinked");
    }
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = stop.cancelled() => return,
        }
        for group in &groups {
            match markers::trim(&db, group).await {
                Ok(0) => {}
                Ok(n) => tracing::debug!(group, trimmed = n, "idempotence markers trimmed"),
                Err(e) => tracing::debug!(group, error = %e, "markers not trimmed"),
            }
        }
    }
}
