//! The lab view: its tasks, each done or not by what Redis shows, and the report.

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
}
