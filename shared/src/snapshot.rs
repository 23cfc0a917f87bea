//! Snapshots: a claim's folded state saved with the version and the stream entry it covers,
//! so loading a long history folds only the events after it. A snapshot is a cache of the
//! fold, never a source of truth: one written by another schema, or that does not match the
//! claim's history, is ignored and the claim is folded from its events.

use serde::{Deserialize, Serialize};

use crate::Claim;

/// Bumped whenever [`Claim`]'s shape or the meaning of a fold changes; snapshots of other
/// schemas are ignored and rewritten.
pub const SNAPSHOT_SCHEMA: u32 = 1;

/// How often a claim's snapshot is written: every this many events (0: never). The one rule
/// of when, for every path that appends or loads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotEvery(pub u64);

impl SnapshotEvery {
    /// Whether a claim just appended to, now at `version`, gets a fresh snapshot.
    pub fn due(self, version: u64) -> bool {
        self.0 > 0 && version.is_multiple_of(self.0)
    }

    /// Whether a load that folded `folded` events past its snapshot (or from the first event)
    /// should write a fresh one.
    pub fn stale(self, folded: u64) -> bool {
        self.0 > 0 && folded >= self.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Snapshot {
    pub schema: u32,
    /// How many of the claim's events it folds.
    pub version: u64,
    /// The stream id of the last of them.
    pub entry_id: String,
    pub claim: Claim,
}

impl Snapshot {
    pub fn of(claim: &Claim, entry_id: &str) -> Self {
        Self {
            schema: SNAPSHOT_SCHEMA,
            version: claim.version,
            entry_id: entry_id.to_owned(),
            claim: claim.clone(),
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("snapshots serialize")
    }

    /// The snapshot in `json`, if it can be trusted for a claim whose index lists `history`
    /// (entry ids, oldest first): this schema, and the entry it names is at its version.
    pub fn trusted(json: &str, history: &[String]) -> Result<Self, Untrusted> {
        let snapshot: Self = serde_json::from_str(json).map_err(|_| Untrusted::Unreadable)?;
        if snapshot.schema != SNAPSHOT_SCHEMA {
            return Err(Untrusted::OtherSchema(snapshot.schema));
        }
        let covers = usize::try_from(snapshot.version)
            .ok()
            .and_then(|v| v.checked_sub(1))
            .and_then(|last| history.get(last));
        if covers != Some(&snapshot.entry_id) || snapshot.claim.version != snapshot.version {
            return Err(Untrusted::NotThisHistory);
        }
        Ok(snapshot)
    }
}

/// Why a stored snapshot was not used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Untrusted {
    #[error("unreadable")]
    Unreadable,
    #[error("written by snapshot schema {0}, this relay writes {SNAPSHOT_SCHEMA}")]
    OtherSchema(u32),
    #[error("does not match the claim's history")]
    NotThisHistory,
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_snapshot_is_due_every_n_versions_and_never_at_zero() {
        let every = SnapshotEvery(50);
        assert!(every.due(50) && every.due(100));
        assert!(!every.due(49) && !every.due(51));
        assert!(every.stale(50) && !every.stale(49));
        let never = SnapshotEvery(0);
        assert!(!never.due(0) && !never.due(50) && !never.stale(1_000));
    }

    use super::*;
    use crate::event::{ClaimEvent, EventPayload};
    use crate::{
        Adjuster, Amount, ClaimId, ClaimStatus, Currency, CustomerId, Description, Note, Timestamp,
        apply,
    };
    use proptest::prelude::*;

    fn event(n: u64, payload: EventPayload) -> ClaimEvent {
        ClaimEvent {
            v: 2,
            claim_id: ClaimId::parse("CLM-1").unwrap(),
            customer_id: Some(CustomerId::parse("C-1").unwrap()),
            timestamp: Timestamp::from_unix_millis(1_795_000_000_000 + n as i64).unwrap(),
            payload,
        }
    }

    /// A history as the aggregate could leave it: a submission, then notes and status changes.
    fn history() -> impl Strategy<Value = Vec<ClaimEvent>> {
        let step = prop_oneof![
            "[a-z ]{0,20}[a-z]".prop_map(|n| EventPayload::ClaimNoteAdded {
                adjuster: Adjuster::parse("Ada").unwrap(),
                note: Note::parse(&n).unwrap(),
                document: None,
            }),
            proptest::sample::select(ClaimStatus::ALL.to_vec()).prop_map(|to| {
                EventPayload::ClaimStatusUpdated {
                    from: None,
                    to,
                    reason: None,
                }
            }),
        ];
        (1i64..100_000_000, proptest::collection::vec(step, 0..120)).prop_map(|(cents, steps)| {
            let submitted = EventPayload::ClaimSubmitted {
                amount: Amount::from_cents(cents),
                description: Description::parse("Hail").unwrap(),
                currency: Currency::BEFORE_V2,
                policy_number: None,
            };
            std::iter::once(submitted)
                .chain(steps)
                .enumerate()
                .map(|(n, p)| event(n as u64, p))
                .collect()
        })
    }

    fn ids(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("{}-0", 1000 + i)).collect()
    }

    proptest! {
        /// Snapshot after any prefix, stored and read back, plus the tail equals the full fold.
        #[test]
        fn snapshot_plus_tail_equals_the_full_fold(events in history(), cut in any::<prop::sample::Index>()) {
            let history_ids = ids(events.len());
            let full = Claim::from_events(&events);
            let at = cut.index(events.len()) + 1;
            let prefix = Claim::from_events(&events[..at]);
            let json = Snapshot::of(&prefix, &history_ids[at - 1]).to_json();
            let mut loaded = Snapshot::trusted(&json, &history_ids).unwrap().claim;
            for e in &events[at..] {
                apply(&mut loaded, e);
            }
            prop_assert_eq!(loaded, full);
        }
    }

    #[test]
    fn snapshots_of_another_schema_or_history_are_not_trusted() {
        let events = [event(
            0,
            EventPayload::ClaimSubmitted {
                amount: Amount::from_cents(1),
                description: Description::parse("x").unwrap(),
                currency: Currency::BEFORE_V2,
                policy_number: None,
            },
        )];
        let claim = Claim::from_events(&events);
        let mut old = Snapshot::of(&claim, "1000-0");
        old.schema = 0;
        assert_eq!(
            Snapshot::trusted(&old.to_json(), &ids(1)),
            Err(Untrusted::OtherSchema(0))
        );
        let other = Snapshot::of(&claim, "999-0").to_json();
        assert_eq!(
            Snapshot::trusted(&other, &ids(1)),
            Err(Untrusted::NotThisHistory)
        );
        assert_eq!(
            Snapshot::trusted(&Snapshot::of(&claim, "1000-0").to_json(), &[]),
            Err(Untrusted::NotThisHistory)
        );
        assert_eq!(
            Snapshot::trusted("{\"schema\":1}", &ids(1)),
            Err(Untrusted::Unreadable)
        );
    }
}
