//! The counters `claims-analytics` keeps and the summaries it appends, in Redis.
//!
//! Keys (all bounded):
//! - [`keys::metrics`]: a hash of counters, one field per event type, per status (claims and
//!   cents) and two for the processing time: a few dozen fields at most.
//! - [`keys::counted`]: the entries already counted (`store::markers` trims it).
//! - [`keys::ANALYTICS`]: the summaries, `MAXLEN ~` the relay's side-stream length.
//!
//! Which field counts what is said here once; what to count is the group's business.

use std::sync::LazyLock;

use redis::Script;
use shared::ClaimStatus;
use shared::api::StreamEntry;
use shared::causes::{CAUSATION_ID, CORRELATION_ID};

use crate::store::db::{Db, DbError};
use crate::store::keys;
use crate::store::markers;
use crate::store::trace::Trace;

/// Entries counted, and the milliseconds they waited from their append to being counted.
pub const PROCESSED: &str = "processed";
pub const PROCESSING_MS_TOTAL: &str = "processing_ms_total";

/// The counter of events of `kind` (an event type, or `undecoded`).
pub fn events(kind: &str) -> String {
    format!("events:{kind}")
}

/// The counter of claims that reached `status`.
pub fn claims(status: ClaimStatus) -> String {
    format!("claims:{status}")
}

/// The cents of the claims that reached `status` (submitted, paid).
pub fn cents(status: ClaimStatus) -> String {
    format!("cents:{status}")
}

/// What a counter's field counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counter<'a> {
    /// Events of this kind.
    Events(&'a str),
    /// Claims that reached this status.
    Claims(&'a str),
    /// Cents of the claims that reached this status.
    Cents(&'a str),
    /// [`PROCESSED`], [`PROCESSING_MS_TOTAL`], or a field of a later version.
    Other(&'a str),
}

impl<'a> Counter<'a> {
    pub fn of(field: &'a str) -> Self {
        if let Some(kind) = field.strip_prefix("events:") {
            Self::Events(kind)
        } else if let Some(status) = field.strip_prefix("claims:") {
            Self::Claims(status)
        } else if let Some(status) = field.strip_prefix("cents:") {
            Self::Cents(status)
        } else {
            Self::Other(field)
        }
    }
}

/// The counters as read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Metrics(Vec<(String, i64)>);

impl Metrics {
    /// The counter `field`; 0 when it was never counted.
    pub fn get(&self, field: &str) -> i64 {
        self.0
            .iter()
            .find(|(name, _)| name == field)
            .map_or(0, |(_, value)| *value)
    }

    /// Every counter, by field name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, i64)> {
        self.0.iter().map(|(name, value)| (name.as_str(), *value))
    }
}

pub async fn read(db: &Db, trace: &mut Trace) -> Result<Metrics, DbError> {
    db.run(trace, &["HGETALL", &keys::metrics()])
        .await
        .map(Metrics)
}

/// Adds `increments` to the counters once for `entry`: the entry's marker and the counters
/// change together or not at all. `false`: it was counted before.
pub async fn count_once(
    db: &Db,
    entry: &StreamEntry,
    increments: &[(String, i64)],
) -> Result<bool, DbError> {
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
    let mut invocation = COUNT_ONCE.prepare_invoke();
    invocation
        .key(keys::counted())
        .key(keys::metrics())
        .arg(keys::entry_marker(entry))
        .arg(markers::score(&entry.id));
    for (field, by) in increments {
        invocation.arg(field).arg(by);
    }
    Ok(db.script::<i64>(&invocation).await? == 1)
}

/// Appends a summary (`fields`) to `claims:analytics`, kept near `keep` entries; its id. A
/// summary counts many claims' stories: it names the newest entry counted before it as its
/// cause and its story (`shared::causes`), as `<partition>:<id>` with several partitions, or
/// nothing when nothing was counted yet.
pub async fn append_summary(
    db: &Db,
    trace: &mut Trace,
    fields: &[(String, String)],
    keep: u64,
) -> Result<String, DbError> {
    let newest: Vec<String> = db
        .run(trace, &["ZREVRANGE", &keys::counted(), "0", "0"])
        .await?;
    let keep = keep.to_string();
    let mut xadd = vec!["XADD", keys::ANALYTICS, "MAXLEN", "~", &keep, "*"];
    for (k, v) in fields {
        xadd.push(k);
        xadd.push(v);
    }
    if let Some(newest) = newest.first() {
        xadd.extend([CAUSATION_ID, newest, CORRELATION_ID, newest]);
    }
    db.run(trace, &xadd).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_field_is_read_back_as_what_it_counts() {
        let submitted = claims(ClaimStatus::Submitted);
        assert_eq!(Counter::of(&submitted), Counter::Claims("submitted"));
        let paid = cents(ClaimStatus::Paid);
        assert_eq!(Counter::of(&paid), Counter::Cents("paid"));
        let notes = events("claim_note_added");
        assert_eq!(Counter::of(&notes), Counter::Events("claim_note_added"));
        assert_eq!(Counter::of(PROCESSED), Counter::Other(PROCESSED));
        let metrics = Metrics(vec![(submitted.clone(), 3)]);
        assert_eq!((metrics.get(&submitted), metrics.get(&paid)), (3, 0));
    }
}
