//! The consumers running inside this relay: started per group, added, crashed, retired,
//! paused and given failures at run time.

use shared::snapshot::SnapshotEvery;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use shared::Amount;
use shared::api::StreamEntry;
use tokio::sync::RwLock;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::analytics::Analytics;
use super::controls::GroupControls;
use super::handler::Injection;
use super::notifications::Notify;
use super::processors::AutoReview;
use super::relay_slot::MAX_RELAYS;
use super::{Consumer, ConsumerConfig, Handler};
use crate::store::claims::Claims;
use crate::store::clock::Clock;
use crate::store::db::{Db, DbError};
use crate::store::groups;
use crate::store::keys;

#[derive(Debug, Clone)]
pub struct WorkerSettings {
    /// Consumers started per group.
    pub consumers: usize,
    /// Whether `claims-processors` reviews and approves on its own.
    pub auto_review: bool,
    pub approve_up_to: Amount,
    pub consumer: ConsumerConfig,
    /// Consumers this relay runs per group at most.
    pub max_consumers: usize,
    /// `MAXLEN ~` of the streams the workers append to.
    pub side_stream_maxlen: u64,
    /// `--snapshot-every`: when the claims the processors move on get a fresh snapshot.
    pub snapshot_every: SnapshotEvery,
    /// The relay's clock: stamps the groups' events, notifications, summaries and letters.
    pub clock: Clock,
}

/// Why the consumer groups could not start (yet).
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("no relay number free: {MAX_RELAYS} relays already share this Redis")]
    NoRelayNumber,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WorkerError {
    #[error("no consumer group {0} runs in this relay")]
    NoSuchGroup(String),
    #[error("group {group} has no running consumer {consumer}")]
    NoSuchConsumer { group: String, consumer: String },
    #[error(
        "group {group} already runs {max} consumers in this relay, the most it may; crash or \
         retire one first"
    )]
    TooManyConsumers { group: String, max: usize },
}

type Start =
    Arc<dyn Fn(String, CancellationToken, CancellationToken) -> JoinHandle<()> + Send + Sync>;
/// The group's handler, type-erased, for replaying a dead letter.
type Handle = Arc<
    dyn Fn(Db, StreamEntry) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send>>
        + Send
        + Sync,
>;

struct Running {
    name: String,
    crash: CancellationToken,
    retire: CancellationToken,
    task: JoinHandle<()>,
}

/// One group's consumers in this relay and what they share.
pub struct Group {
    pub name: &'static str,
    prefix: &'static str,
    pub injection: Arc<RwLock<Injection>>,
    pub controls: Arc<GroupControls>,
    start: Start,
    handle: Handle,
    running: Mutex<Vec<Running>>,
    /// Crashed or retired consumers still in the group in Redis, to remove once they own no
    /// pending entries.
    departed: Mutex<Vec<Running>>,
    numbered: AtomicUsize,
}

pub struct Workers {
    groups: Vec<Group>,
    stop: CancellationToken,
    max_consumers: usize,
    /// Added to every consumer name, so relays sharing a Redis never share a name.
    suffix: String,
    /// Keeps the relay's number; given back on stop, before `join` returns.
    lease: Mutex<Option<JoinHandle<()>>>,
}

impl Group {
    /// Runs the group's handler on one entry, as a consumer would (injected failures too).
    pub async fn process(&self, db: &Db, entry: StreamEntry) -> Result<(), String> {
        if let Some(failure) = self.injection.read().await.failure_for(&entry) {
            return Err(failure.to_string());
        }
        (self.handle)(db.clone(), entry).await
    }
}

/// The groups `settings` runs.
pub fn group_names(settings: &WorkerSettings) -> Vec<&'static str> {
    let mut names = Vec::new();
    if settings.auto_review {
        names.push(keys::PROCESSORS);
    }
    names.extend([keys::ANALYTICS_GROUP, keys::NOTIFICATIONS_GROUP]);
    names
}

