//! One consumer of one group. [`Consumer::process_once`] is one step (tests call it directly);
//! [`Consumer::run`] loops it and owns blocking, backoff and shutdown.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::Rng;
use shared::api::StreamEntry;
use tokio::sync::RwLock;
use tokio_util::sync::CancellationToken;

use super::controls::{Admission, GroupControls};
use super::handler::{Handled, Handler, HandlerError, Injection};
use crate::store::clock::Clock;
use crate::store::db::{Db, DbError};
use crate::store::group_state;
use crate::store::groups;
use crate::store::keys::Partition;
use crate::store::letters::{self, DeadLetter};
use crate::store::streams::BlockingReader;
use crate::store::trace::Trace;

#[derive(Debug, Clone)]
pub struct ConsumerConfig {
    /// Entries one read returns at most.
    pub batch: usize,
    /// How long a read for new entries waits.
    pub block: Duration,
    /// Deliveries after which a failing entry goes to `claims:failed`.
    pub max_deliveries: u64,
    /// Pending entries idle this long are taken over from their consumer (XAUTOCLAIM).
    pub claim_idle: Duration,
    /// First retry delay after a failure; doubles per consecutive failure, with jitter.
    pub retry_base: Duration,
}

impl Default for ConsumerConfig {
    fn default() -> Self {
        Self {
            batch: 50,
            block: Duration::from_millis(1_000),
            max_deliveries: 5,
            claim_idle: Duration::from_secs(10),
            retry_base: Duration::from_millis(200),
        }
    }
}

/// What one step did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub delivered: usize,
    pub acked: usize,
    pub failed: usize,
    pub dead_lettered: usize,
    /// Entries taken over from idle consumers.
    pub claimed: usize,
    /// Entries acknowledged without effect because they can never have one.
    pub refused: usize,
}

pub struct Consumer<H> {
    db: Db,
    /// The partition it reads; a consumer of every partition is one of these per partition,
    /// all with the same name.
    partition: Partition,
    stream: String,
    conn: Option<BlockingReader>,
    group: &'static str,
    name: String,
    handler: Arc<H>,
    config: ConsumerConfig,
    injection: Arc<RwLock<Injection>>,
    controls: Arc<GroupControls>,
    clock: Clock,
    /// Whether this consumer may have entries of its own pending (at start: after a crash).
    own_pending: bool,
    retry_at: Option<Instant>,
    consecutive_failures: u32,
    last_claim: Option<Instant>,
    /// When the shared controls were last read from Redis.
    synced: Option<Instant>,
    /// This step's commands, when it is sampled for the UI.
    trace: Trace,
    /// The pause this consumer has said it parked for.
    parked_for: Option<u64>,
    /// Where the next XAUTOCLAIM scan starts: the cursor the last one returned, so idle
    /// entries beyond its first page are reached too.
    claim_cursor: String,
    last_errors: HashMap<String, String>,
}

impl<H: Handler> Consumer<H> {
    pub fn new(
        db: Db,
        group: &'static str,
        name: impl Into<String>,
        handler: Arc<H>,
        config: ConsumerConfig,
        injection: Arc<RwLock<Injection>>,
    ) -> Self {
        let partition = db.partitions.all().next().expect("at least one partition");
        Self {
            db,
            partition,
            stream: partition.events(),
            conn: None,
            group,
            name: name.into(),
            handler,
            config,
            injection,
            controls: Arc::new(GroupControls::default()),
            clock: Clock::system(),
            own_pending: true,
            retry_at: None,
            consecutive_failures: 0,
            last_claim: None,
            synced: None,
            trace: Trace::off(),
            parked_for: None,
            claim_cursor: "0-0".into(),
            last_errors: HashMap::new(),
        }
    }

    /// Reads `partition` (the first one unless told).
    pub fn in_partition(mut self, partition: Partition) -> Self {
        self.partition = partition;
        self.stream = partition.events();
        self
    }

