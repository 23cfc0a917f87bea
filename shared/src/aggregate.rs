//! The claim aggregate. [`handle`] holds every business rule and decides which events a
//! command produces; [`apply`] holds none and only folds an event into the state, so a claim
//! is always `events.fold(Claim::default(), apply)`.

use serde::{Deserialize, Serialize};

use crate::event::{ClaimEvent, EventPayload, SCHEMA_VERSION};
use crate::{
    Action, Adjuster, Amount, ClaimId, ClaimStatus, Currency, CustomerId, Description,
    DocumentName, Note, PaymentReference, PolicyNumber, Reason, Timestamp,
};

/// A claim as its events left it. `version` counts the events folded so far; a claim with
/// version 0 does not exist yet. It serializes so a snapshot can hold it (`snapshot`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Claim {
    pub version: u64,
    pub details: Option<ClaimDetails>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClaimDetails {
    pub claim_id: ClaimId,
    pub customer_id: CustomerId,
    pub amount: Amount,
    pub currency: Currency,
    pub policy_number: Option<PolicyNumber>,
    pub description: Description,
    pub status: ClaimStatus,
    pub submitted_at: Timestamp,
    pub updated_at: Timestamp,
    pub payment_reference: Option<PaymentReference>,
    pub rejection_reason: Option<Reason>,
    /// Notes and documents added so far.
    pub notes: u64,
}

impl Claim {
    pub fn from_events<'a>(events: impl IntoIterator<Item = &'a ClaimEvent>) -> Self {
        events.into_iter().fold(Self::default(), |mut claim, e| {
            apply(&mut claim, e);
            claim
        })
    }

    pub fn status(&self) -> Option<ClaimStatus> {
        self.details.as_ref().map(|d| d.status)
    }
}

/// What a person (or a worker) asks of a claim. Commands carry the time and any generated
/// reference, so handling stays pure and repeatable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimCommand {
    SubmitClaim {
        claim_id: ClaimId,
        customer_id: CustomerId,
        amount: Amount,
        description: Description,
        currency: Currency,
        policy_number: Option<PolicyNumber>,
        at: Timestamp,
    },
    ReviewClaim {
        at: Timestamp,
    },
    ApproveClaim {
        at: Timestamp,
    },
    RejectClaim {
        reason: Reason,
        at: Timestamp,
    },
    PayClaim {
        payment_reference: PaymentReference,
        at: Timestamp,
    },
    AddNote {
        adjuster: Adjuster,
        note: Note,
        document: Option<DocumentName>,
        at: Timestamp,
    },
}

impl ClaimCommand {
    /// The transition this command asks for; `None` for submitting a claim or adding a note.
    pub fn action(&self) -> Option<Action> {
        match self {
            Self::SubmitClaim { .. } | Self::AddNote { .. } => None,
            Self::ReviewClaim { .. } => Some(Action::Review),
            Self::ApproveClaim { .. } => Some(Action::Approve),
            Self::RejectClaim { .. } => Some(Action::Reject),
            Self::PayClaim { .. } => Some(Action::Pay),
        }
    }
}

/// Why a command was refused. Each message says what is wrong and what would be allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    #[error("claim {0} already exists")]
    AlreadyExists(ClaimId),
    #[error("claim does not exist; submit it first")]
    NotFound,
    #[error("cannot {action} a claim that is {status}; {}", transition_hint(*.action, *.status))]
    InvalidTransition { action: Action, status: ClaimStatus },
    #[error("the claim amount {0}")]
    AmountOutOfRange(String),
    #[error("cannot add a note to a claim that is {0}; {0} is final")]
    Closed(ClaimStatus),
}

fn transition_hint(action: Action, status: ClaimStatus) -> String {
    use Action::*;
    use ClaimStatus::*;
    if status.is_final() {
        return format!("{status} is final");
    }
    let allowed = status
        .allowed_actions()
        .iter()
        .map(|a| a.past_participle())
        .collect::<Vec<_>>()
        .join(" or ");
    match (action, status) {
        (Approve, Submitted) => "review it first".into(),
        (Pay, Submitted) => "review and approve it first".into(),
        (Pay, UnderReview) => "approve it first".into(),
        _ => format!("it can only be {allowed} now"),
    }
}

