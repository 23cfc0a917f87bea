//! Every Redis key the relay touches, in one place.
//!
//! One append touches the events stream and the claim's index keys together, atomically. For
//! that to stay possible on Redis Cluster, all of them must share a hash slot: they carry the
//! partition's hash tag. With one partition (the default) the stream is `claims:events` and
//! the tag `{claims:events}`, which hashes exactly like the stream's own name; with N, claim
//! `c` lives in partition `crc16(c) mod N`, whose stream is `claims:events:{p}` and whose
//! keys carry the tag `{p}`.

/// The stream every claim event is appended to, with one partition.
pub const EVENTS: &str = "claims:events";

/// How many partitions the claims are spread over (`--partitions`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Partitions(u32);

impl Partitions {
    /// The most `--partitions` takes: each partition costs every relay blocking connections
    /// (feed, projector, consumers), and Redis Cluster has 16384 slots to spread them over.
    pub const MAX: u32 = 64;

    pub const ONE: Self = Self(1);

    pub fn new(count: u32) -> Option<Self> {
        (1..=Self::MAX).contains(&count).then_some(Self(count))
    }

    pub fn count(self) -> u32 {
        self.0
    }

    /// The partition claim `claim_id` lives in: a stable hash, the same in every relay.
    pub fn of(self, claim_id: &str) -> Partition {
        Partition {
            index: u32::from(crc16(claim_id.as_bytes())) % self.0,
            of: self.0,
        }
    }

    pub fn all(self) -> impl Iterator<Item = Partition> + Clone {
        (0..self.0).map(move |index| Partition { index, of: self.0 })
    }

    /// Reads what [`Partition::marker`] writes: `<partition>:<entry id>`, or with one
    /// partition the id alone.
    pub fn parse_marker(self, marker: &str) -> Result<(Partition, &str), String> {
        match marker.split_once(':') {
            Some((p, id)) => {
                let partition = p
                    .parse::<u32>()
                    .ok()
                    .filter(|p| *p < self.0)
                    .map(|index| Partition { index, of: self.0 })
                    .ok_or_else(|| format!("no partition {p:?}: there are {}", self.0))?;
                Ok((partition, id))
            }
            None if self.0 == 1 => Ok((Partition::ONLY, marker)),
            None => Err(format!(
                "the claims are in {} partitions: give <partition>:<entry id>",
                self.0
            )),
        }
    }

    /// The partition whose events stream is `key`.
    pub fn by_stream(self, key: &str) -> Option<Partition> {
        self.all().find(|p| p.events() == key)
    }
}

/// One partition: its events stream and every key an append to it touches, under one tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Partition {
    index: u32,
    of: u32,
}

impl Partition {
    /// The one partition when the claims are not partitioned.
    pub const ONLY: Self = Self { index: 0, of: 1 };

    pub fn index(self) -> u32 {
        self.index
    }

    /// The number the API and the browser show: only when there are several partitions.
    pub fn shown(self) -> Option<u32> {
        (self.of > 1).then_some(self.index)
    }

    /// The stream the partition's claim events are appended to.
    pub fn events(self) -> String {
        if self.of == 1 {
            EVENTS.to_owned()
        } else {
            format!("{EVENTS}:{{{}}}", self.index)
        }
    }

    fn tag(self) -> String {
        if self.of == 1 {
            format!("{{{EVENTS}}}")
        } else {
            format!("{{{}}}", self.index)
        }
    }

    /// A list of the partition's entry ids of one claim, oldest first. Its length is the
    /// claim's version, which is what appends are checked against.
    pub fn history(self, claim_id: &str) -> String {
        format!("{}{claim_id}", self.history_prefix())
    }

    /// The prefix of [`Partition::history`], for scripts that index claims they learn of.
    pub fn history_prefix(self) -> String {
        format!("claims:{}:history:", self.tag())
    }

    /// A claim's snapshot: its folded state with the version and entry id it covers,
    /// rewritten every `--snapshot-every` events.
    pub fn snapshot(self, claim_id: &str) -> String {
        format!("claims:{}:snapshot:{claim_id}", self.tag())
    }

    /// The last entry of the partition's stream whose claim is in its claim's history:
    /// entries after it were appended by other programs and are indexed next
    /// (`claims::index`).
    pub fn indexed(self) -> String {
        format!("claims:{}:indexed", self.tag())
    }

    /// The answer to a command sent with an `Idempotency-Key` (by its SHA-256), kept 24 h
    /// (`EX`), or 60 s while the command runs. In the partition's slot: the append script
    /// marks it.
    pub fn idempotency(self, key_hash: &str) -> String {
        format!("claims:{}:idempotency:{key_hash}", self.tag())
    }

