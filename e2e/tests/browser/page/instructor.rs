//! The instructor's view: the checklist, the traffic generator and the failure scenarios.

use std::time::Duration;

use super::Page;
use crate::harness::{Browser, eventually};

view!(
    /// The instructor's view.
    Instructor
);

impl<'a> Instructor<'a> {
    /// Opens the instructor's view of the app at `app` and waits until its live feed is
    /// connected.
    pub async fn open(browser: &'a Browser, app: &str) -> Self {
        Self(Page::open(browser, &format!("{app}instructor")).await)
    }

    /// Waits until the traffic generator's state passes `check`; returns the state.
    pub async fn wait_traffic(&self, what: &str, check: impl Fn(&str) -> bool) -> String {
        eventually(Duration::from_secs(10), what, || async {
            let state = self.text("traffic-state").await;
            check(&state).then_some(state)
        })
        .await
    }
}
