//! The console view: a line of Redis typed and run, its replies, the history and completion.

use std::time::Duration;

use fantoccini::key::Key;

use super::Page;
use crate::harness::{Browser, eventually};

view!(
    /// The console view.
    Console
);

impl<'a> Console<'a> {
    /// Opens the console view of the app at `app` and waits until its live feed is connected.
    pub async fn open(browser: &'a Browser, app: &str) -> Self {
        Self(Page::open(browser, &format!("{app}console")).await)
    }

    /// What the input line holds now.
    pub async fn input(&self) -> Option<String> {
        self.value("console-input").await
    }

    /// Presses `key` in the input line.
    pub async fn press(&self, key: Key) {
        self.find("console-input")
            .await
            .send_keys(&key.to_string())
            .await
            .unwrap();
    }

    /// Types a line into the input and runs it.
    pub async fn line(&self, line: &str) {
        self.fill("console-input", line).await;
        self.press(Key::Enter).await;
    }

    /// Waits until the output ends with `tail`.
    pub async fn wait_output_ends_with(&self, tail: &str, what: &str) {
        eventually(Duration::from_secs(15), what, || async {
            self.text("console-output")
                .await
                .ends_with(tail)
                .then_some(())
        })
        .await;
    }
}
