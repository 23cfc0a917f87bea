//! Rebuilding the read model from the first event. The projector does it itself, between
//! batches, so nothing else writes the model meanwhile: it folds every entry up to the
//! stream's newest into fresh keys, then renames them over the live ones and moves the group
//! past what it replayed, in one script. Readers see the old model until that step, then the
//! new one; entries appended meanwhile are projected right after it.
//!
//! It runs under the projector's lease, renewed while it runs; every write it makes is fenced
//! by the holder's token (`store::read_model::rebuild`).

use std::collections::VecDeque;
use std::time::Duration;

use shared::Timestamp;
use shared::api::ActivityItem;

use super::activity::activity;
use crate::events::replay::{self, Replayed};
use crate::store::clock::Clock;
use crate::store::db::{Db, DbError};
use crate::store::keys::{ACTIVITY_KEPT, Partition};
use crate::store::read_model::rebuild as store;
pub use crate::store::read_model::rebuild::{request as request_one, requested};
use crate::store::trace::Trace;

/// Asks every partition's projector to rebuild; `false` if a rebuild is already asked for or
/// running in one of them. `at`: when it was asked for.
pub async fn request(db: &Db, at: Timestamp) -> Result<bool, DbError> {
    let mut all = true;
    for partition in db.partitions.all() {
        all &= store::request(db, partition, at).await?;
    }
    Ok(all)
}

/// Rebuilds the partition's model as the projector holding its lease under the token
/// `owner`, renewing the lease (for `lease`) while it runs. `Ok(false)` if the lease is not, or
/// stops being, `owner`'s: then it has written nothing to the model (at most progress counts),
/// and whoever holds the lease starts the rebuild over.
pub async fn run(
    db: &Db,
    clock: &Clock,
    partition: Partition,
    owner: &str,
    lease: Duration,
) -> Result<bool, DbError> {
    let now = clock.now().to_string();
    let previous = store::begin(db, partition, owner, &now).await?;
    let Some(previous) = previous else {
        return Ok(false);
    };
    if !previous.is_empty() && previous != owner {
        // The relay that ran it lost its lease (stopped, or cut off for longer than it):
        // its fenced writes are refused from now on, so this one starts over.
        tracing::warn!(
            partition = partition.index(),
            "a rebuild left running by another projector is started over"
        );
    }
    let started = std::time::Instant::now();
    let outcome = tokio::select! {
        r = replay_and_swap(db, clock, partition, owner) => r,
        r = keep_lease(db, partition, owner, lease) => r.map(|()| None),
    };
    match outcome {
        Ok(Some(replayed)) => {
            tracing::info!(replayed, partition = partition.index(), took = ?started.elapsed(), "read model rebuilt");
            Ok(true)
        }
        Ok(None) => {
            tracing::warn!(
                partition = partition.index(),
                "projector lease lost during a rebuild; its holder starts the rebuild over"
            );
            Ok(false)
        }
        // Redis went away: ask again, so the next projector to hold the lease starts over.
        Err(e @ DbError::Unavailable(_)) => {
            let _ = store::set_state(db, partition, &[("rebuild_state", "requested")]).await;
            Err(e)
        }
        Err(e) => {
            tracing::error!(error = %e, "read model rebuild failed");
            let message = e.to_string();
            store::set_state(
                db,
                partition,
                &[("rebuild_state", "failed"), ("rebuild_error", &message)],
            )
            .await
            .map(|()| true)
        }
    }
}

/// Renews the lease every quarter of its length; returns once it is lost.
async fn keep_lease(
    db: &Db,
    partition: Partition,
    owner: &str,
    lease: Duration,
) -> Result<(), DbError> {
    loop {
        tokio::time::sleep(lease / 4).await;
        if !crate::store::lease::renew(db, &partition.projector_lease(), owner, lease).await? {
            return Ok(());
        }
    }
}

/// `None` if the lease stopped being `owner`'s before the swap.
async fn replay_and_swap(
    db: &Db,
    clock: &Clock,
    partition: Partition,
    owner: &str,
) -> Result<Option<u64>, DbError> {
    let stream = partition.events();
    let (last, added, total) = store::end_of_stream(db, &stream).await?;
    // Entries other programs appended are indexed first: they are replayed here, and the
    // group moves past them, so the projector would not meet them to index them later.
    crate::store::claims::catch_up(db, partition).await?;
    let total_s = total.to_string();
    store::set_state(
        db,
        partition,
        &[("rebuild_total", &total_s), ("rebuild_replayed", "0")],
    )
    .await?;
    if !store::clear(db, partition, owner).await? {
        return Ok(None);
    }

    let mut recent: VecDeque<ActivityItem> = VecDeque::with_capacity(ACTIVITY_KEPT);
    let replayed = match &last {
        None => Replayed::default(),
        Some(last) => {
            replay::replay(
                db,
                &mut Trace::off(),
                &stream,
                last,
                0,
                Some(partition),
                |entry| {
                    if let Some(item) = activity(entry) {
                        if recent.len() == ACTIVITY_KEPT {
                            recent.pop_front();
                        }
                        recent.push_back(item);
                    }
                },
            )
            .await?
        }
    };
    let claims = replayed.claims;
    let replayed = replayed.entries;
    let swapped = store::write(db, partition, owner, &claims, &recent).await?
        && store::swap(db, partition, owner, last.as_deref(), added, clock.now()).await?;
    Ok(swapped.then_some(replayed))
}
