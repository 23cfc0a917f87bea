//! `claims-analytics`: running metrics of the claim events, counted exactly once per entry in
//! Redis, and a summary appended to `claims:analytics` every few seconds.

use std::time::Duration;

use shared::api::StreamEntry;
use shared::{ClaimStatus, EventPayload, Timestamp};
use tokio_util::sync::CancellationToken;

use super::{Handled, Handler, HandlerError};
use crate::store::clock::Clock;
use crate::store::db::{self, Db};
use crate::store::metrics::{self, Counter, Metrics};
use crate::store::trace::Trace;

/// Counts each entry once; its clock says how long an entry waited to be counted.
#[derive(Default)]
pub struct Analytics {
    pub clock: Clock,
}

impl Handler for Analytics {
    async fn handle(&self, db: &Db, entry: &StreamEntry) -> Result<Handled, HandlerError> {
        let mut increments: Vec<(String, i64)> = Vec::new();
        match &entry.event {
            None => increments.push((metrics::events("undecoded"), 1)),
            Some(event) => {
                increments.push((metrics::events(&event.event_type().to_string()), 1));
                let (status, cents) = match &event.payload {
                    EventPayload::ClaimSubmitted { amount, .. } => {
                        (Some(ClaimStatus::Submitted), amount.cents())
                    }
                    EventPayload::ClaimPaid { amount, .. } => {
                        (Some(ClaimStatus::Paid), amount.cents())
                    }
                    EventPayload::ClaimStatusUpdated { to, .. } => (Some(*to), 0),
                    EventPayload::ClaimRejected { .. } => (Some(ClaimStatus::Rejected), 0),
                    EventPayload::ClaimNoteAdded { .. } => (None, 0),
                };
                if let Some(status) = status {
                    increments.push((metrics::claims(status), 1));
                    if cents > 0 {
                        increments.push((metrics::cents(status), cents));
                    }
                }
                // Milliseconds from the append (the id's time) to this count.
                if let Some(ms) = entry
                    .id
                    .split('-')
                    .next()
                    .and_then(|m| m.parse::<i64>().ok())
                {
                    let lag = self.clock.now_ms() - ms;
                    increments.push((metrics::PROCESSING_MS_TOTAL.into(), lag.max(0)));
                    increments.push((metrics::PROCESSED.into(), 1));
                }
            }
        }
        metrics::count_once(db, entry, &increments)
            .await
            .map(|_| Handled::Applied)
            .map_err(|e| HandlerError::Dependency(e.to_string()))
    }
}

/// How often a summary is appended.
pub const SUMMARY_EVERY: Duration = Duration::from_secs(5);

/// Appends a summary to `claims:analytics` every [`SUMMARY_EVERY`] until `stop`.
pub async fn summarize(db: Db, clock: Clock, stop: CancellationToken, keep: u64) {
    let mut tick = tokio::time::interval(SUMMARY_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut previous: Option<(std::time::Instant, Metrics)> = None;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = stop.cancelled() => return,
        }
        match summary_once(&db, clock.now(), previous.as_ref(), keep).await {
            Ok(metrics) => previous = Some((std::time::Instant::now(), metrics)),
            Err(e) => tracing::debug!(error = %e, "no analytics summary this time"),
        }
    }
}

async fn summary_once(
    db: &Db,
    at: Timestamp,
    previous: Option<&(std::time::Instant, Metrics)>,
    keep: u64,
) -> Result<Metrics, db::DbError> {
    let mut trace = Trace::off();
    let raw = metrics::read(db, &mut trace).await?;
    let groups = super::stats::read(db, at, None, &mut trace).await?;
    let failed = groups.dead_letters;
    let mut fields: Vec<(String, String)> = vec![("at".into(), at.to_string())];
    let secs = previous.map(|(at, _)| at.elapsed().as_secs_f64());
    for (name, value) in raw.iter() {
        match Counter::of(name) {
            Counter::Events(kind) => {
                fields.push((format!("total:{kind}"), value.to_string()));
                let before = previous.map_or(0, |(_, p)| p.get(name));
                if let Some(secs) = secs.filter(|s| *s > 0.0) {
                    fields.push((
                        format!("per_sec:{kind}"),
                        format!("{:.2}", (value - before) as f64 / secs),
                    ));
                }
            }
            Counter::Cents(status) => {
                let amount = shared::Amount::from_cents(value);
                fields.push((format!("amount:{status}"), amount.to_string()));
            }
            Counter::Claims(status) => {
                fields.push((format!("claims:{status}"), value.to_string()));
            }
            Counter::Other(_) => {}
        }
    }
    let processed = raw.get(metrics::PROCESSED);
    let total_ms = raw.get(metrics::PROCESSING_MS_TOTAL);
    if processed > 0 {
        fields.push((
            "avg_processing_ms".into(),
            format!("{:.1}", total_ms as f64 / processed as f64),
        ));
    }
    fields.push(("dead_letters".into(), failed.to_string()));
    for g in &groups.groups {
        fields.push((
            format!("lag:{}", g.name),
            g.lag.map_or("?".into(), |l| l.to_string()),
        ));
        fields.push((format!("pending:{}", g.name), g.pending.to_string()));
    }
    metrics::append_summary(db, &mut trace, &fields, keep).await?;
    Ok(raw)
}
