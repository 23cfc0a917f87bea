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
const V0_TIME_FIELDS: [&str; 5] = [
    "timestamp",
    "submitted_at",
    "updated_at",
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
        EventType::ClaimPaid => EventPayload::ClaimPaid {
            amount: entry.parse("amount", |s| s.parse())?,
            payment_reference: entry.parse("payment_reference", PaymentReference::parse)?,
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
        customer_id: entry.parse("customer_id", CustomerId::parse)?,
        timestamp: entry.parse(time_field, v0_time)?,
        payload,
    })
}

/// `Approved`, `under-review` and ` paid ` are the statuses they look like.
fn lenient_status(s: &str) -> Result<ClaimStatus, String> {
    s.trim()
        .to_ascii_lowercase()
        .replace(['-', ' '], "_")
        .parse()
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
/// the new status came from the status the claim had before it.
pub fn complete(before: &Claim, event: &mut ClaimEvent) {
    if let EventPayload::ClaimStatusUpdated {
        from: from @ None, ..
    } = &mut event.payload
    {
        *from = before.status();
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
