//! The instructor's tools: the traffic generator, the guided failure scenarios and the join address.

use serde::{Deserialize, Serialize};

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
