//! The projector: reads each partition's events stream in the group `claims-projections` as
//! the single consumer `projector`, folds each batch's claims from their index and snapshots, and
//! applies the batch to the read model in one script before acknowledging it.

use std::time::{Duration, Instant};

use shared::api::{ClaimView, StreamEntry};
use tokio_util::sync::CancellationToken;

use super::activity::activity;
use super::rebuild;
use crate::store;
use crate::store::claims::Claims;
use crate::store::clock::Clock;
use crate::store::db::DbError;
use crate::store::groups;
use crate::store::keys::{self, Partition};
use crate::store::lease::{release, renew};
use crate::store::read_model::{self, Batch};
use crate::store::streams::BlockingReader;
use crate::store::trace::Trace;

/// The one consumer name: whichever relay holds the lease reads as it, so it also takes over
/// the entries its predecessor read but did not acknowledge.
const CONSUMER: &str = "projector";
/// Entries per batch.
const BATCH: usize = 500;
/// How long one read blocks: also how often the lease is renewed and a rebuild noticed.
const BLOCK: Duration = Duration::from_millis(500);
/// The projector's lease, renewed every quarter of it (between batches, and while rebuilding).
const LEASE: Duration = Duration::from_secs(10);
/// How long the projector lets entries gather after a batch smaller than [`BATCH`] before it
/// reads again. A batch costs the same round trips and script runs (index catch-up, claim
/// loads, apply, XACK) whether it holds one entry or hundreds; reading again at once under a
/// steady stream of submits made batches of a few entries. The read model trails the stream
/// by this much more at most.
const GATHER: Duration = Duration::from_millis(10);

/// Projects every partition, each under a lease of its own, until `stop`: with several
/// relays, the partitions' projectors spread over them as leases are taken.
pub async fn run(claims: Claims, clock: Clock, stop: CancellationToken) {
    let projectors: Vec<_> = claims
        .db()
        .partitions
        .all()
        .map(|partition| {
            tokio::spawn(run_partition(
                claims.clone(),
                clock.clone(),
                partition,
                stop.clone(),
            ))
        })
        .collect();
    for projector in projectors {
        let _ = projector.await;
    }
}

/// Takes the partition's projector lease whenever it is free and projects until `stop`.
async fn run_partition(
    claims: Claims,
    clock: Clock,
    partition: Partition,
    stop: CancellationToken,
) {
    let db = claims.db();
    let owner = format!("{:032x}", rand::random::<u128>());
    let lease = partition.projector_lease();
    let mut backoff = Duration::from_millis(100);
    while !stop.is_cancelled() {
        let result = match renew(db, &lease, &owner, LEASE).await {
            Ok(true) => {
                tokio::select! {
                    r = serve(&claims, &clock, partition, &owner) => r,
                    () = stop.cancelled() => Ok(()),
                }
            }
            Ok(false) => {
                // Another relay projects; be ready to take over when its lease lapses.
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_secs(2)) => {}
                    () = stop.cancelled() => {}
                }
                Ok(())
            }
            Err(e) => Err(e),
        };
        match result {
            Ok(()) => backoff = Duration::from_millis(100),
            Err(e) => {
                tracing::warn!(error = %e, partition = partition.index(), retry_in = ?backoff, "projector lost Redis");
                tokio::select! {
                    () = tokio::time::sleep(backoff) => {}
                    () = stop.cancelled() => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(2));
            }
        }
    }
    let _ = release(db, &lease, &owner).await;
}

/// Projects while this relay holds the lease; returns when it is lost.
async fn serve(
    claims: &Claims,
    clock: &Clock,
    partition: Partition,
    owner: &str,
) -> Result<(), DbError> {
    let db = claims.db();
    let mut reader = BlockingReader::open(db, BLOCK).await?;
    let stream = partition.events();
    if groups::create_at_start(db, &stream, keys::PROJECTIONS_GROUP).await? {
        // A new group: build the model from the first event rather than trust what an older
        // version left under its keys.
        read_model::forget_earlier_layout(db, partition).await?;
        rebuild::request_one(db, partition, clock.now()).await?;
    }
    // Entries read but not acknowledged (by this relay before a restart, or by another relay
    // that held the lease) come first.
    let mut from = "0";
    let mut renewed = Instant::now();
    loop {
        if renewed.elapsed() > LEASE / 4 {
            if !renew(db, &partition.projector_lease(), owner, LEASE).await? {
                return Ok(());
            }
            renewed = Instant::now();
        }
        if rebuild::requested(db, partition).await? {
            // Renews the lease while it runs; a lease lost meanwhile ends this term.
            if !rebuild::run(db, clock, partition, owner, LEASE).await? {
                return Ok(());
            }
            renewed = Instant::now();
            from = "0";
            continue;
        }
        let read = reader
            .read_group(
                &mut Trace::off(),
                &stream,
                keys::PROJECTIONS_GROUP,
                CONSUMER,
                from,
                BATCH,
                Some(BLOCK),
            )
            .await?;
        let entries: Vec<StreamEntry> = crate::events::feed::decode(read)
            .into_iter()
            .map(|(_, e)| e)
            .collect();
        if entries.is_empty() {
            from = ">";
            continue;
        }
        match project(claims, partition, &entries).await {
            Ok(()) => {}
            Err(e @ DbError::Refused { .. }) => {
                skip_what_fails(claims, partition, &entries, &e).await?
            }
            Err(e) => return Err(e),
        }
        let ids: Vec<String> = entries.iter().map(|e| e.id.clone()).collect();
        groups::ack(
            db,
            &mut Trace::off(),
            &stream,
            keys::PROJECTIONS_GROUP,
            &ids,
        )
        .await?;
        if entries.len() < BATCH && from == ">" {
            tokio::time::sleep(GATHER).await;
        }
    }
}

/// Redis refused the batch (not for being away): projects its entries one at a time and
/// leaves out, with a log line and a count, any that fails on its own, so one bad entry
/// cannot hold the read model up for good.
async fn skip_what_fails(
    claims: &Claims,
    partition: Partition,
    entries: &[StreamEntry],
    error: &DbError,
) -> Result<(), DbError> {
    tracing::warn!(%error, "a projection batch failed; projecting its entries one by one");
    for entry in entries {
        match project(claims, partition, std::slice::from_ref(entry)).await {
            Ok(()) => {}
            Err(e @ DbError::Refused { .. }) => {
                tracing::error!(entry = %entry.id, error = %e, "entry left out of the read model");
                read_model::count_skipped(claims.db(), partition).await?;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Applies one batch: the claims it touches, loaded whole, and its events as activity.
pub(super) async fn project(
    claims: &Claims,
    partition: Partition,
    entries: &[StreamEntry],
) -> Result<(), DbError> {
    let db = claims.db();
    // Entries other programs appended are indexed first, so their claims load with them.
    store::claims::catch_up(db, partition).await?;
    let mut claim_ids: Vec<&str> = entries
        .iter()
        .filter_map(crate::events::replay::claim_of)
        .collect();
    claim_ids.sort_unstable();
    claim_ids.dedup();
    // The batch's own entries are not read again: a new claim's only event is among them.
    let stream = partition.events();
    let known = store::claims::Known::new(&stream, entries);
    let loaded = store::claims::load_many(claims, &mut Trace::off(), &claim_ids, &known).await?;
    let batch = Batch {
        views: loaded
            .iter()
            .filter_map(|l| ClaimView::of(&l.claim))
            .collect(),
        activity: entries.iter().filter_map(activity).collect(),
        last_id: entries.last().map(|e| e.id.clone()).unwrap_or_default(),
    };
    read_model::apply(db, partition, &batch).await
}
