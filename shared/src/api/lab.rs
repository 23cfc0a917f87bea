//! The lab: its steps and tasks checked against the workspace, the completion report, and the class view.

use serde::{Deserialize, Serialize};

use super::{QuizQuestion, QuizScore};

/// `GET /api/lab` (header `X-Workspace`): the lab's five steps, each task checked against the
/// real state of the learner's workspace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LabResponse {
    pub steps: Vec<LabStep>,
    pub done: usize,
    pub total: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LabStep {
    /// `setup`, `streams`, `implementation`, `advanced`, `validation`.
    pub id: String,
    pub title: String,
    pub explanation: String,
    pub tasks: Vec<LabTask>,
    /// Two or three questions that check the step is understood (never their answers).
    #[serde(default)]
    pub quiz: Vec<QuizQuestion>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LabTask {
    /// Stable, e.g. `append_three`.
    pub id: String,
    pub title: String,
    /// A command that does it, to type in the console.
    pub example: String,
    /// Holds now, in Redis.
    pub done: bool,
    /// What in Redis shows it (or what is missing).
    pub evidence: String,
    /// "Show me" ran its reference commands in this workspace (`POST /api/lab/tasks/{id}/show`):
    /// done, it is done with help.
    #[serde(default)]
    pub helped: bool,
    /// What the learner's own recent console lines suggest they misunderstand about this
    /// task (or that they seem stuck on it), with the fix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// Which of the learner's lines (or how long on the task) the hint answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint_reason: Option<String>,
}

/// `GET /api/lab/report`: the lab's six success criteria, each with the evidence that
/// satisfied it (or what is missing), for the learner to download.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CompletionReport {
    pub generated_at: String,
    pub met: usize,
    pub total: usize,
    pub criteria: Vec<Criterion>,
    /// How the lab's quiz went.
    #[serde(default)]
    pub quiz: QuizScore,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Criterion {
    /// Stable, e.g. `full_lifecycle`.
    pub id: String,
    pub title: String,
    pub met: bool,
    /// One line per lab task behind it: what Redis shows, or what is missing.
    pub evidence: Vec<String>,
}

/// `GET /api/class`: how many learners are at which step of the lab (counts only: no names).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClassView {
    /// Workspaces used within the window.
    pub learners: usize,
    pub window_minutes: u64,
    /// Per step, in the lab's order: learners whose first unfinished task is in it.
    pub at_step: Vec<StepCount>,
    /// Learners with every task done.
    pub finished: usize,
    /// Per task, in the lab's order: the heatmap's rows.
    #[serde(default)]
    pub tasks: Vec<TaskHeat>,
    /// Learners on a task this many minutes without finishing it count as stuck.
    #[serde(default)]
    pub stuck_after_minutes: f64,
    /// The class's mistakes, by the detector that saw them: the most widespread first; none
    /// that nobody made.
    #[serde(default)]
    pub mistakes: Vec<MistakeCount>,
}

/// One task of the lab, across the class (counts only).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TaskHeat {
    pub step: String,
    pub task: String,
    pub title: String,
    /// Learners on it now (their first unfinished task).
    pub learners: usize,
    /// How long they have been on it, the median in minutes, of those the lab page has seen
    /// arrive at it; none when none has.
    pub median_minutes: Option<f64>,
    /// Of them, those on it longer than `stuck_after_minutes`.
    pub stuck: usize,
}

/// One known misconception, across the class.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MistakeCount {
    /// The detector's id, e.g. `xread_on_group`.
    pub id: String,
    /// Learners whose lines showed it.
    pub learners: usize,
    /// Lines that showed it, in all.
    pub lines: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StepCount {
    pub step: String,
    pub title: String,
    pub learners: usize,
}