    /// Shares pause, breaker and counters with the group's other consumers.
    pub fn with_controls(mut self, controls: Arc<GroupControls>) -> Self {
        self.controls = controls;
        self
    }

    /// Stamps its letters and failures with `clock` (the system's unless told).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// One step: take over idle entries if it is time, then retry own pending entries or read
    /// new ones, handle them, acknowledge what succeeded.
    pub async fn process_once(&mut self) -> Result<Outcome, DbError> {
        let mut outcome = Outcome::default();
        if self
            .synced
            .is_none_or(|t| t.elapsed() >= group_state::SYNC_EVERY)
        {
            let shared = group_state::load(&self.db, self.group).await?;
            self.controls.apply(&shared, self.clock.now());
            let mut injection = self.injection.write().await;
            if *injection != shared.injection {
                *injection = shared.injection;
            }
            self.synced = Some(Instant::now());
        }
        let trial = match self.controls.admit() {
            Admission::Go => false,
            Admission::Trial => true,
            Admission::Wait => {
                if self.controls.is_paused() {
                    // Say so once per pause: the pause answers when every consumer has.
                    let epoch = self.controls.epoch();
                    if self.parked_for != Some(epoch) {
                        group_state::park(&self.db, self.group, &self.name, epoch).await?;
                        self.parked_for = Some(epoch);
                    }
                }
                // Paused, or the breaker is open: read nothing, so nothing is delivered in vain.
                tokio::time::sleep(Duration::from_millis(100)).await;
                return Ok(outcome);
            }
        };
        self.parked_for = None;
        if trial && !group_state::try_trial(&self.db, self.group, &self.name).await? {
            // A consumer of another process has the trial: wait like the rest of this one.
            self.controls.end_trial();
            tokio::time::sleep(Duration::from_millis(100)).await;
            return Ok(outcome);
        }
        let step = self.step(&mut outcome).await;
        if trial {
            // A trial batch that had nothing to try leaves the breaker half-open for the next.
            self.controls.end_trial();
            group_state::end_trial(&self.db, self.group).await?;
        }
        step.map(|()| outcome)
    }

    async fn step(&mut self, outcome: &mut Outcome) -> Result<(), DbError> {
        // A step's own commands (a few per batch, not per entry) are written down; about once
        // a second, or when it dead-lettered or took over entries, they are kept for the UI,
        // so a learner sees the workers' commands without a flood.
        self.trace = Trace::default();
        let result = self.step_traced(outcome).await;
        super::telemetry::delivered(self.group, outcome.delivered);
        super::telemetry::failed(self.group, outcome.failed);
        super::telemetry::dead_lettered(self.group, outcome.dead_lettered);
        let notable = outcome.dead_lettered > 0 || outcome.claimed > 0;
        if notable || (outcome.delivered > 0 && self.controls.sample_due()) {
            let trace = std::mem::replace(&mut self.trace, Trace::off());
            let commands = trace.into_commands();
            if !commands.is_empty() {
                self.controls.store_sample(&self.name, commands);
            }
        }
        result
    }

