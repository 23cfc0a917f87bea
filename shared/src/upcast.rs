//! Reading older entries as today's events. Upcasting happens on read only: the stream keeps
//! what was written, and every view shows the event in today's shape with the version it was
//! written in (`ClaimEvent::v`).
//!
//! Version 0 is what other programs write (the lab's own scripts among them): no `v`,
//! `submitted_at`/`updated_at` instead of `timestamp`, a status update with only the new
//! `status`, amounts in whole units (`1500`), and extra fields this schema does not carry
//! (`incident_date`), which stay visible in the entry's raw fields.

use crate::aggregate::Claim;
use crate::event::{ClaimEvent, EventPayload, EventType};
use crate::fields::{DecodeError, Fields};
use crate::{
    Adjuster, ClaimId, ClaimStatus, Currency, CustomerId, Description, DocumentName, Note,
    PaymentReference, PolicyNumber, Reason, Timestamp,
};

/// Read when a v0 claim arrives without a description.
pub const NO_DESCRIPTION: &str = "(no description given)";

/// The time fields other programs use, in the order they are looked for.
const V0_TIME_FIELDS: [&str; 8] = [
    "timestamp",
    "submitted_at",
    "updated_at",
    "paid_at",
    "approved_at",
    "rejected_at",
    "created_at",
    "occurred_at",
];

pub(crate) fn read_v0<K: AsRef<str>, V: AsRef<str>>(
    entry: &Fields<'_, K, V>,
    event_type: EventType,
) -> Result<ClaimEvent, DecodeError> {
    let payload = match event_type {
        EventType::ClaimSubmitted => EventPayload::ClaimSubmitted {
            amount: entry.parse("amount", |s| s.parse())?,
            description: entry
                .optional("description", Description::parse)?
                .unwrap_or_else(|| Description::parse(NO_DESCRIPTION).expect("valid text")),
            currency: entry
                .optional("currency", |s| s.trim().to_ascii_uppercase().parse())?
                .unwrap_or(Currency::BEFORE_V2),
            policy_number: entry.optional("policy_number", PolicyNumber::parse)?,
        },
        EventType::ClaimStatusUpdated => {
            let to = match entry.get("to") {
                Some(_) => entry.parse("to", lenient_status)?,
                None => entry.parse("status", lenient_status)?,
            };
            EventPayload::ClaimStatusUpdated {
                from: entry.optional("from", lenient_status)?,
                to,
                reason: entry.optional("reason", Reason::parse)?,
            }
        }
        // The lab's payment names how it was paid (`payment_method`), not a reference.
        EventType::ClaimPaid => EventPayload::ClaimPaid {
            amount: entry.parse("amount", |s| s.parse())?,
            payment_reference: match entry.get("payment_reference") {
                Some(_) => entry.parse("payment_reference", PaymentReference::parse)?,
                None => entry.parse("payment_method", PaymentReference::parse)?,
            },
        },
        EventType::ClaimRejected => EventPayload::ClaimRejected {
            reason: entry.parse("reason", Reason::parse)?,
        },
        EventType::ClaimNoteAdded => EventPayload::ClaimNoteAdded {
            adjuster: entry.parse("adjuster", Adjuster::parse)?,
            note: entry.parse("note", Note::parse)?,
            document: entry.optional("document", DocumentName::parse)?,
        },
    };
    let time_field = V0_TIME_FIELDS
        .into_iter()
        .find(|name| entry.get(name).is_some())
        .ok_or(DecodeError::MissingField(match event_type {
            EventType::ClaimSubmitted => "submitted_at",
            _ => "updated_at",
        }))?;
    Ok(ClaimEvent {
        v: 0,
        claim_id: entry.parse("claim_id", ClaimId::parse)?,
        // A submission names its customer; later entries may leave it to the claim.
        customer_id: match event_type {
            EventType::ClaimSubmitted => Some(entry.parse("customer_id", CustomerId::parse)?),
            _ => entry.optional("customer_id", CustomerId::parse)?,
        },
        timestamp: entry.parse(time_field, v0_time)?,
        payload,
    })
}

