//! The traffic generator the instructor starts, retunes and stops.

use serde::{Deserialize, Serialize};

/// `POST /api/traffic` (instructor): start the traffic generator at `rate` events/s, change
/// its rate, or stop it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TrafficRequest {
    pub running: bool,
    /// Events per second, 1 to 200 (default 5).
    #[serde(default)]
    pub rate: Option<u32>,
}

/// `GET /api/traffic`: what the generator is doing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