    /// Dead letters of the consumer groups reading this partition (`claims:failed` with one
    /// partition): in its slot, so a letter and the acknowledgement it replaces are one
    /// transaction.
    pub fn failed(self) -> String {
        if self.of == 1 {
            FAILED.to_owned()
        } else {
            format!("{FAILED}:{}", self.tag())
        }
    }

    /// The projection's state for this partition: `position` (the last entry applied) and
    /// the rebuild's progress, a hash of fixed fields.
    pub fn projection(self) -> String {
        format!("claims:{}:projection", self.tag())
    }

    /// Which relay's projector reads this partition: one at a time, so its part of the read
    /// model is written in stream order. `EX` 10 s, renewed while it runs (rebuilds too); its
    /// value, the holder's token, fences the rebuild's writes.
    pub fn projector_lease(self) -> String {
        format!("claims:{}:projector", self.tag())
    }

    /// This partition's part of the read model (live or being rebuilt).
    pub fn model(self, kind: Model) -> ModelKeys {
        ModelKeys {
            prefix: match kind {
                Model::Live => format!("claims:{}:", self.tag()),
                Model::Rebuild => format!("claims:{}:rebuild:", self.tag()),
                Model::Scratch(token) => format!("claims:{}:debug:{token:016x}:", self.tag()),
            },
        }
    }

    /// What the read model's views were called before the projection kept them (the append
    /// script did); removed when the first projector of this version rebuilds the model.
    pub fn views_before_v2(self) -> String {
        format!("claims:{}:snapshots", self.tag())
    }

    /// An entry id made unique over partitions, `<partition>:<id>` (the id alone with one
    /// partition): for markers that remember entries of all of them (`counted-ids`,
    /// `notified-ids`), and wherever the API names an entry of a partition.
    pub fn marker(self, entry_id: &str) -> String {
        if self.of == 1 {
            entry_id.to_owned()
        } else {
            format!("{}:{entry_id}", self.index)
        }
    }
}

/// An entry's id made unique over partitions, from the partition the entry says it is in
/// (as [`Partition::marker`] makes it).
pub fn entry_marker(entry: &shared::api::StreamEntry) -> String {
    match entry.partition {
        Some(p) => format!("{p}:{}", entry.id),
        None => entry.id.clone(),
    }
}

/// CRC16 (XMODEM), as Redis Cluster hashes keys to slots; also the claims' partition hash.
pub fn crc16(bytes: &[u8]) -> u16 {
    let mut crc: u16 = 0;
    for b in bytes {
        crc ^= u16::from(*b) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc
}

/// The cluster slot of `key`, by the hash tag rule.
pub fn slot(key: &str) -> u16 {
    let hashed = match key.find('{') {
        Some(open) => match key[open + 1..].find('}') {
            Some(len) if len > 0 => &key[open + 1..open + 1 + len],
            _ => key,
        },
        None => key,
    };
    crc16(hashed.as_bytes()) % 16384
}

/// Dead letters of the consumer groups.
pub const FAILED: &str = "claims:failed";
/// What was done with dead letters (replayed, discarded), for the record.
pub const FAILED_LOG: &str = "claims:failed:log";
/// Summaries written by the analytics group.
pub const ANALYTICS: &str = "claims:analytics";

/// Notifications the `claims-notifications` group sent.
pub const NOTIFICATIONS: &str = "claims:notifications";

/// The command log: each claim command carried out or refused (`store::command_log`).
pub const COMMANDS: &str = "claims:commands";

/// Streams `GET /api/health` reports the length of: each partition's events and dead
/// letters, then the analytics and notifications.
pub fn known_streams(partitions: Partitions) -> Vec<String> {
    let mut streams: Vec<String> = partitions.all().map(Partition::events).collect();
    streams.extend(partitions.all().map(Partition::failed));
    streams.extend([ANALYTICS.to_owned(), NOTIFICATIONS.to_owned()]);
    streams
}

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
/// (`store::markers`).
pub fn counted() -> String {
    "claims:{claims:analytics}:counted-ids".to_owned()
}

/// Entry ids of `claims:events` already notified: checked and set in the same script that
/// appends the notification, so a redelivered entry is never notified twice. Tagged to share
/// the notifications stream's slot; a sorted set trimmed like [`counted`].
pub fn notified() -> String {
    "claims:{claims:notifications}:notified-ids".to_owned()
}

/// The markers of the hash-based layout of earlier versions, unlinked once at start.
pub const EARLIER_MARKERS: [&str; 2] = [
    "claims:{claims:notifications}:notified",
    "claims:{claims:analytics}:counted",
];

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

/// The tag of the keys shared by every partition (controls, relay numbers): the one-partition
/// events slot, so their names stay what they were before partitions.
const TAG: &str = "{claims:events}";

/// Which read model: the live one, the one a rebuild writes before it is renamed over it, or
/// a projection debugger's scratch copy (one per request, by its random token; `PEXPIRE` 60 s
/// after every write, unlinked when the request ends).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Model {
    Live,
    Rebuild,
    Scratch(u64),
}

