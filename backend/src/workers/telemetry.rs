//! What the consumers record for `/metrics`, through the `metrics` macros (a process without
//! a recorder, `backend worker`, records nothing): per group the entries delivered, failed and
//! dead-lettered, and the time the handler took per entry. Labelled by group only: a fixed
//! set (the relay's own groups), never an entry, claim or consumer.

use super::consumer::Outcome;

pub const DELIVERIES: &str = "claimstream_group_deliveries_total";
pub const ERRORS: &str = "claimstream_group_errors_total";
pub const DEAD_LETTERED: &str = "claimstream_group_dead_lettered_total";
pub const PROCESSING: &str = "claimstream_group_processing_seconds";

/// One step's entries: delivered (each redelivery again), failed, dead-lettered.
pub(super) fn step(group: &'static str, outcome: &Outcome) {
    if outcome.delivered > 0 {
        metrics::counter!(DELIVERIES, "group" => group).increment(outcome.delivered as u64);
    }
    if outcome.failed > 0 {
        metrics::counter!(ERRORS, "group" => group).increment(outcome.failed as u64);
    }
    if outcome.dead_lettered > 0 {
        metrics::counter!(DEAD_LETTERED, "group" => group).increment(outcome.dead_lettered as u64);
    }
}

/// `entries` handled together in `seconds` each (a batch's time shared out).
pub(super) fn processing(group: &'static str, seconds: f64, entries: usize) {
    metrics::histogram!(PROCESSING, "group" => group).record_many(seconds, entries);
}
