//! What a group's consumers share and the API can change at run time: failure injection,
//! pause, the circuit breaker, and an acknowledgement counter for throughput.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use shared::Timestamp;

/// Handler timings kept for the percentiles.
pub const TIMINGS_KEPT: usize = 1024;

/// Consecutive failures that open the breaker.
pub const OPEN_AFTER: u32 = 5;
/// How often a consumer's step is sampled for "What Redis did".
const SAMPLE_EVERY: Duration = Duration::from_secs(1);
/// How long an open breaker waits before letting one batch through.
const COOL_DOWN: Duration = Duration::from_secs(5);

#[derive(Debug, Default)]
pub struct GroupControls {
    paused: AtomicBool,
    /// The pause the cached state belongs to (see `store::group_state`).
    epoch: AtomicU64,
    pub acked: AtomicU64,
    /// Entries acknowledged without effect because they could never have one.
    pub refused: AtomicU64,
    /// Handler runs that failed (the entry stays pending, or is dead-lettered at last).
    pub failed: AtomicU64,
    /// How long the latest handler runs took, in ms: the newest [`TIMINGS_KEPT`].
    timings: Mutex<std::collections::VecDeque<f64>>,
    breaker: Mutex<Breaker>,
    /// Whether a consumer holds the one trial batch of a half-open breaker.
    trial: AtomicBool,
    /// The latest sampled step of a consumer: (when, consumer, commands).
    sample: Mutex<Option<(Instant, String, Vec<String>)>>,
    /// (when, acked then, rate) of the last throughput reading.
    rate: Mutex<Option<(Instant, u64, f64)>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BreakerState {
    #[default]
    Closed,
    Open,
    HalfOpen,
}

impl BreakerState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Closed => "closed",
            Self::Open => "open",
            Self::HalfOpen => "half_open",
        }
    }
}

/// A circuit breaker: after [`OPEN_AFTER`] failures in a row the group stops reading, so a
/// broken dependency is not hammered; after [`COOL_DOWN`] one batch may try again.
#[derive(Debug, Default)]
struct Breaker {
    failures: u32,
    opened_at: Option<Instant>,
}

/// Whether a consumer may read now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    Go,
    /// The breaker is half-open and this consumer carries its one trial batch.
    Trial,
    /// Paused, or the breaker is open (or another consumer has the trial).
    Wait,
}

impl GroupControls {
    pub fn is_paused(&self) -> bool {
        self.paused.load(Ordering::SeqCst)
    }

