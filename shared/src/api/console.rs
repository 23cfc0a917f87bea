//! The learner's console: a workspace of its own, a line run, and the help for completion.

use serde::{Deserialize, Serialize};

/// `POST /api/workspaces`: a learner's own place for console keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WorkspaceResponse {
    /// Unguessable; sent back as the `X-Workspace` header.
    pub id: String,
    /// The workspace and its keys go this long after their last use.
    pub expires_after_secs: u64,
}

/// `POST /api/console` (header `X-Workspace`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ConsoleRequest {
    pub line: String,
}

/// One console line's answer: what `redis-cli` would print, the error if it failed, what to
/// do about it, and the commands the relay sent (with the workspace's real key names).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConsoleResponse {
    pub reply: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    pub redis: Vec<String>,
}

/// `GET /api/console/help` (header `X-Workspace`): what the console runs and the keys the
/// workspace has, for completion and the one-line help.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConsoleHelp {
    pub commands: Vec<CommandHelp>,
    /// The workspace's keys, then the class's streams as `demo:<name>`.
    pub keys: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CommandHelp {
    pub name: String,
    pub usage: String,
    pub summary: String,
}

/// `POST /api/workspaces/reset` (header `X-Workspace`): what emptying the workspace removed;
/// its id stays.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WorkspaceReset {
    /// The learner's keys deleted.
    pub keys_removed: usize,
    /// Quiz answers forgotten.
    pub answers_removed: usize,
    /// Tasks no longer marked as shown ("done with help").
    pub helped_removed: usize,
    /// Recent console lines forgotten (`GET /api/console/history`), with the hints they gave.
    #[serde(default)]
    pub lines_removed: usize,
}

/// `GET /api/console/history` (header `X-Workspace`): the workspace's recent console lines,
/// oldest first (at most the last 50, each cut at 256 bytes; they expire with the workspace).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConsoleHistory {
    pub lines: Vec<HistoryLine>,
}

/// One line the learner typed, and what came of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HistoryLine {
    /// As typed (cut at 256 bytes, ending with `…` when it was longer).
    pub line: String,
    /// When it ran (RFC 3339).
    pub time: String,
    /// `ok`, the error code Redis answered (`ERR`, `WRONGTYPE`, `NOGROUP`, ...), or `refused`
    /// when the console refused the line before it reached Redis.
    pub outcome: String,
    /// How many entries a read gave, or the integer Redis answered (`XACK`, `XTRIM`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub returned: Option<u64>,
    /// The misconception this line showed, by its detector's id (e.g. `xread_on_group`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mistake: Option<String>,
}
