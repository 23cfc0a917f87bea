//! Claims: the requests that submit, note and move a claim (validated by the same rules in the
//! browser and the relay), the claim as every claim endpoint shows it, and a claim's events.

use serde::{Deserialize, Serialize};

use crate::amount::AmountInput;
use crate::{
    Action, Adjuster, Amount, Claim, ClaimDetails, ClaimStatus, Currency, CustomerId, Description,
    DocumentName, FieldError, Note, PolicyNumber,
};

use super::projections::ProjectionPosition;
use super::streams::StreamEntry;

/// `POST /api/claims`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SubmitClaimRequest {
    pub customer_id: String,
    pub amount: AmountInput,
    pub description: String,
    /// ISO 4217 code; USD when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_number: Option<String>,
}

/// A submit request that passed every field rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidSubmission {
    pub customer_id: CustomerId,
    pub amount: Amount,
    pub description: Description,
    pub currency: Currency,
    pub policy_number: Option<PolicyNumber>,
}

impl SubmitClaimRequest {
    /// The browser runs this before sending and the relay again on receipt: one set of rules.
    pub fn validate(&self) -> Result<ValidSubmission, Vec<FieldError>> {
        let customer_id =
            CustomerId::parse(&self.customer_id).map_err(|m| FieldError::new("customer_id", m));
        let amount = self
            .amount
            .parse()
            .and_then(Amount::check_claim_range)
            .map_err(|m| FieldError::new("amount", m));
        let description =
            Description::parse(&self.description).map_err(|m| FieldError::new("description", m));
        let currency = self
            .currency
            .as_deref()
            .map_or(Ok(Currency::BEFORE_V2), str::parse)
            .map_err(|m| FieldError::new("currency", m));
        let policy_number = self
            .policy_number
            .as_deref()
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(PolicyNumber::parse)
            .transpose()
            .map_err(|m| FieldError::new("policy_number", m));
        match (customer_id, amount, description, currency, policy_number) {
            (Ok(customer_id), Ok(amount), Ok(description), Ok(currency), Ok(policy_number)) => {
                Ok(ValidSubmission {
                    customer_id,
                    amount,
                    description,
                    currency,
                    policy_number,
                })
            }
            (c, a, d, cur, p) => Err([c.err(), a.err(), d.err(), cur.err(), p.err()]
                .into_iter()
                .flatten()
                .collect()),
        }
    }
}

/// `POST /api/claims/{id}/notes`: an adjuster's note, or a document's name with a line
/// about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AddNoteRequest {
    pub adjuster: String,
    pub note: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_version: Option<u64>,
}

/// A note request that passed every field rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidNote {
    pub adjuster: Adjuster,
    pub note: Note,
    pub document: Option<DocumentName>,
}

impl AddNoteRequest {
    pub fn validate(&self) -> Result<ValidNote, Vec<FieldError>> {
        let adjuster = Adjuster::parse(&self.adjuster).map_err(|m| FieldError::new("adjuster", m));
        let note = Note::parse(&self.note).map_err(|m| FieldError::new("note", m));
        let document = self
            .document
            .as_deref()
            .filter(|d| !d.trim().is_empty())
            .map(DocumentName::parse)
            .transpose()
            .map_err(|m| FieldError::new("document", m));
        match (adjuster, note, document) {
            (Ok(adjuster), Ok(note), Ok(document)) => Ok(ValidNote {
                adjuster,
                note,
                document,
            }),
            (a, n, d) => Err([a.err(), n.err(), d.err()].into_iter().flatten().collect()),
        }
    }
}

/// The body of `review`, `approve` and `pay`; may be empty.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TransitionRequest {
    /// Refuse with 409 unless the claim is still at this version.
    #[serde(default)]
    pub expected_version: Option<u64>,
}

/// The body of `reject`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RejectRequest {
    pub reason: String,
    #[serde(default)]
    pub expected_version: Option<u64>,
}

