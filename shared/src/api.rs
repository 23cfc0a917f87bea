//! The JSON the relay and the browser exchange over HTTP and the WebSocket. These are wire
//! types: plain strings and numbers, converted explicitly from the domain types.

use serde::{Deserialize, Serialize};

use crate::amount::AmountInput;
use crate::{
    Action, Adjuster, Amount, ClaimDetails, ClaimEvent, ClaimStatus, Currency, CustomerId,
    Description, DocumentName, FieldError, Note, PolicyNumber,
};
use crate::{Claim, stream_codec};

/// `POST /api/claims`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
#[serde(deny_unknown_fields)]
pub struct TransitionRequest {
    /// Refuse with 409 unless the claim is still at this version.
    #[serde(default)]
    pub expected_version: Option<u64>,
}

/// The body of `reject`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RejectRequest {
    pub reason: String,
    #[serde(default)]
    pub expected_version: Option<u64>,
}

/// A claim's current state, as every claim endpoint returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
pub struct ScriptRun {
    /// The SHA-1 its `EVALSHA` names.
    pub sha: String,
    /// The script's text.
    pub source: String,
    /// The commands it ran, in redis-cli form: not separate commands to paste.
    pub inside: Vec<String>,
}

/// `GET /api/claims/{id}` (`?at=` for the claim as it was then).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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

/// Where the `claims-projections` projection is in `claims:events`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectionPosition {
    /// The last entry applied to the read model; none before the first.
    pub position: Option<String>,
    /// Entries of the stream not applied yet (from XINFO GROUPS; none on Redis before 7).
    pub behind: Option<u64>,
}

/// `GET /api/projections`, and pushed on the WebSocket while a rebuild runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectionsResponse {
    /// The consumer group that keeps the read model: `claims-projections`.
    pub group: String,
    /// The last entry applied to the read model; none before the first. (The fields of
    /// [`ProjectionPosition`], written out: `serde(flatten)` costs the browser app kilobytes.)
    pub position: Option<String>,
    /// Entries of the stream not applied yet (from XINFO GROUPS; none on Redis before 7).
    pub behind: Option<u64>,
    /// The newest entry of `claims:events`.
    pub stream_last_id: Option<String>,
    /// Claims in the read model.
    pub claims: u64,
    pub rebuild: RebuildProgress,
    /// The customers with the most claims, most first (at most 20).
    pub customers: Vec<CustomerTotals>,
    /// What happened lately, newest first (at most 20).
    pub recent: Vec<ActivityItem>,
    #[serde(default)]
    pub redis: Vec<String>,
}

/// A rebuild of the read model from the first event.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RebuildProgress {
    /// "idle", "requested", "running", "done" or "failed".
    pub state: String,
    /// Entries replayed so far, of `total` (the stream's length when it started).
    pub replayed: u64,
    pub total: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One customer's claims, from the projection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerTotals {
    pub customer_id: String,
    pub claims: u64,
    /// Claimed and paid amounts, per currency.
    pub claimed: Vec<MoneyTotal>,
    pub paid: Vec<MoneyTotal>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MoneyTotal {
    pub currency: String,
    pub amount: String,
}

/// One event in the projection's recent activity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityItem {
    pub entry_id: String,
    pub claim_id: String,
    pub event_type: String,
    /// The claim's status after it.
    pub status: Option<ClaimStatus>,
    pub at: String,
}

/// `GET /api/state?at=`: every claim as it was at a point in time, rebuilt from the stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateResponse {
    /// The newest entry id the point in time covers.
    pub at: String,
    /// The last entry replayed; none when the stream had nothing yet.
    pub as_of: Option<String>,
    pub events_replayed: u64,
    pub counts: Vec<StatusCount>,
    /// Claims that existed then (matching `status`, if given).
    pub total: u64,
    pub offset: u64,
    pub limit: u64,
    /// Newest submission first, as the board shows them.
    pub claims: Vec<ClaimView>,
    /// The last events replayed, oldest first (at most 20).
    pub last_events: Vec<StreamEntry>,
    pub redis: Vec<String>,
}

/// `POST /api/streams/{key}/trim` (instructor): `maxlen` or `minid`, as `XTRIM` takes them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrimRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maxlen: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minid: Option<String>,
    /// `~`: Redis may keep a few more entries, trimming whole nodes only (cheaper).
    #[serde(default)]
    pub approximate: bool,
    /// Trim even though a group or a claim still needs what goes.
    #[serde(default)]
    pub force: bool,
    /// Only say what the trim would remove.
    #[serde(default)]
    pub dry_run: bool,
}

