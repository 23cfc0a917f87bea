//! `backend worker --group G --consumer C`: one consumer in a process of its own, so consumers
//! can run on other machines against the same Redis as the relay.

use std::sync::Arc;

use tokio::sync::RwLock;
use tokio_util::sync::CancellationToken;

use super::analytics::Analytics;
use super::handler::Injection;
use super::notifications::Notify;
use super::processors::AutoReview;
use super::{Consumer, Handler, WorkerSettings};
use crate::store::claims::Claims;
use crate::store::db::Db;
use crate::store::groups;
use crate::store::keys;

/// Runs `consumer` in `group` until `stop`.
pub async fn run(
    db: Db,
    group: &str,
    consumer: &str,
    settings: &WorkerSettings,
    stop: CancellationToken,
) -> anyhow::Result<()> {
    match group {
        keys::PROCESSORS => {
            let review = AutoReview {
                claims: Claims::new(db.clone(), settings.snapshot_every),
                approve_up_to: settings.approve_up_to,
                clock: settings.clock.clone(),
            };
            consume(db, keys::PROCESSORS, consumer, review, settings, stop).await
        }
        keys::ANALYTICS_GROUP => {
            consume(
                db,
                keys::ANALYTICS_GROUP,
                consumer,
                Analytics {
                    clock: settings.clock.clone(),
                },
                settings,
                stop,
            )
            .await
        }
        keys::NOTIFICATIONS_GROUP => {
            consume(
                db,
                keys::NOTIFICATIONS_GROUP,
                consumer,
                Notify {
                    keep: settings.side_stream_maxlen,
                    clock: settings.clock.clone(),
                },
                settings,
                stop,
            )
            .await
        }
        other => anyhow::bail!(
            "unknown group {other:?}; expected {}, {} or {}",
            keys::PROCESSORS,
            keys::ANALYTICS_GROUP,
            keys::NOTIFICATIONS_GROUP
        ),
    }
}

async fn consume<H: Handler>(
    db: Db,
    group: &'static str,
    consumer: &str,
    handler: H,
    settings: &WorkerSettings,
    stop: CancellationToken,
) -> anyhow::Result<()> {
    groups::ensure(&db, group).await?;
    // Two processes reading as one consumer would take each other's pending entries.
    let members = crate::store::groups::consumers(
        &db,
        &mut crate::store::trace::Trace::off(),
        &db.partition_of("").events(),
        group,
    )
    .await?;
    if let Some(idle_ms) = members
        .into_iter()
        .find(|c| {
            c.name == consumer && c.idle_ms < crate::store::group_state::ALIVE.as_millis() as u64
        })
        .map(|c| c.idle_ms)
    {
        anyhow::bail!(
            "consumer {consumer} of {group} is in use by another process (it read {idle_ms} ms \
             ago); pick another --consumer"
        );
    }
    tracing::info!(
        group,
        consumer,
        partitions = db.partitions.count(),
        "consuming the claims' events"
    );
    // The relay trims too; trimming is idempotent, and a relay may run without workers.
    tokio::spawn(super::markers::trim_every(
        db.clone(),
        vec![group],
        stop.clone(),
    ));
    // One reader per partition, under the one name, as in the relay.
    let (handler, injection) = (
        Arc::new(handler),
        Arc::new(RwLock::new(Injection::default())),
    );
    let controls = Arc::new(super::controls::GroupControls::default());
    let readers: Vec<_> = db
        .partitions
        .all()
        .map(|partition| {
            let consumer = Consumer::new(
                db.clone(),
                group,
                consumer,
                handler.clone(),
                settings.consumer.clone(),
                injection.clone(),
            )
            .in_partition(partition)
            .with_controls(controls.clone())
            .with_clock(settings.clock.clone());
            tokio::spawn(consumer.run(stop.clone(), CancellationToken::new()))
        })
        .collect();
    for reader in readers {
        let _ = reader.await;
    }
    Ok(())
}
