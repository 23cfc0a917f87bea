//! The read model's projection: where it is in the stream, its rebuild, and what it holds.

use serde::{Deserialize, Serialize};

use crate::ClaimStatus;

/// Where the `claims-projections` projection is in `claims:events`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProjectionPosition {
    /// The last entry applied to the read model; none before the first.
    pub position: Option<String>,
    /// Entries of the stream not applied yet (from XINFO GROUPS; none on Redis before 7).
    pub behind: Option<u64>,
}

/// `GET /api/projections`, and pushed on the WebSocket while a rebuild runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CustomerTotals {
    pub customer_id: String,
    pub claims: u64,
    /// Claimed and paid amounts, per currency.
    pub claimed: Vec<MoneyTotal>,
    pub paid: Vec<MoneyTotal>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MoneyTotal {
    pub currency: String,
    pub amount: String,
}

/// One event in the projection's recent activity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ActivityItem {
    pub entry_id: String,
    pub claim_id: String,
    pub event_type: String,
    /// The claim's status after it.
    pub status: Option<ClaimStatus>,
    pub at: String,
}

/// `GET /api/projections/debug?from=&steps=`: the projection stepped one event at a time
/// through a scratch copy of the read model (never the live one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProjectionDebugResponse {
    /// The partition stepped through, when the claims are partitioned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    // The browser app has no use for it, and every field it reads costs it code.
    #[cfg_attr(target_arch = "wasm32", serde(skip_deserializing))]
    pub partition: Option<u32>,
    /// Entries before `from` folded into the scratch model before the first step.
    pub folded_before: u64,
    pub steps: Vec<ProjectionStep>,
    /// `from` for the steps after these; none at the stream's end.
    pub next: Option<String>,
}

/// One event applied to the scratch model, and what it changed there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProjectionStep {
    pub entry: crate::api::StreamEntry,
    pub changes: Vec<ModelChange>,
}

/// One read-model field the event changed, named as in the live model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ModelChange {
    pub key: String,
    /// A hash field, a sorted set's member (its value the score), `newest` or `oldest` for
    /// the activity list's ends, `position` in the projection hash.
    pub field: String,
    /// None: absent.
    pub before: Option<String>,
    pub after: Option<String>,
}