/// What a trim removes (or would), and what stands against it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrimResponse {
    pub stream: String,
    pub dry_run: bool,
    /// Entries the exact trim removes; an approximate one may remove fewer.
    pub would_remove: u64,
    pub first_removed: Option<String>,
    pub last_removed: Option<String>,
    /// The oldest entry that stays.
    pub first_kept: Option<String>,
    /// Why the trim is unsafe: groups that have not read or acknowledged what goes, claims
    /// whose events go without a snapshot covering them.
    pub blockers: Vec<String>,
    /// Entries removed; none on a dry run.
    pub removed: Option<u64>,
    pub length_after: u64,
    pub redis: Vec<String>,
}

/// `GET /api/memory`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemoryResponse {
    /// From `INFO memory`.
    pub used_bytes: u64,
    pub peak_bytes: u64,
    /// 0: no limit.
    pub maxmemory_bytes: u64,
    pub maxmemory_policy: String,
    /// `MEMORY USAGE` of each stream and of the read model's keys.
    pub keys: Vec<KeyMemory>,
    /// The claims' indexes (one list per claim), estimated from a sample.
    pub indexes: IndexMemory,
    /// Stream lengths, sampled by this relay every few seconds, oldest first.
    pub lengths: Vec<LengthSample>,
    pub redis: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyMemory {
    pub key: String,
    /// None when the key does not exist.
    pub bytes: Option<u64>,
    /// Entries, fields or members, by the key's type.
    pub length: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexMemory {
    pub lists: u64,
    pub sampled: u64,
    pub estimated_bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LengthSample {
    /// Unix milliseconds.
    pub at_ms: i64,
    pub lengths: Vec<StreamLength>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusCount {
    pub status: ClaimStatus,
    pub count: u64,
}

/// `GET /api/claims/{id}/events?after=&limit=`: a page of the claim's events (200 at most).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimEventsResponse {
    pub claim_id: String,
    /// The events after the version asked for (`?after=`, 0 unless given), oldest first.
    pub events: Vec<StreamEntry>,
    /// The claim after each of `events`, in the same order: state is the fold of events.
    #[serde(default)]
    pub states: Vec<Option<ClaimView>>,
    /// Events in the claim's history, its version now.
    #[serde(default)]
    pub version: u64,
    /// Where the next page starts (`?after=` it); none on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_after: Option<u64>,
    pub redis: Vec<String>,
}

/// One stream entry as stored, with its decoding: `event` when it is a claim event this
/// version reads, `error` saying why not otherwise. Raw fields are always there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamEntry {
    pub id: String,
    pub fields: Vec<(String, String)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<ClaimEvent>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The partition whose stream holds it, when the claims are partitioned: ids order
    /// entries within a partition only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition: Option<u32>,
}

impl StreamEntry {
    pub fn decode(id: String, fields: Vec<(String, String)>) -> Self {
        let (event, error) = match stream_codec::decode(&fields) {
            Ok(e) => (Some(e), None),
            Err(e) => (None, Some(e.to_string())),
        };
        Self {
            id,
            fields,
            event,
            error,
            partition: None,
        }
    }
}

/// `GET /api/streams/{key}/entries`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntriesPage {
    pub stream: String,
    pub entries: Vec<StreamEntry>,
    /// Pass as `start` (or `end` when reading in reverse) for the next page; `None` at the end.
    pub next: Option<String>,
    pub redis: Vec<String>,
}

/// `GET /api/health`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HealthResponse {
    /// "ok", "unavailable", or "restarting" while the relay brings its own Redis back.
    pub status: String,
    pub redis: RedisHealth,
    /// The relay's own redis-server, when it runs one (no `REDIS_URL`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embedded: Option<EmbeddedHealth>,
    /// Length of each `claims:*` stream the relay knows about.
    pub streams: Vec<StreamLength>,
    /// The commands the check ran, in redis-cli form (`redis` holds the verdict here).
    pub commands: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RedisHealth {
    pub reachable: bool,
    pub version: Option<String>,
    pub latency_ms: Option<f64>,
    pub error: Option<String>,
}

