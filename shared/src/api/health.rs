//! The relay's health: Redis reachable or not, and the relay's own redis-server.

use serde::{Deserialize, Serialize};

use super::streams::StreamLength;

/// `GET /api/health`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RedisHealth {
    pub reachable: bool,
    pub version: Option<String>,
    pub latency_ms: Option<f64>,
    pub error: Option<String>,
}

/// The supervisor of the relay's own redis-server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
