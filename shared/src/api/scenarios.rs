//! The guided failure scenarios: which there are, and the narration of the one running.

use serde::{Deserialize, Serialize};

/// `GET /api/scenarios`: the guided failure scenarios, and the one running or last run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScenariosResponse {
    pub scenarios: Vec<ScenarioInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<ScenarioRun>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScenarioInfo {
    /// `crash-consumer`, `poison-message`, `stop-group`, `redis-unavailable`.
    pub id: String,
    pub title: String,
    /// What it shows, in a sentence.
    pub summary: String,
}

/// A scenario's narration: what was done and what to watch, line by line as it goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NarrationLine {
    /// Milliseconds since the scenario started.
    pub at_ms: u64,
    pub text: String,
}
