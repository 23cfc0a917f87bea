//! Dead letters replayed in bulk: the selection and what came of it.

use serde::{Deserialize, Serialize};

/// `POST /api/dead-letters/replay`: the letters named, or every letter of a group.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LetterFailure {
    pub id: String,
    pub error: String,
}
