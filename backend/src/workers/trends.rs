//! What changes over time, sampled by the relay once a second and kept in memory for ten
//! minutes: stream lengths, each group's lag, the analytics counters, and this relay's
//! consumers' acknowledgements and failures. Lag trends, catch-up estimates, event rates,
//! error rates and the memory page's length history come from here; nothing of it is in
//! Redis, so it costs Redis one pipeline a second and no keys.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use shared::Timestamp;
use shared::api::{GroupsResponse, LagPoint, LengthPoint, RatePoint, StreamLength, TypeRate};
use tokio_util::sync::CancellationToken;

use crate::store::clock::Clock;
use crate::store::db::Db;
use crate::store::keys;
use crate::store::metrics::{self, Counter, Metrics};
use crate::store::streams;
use crate::store::trace::Trace;
use crate::workers::{Workers, stats};

pub const EVERY: Duration = Duration::from_secs(1);
/// Ten minutes of samples.
const KEPT: usize = 600;
/// The lag trend shown per group: two minutes.
pub const TREND: usize = 120;
/// Rates and catch-up estimates look this far back.
const WINDOW: usize = 10;
/// Error rates look this far back (a minute).
const ERROR_WINDOW: usize = 60;

#[derive(Debug, Clone, Default)]
pub struct Sample {
    pub at_ms: i64,
    pub lengths: Vec<StreamLength>,
    /// (group, lag, local acknowledged, local failed)
    pub groups: Vec<(String, Option<u64>, u64, u64)>,
    /// The analytics counters.
    pub metrics: Metrics,
}

#[derive(Clone, Default)]
pub struct Trends(Arc<Mutex<VecDeque<Sample>>>);

impl Trends {
    fn push(&self, sample: Sample) {
        let mut samples = self.0.lock().expect("trends lock");
        if samples.len() == KEPT {
            samples.pop_front();
        }
        samples.push_back(sample);
    }

    pub fn samples(&self) -> Vec<Sample> {
        self.0
            .lock()
            .expect("trends lock")
            .iter()
            .cloned()
            .collect()
    }

    /// Samples every [`EVERY`] until `stop`.
    pub async fn run(
        self,
        db: Db,
        clock: Clock,
        workers: Arc<std::sync::OnceLock<Arc<Workers>>>,
        stop: CancellationToken,
    ) {
        let mut tick = tokio::time::interval(EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                () = stop.cancelled() => return,
            }
            match sample(&db, clock.now(), workers.get().map(Arc::as_ref)).await {
                Ok(s) => self.push(s),
                Err(e) => tracing::debug!(error = %e, "no trend sample this second"),
            }
        }
    }

    /// Fills in each group's lag trend, catch-up estimate and error rate.
    pub fn annotate(&self, groups: &mut GroupsResponse) {
        let samples = self.samples();
        for group in &mut groups.groups {
            let lags: Vec<LagPoint> = samples
                .iter()
                .filter_map(|s| {
                    let (_, lag, _, _) = s.groups.iter().find(|(n, ..)| *n == group.name)?;
                    Some(LagPoint {
                        at_ms: s.at_ms,
                        lag: (*lag)?,
                    })
                })
                .collect();
            group.catch_up_seconds = catch_up(&lags);
            group.lag_trend = lags[lags.len().saturating_sub(TREND)..].to_vec();
            group.error_rate = error_rate(&samples, &group.name);
        }
    }

    /// Events per second by type over the last [`WINDOW`] seconds, and second by second.
    pub fn rates(&self) -> (Vec<TypeRate>, Vec<RatePoint>) {
        let samples = self.samples();
        let recent = &samples[samples.len().saturating_sub(TREND + 1)..];
        let series = recent
            .windows(2)
            .map(|w| RatePoint {
                at_ms: w[1].at_ms,
                rates: type_rates(&w[0], &w[1]),
            })
            .collect();
        let now = match samples.len() {
            0 | 1 => Vec::new(),
            n => type_rates(&samples[n.saturating_sub(WINDOW + 1)], &samples[n - 1]),
        };
        (now, series)
    }

    /// The claims' events streams' length, second by second (two minutes).
    pub fn lengths(&self) -> Vec<LengthPoint> {
        let samples = self.samples();
        samples[samples.len().saturating_sub(TREND)..]
            .iter()
            .filter_map(|s| {
                // Every partition's events stream, added up.
                let mut events = s.lengths.iter().filter(|l| l.key.starts_with(keys::EVENTS));
                let first = events.next()?;
                Some(LengthPoint {
                    at_ms: s.at_ms,
                    length: first.length + events.map(|l| l.length).sum::<u64>(),
                })
            })
            .collect()
    }
}

