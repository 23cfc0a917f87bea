//! Every Redis key the relay touches, in one place.
//!
//! One append touches the events stream and the claim's index keys together, atomically. For
//! that to stay possible on Redis Cluster, all of them must share a hash slot: the index keys
//! carry the hash tag `{claims:events}`, which hashes exactly like the stream's own name. When
//! claims are partitioned later, the tag becomes the partition's stream name.

/// The stream every claim event is appended to.
pub const EVENTS: &str = "claims:events";
/// Dead letters of the consumer groups.
pub const FAILED: &str = "claims:failed";
/// What was done with dead letters (replayed, discarded), for the record.
pub const FAILED_LOG: &str = "claims:failed:log";
/// Summaries written by the analytics group.
pub const ANALYTICS: &str = "claims:analytics";

/// Notifications the `claims-notifications` group sent.
pub const NOTIFICATIONS: &str = "claims:notifications";

/// Streams `GET /api/health` reports the length of.
pub const KNOWN_STREAMS: [&str; 4] = [EVENTS, FAILED, ANALYTICS, NOTIFICATIONS];

/// The consumer groups reading `claims:events`.
pub const PROCESSORS: &str = "claims-processors";
pub const ANALYTICS_GROUP: &str = "claims-analytics";
pub const NOTIFICATIONS_GROUP: &str = "claims-notifications";
/// The group whose one consumer keeps the read model (`projection`).
pub const PROJECTIONS_GROUP: &str = "claims-projections";

/// Running counters of `claims-analytics`.
pub fn metrics() -> String {
    "claims:{claims:analytics}:metrics".to_owned()
}

/// Entry ids already counted by `claims-analytics`, in the metrics' slot: a sorted set scored
/// by the id's milliseconds, trimmed below what the group may still be handed again
/// (`workers::markers`).
pub fn counted() -> String {
    "claims:{claims:analytics}:counted-ids".to_owned()
}

/// Entry ids of `claims:events` already notified: checked and set in the same script that
/// appends the notification, so a redelivered entry is never notified twice. Tagged to share
/// the notifications stream's slot; a sorted set trimmed like [`counted`].
pub fn notified() -> String {
    "claims:{claims:notifications}:notified-ids".to_owned()
}

/// The answer to a command sent with an `Idempotency-Key` (by its SHA-256), kept 24 h
/// (`EX`), or 60 s while the command runs. In the events' slot: the append script marks it.
pub fn idempotency(key_hash: &str) -> String {
    format!("claims:{TAG}:idempotency:{key_hash}")
}

/// A group's pause, injected failures and breaker, shared by every process with consumers of
/// it: a hash of fixed fields, one per group.
pub fn controls(group: &str) -> String {
    format!("claims:{TAG}:controls:{group}")
}

/// The one trial batch of a half-open breaker: which consumer holds it, for 30 s at most (`PX`).
pub fn breaker_trial(group: &str) -> String {
    format!("claims:{TAG}:controls:{group}:trial")
}

/// Consumer -> the pause (epoch) it parked for: one field per consumer of the group, removed
/// with the consumer.
pub fn parked(group: &str) -> String {
    format!("claims:{TAG}:controls:{group}:parked")
}

/// Relay number `n`'s lease: its owner, `EX` 30 s, renewed every 10 s.
pub fn relay_slot(n: u32) -> String {
    format!("claims:{TAG}:relay:{n}")
}

/// Only keys under this prefix may be read through the API.
pub const READABLE_PREFIX: &str = "claims:";

const TAG: &str = "{claims:events}";

/// A list of the `claims:events` entry ids of one claim, oldest first. Its length is the
/// claim's version, which is what appends are checked against.
pub fn history(claim_id: &str) -> String {
    format!("claims:{TAG}:history:{claim_id}")
}

/// The read model's keys live under `claims:{claims:events}:<model>`; a rebuild writes a
/// fresh set under `claims:{claims:events}:rebuild:<model>` and renames it over the live one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Model {
    Live,
    Rebuild,
}

impl Model {
    fn prefix(self) -> String {
        match self {
            Self::Live => format!("claims:{TAG}:"),
            Self::Rebuild => format!("claims:{TAG}:rebuild:"),
        }
    }

