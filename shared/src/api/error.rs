//! The one error body every endpoint answers with.

use serde::{Deserialize, Serialize};

use crate::FieldError;

/// Every error body: `{"error": {"code", "message", "fields"?}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
