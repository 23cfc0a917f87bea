//! `claims-analytics`: running metrics of the claim events, counted exactly once per entry in
//! Redis, and a summary appended to `claims:analytics` every few seconds.

use std::sync::LazyLock;
use std::time::Duration;

use redis::Script;
use shared::api::StreamEntry;
use shared::{ClaimStatus, EventPayload, Timestamp};
use tokio_util::sync::CancellationToken;

use super::{Handled, Handler, HandlerError};
use crate::store::clock::Clock;
use crate::store::db::{self, Db};
use crate::store::keys;
use crate::store::trace::Trace;

/// Counts each entry once; its clock says how long an entry waited to be counted.
#[derive(Default)]
pub struct Analytics {
    pub clock: Clock,
}

/// Counts an entry once: the marker and the counters change together or not at all.
static COUNT_ONCE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
-- KEYS: counted set, metrics hash; ARGV: entry id, its score, then field/increment pairs
if redis.call('ZADD', KEYS[1], 'NX', ARGV[2], ARGV[1]) == 0 then
  return 0
end
for i = 3, #ARGV, 2 do
  redis.call('HINCRBY', KEYS[2], ARGV[i], ARGV[i + 1])
end
return 1
",
    )
});

impl Handler for Analytics {
    async fn handle(&self, db: &Db, entry: &StreamEntry) -> Result<Handled, HandlerError> {
        let mut increments: Vec<(String, i64)> = Vec::new();
        match &entry.event {
            None => increments.push(("events:undecoded".into(), 1)),
            Some(event) => {
                increments.push((format!("events:{}", event.event_type()), 1));
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
                    increments.push((format!("claims:{status}"), 1));
                    if cents > 0 {
                        increments.push((format!("cents:{status}"), cents));
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
                    increments.push(("processing_ms_total".into(), lag.max(0)));
                    increments.push(("processed".into(), 1));
                }
            }
        }
        let mut invocation = COUNT_ONCE.prepare_invoke();
        invocation
            .key(keys::counted())
            .key(keys::metrics())
            .arg(keys::entry_marker(entry))
            .arg(crate::store::markers::score(&entry.id));
        for (field, by) in &increments {
            invocation.arg(field).arg(by);
        }
        db.script::<i64>(&invocation)
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
    let mut previous: Option<(std::time::Instant, Vec<(String, i64)>)> = None;
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
    previous: Option<&(std::time::Instant, Vec<(String, i64)>)>,
    keep: u64,
) -> Result<Vec<(String, i64)>, db::DbError> {
    let mut trace = Trace::off();
    let metrics = keys::metrics();
    let raw: Vec<(String, i64)> = db.run(&mut trace, &["HGETALL", metrics.as_str()]).await?;
    let groups = super::stats::read(db, at, None, &mut trace).await?;
    let failed = groups.dead_letters;
    let mut fields: Vec<(String, String)> = vec![("at".into(), at.to_string())];
    let secs = previous.map(|(at, _)| at.elapsed().as_secs_f64());
    for (name, value) in &raw {
        if let Some(kind) = name.strip_prefix("events:") {
            fields.push((format!("total:{kind}"), value.to_string()));
            let before = previous
                .and_then(|(_, p)| p.iter().find(|(n, _)| n == name).map(|(_, v)| *v))
                .unwrap_or(0);
            if let Some(secs) = secs.filter(|s| *s > 0.0) {
                fields.push((
                    format!("per_sec:{kind}"),
                    format!("{:.2}", (value - before) as f64 / secs),
                ));
            }
        } else if let Some(status) = name.strip_prefix("cents:") {
            let amount = shared::Amount::from_cents(*value);
            fields.push((format!("amount:{status}"), amount.to_string()));
        } else if let Some(status) = name.strip_prefix("claims:") {
            fields.push((format!("claims:{status}"), value.to_string()));
        }
    }
    let processed = raw
        .iter()
        .find(|(n, _)| n == "processed")
        .map_or(0, |(_, v)| *v);
    let total_ms = raw
        .iter()
        .find(|(n, _)| n == "processing_ms_total")
        .map_or(0, |(_, v)| *v);
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
    let keep = keep.to_string();
    let mut xadd = vec!["XADD", keys::ANALYTICS, "MAXLEN", "~", &keep, "*"];
    for (k, v) in &fields {
        xadd.push(k);
        xadd.push(v);
    }
    let _: String = db.run(&mut trace, &xadd).await?;
    Ok(raw)
}
