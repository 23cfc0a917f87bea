//! One event is one stream entry of flat field/value pairs, readable in `redis-cli`:
//! `type claim_submitted v 2 claim_id CLM-1 customer_id CUST-001 timestamp 2026-...Z
//! amount 5000.00 description "..." currency USD`. Decoding never panics: anything foreign or
//! malformed becomes a [`DecodeError`] that names the problem. Entries of older schemas are
//! upcast to today's shape as they are read (`upcast`); they are never rewritten.

use crate::event::{ClaimEvent, EventPayload, EventType, SCHEMA_VERSION};
pub use crate::fields::DecodeError;
use crate::fields::Fields;
use crate::{Currency, upcast};

/// The field/value pairs of `event`, in the order `XADD` writes them, in today's schema.
pub fn encode(event: &ClaimEvent) -> Vec<(&'static str, String)> {
    let mut fields = vec![
        ("type", event.event_type().as_str().to_owned()),
        ("v", SCHEMA_VERSION.to_string()),
        ("claim_id", event.claim_id.to_string()),
    ];
    if let Some(customer) = &event.customer_id {
        fields.push(("customer_id", customer.to_string()));
    }
    fields.push(("timestamp", event.timestamp.to_string()));
    match &event.payload {
        EventPayload::ClaimSubmitted {
            amount,
            description,
            currency,
            policy_number,
        } => {
            fields.push(("amount", amount.to_string()));
            fields.push(("description", description.to_string()));
            fields.push(("currency", currency.to_string()));
            if let Some(policy) = policy_number {
                fields.push(("policy_number", policy.to_string()));
            }
        }
        EventPayload::ClaimStatusUpdated { from, to, reason } => {
            if let Some(from) = from {
                fields.push(("from", from.to_string()));
            }
            fields.push(("to", to.to_string()));
            if let Some(reason) = reason {
                fields.push(("reason", reason.to_string()));
            }
        }
        EventPayload::ClaimPaid {
            amount,
            payment_reference,
        } => {
            fields.push(("amount", amount.to_string()));
            fields.push(("payment_reference", payment_reference.to_string()));
        }
        EventPayload::ClaimRejected { reason } => {
            fields.push(("reason", reason.to_string()));
        }
        EventPayload::ClaimNoteAdded {
            adjuster,
            note,
            document,
        } => {
            fields.push(("adjuster", adjuster.to_string()));
            fields.push(("note", note.to_string()));
            if let Some(document) = document {
                fields.push(("document", document.to_string()));
            }
        }
    }
    fields
}

/// Reads an entry's fields back into an event of today's schema, whichever version wrote it.
/// Fields this version does not know are ignored, so a newer writer adding a field does not
/// break older readers.
pub fn decode<K: AsRef<str>, V: AsRef<str>>(fields: &[(K, V)]) -> Result<ClaimEvent, DecodeError> {
    let entry = Fields(fields);
    entry.check_no_duplicates()?;
    let Some(named) = entry.get("type") else {
        // Another producer style names it `event_type`, dotted: `claim.submitted`.
        let named = entry
            .required("event_type")
            .map_err(|_| DecodeError::MissingField("type"))?;
        let event_type = EventType::parse(&named.replace('.', "_"))
            .ok_or_else(|| DecodeError::UnknownType(named.to_owned()))?;
        return upcast::read_v0(&entry, event_type);
    };
    let event_type =
        EventType::parse(named).ok_or_else(|| DecodeError::UnknownType(named.to_owned()))?;
    match entry.get("v") {
        None => upcast::read_v0(&entry, event_type),
        Some("1") => read(&entry, event_type, 1),
        Some("2") => read(&entry, event_type, 2),
        Some(other) => Err(DecodeError::UnsupportedVersion(other.to_owned())),
    }
}