impl Workers {
    /// Creates the groups and starts their consumers; all stop when `stop` is cancelled.
    pub async fn start(
        db: &Db,
        settings: &WorkerSettings,
        stop: &CancellationToken,
    ) -> Result<Self, StartError> {
        let mut groups_started = Vec::new();
        if settings.auto_review {
            let review = AutoReview {
                claims: Claims::new(db.clone(), settings.snapshot_every),
                approve_up_to: settings.approve_up_to,
                clock: settings.clock.clone(),
            };
            groups_started.push(group(db, settings, keys::PROCESSORS, "processor", review));
        }
        groups_started.push(group(
            db,
            settings,
            keys::ANALYTICS_GROUP,
            "analyst",
            Analytics {
                clock: settings.clock.clone(),
            },
        ));
        groups_started.push(group(
            db,
            settings,
            keys::NOTIFICATIONS_GROUP,
            "notifier",
            Notify {
                keep: settings.side_stream_maxlen,
                clock: settings.clock.clone(),
            },
        ));
        for g in &groups_started {
            groups::ensure(db, g.name).await?;
        }
        let slot = super::relay_slot::RelaySlot::lease(db)
            .await?
            .ok_or(StartError::NoRelayNumber)?;
        if slot.number > 1 {
            tracing::info!(
                relay = slot.number,
                "other relays run consumers on this Redis; this one's end in {}",
                slot.suffix()
            );
        }
        let workers = Self {
            groups: groups_started,
            stop: stop.clone(),
            max_consumers: settings.max_consumers,
            suffix: slot.suffix(),
            lease: Mutex::new(Some(tokio::spawn(slot.keep(db.clone(), stop.clone())))),
        };
        tokio::spawn(super::analytics::summarize(
            db.clone(),
            settings.clock.clone(),
            stop.clone(),
            settings.side_stream_maxlen,
        ));
        tokio::spawn(super::markers::trim_every(
            db.clone(),
            vec![keys::ANALYTICS_GROUP, keys::NOTIFICATIONS_GROUP],
            stop.clone(),
        ));
        if settings.consumers > settings.max_consumers {
            tracing::warn!(
                consumers = settings.consumers,
                max = settings.max_consumers,
                "more consumers asked for than a group may have; starting the most it may"
            );
        }
        for g in &workers.groups {
            for _ in 0..settings.consumers.min(settings.max_consumers) {
                workers
                    .add_consumer(g.name)
                    .expect("the group was just created");
            }
        }
        Ok(workers)
    }

    pub fn groups(&self) -> &[Group] {
        &self.groups
    }

    pub fn group(&self, name: &str) -> Result<&Group, WorkerError> {
        self.groups
            .iter()
            .find(|g| g.name == name)
            .ok_or_else(|| WorkerError::NoSuchGroup(name.to_owned()))
    }

    /// Starts one more consumer in `group` and returns its name.
    pub fn add_consumer(&self, group: &str) -> Result<String, WorkerError> {
        let g = self.group(group)?;
        let mut running = g.running.lock().expect("lock");
        let (alive, finished): (Vec<Running>, Vec<Running>) =
            running.drain(..).partition(|r| !r.task.is_finished());
        *running = alive;
        g.departed.lock().expect("lock").extend(finished);
        if running.len() >= self.max_consumers {
            return Err(WorkerError::TooManyConsumers {
                group: group.to_owned(),
                max: self.max_consumers,
            });
        }
        let name = format!(
            "{}-{}{}",
            g.prefix,
            g.numbered.fetch_add(1, Ordering::Relaxed) + 1,
            self.suffix
        );
        let crash = self.stop.child_token();
        let retire = CancellationToken::new();
        let task = (g.start)(name.clone(), crash.clone(), retire.clone());
        running.push(Running {
            name: name.clone(),
            crash,
            retire,
            task,
        });
        Ok(name)
    }

    /// Stops a consumer at once, mid-batch, without acknowledging what it holds: its pending
    /// entries stay with it until another consumer claims them.
    pub fn crash(&self, group: &str, consumer: &str) -> Result<(), WorkerError> {
        self.depart(group, consumer, |r| r.crash.cancel())
    }

    /// Stops a consumer after its current step.
    pub fn retire(&self, group: &str, consumer: &str) -> Result<(), WorkerError> {
        self.depart(group, consumer, |r| r.retire.cancel())
    }

    /// Stops a consumer with `how` and moves it from the running list to the departed one.
    fn depart(
        &self,
        group: &str,
        consumer: &str,
        how: impl FnOnce(&Running),
    ) -> Result<(), WorkerError> {
        let g = self.group(group)?;
        let mut running = g.running.lock().expect("lock");
        let at = running
            .iter()
            .position(|r| r.name == consumer && !r.task.is_finished())
            .ok_or_else(|| WorkerError::NoSuchConsumer {
                group: group.to_owned(),
                consumer: consumer.to_owned(),
            })?;
        let departed = running.remove(at);
        how(&departed);
        g.departed.lock().expect("lock").push(departed);
        Ok(())
    }