/// A claim's current state, as every claim endpoint returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClaimView {
    pub claim_id: String,
    pub customer_id: String,
    pub amount: String,
    pub currency: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_number: Option<String>,
    pub description: String,
    pub status: ClaimStatus,
    pub version: u64,
    pub submitted_at: String,
    pub updated_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_reference: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejection_reason: Option<String>,
    /// Notes and documents added.
    #[serde(default)]
    pub notes: u64,
    /// The transitions the aggregate accepts now.
    pub allowed_actions: Vec<Action>,
}

impl ClaimView {
    /// `None` for a claim that does not exist.
    pub fn of(claim: &Claim) -> Option<Self> {
        let d: &ClaimDetails = claim.details.as_ref()?;
        Some(Self {
            claim_id: d.claim_id.to_string(),
            customer_id: d.customer_id.to_string(),
            amount: d.amount.to_string(),
            currency: d.currency.to_string(),
            policy_number: d.policy_number.as_ref().map(ToString::to_string),
            description: d.description.to_string(),
            status: d.status,
            version: claim.version,
            submitted_at: d.submitted_at.to_string(),
            updated_at: d.updated_at.to_string(),
            payment_reference: d.payment_reference.as_ref().map(ToString::to_string),
            rejection_reason: d.rejection_reason.as_ref().map(ToString::to_string),
            notes: d.notes,
            allowed_actions: d.status.allowed_actions().to_vec(),
        })
    }
}

/// The answer to a command: the claim after it, the entry appended, and what Redis ran.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CommandResponse {
    pub claim_id: String,
    /// The id `XADD` gave the new entry in `claims:events`.
    pub entry_id: String,
    /// The claim's partition, when the claims are partitioned: the entry is in
    /// `claims:events:{partition}`, and `GET /api/claims?after=` takes `<partition>:<entry id>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    // The browser app has no use for it, and every field it reads costs it code.
    #[cfg_attr(target_arch = "wasm32", serde(skip_deserializing))]
    pub partition: Option<u32>,
    pub claim: ClaimView,
    /// The commands sent to Redis, in redis-cli form; a script shows as its `EVALSHA`.
    pub redis: Vec<String>,
    /// What each script among them did inside, as one atomic step.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scripts: Vec<ScriptRun>,
}

/// One Lua script run: nothing else ran in Redis between its first and last command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScriptRun {
    /// The SHA-1 its `EVALSHA` names; `GET /api/scripts/{sha}` gives its text.
    pub sha: String,
    /// The commands it ran, in redis-cli form, as the script itself listed them: not
    /// separate commands to paste.
    pub inside: Vec<String>,
}

/// `GET /api/scripts/{sha}`: a script the relay runs, by the SHA-1 its `EVALSHA` names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScriptSource {
    pub sha: String,
    /// What it is for, in a few words.
    pub name: String,
    /// Its Lua text, as Redis runs it.
    pub source: String,
}

/// `GET /api/claims/{id}` (`?at=` for the claim as it was then).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClaimResponse {
    pub claim: ClaimView,
    /// The claim's partition, when the claims are partitioned. (The browser app reads it
    /// from the claim's events instead, which say it too: each field it reads costs code.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(target_arch = "wasm32", serde(skip_deserializing))]
    pub partition: Option<u32>,
    /// How it was loaded: the version of the snapshot it started from (none: folded from its
    /// first event), and how many events were folded after it.
    pub snapshot_version: Option<u64>,
    pub events_replayed: u64,
    /// With `?at=`: the id of the last event folded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub as_of: Option<String>,
    pub redis: Vec<String>,
}

/// `GET /api/claims`: read from the projection, not from the events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClaimListResponse {
    pub claims: Vec<ClaimView>,
    /// How many claims match the filter in all.
    pub total: u64,
    pub offset: u64,
    pub limit: u64,
    /// How far the projection the list was read from has come.
    #[serde(default)]
    pub projection: ProjectionPosition,
    pub redis: Vec<String>,
}