/// `Approved`, `under-review` and ` paid ` are the statuses they look like; the lab's
/// `pending` is submitted, and `auto_approved` approved (by an automatic reviewer, which the
/// entry's own fields still say).
fn lenient_status(s: &str) -> Result<ClaimStatus, String> {
    match s
        .trim()
        .to_ascii_lowercase()
        .replace(['-', ' '], "_")
        .as_str()
    {
        "pending" => Ok(ClaimStatus::Submitted),
        "auto_approved" => Ok(ClaimStatus::Approved),
        other => other.parse(),
    }
}

/// RFC 3339, or milliseconds since the epoch as JavaScript's `Date.now()` writes them.
fn v0_time(s: &str) -> Result<Timestamp, String> {
    let s = s.trim();
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s
            .parse()
            .ok()
            .and_then(Timestamp::from_unix_millis)
            .ok_or_else(|| format!("{s:?} is out of range for milliseconds since 1970"));
    }
    s.parse()
}

/// Fills in what an old entry left to its claim's history: a status update that recorded only
/// the new status came from the status the claim had before it, and an entry that did not
/// name the customer is the claim's customer's.
pub fn complete(before: &Claim, event: &mut ClaimEvent) {
    if let EventPayload::ClaimStatusUpdated {
        from: from @ None, ..
    } = &mut event.payload
    {
        *from = before.status();
    }
    if event.customer_id.is_none() {
        event.customer_id = before.details.as_ref().map(|d| d.customer_id.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stream_codec::decode;

    fn entry(fields: &[(&str, &str)]) -> Result<ClaimEvent, DecodeError> {
        decode(fields)
    }

    /// What the lab's Node.js code appends.
    fn lab_submitted() -> Vec<(&'static str, &'static str)> {
        vec![
            ("type", "claim_submitted"),
            ("claim_id", "claim_1732000000_x1"),
            ("customer_id", "CUST-7"),
            ("amount", "1500"),
            ("description", "Windscreen"),
            ("policy_number", "POL-2024-001"),
            ("incident_date", "2024-11-20"),
            ("submitted_at", "2024-11-21T10:00:00.000Z"),
        ]
    }

    #[test]
    fn a_v0_submission_reads_as_whole_units_with_its_policy() {
        let e = entry(&lab_submitted()).unwrap();
        assert_eq!(e.v, 0);
        assert_eq!(e.timestamp.to_string(), "2024-11-21T10:00:00.000Z");
        let EventPayload::ClaimSubmitted {
            amount,
            currency,
            policy_number,
            ..
        } = e.payload
        else {
            panic!("not a submission: {:?}", e.payload)
        };
        assert_eq!(amount.cents(), 150_000);
        assert_eq!(currency, Currency::BEFORE_V2);
        assert_eq!(policy_number.unwrap().as_str(), "POL-2024-001");
    }

    #[test]
    fn a_v0_status_update_takes_from_from_the_claim_before_it() {
        let submitted = entry(&lab_submitted()).unwrap();
        let mut update = entry(&[
            ("type", "claim_status_updated"),
            ("claim_id", "claim_1732000000_x1"),
            ("customer_id", "CUST-7"),
            ("status", "Approved"),
            ("updated_at", "1732190000000"),
        ])
        .unwrap();
        assert!(matches!(
            update.payload,
            EventPayload::ClaimStatusUpdated {
                from: None,
                to: ClaimStatus::Approved,
                ..
            }
        ));
        complete(&Claim::from_events([&submitted]), &mut update);
        assert!(matches!(
            update.payload,
            EventPayload::ClaimStatusUpdated {
                from: Some(ClaimStatus::Submitted),
                to: ClaimStatus::Approved,
                ..
            }
        ));
        assert_eq!(update.timestamp.unix_millis(), 1_732_190_000_000);
    }

    /// Decodes each entry, completes it from the claim folded so far, and folds it.
    fn fold(entries: &[Vec<(&str, &str)>]) -> (Claim, Vec<ClaimEvent>) {
        let mut claim = Claim::default();
        let mut events = Vec::new();
        for fields in entries {
            let mut event = entry(fields).unwrap_or_else(|e| panic!("{fields:?}: {e}"));
            complete(&claim, &mut event);
            crate::apply(&mut claim, &event);
            events.push(event);
        }
        (claim, events)
    }

    /// The lab's status updates and payments name no customer, say `auto_approved` straight
    /// from `pending`, and pay by `payment_method`: they fold like any other events.
    #[test]
    fn the_labs_updates_and_payments_fold_with_the_claims_customer() {
        let (claim, events) = fold(&[
            lab_submitted(),
            vec![
                ("type", "claim_status_updated"),
                ("claim_id", "claim_1732000000_x1"),
                ("status", "auto_approved"),
                ("approved_amount", "1500"),
                ("reviewer", "auto_system"),
                ("approved_at", "2024-11-21T10:05:00.000Z"),
                ("updated_at", "2024-11-21T10:05:00.000Z"),
            ],
            vec![
                ("type", "claim_paid"),
                ("claim_id", "claim_1732000000_x1"),
                ("amount", "1500"),
                ("payment_method", "bank_transfer"),
                ("paid_at", "2024-11-22T09:00:00.000Z"),
                ("status", "paid"),
            ],
        ]);
        let details = claim.details.as_ref().unwrap();
        assert_eq!(details.status, ClaimStatus::Paid);
        assert_eq!(details.customer_id.as_str(), "CUST-7");
        assert_eq!(
            details.payment_reference.as_ref().unwrap().as_str(),
            "bank_transfer"
        );
        assert_eq!(details.updated_at.to_string(), "2024-11-22T09:00:00.000Z");
        assert!(matches!(
            events[1].payload,
            EventPayload::ClaimStatusUpdated {
                from: Some(ClaimStatus::Submitted),
                to: ClaimStatus::Approved,
                ..
            }
        ));
        for event in &events {
            assert_eq!(event.customer_id.as_ref().unwrap().as_str(), "CUST-7");
        }
    }

    #[test]
    fn pending_is_submitted_and_dotted_event_types_read_as_their_type() {
        let (claim, _) = fold(&[
            vec![
                ("event_type", "claim.submitted"),
                ("claim_id", "claim_2"),
                ("customer_id", "CUST-8"),
                ("amount", "250"),
                ("timestamp", "1732190000000"),
            ],
            vec![
                ("event_type", "claim.status_updated"),
                ("claim_id", "claim_2"),
                ("status", "under_review"),
                ("timestamp", "1732190001000"),
            ],
            vec![
                ("type", "claim_status_updated"),
                ("claim_id", "claim_2"),
                ("status", "pending"),
                ("updated_at", "1732190002000"),
            ],
        ]);
        assert_eq!(claim.status(), Some(ClaimStatus::Submitted));
        assert_eq!(claim.version, 3);
        assert_eq!(
            entry(&[("event_type", "claim.exploded"), ("claim_id", "c")]),
            Err(DecodeError::UnknownType("claim.exploded".into()))
        );
        assert_eq!(
            entry(&[("claim_id", "c")]),
            Err(DecodeError::MissingField("type"))
        );
    }

    #[test]
    fn a_submission_must_name_its_customer() {
        let mut no_customer = lab_submitted();
        no_customer.retain(|(k, _)| *k != "customer_id");
        assert_eq!(
            entry(&no_customer),
            Err(DecodeError::MissingField("customer_id"))
        );
    }

    #[test]
    fn v0_entries_name_what_is_missing() {
        let mut no_time = lab_submitted();
        no_time.retain(|(k, _)| *k != "submitted_at");
        assert_eq!(
            entry(&no_time),
            Err(DecodeError::MissingField("submitted_at"))
        );
        let mut bad_amount = lab_submitted();
        bad_amount[3].1 = "1,500";
        assert!(matches!(
            entry(&bad_amount),
            Err(DecodeError::InvalidField {
                field: "amount",
                ..
            })
        ));
    }
}