    pub fn set_paused(&self, paused: bool) {
        self.paused.store(paused, Ordering::SeqCst);
    }

    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::SeqCst)
    }

    /// Takes on the state every process shares (pause, breaker) from Redis, read `now`.
    pub fn apply(&self, shared: &crate::store::group_state::Shared, now: Timestamp) {
        self.paused.store(shared.paused, Ordering::SeqCst);
        self.epoch.store(shared.epoch, Ordering::SeqCst);
        let mut breaker = self.breaker.lock().expect("breaker lock");
        breaker.failures = u32::try_from(shared.failures).unwrap_or(u32::MAX);
        breaker.opened_at = shared.opened_ms.map(|opened| {
            let ago = now.unix_millis() - opened;
            let ago = Duration::from_millis(u64::try_from(ago).unwrap_or(0));
            Instant::now().checked_sub(ago).unwrap_or_else(Instant::now)
        });
    }

    /// Whether failures were counted since the last success (so a success must reset them).
    pub fn has_failures(&self) -> bool {
        let breaker = self.breaker.lock().expect("breaker lock");
        breaker.failures > 0 || breaker.opened_at.is_some()
    }

    /// Called by a consumer before each read. (That it parked for a pause, it records in
    /// Redis: `store::group_state::park`.)
    pub fn admit(&self) -> Admission {
        if self.is_paused() {
            return Admission::Wait;
        }
        match self.breaker_state() {
            BreakerState::Closed => Admission::Go,
            BreakerState::Open => Admission::Wait,
            BreakerState::HalfOpen => {
                if self
                    .trial
                    .compare_exchange(false, true, Ordering::SeqCst, Ordering::SeqCst)
                    .is_ok()
                {
                    Admission::Trial
                } else {
                    Admission::Wait
                }
            }
        }
    }

    /// Whether the next step should be written down for the UI (at most about once a second).
    pub fn sample_due(&self) -> bool {
        self.sample
            .lock()
            .expect("sample lock")
            .as_ref()
            .is_none_or(|(at, _, _)| at.elapsed() >= SAMPLE_EVERY)
    }

    pub fn store_sample(&self, consumer: &str, commands: Vec<String>) {
        *self.sample.lock().expect("sample lock") =
            Some((Instant::now(), consumer.to_owned(), commands));
    }

    /// The latest sampled step: (how long ago, consumer, commands).
    pub fn sample(&self) -> Option<(Duration, String, Vec<String>)> {
        self.sample
            .lock()
            .expect("sample lock")
            .as_ref()
            .map(|(at, c, cmds)| (at.elapsed(), c.clone(), cmds.clone()))
    }

    /// The trial batch is over, whatever it did.
    pub fn end_trial(&self) {
        self.trial.store(false, Ordering::SeqCst);
    }

    pub fn breaker_state(&self) -> BreakerState {
        let breaker = self.breaker.lock().expect("breaker lock");
        match breaker.opened_at {
            None => BreakerState::Closed,
            Some(t) if t.elapsed() < COOL_DOWN => BreakerState::Open,
            Some(_) => BreakerState::HalfOpen,
        }
    }

    /// One handler run took `ms`.
    pub fn record_timing(&self, ms: f64) {
        let mut timings = self.timings.lock().expect("timings lock");
        if timings.len() == TIMINGS_KEPT {
            timings.pop_front();
        }
        timings.push_back(ms);
    }

    /// The median and 99th percentile of the latest handler runs.
    pub fn processing_ms(&self) -> Option<shared::api::Percentiles> {
        let mut sorted: Vec<f64> = self
            .timings
            .lock()
            .expect("timings lock")
            .iter()
            .copied()
            .collect();
        if sorted.is_empty() {
            return None;
        }
        sorted.sort_by(f64::total_cmp);
        let at = |q: f64| sorted[((sorted.len() - 1) as f64 * q).round() as usize];
        Some(shared::api::Percentiles {
            p50: at(0.5),
            p99: at(0.99),
            samples: sorted.len() as u64,
        })
    }

    pub fn record_success(&self, acked: usize) {
        self.acked.fetch_add(acked as u64, Ordering::Relaxed);
        let mut breaker = self.breaker.lock().expect("breaker lock");
        breaker.failures = 0;
        breaker.opened_at = None;
    }

    pub fn record_failure(&self) {
        let mut breaker = self.breaker.lock().expect("breaker lock");
        breaker.failures += 1;
        let half_open = breaker.opened_at.is_some_and(|t| t.elapsed() >= COOL_DOWN);
        if breaker.failures >= OPEN_AFTER || half_open {
            if breaker.opened_at.is_none() || half_open {
                tracing::warn!(failures = breaker.failures, "circuit breaker opened");
            }
            breaker.opened_at = Some(Instant::now());
        }
    }

    /// Entries finished per second since the previous reading (at least half a second ago).
    pub fn throughput(&self) -> f64 {
        let acked = self.acked.load(Ordering::Relaxed);
        let mut rate = self.rate.lock().expect("rate lock");
        match *rate {
            Some((at, _, r)) if at.elapsed() < Duration::from_millis(500) => r,
            Some((at, before, _)) => {
                let r = (acked - before) as f64 / at.elapsed().as_secs_f64();
                *rate = Some((Instant::now(), acked, r));
                r
            }
            None => {
                *rate = Some((Instant::now(), acked, 0.0));
                0.0
            }
        }
    }

    /// Pretends the cool-down is over, for tests that should not wait for it.
    pub fn expire_cool_down(&self) {
        let mut breaker = self.breaker.lock().expect("breaker lock");
        if let Some(t) = breaker.opened_at.as_mut() {
            *t -= COOL_DOWN;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_paused_group_admits_nothing_until_resumed() {
        let c = GroupControls::default();
        assert_eq!(c.admit(), Admission::Go);
        c.set_paused(true);
        assert_eq!(c.admit(), Admission::Wait);
        c.set_paused(false);
        assert_eq!(c.admit(), Admission::Go);
    }

    #[test]
    fn the_breaker_opens_after_five_failures_and_half_opens_after_the_cool_down() {
        let c = GroupControls::default();
        for _ in 0..4 {
            c.record_failure();
        }
        assert_eq!(c.breaker_state(), BreakerState::Closed);
        c.record_failure();
        assert_eq!(c.breaker_state(), BreakerState::Open);
        assert_eq!(c.admit(), Admission::Wait);
        c.expire_cool_down();
        assert_eq!(c.breaker_state(), BreakerState::HalfOpen);
        // Exactly one trial batch while half-open.
        assert_eq!(c.admit(), Admission::Trial);
        assert_eq!(c.admit(), Admission::Wait);
        c.end_trial();
        assert_eq!(c.admit(), Admission::Trial);
        // One failure while half-open opens it again at once.
        c.record_failure();
        assert_eq!(c.breaker_state(), BreakerState::Open);
        c.expire_cool_down();
        c.record_success(1);
        assert_eq!(c.breaker_state(), BreakerState::Closed);
    }
}
