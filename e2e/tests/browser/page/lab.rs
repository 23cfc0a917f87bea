//! The lab view: its tasks, each done or not by what Redis shows (or shown with "show me"),
//! each step's quiz, and the report.

use std::path::PathBuf;
use std::time::Duration;

view!(
    /// The lab view.
    Lab
);

impl<'a> Lab<'a> {
    /// Whether the page marks `task` done (`"true"` or `"false"`).
    pub async fn task_done(&self, task: &str) -> Option<String> {
        self.attribute(&format!("lab-task-{task}"), "data-done")
            .await
    }

    /// Waits until the page marks `task` done.
    pub async fn wait_task_done(&self, task: &str, within: Duration) {
        self.wait_attribute(
            &format!("lab-task-{task}"),
            "data-done",
            Some("true"),
            within,
        )
        .await;
    }

    /// Waits until the page shows a hint at `task`, and gives its text.
    pub async fn wait_hint(&self, task: &str, within: Duration) -> String {
        let id = format!("lab-hint-{task}");
        self.wait_exists(&id, within).await;
        self.text(&id).await
    }

    /// Where the Markdown report is saved once downloaded.
    pub fn report_file(&self) -> PathBuf {
        self.browser.downloads().join("claimstream-lab-report.md")
    }

    /// Answers `question` with its choice at `index` (from 0).
    pub async fn answer(&self, question: &str, index: usize) {
        self.click(&format!("quiz-{question}-choice-{index}")).await;
    }

    /// Waits until `question` shows whether it was answered rightly (`correct`), and gives
    /// the explanation shown.
    pub async fn wait_verdict(&self, question: &str, correct: bool, within: Duration) -> String {
        let id = format!("quiz-{question}-explanation");
        self.wait_attribute(&id, "data-correct", Some(&correct.to_string()), within)
            .await;
        self.text(&id).await
    }

    /// Runs "show me" for `task`.
    pub async fn show_me(&self, task: &str) {
        self.click(&format!("show-me-{task}")).await;
    }

    /// Waits until the lines "show me" ran for `task` are shown, and gives them.
    pub async fn wait_shown(&self, task: &str, within: Duration) -> String {
        self.wait_some_text(&format!("lab-shown-{task}"), within)
            .await
    }
}