/// The supervisor of the relay's own redis-server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmbeddedHealth {
    /// "running", "restarting" or "gave_up".
    pub state: String,
    pub port: u16,
    /// Times it was restarted after exiting on its own.
    pub restarts: u32,
    /// Why it last exited, or why the relay gave up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_exit: Option<String>,
}

/// Who the caller is to the relay: learners read and submit; instructors also run the
/// controls that change things for the whole class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Learner,
    Instructor,
}

/// `GET /api/session`: the caller's role, so the app shows instructor controls only to them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionResponse {
    pub role: Role,
    /// How instructors are recognised: "token" (an `Authorization: Bearer` header, or the
    /// session cookie `POST /api/session` gives for it) or "loopback" (every local caller, on a
    /// relay that listens on loopback only).
    pub instructor_by: String,
}

/// `POST /api/session`: the instructor token, exchanged for an HttpOnly session cookie so the
/// browser app never keeps the token where page script could read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRequest {
    pub token: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamLength {
    pub key: String,
    pub length: u64,
}

/// Every error body: `{"error": {"code", "message", "fields"?}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// Stable, machine-readable: `validation_failed`, `invalid_transition`, `not_found`, ...
    pub code: String,
    /// For people: what is wrong and, where possible, what would be allowed.
    pub message: String,
    /// Per-field problems, so a form can show each beside its input.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldError>,
    /// For the lab's common issues (Redis out of reach, out of memory): what to do about it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