/// Decides what happens when `command` meets `claim`: the events to append, or why not.
pub fn handle(claim: &Claim, command: &ClaimCommand) -> Result<Vec<ClaimEvent>, DomainError> {
    let Some(details) = &claim.details else {
        return match command {
            ClaimCommand::SubmitClaim {
                claim_id,
                customer_id,
                amount,
                description,
                currency,
                policy_number,
                at,
            } => {
                amount
                    .check_claim_range()
                    .map_err(DomainError::AmountOutOfRange)?;
                Ok(vec![ClaimEvent {
                    v: SCHEMA_VERSION,
                    claim_id: claim_id.clone(),
                    customer_id: Some(customer_id.clone()),
                    timestamp: *at,
                    payload: EventPayload::ClaimSubmitted {
                        amount: *amount,
                        description: description.clone(),
                        currency: *currency,
                        policy_number: policy_number.clone(),
                    },
                }])
            }
            _ => Err(DomainError::NotFound),
        };
    };
    match (command, command.action()) {
        (ClaimCommand::SubmitClaim { .. }, _) => {
            return Err(DomainError::AlreadyExists(details.claim_id.clone()));
        }
        (ClaimCommand::AddNote { .. }, _) if details.status.is_final() => {
            return Err(DomainError::Closed(details.status));
        }
        (_, Some(action)) if !details.status.allowed_actions().contains(&action) => {
            return Err(DomainError::InvalidTransition {
                action,
                status: details.status,
            });
        }
        _ => {}
    }
    let event = |timestamp: Timestamp, payload| ClaimEvent {
        v: SCHEMA_VERSION,
        claim_id: details.claim_id.clone(),
        customer_id: Some(details.customer_id.clone()),
        timestamp,
        payload,
    };
    let status_update = |to| EventPayload::ClaimStatusUpdated {
        from: Some(details.status),
        to,
        reason: None,
    };
    let produced = match command {
        ClaimCommand::SubmitClaim { .. } => unreachable!("refused above for an existing claim"),
        ClaimCommand::ReviewClaim { at } => event(*at, status_update(ClaimStatus::UnderReview)),
        ClaimCommand::ApproveClaim { at } => event(*at, status_update(ClaimStatus::Approved)),
        ClaimCommand::RejectClaim { reason, at } => event(
            *at,
            EventPayload::ClaimRejected {
                reason: reason.clone(),
            },
        ),
        ClaimCommand::PayClaim {
            payment_reference,
            at,
        } => event(
            *at,
            EventPayload::ClaimPaid {
                amount: details.amount,
                payment_reference: payment_reference.clone(),
            },
        ),
        ClaimCommand::AddNote {
            adjuster,
            note,
            document,
            at,
        } => event(
            *at,
            EventPayload::ClaimNoteAdded {
                adjuster: adjuster.clone(),
                note: note.clone(),
                document: document.clone(),
            },
        ),
    };
    Ok(vec![produced])
}

/// Whether the claim's own commands could have appended `event` to the claim as `before`
/// was. Another program's fact need not have followed the lifecycle (the lab's
/// `auto_approved` goes straight from submitted); [`apply`] folds it all the same, and a
/// claim's history marks it as outside the lifecycle.
pub fn within_lifecycle(before: &Claim, event: &ClaimEvent) -> bool {
    let Some(details) = &before.details else {
        return matches!(event.payload, EventPayload::ClaimSubmitted { .. });
    };
    let action = match &event.payload {
        EventPayload::ClaimSubmitted { .. } => return false,
        EventPayload::ClaimNoteAdded { .. } => return !details.status.is_final(),
        EventPayload::ClaimStatusUpdated { to, .. } => match to {
            ClaimStatus::Submitted => return false,
            ClaimStatus::UnderReview => Action::Review,
            ClaimStatus::Approved => Action::Approve,
            ClaimStatus::Rejected => Action::Reject,
            ClaimStatus::Paid => Action::Pay,
        },
        EventPayload::ClaimRejected { .. } => Action::Reject,
        EventPayload::ClaimPaid { .. } => Action::Pay,
    };
    details.status.allowed_actions().contains(&action)
}