/// v1 and v2 differ only in `claim_submitted`: v2 added `currency` and `policy_number`.
fn read<K: AsRef<str>, V: AsRef<str>>(
    entry: &Fields<'_, K, V>,
    event_type: EventType,
    v: u32,
) -> Result<ClaimEvent, DecodeError> {
    let payload = match event_type {
        EventType::ClaimSubmitted => EventPayload::ClaimSubmitted {
            amount: entry.parse("amount", |s| s.parse())?,
            description: entry.parse("description", crate::Description::parse)?,
            currency: if v >= 2 {
                entry.parse("currency", |s| s.parse())?
            } else {
                Currency::BEFORE_V2
            },
            policy_number: if v >= 2 {
                entry.optional("policy_number", crate::PolicyNumber::parse)?
            } else {
                None
            },
        },
        EventType::ClaimStatusUpdated => EventPayload::ClaimStatusUpdated {
            from: Some(entry.parse("from", |s| s.parse())?),
            to: entry.parse("to", |s| s.parse())?,
            reason: entry.optional("reason", crate::Reason::parse)?,
        },
        EventType::ClaimPaid => EventPayload::ClaimPaid {
            amount: entry.parse("amount", |s| s.parse())?,
            payment_reference: entry.parse("payment_reference", crate::PaymentReference::parse)?,
        },
        EventType::ClaimRejected => EventPayload::ClaimRejected {
            reason: entry.parse("reason", crate::Reason::parse)?,
        },
        EventType::ClaimNoteAdded => EventPayload::ClaimNoteAdded {
            adjuster: entry.parse("adjuster", crate::Adjuster::parse)?,
            note: entry.parse("note", crate::Note::parse)?,
            document: entry.optional("document", crate::DocumentName::parse)?,
        },
    };
    Ok(ClaimEvent {
        v,
        claim_id: entry.parse("claim_id", crate::ClaimId::parse)?,
        customer_id: Some(entry.parse("customer_id", crate::CustomerId::parse)?),
        timestamp: entry.parse("timestamp", |s| s.parse())?,
        payload,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        Adjuster, Amount, ClaimId, ClaimStatus, Currency, CustomerId, Description, DocumentName,
        Note, PaymentReference, PolicyNumber, Reason, Timestamp,
    };
    use proptest::prelude::*;

    fn submitted() -> ClaimEvent {
        ClaimEvent {
            v: 2,
            claim_id: ClaimId::parse("CLM-1").unwrap(),
            customer_id: Some(CustomerId::parse("CUST-001").unwrap()),
            timestamp: "2026-11-23T08:34:53.123Z".parse().unwrap(),
            payload: EventPayload::ClaimSubmitted {
                amount: Amount::from_cents(500_000),
                description: Description::parse("Water damage").unwrap(),
                currency: "EUR".parse().unwrap(),
                policy_number: None,
            },
        }
    }

    fn owned(fields: &[(&str, &str)]) -> Vec<(String, String)> {
        fields
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn submitted_encodes_as_the_flat_fields_redis_cli_shows() {
        let fields = encode(&submitted());
        let flat: Vec<&str> = fields.iter().flat_map(|(k, v)| [*k, v.as_str()]).collect();
        assert_eq!(
            flat,
            [
                "type",
                "claim_submitted",
                "v",
                "2",
                "claim_id",
                "CLM-1",
                "customer_id",
                "CUST-001",
                "timestamp",
                "2026-11-23T08:34:53.123Z",
                "amount",
                "5000.00",
                "description",
                "Water damage",
                "currency",
                "EUR"
            ]
        );
    }

    #[test]
    fn a_v1_submission_is_upcast_with_the_currency_before_v2() {
        let mut fields = owned(&[("v", "1")]);
        fields.extend(
            encode(&submitted())
                .into_iter()
                .filter(|(k, _)| !["v", "currency"].contains(k))
                .map(|(k, v)| (k.to_owned(), v)),
        );
        let e = decode(&fields).unwrap();
        assert_eq!(e.v, 1);
        assert!(matches!(
            e.payload,
            EventPayload::ClaimSubmitted { currency, policy_number: None, .. } if currency == Currency::BEFORE_V2
        ));
        // v2 requires the currency.
        let mut v2 = fields.clone();
        v2[0].1 = "2".into();
        assert_eq!(decode(&v2), Err(DecodeError::MissingField("currency")));
    }

    #[test]
    fn foreign_entries_decode_to_typed_errors() {
        assert_eq!(
            decode(&owned(&[("hello", "world")])),
            Err(DecodeError::MissingField("type"))
        );
        assert_eq!(
            decode(&owned(&[("type", "claim_exploded"), ("v", "1")])),
            Err(DecodeError::UnknownType("claim_exploded".into()))
        );
        let future = decode(&owned(&[("type", "claim_paid"), ("v", "3")]));
        assert_eq!(future, Err(DecodeError::UnsupportedVersion("3".into())));
        assert_eq!(
            future.unwrap_err().to_string(),
            "unsupported schema version \"3\" (this relay reads v0 to v2)"
        );
        let mut bad_amount = encode(&submitted())
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect::<Vec<_>>();
        bad_amount[5].1 = "12.345".into();
        assert!(matches!(
            decode(&bad_amount),
            Err(DecodeError::InvalidField {
                field: "amount",
                ..
            })
        ));
        let mut duplicated = owned(&[("type", "claim_paid")]);
        duplicated.push(("type".into(), "claim_paid".into()));
        assert_eq!(
            decode(&duplicated),
            Err(DecodeError::DuplicateField("type".into()))
        );
    }

    fn id() -> impl Strategy<Value = String> {
        "[A-Za-z0-9_-]{1,64}"
    }

    fn text(max: usize) -> impl Strategy<Value = String> {
        proptest::string::string_regex(&format!("[a-zA-Z0-9 äöüé€,.!?'\"]{{0,{max}}}[a-z]"))
            .unwrap()
    }

    fn status() -> impl Strategy<Value = ClaimStatus> {
        proptest::sample::select(ClaimStatus::ALL.to_vec())
    }

    fn payload() -> impl Strategy<Value = EventPayload> {
        prop_oneof![
            (
                0i64..=100_000_000,
                text(499),
                "[A-Z]{3}",
                proptest::option::of(id())
            )
                .prop_map(|(c, d, cur, p)| EventPayload::ClaimSubmitted {
                    amount: Amount::from_cents(c),
                    description: Description::parse(&d).unwrap(),
                    currency: cur.parse::<Currency>().unwrap(),
                    policy_number: p.map(|p| PolicyNumber::parse(&p).unwrap()),
                }),
            (status(), status(), proptest::option::of(text(299))).prop_map(|(from, to, r)| {
                EventPayload::ClaimStatusUpdated {
                    from: Some(from),
                    to,
                    reason: r.map(|r| Reason::parse(&r).unwrap()),
                }
            }),
            (0i64..=100_000_000, id()).prop_map(|(c, p)| EventPayload::ClaimPaid {
                amount: Amount::from_cents(c),
                payment_reference: PaymentReference::parse(&p).unwrap(),
            }),
            text(299).prop_map(|r| EventPayload::ClaimRejected {
                reason: Reason::parse(&r).unwrap()
            }),
            (
                text(99),
                text(999),
                proptest::option::of("[a-z0-9 ._-]{0,40}[a-z]")
            )
                .prop_map(|(a, n, d)| EventPayload::ClaimNoteAdded {
                    adjuster: Adjuster::parse(&a).unwrap(),
                    note: Note::parse(&n).unwrap(),
                    document: d.map(|d| DocumentName::parse(&d).unwrap()),
                }),
        ]
    }

    prop_compose! {
        fn event()(claim in id(), customer in id(), ms in 0i64..=253_402_300_799_999, payload in payload()) -> ClaimEvent {
            ClaimEvent {
                v: SCHEMA_VERSION,
                claim_id: ClaimId::parse(&claim).unwrap(),
                customer_id: Some(CustomerId::parse(&customer).unwrap()),
                timestamp: Timestamp::from_unix_millis(ms).unwrap(),
                payload,
            }
        }
    }

    proptest! {
        #[test]
        fn decode_reads_back_what_encode_wrote(event in event()) {
            let fields = encode(&event);
            prop_assert_eq!(decode(&fields), Ok(event.clone()));
            // And through JSON, as the WebSocket carries it.
            let json = serde_json::to_string(&event).unwrap();
            prop_assert_eq!(serde_json::from_str::<ClaimEvent>(&json).unwrap(), event);
        }

        /// Valid encodings with a field dropped, doubled, renamed or given another value
        /// reach the decoder's error paths, not just its first check. Whatever decodes must
        /// survive another round trip unchanged.
        #[test]
        fn mutated_encodings_decode_to_an_error_or_a_stable_event(
            event in event(),
            mutations in proptest::collection::vec((0u8..5, any::<prop::sample::Index>(), ".{0,12}"), 1..4)
        ) {
            let mut fields: Vec<(String, String)> = encode(&event)
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect();
            for (kind, at, text) in mutations {
                if fields.is_empty() {
                    break;
                }
                let i = at.index(fields.len());
                match kind {
                    0 => { fields.remove(i); }
                    1 => { let f = fields[i].clone(); fields.push(f); }
                    2 => fields[i].1 = text,
                    3 => { let cut = fields[i].1.len() / 2; let v = fields[i].1.chars().take(cut).collect(); fields[i].1 = v; }
                    _ => fields[i].0 = text,
                }
            }
            // Older versions are upcast and written back as today's; compare those in today's.
            if let Ok(decoded) = decode(&fields).map(|e| ClaimEvent { v: SCHEMA_VERSION, ..e }) {
                // What a v0 entry left to its claim is filled in by the fold, not here.
                let complete = decoded.customer_id.is_some()
                    && !matches!(decoded.payload, EventPayload::ClaimStatusUpdated { from: None, .. });
                if complete {
                    prop_assert_eq!(decode(&encode(&decoded)), Ok(decoded));
                }
            }
        }

        #[test]
        fn decode_never_panics_on_arbitrary_fields(
            fields in proptest::collection::vec(("[a-z_]{1,12}", ".{0,20}"), 0..10)
        ) {
            let _ = decode(&fields);
        }
    }
}