/// `GET /api/groups`: every consumer group on `claims:events`, as Redis reports it (XINFO,
/// XPENDING), with what only the relay knows (breaker, pause, injected failures).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupsResponse {
    pub stream: String,
    pub length: u64,
    pub last_id: Option<String>,
    /// Entries in `claims:failed`.
    pub dead_letters: u64,
    pub groups: Vec<GroupView>,
    /// With partitioned claims, each partition's length and dead letters, by partition
    /// number (the figures above add them up); empty otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub partition_lengths: Vec<u64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    // Not shown in the browser app, which pays in code for every field it reads.
    #[cfg_attr(target_arch = "wasm32", serde(skip_deserializing))]
    pub partition_dead_letters: Vec<u64>,
    pub redis: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupView {
    pub name: String,
    /// From XINFO GROUPS.
    pub consumers: u64,
    pub pending: u64,
    pub last_delivered_id: String,
    pub entries_read: Option<u64>,
    pub lag: Option<u64>,
    /// Whether this relay runs consumers of the group (and so knows the fields below).
    pub in_relay: bool,
    /// "closed", "open" or "half_open".
    pub breaker: String,
    pub paused: bool,
    pub poison_claim: Option<String>,
    pub fail_ratio: f64,
    /// Entries finished (acknowledged or dead-lettered) per second, lately.
    pub throughput: f64,
    /// Entries acknowledged without effect because they could never have one (logged).
    #[serde(default)]
    pub refused: u64,
    /// The commands of one recent step of one of this relay's consumers (sampled about once
    /// a second, so the page is not flooded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sampled: Option<SampledStep>,
    /// The group's lag, sampled by this relay once a second, oldest first (two minutes).
    #[serde(default)]
    pub lag_trend: Vec<LagPoint>,
    /// At the rate the lag fell over the last ten seconds, how long until it is 0; none while
    /// it is not falling (0 when there is no lag).
    #[serde(default)]
    pub catch_up_seconds: Option<f64>,
    /// How long this relay's consumers took per entry, lately (none before any entry).
    #[serde(default)]
    pub processing_ms: Option<Percentiles>,
    /// Share of this relay's handler runs that failed in the last minute, 0.0 to 1.0.
    #[serde(default)]
    pub error_rate: f64,
    /// From XINFO CONSUMERS.
    pub members: Vec<ConsumerView>,
    /// The oldest pending entries, from the extended XPENDING form.
    pub pending_entries: Vec<PendingView>,
    /// With partitioned claims, the group's lag and pending entries in each partition, by
    /// partition number; empty otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub partition_lags: Vec<Option<u64>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    // Not shown in the browser app (see `partition_dead_letters`).
    #[cfg_attr(target_arch = "wasm32", serde(skip_deserializing))]
    pub partition_pending: Vec<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LagPoint {
    /// Unix milliseconds.
    pub at_ms: i64,
    pub lag: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Percentiles {
    pub p50: f64,
    pub p99: f64,
    /// Runs measured.
    pub samples: u64,
}

/// `GET /api/analytics`: what the dashboard draws, from `claims:analytics`' counters and
/// XINFO, sampled by this relay once a second.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnalyticsResponse {
    /// Events per second by type, over the last ten seconds.
    pub events_per_second: Vec<TypeRate>,
    /// The same, second by second, oldest first (two minutes).
    pub rate_series: Vec<RatePoint>,
    /// `claims:events`' length, second by second.
    pub stream_length: Vec<LengthPoint>,
    /// Claims and their amounts by status, as `claims-analytics` counted them.
    pub by_status: Vec<StatusAmount>,
    /// Every group's lag trend, catch-up time, processing time and error rate.
    pub groups: Vec<GroupView>,
    /// A group's error rate above this raises the alert.
    pub error_rate_threshold: f64,
    /// Groups over the threshold now.
    pub alerts: Vec<String>,
    pub dead_letters: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TypeRate {
    pub event_type: String,
    pub per_second: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RatePoint {
    pub at_ms: i64,
    pub rates: Vec<TypeRate>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LengthPoint {
    pub at_ms: i64,
    pub length: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusAmount {
    pub status: ClaimStatus,
    /// Claims that reached the status.
    pub claims: u64,
    pub amount: String,
}

/// What a consumer sent to Redis in one step, in redis-cli form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SampledStep {
    pub consumer: String,
    pub ago_ms: u64,
    pub commands: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsumerView {
    pub name: String,
    pub pending: u64,
    pub idle_ms: u64,
    /// Since its last successful read; absent on Redis before 7.2.
    pub inactive_ms: Option<i64>,
    /// Whether it runs in this relay now (a crashed consumer stays in Redis).
    pub running: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingView {
    pub id: String,
    pub consumer: String,
    pub idle_ms: u64,
    pub deliveries: u64,
}

/// `POST /api/dead-letters/replay`: the letters named, or every letter of a group.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BulkReplayRequest {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ids: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Only count the letters that would be replayed (for the confirmation).
    #[serde(default)]
    pub dry_run: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BulkReplayResponse {
    /// Letters the request selected.
    pub matched: u64,
    pub dry_run: bool,
    /// Letters replayed and removed.
    pub replayed: Vec<String>,
    /// Letters whose entry failed again (they stay), with why.
    pub failed: Vec<LetterFailure>,
    pub redis: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LetterFailure {
    pub id: String,
    pub error: String,
}

/// `POST /api/groups/{group}/inject`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InjectRequest {
    /// Fail every entry of this claim; null to stop.
    #[serde(default)]
    pub poison_claim: Option<String>,
    /// Fail this share of entries, 0.0 to 1.0.
    #[serde(default)]
    pub fail_ratio: f64,
}

/// `POST /api/groups/{group}/pause`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PauseRequest {
    pub paused: bool,
}

/// The answer to a group action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupActionResponse {
    pub group: String,
    /// What happened, in words.
    pub done: String,
    pub redis: Vec<String>,
}

/// What the relay pushes on `GET /api/ws`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ServerMessage {
    /// A stream entry, in stream order: catch-up first, then live.
    Entry { entry: StreamEntry },
    /// Catch-up is done; what follows is live.
    CaughtUp { last_id: String },
    /// This client fell behind the live feed; the relay resumes it from `resume_from` by
    /// reading the stream, so nothing is skipped.
    Lagged { resume_from: String },
    /// Redis is unreachable; entries resume when it is back.
    Unavailable { message: String },
    /// The consumer groups' state, about once a second.
    Groups { groups: GroupsResponse },
    /// The read model's projection, about once a second while it changes.
    Projection { projection: ProjectionsResponse },
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

    #[test]
    fn server_messages_are_tagged_by_kind() {
        let m = ServerMessage::CaughtUp {
            last_id: "1-0".into(),
        };
        assert_eq!(
            serde_json::to_string(&m).unwrap(),
            r#"{"kind":"caught_up","last_id":"1-0"}"#
        );
    }
}

/// `POST /api/workspaces`: a learner's own place for console keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkspaceResponse {
    /// Unguessable; sent back as the `X-Workspace` header.
    pub id: String,
    /// The workspace and its keys go this long after their last use.
    pub expires_after_secs: u64,
}

/// `POST /api/console` (header `X-Workspace`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsoleRequest {
    pub line: String,
}

/// One console line's answer: what `redis-cli` would print, the error if it failed, what to
/// do about it, and the commands the relay sent (with the workspace's real key names).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsoleResponse {
    pub reply: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    pub redis: Vec<String>,
}