/// Folds one event into the claim. No rules here: events are facts that already happened.
pub fn apply(claim: &mut Claim, event: &ClaimEvent) {
    claim.version += 1;
    match (&mut claim.details, &event.payload) {
        (
            _,
            EventPayload::ClaimSubmitted {
                amount,
                description,
                currency,
                policy_number,
            },
        ) => {
            claim.details = Some(ClaimDetails {
                claim_id: event.claim_id.clone(),
                // Decoding requires a submission to name its customer.
                customer_id: event
                    .customer_id
                    .clone()
                    .unwrap_or_else(CustomerId::unknown),
                amount: *amount,
                currency: *currency,
                policy_number: policy_number.clone(),
                description: description.clone(),
                status: ClaimStatus::Submitted,
                submitted_at: event.timestamp,
                updated_at: event.timestamp,
                payment_reference: None,
                rejection_reason: None,
                notes: 0,
            });
        }
        (Some(d), EventPayload::ClaimStatusUpdated { to, .. }) => {
            d.status = *to;
            d.updated_at = event.timestamp;
        }
        (
            Some(d),
            EventPayload::ClaimPaid {
                payment_reference, ..
            },
        ) => {
            d.status = ClaimStatus::Paid;
            d.payment_reference = Some(payment_reference.clone());
            d.updated_at = event.timestamp;
        }
        (Some(d), EventPayload::ClaimRejected { reason }) => {
            d.status = ClaimStatus::Rejected;
            d.rejection_reason = Some(reason.clone());
            d.updated_at = event.timestamp;
        }
        (Some(d), EventPayload::ClaimNoteAdded { .. }) => {
            d.notes += 1;
            d.updated_at = event.timestamp;
        }
        // A transition for a claim never submitted: the history is foreign; count it, keep none.
        (None, _) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: i64) -> Timestamp {
        Timestamp::from_unix_millis(1_795_000_000_000 + ms).unwrap()
    }

    fn submit(cents: i64) -> ClaimCommand {
        ClaimCommand::SubmitClaim {
            claim_id: ClaimId::parse("CLM-1").unwrap(),
            customer_id: CustomerId::parse("CUST-001").unwrap(),
            amount: Amount::from_cents(cents),
            description: Description::parse("Water damage").unwrap(),
            currency: "EUR".parse().unwrap(),
            policy_number: Some(PolicyNumber::parse("POL-1").unwrap()),
            at: at(0),
        }
    }

    fn review() -> ClaimCommand {
        ClaimCommand::ReviewClaim { at: at(1) }
    }
    fn approve() -> ClaimCommand {
        ClaimCommand::ApproveClaim { at: at(2) }
    }
    fn reject() -> ClaimCommand {
        ClaimCommand::RejectClaim {
            reason: Reason::parse("duplicate").unwrap(),
            at: at(3),
        }
    }
    fn pay() -> ClaimCommand {
        ClaimCommand::PayClaim {
            payment_reference: PaymentReference::parse("PAY-1").unwrap(),
            at: at(4),
        }
    }
    fn note(text: &str) -> ClaimCommand {
        ClaimCommand::AddNote {
            adjuster: Adjuster::parse("Ada").unwrap(),
            note: Note::parse(text).unwrap(),
            document: None,
            at: at(5),
        }
    }

    /// Every event a command produces is within the lifecycle; the lab's straight approval
    /// and a payment before approval are not, and neither is a note on a closed claim.
    #[test]
    fn what_commands_produce_is_within_the_lifecycle_and_foreign_leaps_are_not() {
        let mut claim = Claim::default();
        for command in [submit(100), note("n"), review(), approve(), pay()] {
            let [event] = handle(&claim, &command).unwrap().try_into().unwrap();
            assert!(within_lifecycle(&claim, &event), "{command:?}");
            apply(&mut claim, &event);
        }
        let paid = claim;
        let submitted = Claim::from_events(&handle(&Claim::default(), &submit(100)).unwrap());
        let d = submitted.details.as_ref().unwrap();
        let foreign = |payload| ClaimEvent {
            v: 0,
            claim_id: d.claim_id.clone(),
            customer_id: None,
            timestamp: at(9),
            payload,
        };
        let straight_approval = foreign(EventPayload::ClaimStatusUpdated {
            from: None,
            to: ClaimStatus::Approved,
            reason: None,
        });
        assert!(!within_lifecycle(&submitted, &straight_approval));
        let early_payment = foreign(EventPayload::ClaimPaid {
            amount: Amount::from_cents(100),
            payment_reference: PaymentReference::parse("bank_transfer").unwrap(),
        });
        assert!(!within_lifecycle(&submitted, &early_payment));
        let late_note = foreign(EventPayload::ClaimNoteAdded {
            adjuster: Adjuster::parse("Ada").unwrap(),
            note: Note::parse("after the fact").unwrap(),
            document: None,
        });
        assert!(!within_lifecycle(&paid, &late_note));
        assert!(within_lifecycle(&submitted, &late_note));
        // Folded all the same: an event is a fact.
        let mut leapt = submitted.clone();
        apply(&mut leapt, &straight_approval);
        assert_eq!(leapt.status(), Some(ClaimStatus::Approved));
    }

    /// Given the claim after these commands, when `command`, then the result.
    fn given(commands: &[ClaimCommand]) -> Claim {
        let mut claim = Claim::default();
        for c in commands {
            for e in handle(&claim, c).expect("given commands must succeed") {
                apply(&mut claim, &e);
            }
        }
        claim
    }

    #[test]
    fn submitting_a_new_claim_produces_claim_submitted() {
        let events = handle(&Claim::default(), &submit(500_000)).unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(
            events[0].payload,
            EventPayload::ClaimSubmitted {
                amount: Amount::from_cents(500_000),
                description: Description::parse("Water damage").unwrap(),
                currency: "EUR".parse().unwrap(),
                policy_number: Some(PolicyNumber::parse("POL-1").unwrap()),
            }
        );
        let claim = Claim::from_events(&events);
        assert_eq!(claim.version, 1);
        assert_eq!(claim.status(), Some(ClaimStatus::Submitted));
    }

    #[test]
    fn the_happy_path_ends_paid_with_the_claimed_amount() {
        let claim = given(&[submit(12_345), review(), approve(), pay()]);
        let d = claim.details.unwrap();
        assert_eq!(claim.version, 4);
        assert_eq!(d.status, ClaimStatus::Paid);
        assert_eq!(d.payment_reference.unwrap().as_str(), "PAY-1");
        assert_eq!(d.updated_at, at(4));
        assert_eq!(d.submitted_at, at(0));
    }

    #[test]
    fn review_and_approve_record_from_and_to() {
        let claim = given(&[submit(100)]);
        let events = handle(&claim, &review()).unwrap();
        assert_eq!(
            events[0].payload,
            EventPayload::ClaimStatusUpdated {
                from: Some(ClaimStatus::Submitted),
                to: ClaimStatus::UnderReview,
                reason: None
            }
        );
    }

    #[test]
    fn paying_records_the_claim_amount() {
        let claim = given(&[submit(777), review(), approve()]);
        let events = handle(&claim, &pay()).unwrap();
        assert!(matches!(
            &events[0].payload,
            EventPayload::ClaimPaid { amount, .. } if amount.cents() == 777
        ));
    }

    #[test]
    fn rejecting_is_allowed_from_submitted_and_under_review_only() {
        assert!(handle(&given(&[submit(1)]), &reject()).is_ok());
        assert!(handle(&given(&[submit(1), review()]), &reject()).is_ok());
        assert!(handle(&given(&[submit(1), review(), approve()]), &reject()).is_err());
        let rejected = given(&[submit(1), reject()]);
        assert_eq!(rejected.status(), Some(ClaimStatus::Rejected));
        assert_eq!(
            rejected.details.unwrap().rejection_reason.unwrap().as_str(),
            "duplicate"
        );
    }

    #[test]
    fn every_transition_outside_the_lifecycle_is_refused() {
        let histories: [&[ClaimCommand]; 5] = [
            &[submit(1)],
            &[submit(1), review()],
            &[submit(1), review(), approve()],
            &[submit(1), review(), approve(), pay()],
            &[submit(1), reject()],
        ];
        let mut refused = 0;
        for history in histories {
            let claim = given(history);
            let status = claim.status().unwrap();
            for command in [review(), approve(), reject(), pay()] {
                let action = command.action().unwrap();
                let result = handle(&claim, &command);
                if status.allowed_actions().contains(&action) {
                    assert!(result.is_ok(), "{action} from {status}");
                } else {
                    assert_eq!(
                        result,
                        Err(DomainError::InvalidTransition { action, status })
                    );
                    refused += 1;
                }
            }
        }
        // 4 actions x 5 statuses, less the 5 allowed pairs.
        assert_eq!(refused, 15);
    }

    #[test]
    fn refusals_say_what_would_be_allowed() {
        let msg = |history: &[ClaimCommand], c: ClaimCommand| {
            handle(&given(history), &c).unwrap_err().to_string()
        };
        assert_eq!(
            msg(&[submit(1), review()], pay()),
            "cannot pay a claim that is under_review; approve it first"
        );
        assert_eq!(
            msg(&[submit(1)], approve()),
            "cannot approve a claim that is submitted; review it first"
        );
        assert_eq!(
            msg(&[submit(1), review(), approve()], reject()),
            "cannot reject a claim that is approved; it can only be paid now"
        );
        assert_eq!(
            msg(&[submit(1), review()], review()),
            "cannot review a claim that is under_review; it can only be approved or rejected now"
        );
        assert_eq!(
            msg(&[submit(1), reject()], pay()),
            "cannot pay a claim that is rejected; rejected is final"
        );
    }

    #[test]
    fn a_claim_cannot_be_submitted_twice_or_changed_before_it_exists() {
        assert_eq!(
            handle(&given(&[submit(1)]), &submit(1)),
            Err(DomainError::AlreadyExists(ClaimId::parse("CLM-1").unwrap()))
        );
        assert_eq!(
            handle(&Claim::default(), &approve()),
            Err(DomainError::NotFound)
        );
    }

    #[test]
    fn notes_repeat_while_the_claim_is_open_and_count_as_versions() {
        let claim = given(&[
            submit(1),
            note("called the garage"),
            review(),
            note("photos in"),
        ]);
        assert_eq!(claim.version, 4);
        assert_eq!(claim.status(), Some(ClaimStatus::UnderReview));
        assert_eq!(claim.details.as_ref().unwrap().notes, 2);
        for closed in [
            given(&[submit(1), reject()]),
            given(&[submit(1), review(), approve(), pay()]),
        ] {
            let status = closed.status().unwrap();
            assert_eq!(
                handle(&closed, &note("late")),
                Err(DomainError::Closed(status))
            );
        }
        assert_eq!(
            handle(&Claim::default(), &note("x")),
            Err(DomainError::NotFound)
        );
        assert_eq!(
            handle(&given(&[submit(1), reject()]), &note("x"))
                .unwrap_err()
                .to_string(),
            "cannot add a note to a claim that is rejected; rejected is final"
        );
    }

    #[test]
    fn amounts_outside_the_claim_range_are_refused() {
        assert!(handle(&Claim::default(), &submit(0)).is_err());
        assert!(handle(&Claim::default(), &submit(-5)).is_err());
        assert!(handle(&Claim::default(), &submit(100_000_001)).is_err());
        assert!(handle(&Claim::default(), &submit(100_000_000)).is_ok());
    }
}