/// `GET /api/claims/{id}/events?after=&limit=`: a page of the claim's events (200 at most).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClaimEventsResponse {
    pub claim_id: String,
    /// The events after the version asked for (`?after=`, 0 unless given), oldest first.
    pub events: Vec<StreamEntry>,
    /// The claim after each of `events`, in the same order: state is the fold of events.
    #[serde(default)]
    pub states: Vec<Option<ClaimView>>,
    /// The ids among `events` that did not follow the lifecycle (another program's facts,
    /// e.g. approved straight from submitted): folded all the same, marked in the history.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outside_lifecycle: Vec<String>,
    /// Events in the claim's history, its version now.
    #[serde(default)]
    pub version: u64,
    /// Where the next page starts (`?after=` it); none on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_after: Option<u64>,
    pub redis: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn currency_defaults_and_a_bad_policy_number_is_named() {
        let v = request("C", "1", "d").validate().unwrap();
        assert_eq!(v.currency, Currency::BEFORE_V2);
        assert_eq!(v.policy_number, None);
        let r: SubmitClaimRequest = serde_json::from_str(
            r#"{"customer_id":"C","amount":"1","description":"d","currency":"eur","policy_number":"POL 1"}"#,
        )
        .unwrap();
        let fields: Vec<String> = r
            .validate()
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, ["currency", "policy_number"]);
    }

    fn request(customer: &str, amount: &str, description: &str) -> SubmitClaimRequest {
        serde_json::from_str(&format!(
            r#"{{"customer_id":{customer:?},"amount":{amount},"description":{description:?}}}"#
        ))
        .unwrap()
    }

    #[test]
    fn a_valid_request_passes_with_cents() {
        let v = request("CUST-001", "\"5000.50\"", "Hail")
            .validate()
            .unwrap();
        assert_eq!(v.amount.cents(), 500_050);
        let v = request("CUST-001", "12.5", "Hail").validate().unwrap();
        assert_eq!(v.amount.cents(), 1_250);
    }

    #[test]
    fn every_bad_field_is_reported_by_name() {
        let errors = request("bad id", "-1", "  ").validate().unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["customer_id", "amount", "description"]);
        let errors = request("C1", "1.001", "x").validate().unwrap_err();
        assert_eq!(
            errors[0].to_string(),
            "amount: must have at most 2 decimals"
        );
    }

    #[test]
    fn unknown_fields_are_refused() {
        let r: Result<SubmitClaimRequest, _> = serde_json::from_str(
            r#"{"customer_id":"C","amount":"1","description":"d","status":"paid"}"#,
        );
        assert!(
            r.unwrap_err()
                .to_string()
                .contains("unknown field `status`")
        );
    }
}

/// `GET /api/claims/{id}/trace`: the claim's story across streams. Each of its events, the
/// request or entry that caused it, and what it caused in turn: notifications, dead letters,
/// analytics summaries. A tree: each node has one cause at most.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClaimTrace {
    pub claim_id: String,
    /// Where the story began: the request that submitted the claim, or its first entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    pub nodes: Vec<TraceNode>,
    /// Caused-by edges, between indexes into `nodes`.
    pub edges: Vec<TraceEdge>,
    /// Each stream searched for entries the claim's caused, and how far: the search is
    /// bounded, so a claim with a long story may have more than it found.
    pub searched: Vec<TraceSearch>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TraceNode {
    pub kind: TraceKind,
    /// An entry's id in its stream, or a request's id.
    pub id: String,
    /// The stream holding the entry; none for a request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<String>,
    /// What it is, in a few words: the event's type, the notification's message, the letter's
    /// group and error.
    pub label: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TraceKind {
    /// An API request, a traffic generator's step or a scenario's: not an entry.
    Request,
    Event,
    Notification,
    DeadLetter,
    Analytics,
}

/// `effect` was caused by `cause` (indexes into [`ClaimTrace::nodes`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TraceEdge {
    pub cause: usize,
    pub effect: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TraceSearch {
    pub stream: String,
    /// Entries looked at, from the claim's first event on.
    pub examined: u64,
    /// Whether the search reached the stream's end.
    pub complete: bool,
}