/// The keys of one partition's read model, all under `claims:{tag}:` (or
/// `claims:{tag}:rebuild:`).
pub struct ModelKeys {
    prefix: String,
}

impl ModelKeys {
    /// Every claim id, scored by submission time (ms).
    pub fn all_claims(&self) -> String {
        format!("{}all", self.prefix)
    }

    /// The prefix of [`ModelKeys::by_status`], for the projection script.
    pub fn status_prefix(&self) -> String {
        format!("{}status:", self.prefix)
    }

    /// Claim ids in one status, scored by submission time (ms).
    pub fn by_status(&self, status: shared::ClaimStatus) -> String {
        format!("{}{status}", self.status_prefix())
    }

    /// Hash of claim id to the JSON of its latest state (`ClaimView`).
    pub fn views(&self) -> String {
        format!("{}views", self.prefix)
    }

    /// Hash of customer id to the JSON of their totals: one field per customer.
    pub fn customers(&self) -> String {
        format!("{}customers", self.prefix)
    }

    /// The newest events, as JSON, newest first: `LTRIM` to [`ACTIVITY_KEPT`].
    pub fn activity(&self) -> String {
        format!("{}activity", self.prefix)
    }

    /// Where the model has come to (`position`), for a model other than the live one (whose
    /// position is the partition's [`Partition::projection`], this very name).
    pub fn projection(&self) -> String {
        format!("{}projection", self.prefix)
    }

    /// Every key of the model, for renaming a rebuilt one over the live one.
    pub fn all_keys(&self) -> Vec<String> {
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

/// Recent activity items the read model keeps (per partition).
pub const ACTIVITY_KEPT: usize = 100;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_append_only_touches_keys_in_its_partitions_slot() {
        for partitions in [Partitions::ONE, Partitions::new(4).unwrap()] {
            for p in partitions.all() {
                let expected = slot(&p.events());
                for key in [
                    p.history("CLM-1"),
                    p.indexed(),
                    p.snapshot("CLM-1"),
                    p.idempotency("ab12"),
                    p.projection(),
                    p.projector_lease(),
                    p.model(Model::Live).views(),
                    p.model(Model::Live).by_status(shared::ClaimStatus::Paid),
                    p.model(Model::Rebuild).activity(),
                    p.model(Model::Scratch(7)).projection(),
                ] {
                    assert_eq!(slot(&key), expected, "{key}");
                }
                // One partition keeps `claims:failed`, a slot of its own, as it always was.
                assert_eq!(slot(&p.failed()) == expected, partitions.count() > 1);
            }
        }
        assert_ne!(slot("claims:other"), slot(EVENTS));
    }

    #[test]
    fn one_partition_keeps_the_names_of_a_single_stream() {
        let p = Partitions::ONE.of("CLM-1");
        assert_eq!(p.events(), "claims:events");
        assert_eq!(p.history("CLM-1"), "claims:{claims:events}:history:CLM-1");
        assert_eq!(p.failed(), "claims:failed");
        assert_eq!(p.marker("1-0"), "1-0");
        assert_eq!(p.model(Model::Live).projection(), p.projection());
        assert_eq!(
            p.model(Model::Scratch(255)).views(),
            "claims:{claims:events}:debug:00000000000000ff:views"
        );
    }

    #[test]
    fn claims_spread_over_partitions_and_stay_where_they_are() {
        let four = Partitions::new(4).unwrap();
        assert_eq!(four.of("CLM-1"), four.of("CLM-1"));
        assert_eq!(
            four.of("CLM-1").events(),
            format!("claims:events:{{{}}}", four.of("CLM-1").index())
        );
        let mut seen = std::collections::HashSet::new();
        for n in 0..200 {
            seen.insert(four.of(&format!("CLM-{n}")).index());
        }
        assert_eq!(seen.len(), 4);
        assert_eq!(
            four.by_stream("claims:events:{2}").map(Partition::index),
            Some(2)
        );
        assert!(Partitions::new(0).is_none() && Partitions::new(65).is_none());
    }
}
