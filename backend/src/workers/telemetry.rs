//! What the consumers record for `/metrics`, through the `metrics` macros (a process without
//! a recorder, `backend worker`, records nothing): per group the entries delivered, failed and
//! dead-lettered, and the time the handler took per entry. Labelled by group only: a fixed
//! set (the relay's own groups), never an entry, claim or consumer.

pub const DELIVERIES: &str = "claimstream_group_deliveries_total";
pub const ERRORS: &str = "claimstream_group_errors_total";
pub const DEAD_LETTERED: &str = "claimstream_group_dead_lettered_total";
pub const PROCESSING: &str = "claimstream_group_processing_seconds";

/// Entries given to the group's consumers, each redelivery again.
pub(super) fn delivered(group: &'static str, entries: usize) {
    count(DELIVERIES, group, entries);
}

/// Entries whose handling failed.
pub(super) fn failed(group: &'static str, entries: usize) {
    count(ERRORS, group, entries);
}

/// Entries moved to the dead letters.
pub(super) fn dead_lettered(group: &'static str, entries: usize) {
    count(DEAD_LETTERED, group, entries);
}

fn count(name: &'static str, group: &'static str, entries: usize) {
    if entries > 0 {
        metrics::counter!(name, "group" => group).increment(entries as u64);
    }
}

/// `entries` handled together in `seconds` each (a batch's time shared out).
pub(super) fn processing(group: &'static str, seconds: f64, entries: usize) {
    metrics::histogram!(PROCESSING, "group" => group).record_many(seconds, entries);
}