    /// Every second, removes departed consumers from their groups in Redis once the others
    /// have claimed their pending entries, so crashed consumers do not pile up in XINFO.
    pub async fn forget_departed(self: Arc<Self>, db: Db) {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                () = self.stop.cancelled() => return,
            }
            for g in &self.groups {
                // Only stopped ones: a read still in flight would bring the consumer back.
                let names: Vec<String> = g
                    .departed
                    .lock()
                    .expect("lock")
                    .iter()
                    .filter(|r| r.task.is_finished())
                    .map(|r| r.name.clone())
                    .collect();
                for name in names {
                    match groups::forget_if_idle(&db, g.name, &name).await {
                        Ok(true) => g.departed.lock().expect("lock").retain(|r| r.name != name),
                        Ok(false) => {}
                        Err(e) => tracing::debug!(error = %e, "departed consumers not checked"),
                    }
                }
            }
        }
    }

    /// Names of the consumers this relay stopped in `group` that are still in Redis.
    pub fn departed(&self, group: &str) -> Vec<String> {
        self.group(group)
            .map(|g| {
                g.departed
                    .lock()
                    .expect("lock")
                    .iter()
                    .map(|r| r.name.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Names of the consumers running in `group`.
    pub fn running(&self, group: &str) -> Vec<String> {
        self.group(group)
            .map(|g| {
                g.running
                    .lock()
                    .expect("lock")
                    .iter()
                    .filter(|r| !r.task.is_finished())
                    .map(|r| r.name.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Waits for every consumer to stop (after `stop` was cancelled).
    pub async fn join(&self) {
        let lease = self.lease.lock().expect("lock").take();
        if let Some(lease) = lease {
            let _ = lease.await;
        }
        for g in &self.groups {
            let mut tasks: Vec<JoinHandle<()>> = g
                .running
                .lock()
                .expect("lock")
                .drain(..)
                .map(|r| r.task)
                .collect();
            tasks.extend(g.departed.lock().expect("lock").drain(..).map(|r| r.task));
            for task in tasks {
                let _ = task.await;
            }
        }
    }
}

fn group<H: Handler>(
    db: &Db,
    settings: &WorkerSettings,
    name: &'static str,
    prefix: &'static str,
    handler: H,
) -> Group {
    let injection = Arc::new(RwLock::new(Injection::default()));
    let controls = Arc::new(GroupControls::default());
    let handler = Arc::new(handler);
    let handle: Handle = {
        let handler = handler.clone();
        Arc::new(move |db, entry| {
            let handler = handler.clone();
            Box::pin(async move {
                match handler.handle(&db, &entry).await {
                    Ok(super::Handled::Applied) => Ok(()),
                    Ok(super::Handled::Refused(reason)) => Err(reason),
                    Err(e) => Err(e.to_string()),
                }
            })
        })
    };
    let start: Start = {
        let (db, config, clock) = (
            db.clone(),
            settings.consumer.clone(),
            settings.clock.clone(),
        );
        let (injection, controls) = (injection.clone(), controls.clone());
        // A consumer reads every partition, one task each, all under its name: each
        // partition's group shares its entries among whichever consumers read it, so
        // consumers coming and going (here or in other relays) rebalance by themselves.
        Arc::new(move |consumer: String, crash, retire| {
            let partitions: Vec<JoinHandle<()>> = db
                .partitions
                .all()
                .map(|partition| {
                    let consumer = Consumer::new(
                        db.clone(),
                        name,
                        consumer.clone(),
                        handler.clone(),
                        config.clone(),
                        injection.clone(),
                    )
                    .in_partition(partition)
                    .with_controls(controls.clone())
                    .with_clock(clock.clone());
                    tokio::spawn(consumer.run(crash.clone(), retire.clone()))
                })
                .collect();
            tokio::spawn(async move {
                for partition in partitions {
                    let _ = partition.await;
                }
            })
        })
    };
    Group {
        name,
        prefix,
        injection,
        controls,
        start,
        handle,
        running: Mutex::new(Vec::new()),
        departed: Mutex::new(Vec::new()),
        numbered: AtomicUsize::new(0),
    }
}