/// How one environment check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckStatus {
    Pass,
    /// Works, with a risk worth knowing (e.g. no persistence).
    Warn,
    Fail,
}

/// One line of the environment validation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvironmentCheck {
    /// Stable, for scripts: `redis_reachable`, `redis_version_xautoclaim`, ...
    pub id: String,
    pub title: String,
    pub status: CheckStatus,
    /// What was found.
    pub detail: String,
    /// What to do, when it is not a pass.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

/// `GET /api/validate`: the environment checklist; `ok` unless a check failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidationResponse {
    pub ok: bool,
    pub checks: Vec<EnvironmentCheck>,
}

/// `GET /api/lab` (header `X-Workspace`): the lab's five steps, each task checked against the
/// real state of the learner's workspace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabResponse {
    pub steps: Vec<LabStep>,
    pub done: usize,
    pub total: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabStep {
    /// `setup`, `streams`, `implementation`, `advanced`, `validation`.
    pub id: String,
    pub title: String,
    pub explanation: String,
    pub tasks: Vec<LabTask>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabTask {
    /// Stable, e.g. `append_three`.
    pub id: String,
    pub title: String,
    /// A command that does it, to type in the console.
    pub example: String,
    /// Holds now, in Redis.
    pub done: bool,
    /// What in Redis shows it (or what is missing).
    pub evidence: String,
}

/// `POST /api/traffic` (instructor): start the traffic generator at `rate` events/s, change
/// its rate, or stop it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrafficRequest {
    pub running: bool,
    /// Events per second, 1 to 200 (default 5).
    #[serde(default)]
    pub rate: Option<u32>,
}

/// `GET /api/traffic`: what the generator is doing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrafficStatus {
    pub running: bool,
    pub rate: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    /// Events appended since it started.
    pub events: u64,
    /// Claims submitted since it started.
    pub claims: u64,
    /// Steps a worker took first (the claim was read again).
    pub conflicts: u64,
}

/// `GET /api/lab/report`: the lab's six success criteria, each with the evidence that
/// satisfied it (or what is missing), for the learner to download.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompletionReport {
    pub generated_at: String,
    pub met: usize,
    pub total: usize,
    pub criteria: Vec<Criterion>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Criterion {
    /// Stable, e.g. `full_lifecycle`.
    pub id: String,
    pub title: String,
    pub met: bool,
    /// One line per lab task behind it: what Redis shows, or what is missing.
    pub evidence: Vec<String>,
}

/// `GET /api/class`: how many learners are at which step of the lab (counts only: no names).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassView {
    /// Workspaces used within the window.
    pub learners: usize,
    pub window_minutes: u64,
    /// Per step, in the lab's order: learners whose first unfinished task is in it.
    pub at_step: Vec<StepCount>,
    /// Learners with every task done.
    pub finished: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepCount {
    pub step: String,
    pub title: String,
    pub learners: usize,
}

/// `GET /api/console/help` (header `X-Workspace`): what the console runs and the keys the
/// workspace has, for completion and the one-line help.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsoleHelp {
    pub commands: Vec<CommandHelp>,
    /// The workspace's keys, then the class's streams as `demo:<name>`.
    pub keys: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandHelp {
    pub name: String,
    pub usage: String,
    pub summary: String,
}

/// `GET /api/scenarios`: the guided failure scenarios, and the one running or last run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScenariosResponse {
    pub scenarios: Vec<ScenarioInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<ScenarioRun>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScenarioInfo {
    /// `crash-consumer`, `poison-message`, `stop-group`, `redis-unavailable`.
    pub id: String,
    pub title: String,
    /// What it shows, in a sentence.
    pub summary: String,
}

/// A scenario's narration: what was done and what to watch, line by line as it goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScenarioRun {
    pub id: String,
    pub started_at: String,
    pub finished: bool,
    /// Why it stopped early, if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed: Option<String>,
    pub lines: Vec<NarrationLine>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NarrationLine {
    /// Milliseconds since the scenario started.
    pub at_ms: u64,
    pub text: String,
}

/// `GET /api/join`: the address learners open, and its QR code as SVG, for the projector.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinResponse {
    pub url: String,
    /// A standalone `<svg>`, drawn by the relay (no service on the internet involved).
    pub qr_svg: String,
}
