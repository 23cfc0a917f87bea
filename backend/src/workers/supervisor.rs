//! Starting the relay's own consumers, and stopping them.

use std::sync::Arc;

use shared::Amount;
use tokio::sync::RwLock;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::consumer::Injection;
use super::notifications::Notify;
use super::processors::AutoReview;
use super::{Consumer, ConsumerConfig, groups};
use crate::db::{Db, DbError};
use crate::keys;

#[derive(Debug, Clone)]
pub struct WorkerSettings {
    /// Consumers started per group.
    pub consumers: usize,
    /// Whether `claims-processors` reviews and approves on its own.
    pub auto_review: bool,
    pub approve_up_to: Amount,
    pub consumer: ConsumerConfig,
}

/// The consumers running inside this relay, with the failure injection of each group.
pub struct Workers {
    tasks: JoinSet<()>,
    pub injections: Vec<(&'static str, Arc<RwLock<Injection>>)>,
}

impl Workers {
    /// Creates the groups and starts the consumers; they stop when `stop` is cancelled.
    pub async fn start(
        db: &Db,
        settings: &WorkerSettings,
        stop: &CancellationToken,
    ) -> Result<Self, DbError> {
        let mut workers = Self {
            tasks: JoinSet::new(),
            injections: Vec::new(),
        };
        groups::ensure(db, keys::NOTIFICATIONS_GROUP).await?;
        let notify = Arc::new(Notify);
        workers.spawn(
            db,
            keys::NOTIFICATIONS_GROUP,
            "notifier",
            &notify,
            settings,
            stop,
        );
        if settings.auto_review {
            groups::ensure(db, keys::PROCESSORS).await?;
            let review = Arc::new(AutoReview {
                approve_up_to: settings.approve_up_to,
            });
            workers.spawn(db, keys::PROCESSORS, "processor", &review, settings, stop);
        }
        Ok(workers)
    }

    fn spawn<H: super::Handler>(
        &mut self,
        db: &Db,
        group: &'static str,
        prefix: &str,
        handler: &Arc<H>,
        settings: &WorkerSettings,
        stop: &CancellationToken,
    ) {
        let injection = Arc::new(RwLock::new(Injection::default()));
        self.injections.push((group, injection.clone()));
        for n in 1..=settings.consumers {
            let consumer = Consumer::new(
                db.clone(),
                group,
                format!("{prefix}-{n}"),
                handler.clone(),
                settings.consumer.clone(),
                injection.clone(),
            );
            self.tasks.spawn(consumer.run(stop.clone()));
        }
    }

    /// Waits for every consumer to finish its current step after `stop` was cancelled.
    pub async fn join(mut self) {
        while self.tasks.join_next().await.is_some() {}
    }
}