    /// Every claim id, scored by submission time (ms).
    pub fn all_claims(self) -> String {
        format!("{}all", self.prefix())
    }

    /// The prefix of [`Model::by_status`], for the projection script.
    pub fn status_prefix(self) -> String {
        format!("{}status:", self.prefix())
    }

    /// Claim ids in one status, scored by submission time (ms).
    pub fn by_status(self, status: shared::ClaimStatus) -> String {
        format!("{}{status}", self.status_prefix())
    }

    /// Hash of claim id to the JSON of its latest state (`ClaimView`).
    pub fn views(self) -> String {
        format!("{}views", self.prefix())
    }

    /// Hash of customer id to the JSON of their totals: one field per customer.
    pub fn customers(self) -> String {
        format!("{}customers", self.prefix())
    }

    /// The newest events, as JSON, newest first: `LTRIM` to [`ACTIVITY_KEPT`].
    pub fn activity(self) -> String {
        format!("{}activity", self.prefix())
    }

    /// Every key of the model, for renaming a rebuilt one over the live one.
    pub fn all_keys(self) -> Vec<String> {
        let mut keys = vec![
            self.all_claims(),
            self.views(),
            self.customers(),
            self.activity(),
        ];
        keys.extend(shared::ClaimStatus::ALL.map(|s| self.by_status(s)));
        keys
    }
}

/// Recent activity items the read model keeps.
pub const ACTIVITY_KEPT: usize = 100;

/// Every claim id, scored by submission time (ms), in the live read model.
pub fn all_claims() -> String {
    Model::Live.all_claims()
}

/// Claim ids in one status, in the live read model.
pub fn by_status(status: shared::ClaimStatus) -> String {
    Model::Live.by_status(status)
}

/// The projection's state: `position` (the last entry applied) and the rebuild's progress,
/// a hash of fixed fields.
pub fn projection() -> String {
    format!("claims:{TAG}:projection")
}

/// Which relay's projector reads: one at a time, so the read model is written in stream
/// order. `PX` 10 s, renewed while it runs.
pub fn projector_lease() -> String {
    format!("claims:{TAG}:projector")
}

/// The prefix of [`history`], for scripts that index claims they learn of from the stream.
pub fn history_prefix() -> String {
    format!("claims:{TAG}:history:")
}

/// The last `claims:events` entry whose claim is in its claim's [`history`]: entries after it
/// were appended by other programs and are indexed next (`claim_store::index`).
pub fn indexed() -> String {
    format!("claims:{TAG}:indexed")
}

/// A claim's snapshot: its folded state with the version and entry id it covers, rewritten
/// every `--snapshot-every` events.
pub fn snapshot(claim_id: &str) -> String {
    format!("claims:{TAG}:snapshot:{claim_id}")
}

/// Hash of claim id to the JSON of its latest state: the live read model behind the list.
pub fn views() -> String {
    Model::Live.views()
}

/// What [`views`] was called before the projection kept it (the append script did); removed
/// when the first projector of this version rebuilds the model.
pub fn views_before_v2() -> String {
    format!("claims:{TAG}:snapshots")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// CRC16 (XMODEM) of the hash tag rule, as Redis Cluster computes a key's slot.
    fn slot(key: &str) -> u16 {
        let hashed = match key.find('{') {
            Some(open) => match key[open + 1..].find('}') {
                Some(len) if len > 0 => &key[open + 1..open + 1 + len],
                _ => key,
            },
            None => key,
        };
        let mut crc: u16 = 0;
        for b in hashed.bytes() {
            crc ^= u16::from(b) << 8;
            for _ in 0..8 {
                crc = if crc & 0x8000 != 0 {
                    (crc << 1) ^ 0x1021
                } else {
                    crc << 1
                };
            }
        }
        crc % 16384
    }

    #[test]
    fn an_append_only_touches_keys_in_the_events_stream_slot() {
        let expected = slot(EVENTS);
        for key in [
            history("CLM-1"),
            all_claims(),
            by_status(shared::ClaimStatus::Paid),
            views(),
            indexed(),
            snapshot("CLM-1"),
            projection(),
            projector_lease(),
            Model::Rebuild.activity(),
        ] {
            assert_eq!(slot(&key), expected, "{key}");
        }
        assert_ne!(slot("claims:other"), expected);
    }
}