/// At the rate the lag fell over the last [`WINDOW`] samples, seconds until it is 0.
pub fn catch_up(lags: &[LagPoint]) -> Option<f64> {
    let now = lags.last()?;
    if now.lag == 0 {
        return Some(0.0);
    }
    let then = &lags[lags.len().saturating_sub(WINDOW + 1)];
    let secs = (now.at_ms - then.at_ms) as f64 / 1000.0;
    let fell = then.lag as f64 - now.lag as f64;
    (secs > 0.0 && fell > 0.0).then(|| now.lag as f64 / (fell / secs))
}

fn error_rate(samples: &[Sample], group: &str) -> f64 {
    let counts = |s: &Sample| {
        s.groups
            .iter()
            .find(|(n, ..)| n == group)
            .map(|(_, _, acked, failed)| (*acked, *failed))
    };
    let window = &samples[samples.len().saturating_sub(ERROR_WINDOW + 1)..];
    let (Some(first), Some(last)) = (
        window.first().and_then(counts),
        window.last().and_then(counts),
    ) else {
        return 0.0;
    };
    let acked = last.0.saturating_sub(first.0) as f64;
    let failed = last.1.saturating_sub(first.1) as f64;
    if acked + failed == 0.0 {
        0.0
    } else {
        failed / (acked + failed)
    }
}

fn type_rates(then: &Sample, now: &Sample) -> Vec<TypeRate> {
    let secs = (now.at_ms - then.at_ms) as f64 / 1000.0;
    now.metrics
        .iter()
        .filter_map(|(name, value)| {
            let Counter::Events(kind) = Counter::of(name) else {
                return None;
            };
            let before = then.metrics.get(name);
            Some(TypeRate {
                event_type: kind.to_owned(),
                per_second: if secs > 0.0 {
                    (value - before).max(0) as f64 / secs
                } else {
                    0.0
                },
            })
        })
        .collect()
}

async fn sample(
    db: &Db,
    at: Timestamp,
    workers: Option<&Workers>,
) -> Result<Sample, crate::store::db::DbError> {
    let known = keys::known_streams(db.partitions);
    let mut trace = Trace::off();
    let lengths = streams::lengths(db, &mut trace, &known)
        .await?
        .into_iter()
        .zip(known)
        .map(|(length, key)| StreamLength { key, length })
        .collect();
    let metrics = metrics::read(db, &mut trace).await?;
    let lags = stats::lags(db).await?;
    let groups = lags
        .into_iter()
        .map(|(name, lag)| {
            let local = workers.and_then(|w| w.group(&name).ok());
            let (acked, failed) = local.map_or((0, 0), |g| {
                use std::sync::atomic::Ordering::Relaxed;
                (
                    g.controls.acked.load(Relaxed),
                    g.controls.failed.load(Relaxed),
                )
            });
            (name, lag, acked, failed)
        })
        .collect();
    Ok(Sample {
        at_ms: at.unix_millis(),
        lengths,
        groups,
        metrics,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lags(points: &[(i64, u64)]) -> Vec<LagPoint> {
        points
            .iter()
            .map(|&(at_ms, lag)| LagPoint { at_ms, lag })
            .collect()
    }

    #[test]
    fn catch_up_divides_the_lag_by_how_fast_it_fell() {
        // 100 fewer in 10 s: 10/s, 50 left: 5 s.
        assert_eq!(catch_up(&lags(&[(0, 150), (10_000, 50)])), Some(5.0));
        assert_eq!(catch_up(&lags(&[(0, 10), (1_000, 0)])), Some(0.0));
        assert_eq!(catch_up(&lags(&[(0, 10), (1_000, 20)])), None, "growing");
        assert_eq!(catch_up(&lags(&[(0, 10), (1_000, 10)])), None, "stuck");
        assert_eq!(catch_up(&[]), None);
    }
}
