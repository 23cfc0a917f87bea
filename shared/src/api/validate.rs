//! The environment checklist (`GET /api/validate`): each check of the setup, how it came out and
//! how to fix it.

use serde::{Deserialize, Serialize};

/// How one environment check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CheckStatus {
    Pass,
    /// Works, with a risk worth knowing (e.g. no persistence).
    Warn,
    Fail,
}

/// One line of the environment validation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ValidationResponse {
    pub ok: bool,
    pub checks: Vec<EnvironmentCheck>,
}
