//! The lab's quiz and its "show me": questions that check a step is understood, and a task's
//! reference commands run in the learner's workspace.

use serde::{Deserialize, Serialize};

use crate::console::Snippets;

use super::LabTask;

/// One multiple-choice question of a lab step (in `GET /api/lab`): never its answer, but once
/// the workspace has answered it, how (so a reload keeps it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QuizQuestion {
    /// Stable, e.g. `streams_ids_grow`.
    pub id: String,
    pub question: String,
    pub choices: Vec<String>,
    /// The workspace has answered it.
    #[serde(default)]
    pub answered: bool,
    /// Its last answer was the right one.
    #[serde(default)]
    pub correct: bool,
    /// The index of its last answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub choice: Option<usize>,
    /// Once answered: why the right answer is right.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explanation: Option<String>,
}

/// `POST /api/lab/quiz/{id}` (header `X-Workspace`): the index of the choice, from 0 (signed,
/// so that a negative one is refused with the range like any other out of it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct QuizAnswerRequest {
    pub choice: i64,
}

/// Whether the choice was right, and why the right answer is right.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QuizAnswer {
    pub correct: bool,
    pub explanation: String,
}

/// The quiz in the completion report: of `total` questions, how many the workspace answered,
/// and how many of those rightly.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QuizScore {
    pub answered: usize,
    pub correct: usize,
    pub total: usize,
}

/// `POST /api/lab/tasks/{id}/show` (header `X-Workspace`): each reference command as the
/// console ran it, and the task checked after them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ShowResponse {
    pub lines: Vec<ShownLine>,
    pub task: LabTask,
}

/// A reference command run in the console: the line, what `redis-cli` would print, the error
/// if it failed, the commands the relay sent, and the line in each language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ShownLine {
    pub line: String,
    pub reply: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// What the console would say about it (a cap's note, an error's fix).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    pub redis: Vec<String>,
    pub snippets: Snippets,
}