    async fn step_traced(&mut self, outcome: &mut Outcome) -> Result<(), DbError> {
        if self
            .last_claim
            .is_none_or(|t| t.elapsed() >= self.config.claim_idle / 2)
        {
            outcome.claimed = self.autoclaim().await?;
            self.last_claim = Some(Instant::now());
            // Also picks up entries handed to this consumer from outside (XCLAIM by a person).
            self.own_pending = true;
        }
        let retry_due = self.retry_at.is_none_or(|t| Instant::now() >= t);
        let batch = if self.own_pending && retry_due {
            let batch = self.read("0", None).await?;
            if batch.is_empty() {
                self.own_pending = false;
            }
            batch
        } else {
            let wait = match self.retry_at {
                Some(t) if self.own_pending => t.saturating_duration_since(Instant::now()),
                _ => self.config.block,
            };
            self.read(">", Some(wait.max(Duration::from_millis(1))))
                .await?
        };
        // Acknowledged together after the batch: one XACK, not one per entry. A crash before
        // it means redelivery, which the handlers' idempotence makes harmless.
        let mut done = Vec::new();
        let mut results = self.handle_all(&batch).await.into_iter();
        for (entry, deliveries) in batch {
            outcome.delivered += 1;
            let handled = results.next().expect("one result per entry of the batch");
            match handled {
                Ok(handled) => {
                    if let Handled::Refused(reason) = handled {
                        tracing::warn!(group = self.group, id = %entry.id, %reason, "refused for good; acknowledged");
                        outcome.refused += 1;
                        self.controls
                            .refused
                            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                    self.last_errors.remove(&entry.id);
                    done.push(entry.id);
                }
                Err(error) => {
                    outcome.failed += 1;
                    self.controls
                        .failed
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if let HandlerError::Dependency(_) = error {
                        let reopen = self.controls.breaker_state()
                            == super::controls::BreakerState::HalfOpen;
                        self.controls.record_failure();
                        group_state::record_failure(
                            &self.db,
                            self.clock.now(),
                            self.group,
                            super::controls::OPEN_AFTER,
                            reopen,
                        )
                        .await?;
                    }
                    let error = error.to_string();
                    if deliveries >= self.config.max_deliveries {
                        letters::send(
                            &self.db,
                            &mut self.trace,
                            DeadLetter {
                                partition: self.partition,
                                entry: &entry,
                                group: self.group,
                                consumer: &self.name,
                                error: &error,
                                attempts: deliveries,
                                failed_at: self.clock.now(),
                            },
                        )
                        .await?;
                        self.last_errors.remove(&entry.id);
                        outcome.dead_lettered += 1;
                        self.controls
                            .acked
                            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        tracing::warn!(group = self.group, id = %entry.id, %error, "dead-lettered");
                    } else {
                        self.last_errors.insert(entry.id.clone(), error);
                        self.own_pending = true;
                    }
                }
            }
        }
        if !done.is_empty() {
            self.ack(&done).await?;
            outcome.acked = done.len();
            if self.controls.has_failures() {
                group_state::reset_breaker(&self.db, self.group).await?;
            }
            self.controls.record_success(done.len());
        }
        if outcome.failed > outcome.dead_lettered {
            self.consecutive_failures += 1;
            self.retry_at = Some(Instant::now() + self.backoff());
        } else if outcome.delivered > 0 {
            self.consecutive_failures = 0;
            self.retry_at = None;
        }
        Ok(())
    }

    /// Runs steps until `stop`, waiting out Redis outages with backoff. `stop` ends it at
    /// once, even mid-batch without acknowledging (a crash); `retire` after the current step.
    pub async fn run(mut self, stop: CancellationToken, retire: CancellationToken) {
        let mut outage = Duration::from_millis(100);
        while !stop.is_cancelled() && !retire.is_cancelled() {
            let step = tokio::select! {
                r = self.process_once() => r,
                () = stop.cancelled() => return,
            };
            if let Err(e) = step {
                tracing::warn!(group = self.group, consumer = %self.name, error = %e, "consumer step failed");
                self.controls.record_failure();
                self.conn = None;
                tokio::select! {
                    () = tokio::time::sleep(outage) => {}
                    () = stop.cancelled() => return,
                }
                outage = (outage * 2).min(Duration::from_secs(2));
            } else {
                outage = Duration::from_millis(100);
            }
        }
    }

    /// Runs the handler on the batch's entries that no injected failure stops, all at once,
    /// and records the time per entry.
    async fn handle_all(&self, batch: &[(StreamEntry, u64)]) -> Vec<Result<Handled, HandlerError>> {
        let injection = self.injection.read().await.clone();
        let mut results: Vec<Option<Result<Handled, HandlerError>>> = batch
            .iter()
            .map(|(entry, _)| injection.failure_for(entry).map(Err))
            .collect();
        let handled: Vec<&StreamEntry> = batch
            .iter()
            .zip(&results)
            .filter(|(_, injected)| injected.is_none())
            .map(|((entry, _), _)| entry)
            .collect();
        if !handled.is_empty() {
            let started = Instant::now();
            let outcomes = self.handler.handle_batch(&self.db, &handled).await;
            let each = started.elapsed().as_secs_f64() * 1000.0 / handled.len() as f64;
            super::telemetry::processing(self.group, each / 1000.0, handled.len());
            let mut outcomes = outcomes.into_iter();
            for slot in results.iter_mut().filter(|r| r.is_none()) {
                self.controls.record_timing(each);
                *slot = outcomes.next();
            }
        }
        results
            .into_iter()
            .map(|r| {
                r.unwrap_or_else(|| Err(HandlerError::Entry("no result from the handler".into())))
            })
            .collect()
    }

    fn backoff(&self) -> Duration {
        let exp = self.consecutive_failures.saturating_sub(1).min(6);
        // Below the claim-idle time, so a live consumer retries its own entries before
        // another takes them over as abandoned.
        let base = (self.config.retry_base * 2u32.pow(exp)).min(self.config.claim_idle / 4);
        // Full jitter, so consumers that failed together do not retry together.
        base.mul_f64(rand::rng().random_range(0.5..=1.0))
    }

    /// XREADGROUP from `id` (`>` for new entries, `0` for this consumer's pending ones), with
    /// each entry's delivery count.
    async fn read(
        &mut self,
        id: &str,
        block: Option<Duration>,
    ) -> Result<Vec<(StreamEntry, u64)>, DbError> {
        let (group, name, batch) = (self.group, self.name.clone(), self.config.batch);
        let stream = self.stream.clone();
        if self.conn.is_none() {
            self.conn = Some(BlockingReader::open(&self.db, self.config.block).await?);
        }
        let reader = self.conn.as_mut().expect("just opened");
        let read = reader
            .read_group(&mut self.trace, &stream, group, &name, id, batch, block)
            .await;
        let partition = self.partition;
        let entries: Vec<(crate::store::entry_id::EntryId, StreamEntry)> =
            crate::events::feed::decode(read?)
                .into_iter()
                .map(|(id, e)| (id, crate::events::feed::tagged(partition, e)))
                .collect();
        if id == ">" {
            return Ok(entries.into_iter().map(|(_, e)| (e, 1)).collect());
        }
        // Re-reading pending entries counts as a delivery; XPENDING says how many so far.
        let counts = self.delivery_counts(entries.len()).await?;
        Ok(entries
            .into_iter()
            .map(|(_, e)| {
                let n = counts.get(&e.id).copied().unwrap_or(1);
                (e, n)
            })
            .collect())
    }

    async fn delivery_counts(&mut self, count: usize) -> Result<HashMap<String, u64>, DbError> {
        let count = count.max(1) + 100;
        let pending = groups::pending_entries(
            &self.db,
            &mut self.trace,
            &self.stream,
            self.group,
            count,
            Some(&self.name),
        )
        .await?;
        Ok(pending
            .into_iter()
            .map(|row| (row.id, row.deliveries))
            .collect())
    }

    async fn ack(&mut self, ids: &[String]) -> Result<(), DbError> {
        groups::ack(&self.db, &mut self.trace, &self.stream, self.group, ids).await
    }

    /// Takes over entries other consumers left pending longer than `claim_idle`, one page per
    /// call, going on from where the previous page ended.
    async fn autoclaim(&mut self) -> Result<usize, DbError> {
        let (cursor, claimed) = groups::autoclaim(
            &self.db,
            &mut self.trace,
            &self.stream,
            self.group,
            &self.name,
            self.config.claim_idle.as_millis() as u64,
            &self.claim_cursor,
            self.config.batch,
        )
        .await?;
        // "0-0" when the scan reached the end: the next one starts over.
        self.claim_cursor = cursor.unwrap_or_else(|| "0-0".into());
        if claimed > 0 {
            tracing::info!(group = self.group, consumer = %self.name, claimed, "took over idle entries");
        }
        Ok(claimed)
    }
}
