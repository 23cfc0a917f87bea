//! The learner's console: a workspace of its own, a line run, and the help for completion.

use serde::{Deserialize, Serialize};

/// `POST /api/workspaces`: a learner's own place for console keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkspaceResponse {
    /// Unguessable; sent back as the `X-Workspace` header.
    pub id: String,
    /// The workspace and its keys go this long after their last use.
    pub expires_after_secs: u64,
}

/// `POST /api/console` (header `X-Workspace`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsoleRequest {
    pub line: String,
}

/// One console line's answer: what `redis-cli` would print, the error if it failed, what to
/// do about it, and the commands the relay sent (with the workspace's real key names).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
pub struct ConsoleHelp {
    pub commands: Vec<CommandHelp>,
    /// The workspace's keys, then the class's streams as `demo:<name>`.
    pub keys: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandHelp {
    pub name: String,
    pub usage: String,
    pub summary: String,
}

/// `POST /api/workspaces/reset` (header `X-Workspace`): what emptying the workspace removed;
/// its id stays.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkspaceReset {
    /// The learner's keys deleted.
    pub keys_removed: usize,
    /// Quiz answers forgotten.
    pub answers_removed: usize,
    /// Tasks no longer marked as shown ("done with help").
    pub helped_removed: usize,
}
