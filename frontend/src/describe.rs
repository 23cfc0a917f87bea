//! Events and claim states in words, for the timeline and the claim page. Pure, so it is
//! tested on the host.

use shared::api::ClaimView;
use shared::{ClaimEvent, ClaimStatus, EventPayload, SCHEMA_VERSION};

/// `1 event`, `3 events`.
pub fn count(n: u64, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// `submitted → under_review`, or `→ approved` for a v0 entry seen without its claim's
/// history, which recorded only the new status.
pub fn status_change(from: Option<ClaimStatus>, to: ClaimStatus) -> String {
    match from {
        Some(from) => format!("{from} → {to}"),
        None => format!("→ {to}"),
    }
}

/// The payload's fields as label and value, every one of them, in the order they were
/// written. Amounts of a payment carry no currency of their own: `currency` is the claim's.
pub fn payload_fields(event: &ClaimEvent, currency: &str) -> Vec<(&'static str, String)> {
    match &event.payload {
        EventPayload::ClaimSubmitted {
            amount,
            description,
            currency,
            policy_number,
        } => {
            let mut fields = vec![
                ("amount", format!("{amount} {currency}")),
                ("description", description.to_string()),
            ];
            if let Some(policy) = policy_number {
                fields.push(("policy", policy.to_string()));
            }
            fields
        }
        EventPayload::ClaimStatusUpdated { from, to, reason } => {
            let mut fields = vec![("status", status_change(*from, *to))];
            if let Some(reason) = reason {
                fields.push(("reason", reason.to_string()));
            }
            fields
        }
        EventPayload::ClaimPaid {
            amount,
            payment_reference,
        } => vec![
            ("amount", format!("{amount} {currency}")),
            ("payment", payment_reference.to_string()),
        ],
        EventPayload::ClaimRejected { reason } => vec![("reason", reason.to_string())],
        EventPayload::ClaimNoteAdded {
            adjuster,
            note,
            document,
        } => {
            let mut fields = vec![
                ("adjuster", adjuster.to_string()),
                ("note", note.to_string()),
            ];
            if let Some(document) = document {
                fields.push(("document", document.to_string()));
            }
            fields
        }
    }
}

/// What a timeline row says after the amount: the change, reason, reference or note.
pub fn summary(event: &ClaimEvent) -> String {
    match &event.payload {
        EventPayload::ClaimSubmitted { description, .. } => description.to_string(),
        EventPayload::ClaimStatusUpdated { from, to, .. } => status_change(*from, *to),
        EventPayload::ClaimPaid {
            payment_reference, ..
        } => format!("paid, ref {payment_reference}"),
        EventPayload::ClaimRejected { reason } => format!("rejected: {reason}"),
        EventPayload::ClaimNoteAdded {
            adjuster,
            note,
            document,
        } => match document {
            Some(d) => format!("{adjuster} attached {d}: {note}"),
            None => format!("{adjuster}: {note}"),
        },
    }
}

/// `v0 → v2 upcast` for an entry written with an older schema; `None` for today's.
pub fn upcast(event: &ClaimEvent) -> Option<String> {
    (event.v < SCHEMA_VERSION).then(|| format!("v{} → v{SCHEMA_VERSION} upcast", event.v))
}

/// How the relay built the claim: from a snapshot and the events after it, or from them all.
pub fn loaded_from(snapshot_version: Option<u64>, events_replayed: u64) -> String {
    match snapshot_version {
        Some(v) => format!(
            "loaded from snapshot v{v} + {}",
            count(events_replayed, "event")
        ),
        None if events_replayed == 1 => "folded from its one event".to_owned(),
        None => format!("folded from all {events_replayed} events"),
    }
}

/// An amount with its currency: `250.00 USD`.
pub fn money(claim: &ClaimView) -> String {
    format!("{} {}", claim.amount, claim.currency)
}

#[cfg(test)]
mod tests {
    use shared::stream_codec::decode;

    use super::*;

    fn event(fields: &[(&str, &str)]) -> ClaimEvent {
        decode(fields).unwrap()
    }

    #[test]
    fn a_v0_status_update_without_from_reads_as_an_arrow_to_the_new_status() {
        let e = event(&[
            ("type", "claim_status_updated"),
            ("claim_id", "CLM-1"),
            ("customer_id", "CUST-1"),
            ("status", "approved"),
            ("updated_at", "2026-11-23T10:00:00.000Z"),
        ]);
        assert_eq!(summary(&e), "→ approved");
        assert_eq!(
            payload_fields(&e, "USD"),
            [("status", "→ approved".to_owned())]
        );
        assert_eq!(upcast(&e).as_deref(), Some("v0 → v2 upcast"));
    }

    #[test]
    fn a_note_shows_who_wrote_it_and_the_document() {
        let e = event(&[
            ("type", "claim_note_added"),
            ("v", "2"),
            ("claim_id", "CLM-1"),
            ("customer_id", "CUST-1"),
            ("timestamp", "2026-11-23T10:00:00.000Z"),
            ("adjuster", "Ana"),
            ("note", "photos received"),
            ("document", "photos.zip"),
        ]);
        assert_eq!(summary(&e), "Ana attached photos.zip: photos received");
        assert_eq!(payload_fields(&e, "USD").len(), 3);
        assert_eq!(upcast(&e), None);
    }

    #[test]
    fn how_a_claim_was_loaded_is_said_in_words() {
        assert_eq!(
            loaded_from(Some(50), 3),
            "loaded from snapshot v50 + 3 events"
        );
        assert_eq!(loaded_from(None, 1), "folded from its one event");
        assert_eq!(loaded_from(None, 12), "folded from all 12 events");
    }
}
