//! The board at a point in time: every claim as it was then, rebuilt from the stream.

use serde::{Deserialize, Serialize};

use crate::ClaimStatus;

use super::claims::ClaimView;
use super::streams::StreamEntry;

/// `GET /api/state?at=`: every claim as it was at a point in time, rebuilt from the stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StatusCount {
    pub status: ClaimStatus,
    pub count: u64,
}
