//! The playground: the claim form, the live timeline, a claim's detail and history, the
//! board's time travel and the consumer groups' panel.

use std::time::Duration;

use fantoccini::Locator;
use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::key::Key;

use super::{Page, testid};
use crate::harness::{Browser, eventually};

view!(
    /// The playground, the app's first view.
    Playground
);

impl<'a> Playground<'a> {
    /// Opens the app at `url` and waits until its live feed is connected.
    pub async fn open(browser: &'a Browser, url: &str) -> Self {
        Self(Page::open(browser, url).await)
    }

    /// Fills in the claim form and sends it, whatever the form answers.
    pub async fn send_claim_form(&self, customer: &str, amount: &str, description: &str) {
        self.fill("customer_id", customer).await;
        self.fill("amount", amount).await;
        self.fill("description", description).await;
        self.click("submit-claim").await;
    }

    /// Submits a claim through the form; returns the claim id and entry id it reports.
    pub async fn submit_claim(
        &self,
        customer: &str,
        amount: &str,
        description: &str,
    ) -> (String, String) {
        self.send_claim_form(customer, amount, description).await;
        self.submitted().await
    }

    /// The claim id and entry id the form reports after a successful submit.
    pub async fn submitted(&self) -> (String, String) {
        self.find("submit-result").await;
        (
            self.text("submitted-claim-id").await,
            self.text("submitted-entry-id").await,
        )
    }

    /// Submits a claim through the form and opens its detail from the result; returns its id.
    pub async fn open_new_claim(&self, customer: &str, amount: &str, description: &str) -> String {
        let (claim_id, _) = self.submit_claim(customer, amount, description).await;
        self.open_claim(&claim_id).await;
        claim_id
    }

    /// Ids of the timeline rows in the DOM, newest first.
    pub async fn timeline_ids(&self) -> Vec<String> {
        let rows = self
            .browser
            .client
            .find_all(Locator::Css(&testid("timeline-entry")))
            .await
            .unwrap();
        let mut ids = Vec::new();
        for row in rows {
            if let Ok(Some(id)) = row.attr("data-entry-id").await {
                ids.push(id);
            }
        }
        // Rows are positioned absolutely; DOM order is not display order.
        ids.sort_by_key(|id| {
            let (ms, seq) = id.split_once('-').unwrap_or((id, "0"));
            std::cmp::Reverse((
                ms.parse::<u64>().unwrap_or(0),
                seq.parse::<u64>().unwrap_or(0),
            ))
        });
        ids
    }

    /// Opens an entry's raw fields and returns what the inspector shows.
    pub async fn inspect(&self, entry_id: &str) -> String {
        let button = format!(r#"[data-entry-id="{entry_id}"] button[data-testid="inspect-entry"]"#);
        self.click_css(&button).await;
        self.text("entry-inspector").await
    }

    pub async fn wait_for_entry(&self, id: &str, within: Duration) {
        eventually(within, &format!("entry {id} in the timeline"), || async {
            self.timeline_ids()
                .await
                .iter()
                .any(|e| e == id)
                .then_some(())
        })
        .await;
    }

    pub async fn open_claim(&self, claim_id: &str) {
        self.click("submitted-claim-id").await;
        self.wait_text("claim-id", claim_id, Duration::from_secs(15))
            .await;
    }

    pub async fn wait_status(&self, status: &str) {
        eventually(
            Duration::from_secs(5),
            &format!("status {status}"),
            || async { (self.text("claim-status").await == status).then_some(()) },
        )
        .await;
    }

    /// Which transition buttons the detail offers.
    pub async fn offered_actions(&self) -> Vec<String> {
        let mut offered = Vec::new();
        for action in ["review", "approve", "reject", "pay"] {
            if self
                .browser
                .client
                .find(Locator::Css(&testid(&format!("action-{action}"))))
                .await
                .is_ok()
            {
                offered.push(action.to_owned());
            }
        }
        offered
    }

    /// Moves the time-travel slider with the keyboard, as a person would: each key lets go
    /// of the thumb at its new place.
    pub async fn press_on_slider(&self, keys: &[Key]) {
        let script = format!(
            "document.querySelector('{}').focus()",
            testid("travel-slider")
        );
        self.browser.client.execute(&script, vec![]).await.unwrap();
        let mut actions = KeyActions::new("keyboard".into());
        for key in keys {
            let value = char::from(*key);
            actions = actions
                .then(KeyAction::Down { value })
                .then(KeyAction::Up { value });
        }
        self.browser.client.perform_actions(actions).await.unwrap();
    }

    /// Waits until the time-travel panel shows the board replayed up to this entry.
    pub async fn wait_travelled_to(&self, entry_id: &str) {
        eventually(
            Duration::from_secs(10),
            &format!("the board replayed up to {entry_id}"),
            || async {
                let as_of = self.attr("travel-replayed", "data-as-of").await;
                (as_of.as_deref() == Some(entry_id)).then_some(())
            },
        )
        .await;
    }

    /// Opens a claim by its id in a timeline row, as a learner following someone else's claim.
    pub async fn open_claim_from_timeline(&self, entry_id: &str, claim_id: &str) {
        let link = format!(r#"[data-entry-id="{entry_id}"] button.claim"#);
        self.click_css(&link).await;
        self.wait_text("claim-id", claim_id, Duration::from_secs(15))
            .await;
    }

    /// How many events the claim's history lists.
    /// Asks what caused what in the claim shown, and waits until the drawn story has `kind`
    /// nodes (e.g. `notification`) `n` times, asking again while it has fewer (the groups
    /// react after the page asked); then each node's kind and depth, in the order drawn.
    pub async fn trace_causes_until(&self, kind: &str, n: usize) -> Vec<(String, usize)> {
        eventually(
            Duration::from_secs(15),
            &format!("{n} {kind} nodes in the claim's story"),
            || async {
                self.click("claim-causes-load").await;
                let drawn = self.causes().await;
                (drawn.iter().filter(|(k, _)| k == kind).count() == n).then_some(drawn)
            },
        )
        .await
    }

    /// The command log's rows once it shows `n` of them: each row's outcome and text.
    pub async fn command_rows(&self, n: usize) -> Vec<(String, String)> {
        eventually(
            Duration::from_secs(10),
            &format!("{n} rows in the command log"),
            || async {
                let rows = self
                    .browser
                    .client
                    .find_all(Locator::Css(&testid("command-row")))
                    .await
                    .ok()?;
                let mut shown = Vec::with_capacity(rows.len());
                for row in rows {
                    let outcome = row.attr("data-outcome").await.ok()??;
                    shown.push((outcome, row.text().await.ok()?));
                }
                (shown.len() == n).then_some(shown)
            },
        )
        .await
    }

    /// Each node of the claim's drawn story: its kind and depth.
    pub async fn causes(&self) -> Vec<(String, usize)> {
        let nodes = self
            .browser
            .client
            .find_all(Locator::Css(&testid("cause-node")))
            .await
            .unwrap();
        let mut drawn = Vec::with_capacity(nodes.len());
        for node in nodes {
            let kind = node.attr("data-kind").await.unwrap().unwrap_or_default();
            let depth = node.attr("data-depth").await.unwrap().unwrap_or_default();
            drawn.push((kind, depth.parse().unwrap_or(usize::MAX)));
        }
        drawn
    }

    pub async fn history_len(&self) -> usize {
        self.browser
            .client
            .find_all(Locator::Css(&testid("history-event")))
            .await
            .unwrap()
            .len()
    }

    /// Waits until the history lists `n` events.
    pub async fn wait_history_len(&self, n: usize) {
        eventually(
            Duration::from_secs(5),
            &format!("{n} events in the history"),
            || async { (self.history_len().await == n).then_some(()) },
        )
        .await;
    }

    /// Moves the history slider to `step` with the arrow keys, as a keyboard user would, and
    /// waits until the page says it is there.
    pub async fn slide_history_to(&self, step: usize) {
        let slider = self.find("history-slider").await;
        let now: usize = slider
            .prop("value")
            .await
            .unwrap()
            .and_then(|v| v.parse().ok())
            .expect("the slider has a value");
        let key = if step < now { Key::Left } else { Key::Right };
        let presses: String = std::iter::repeat_n(char::from(key), now.abs_diff(step)).collect();
        slider.send_keys(&presses).await.unwrap();
        eventually(
            Duration::from_secs(5),
            &format!("the history at step {step}"),
            || async { (self.text("history-step").await == step.to_string()).then_some(()) },
        )
        .await;
    }

    /// The state the history shows for its step: status, version and notes.
    pub async fn history_state(&self) -> (String, String, String) {
        (
            self.text("history-status").await,
            self.text("history-version").await,
            self.text("history-notes").await,
        )
    }

    /// The step the history list marks as the one shown.
    pub async fn highlighted_step(&self) -> Option<String> {
        let current = r#"[data-testid="history-event"][aria-current="step"]"#;
        let el = self.browser.client.find(Locator::Css(current)).await.ok()?;
        el.attr("data-step").await.ok().flatten()
    }

    /// Opens the note form (folded at first) if it is not, fills it in and sends it.
    pub async fn add_note(&self, adjuster: &str, note: &str, document: &str) {
        if self.attribute("note-form", "open").await.is_none() {
            self.click("note-form-toggle").await;
        }
        self.fill("adjuster", adjuster).await;
        self.fill("note", note).await;
        self.fill("document", document).await;
        self.click("add-note").await;
    }

    /// The board's count per status, in the order the statuses go.
    pub async fn board_counts(&self) -> Vec<String> {
        let mut counts = Vec::new();
        for status in ["submitted", "under_review", "approved", "paid", "rejected"] {
            counts.push(self.text(&format!("board-count-{status}")).await);
        }
        counts
    }
}

/// The projection panel's debugger.
impl Playground<'_> {
    /// Breaks forward steps on `event_type` ("" for every event).
    pub async fn debug_break_on(&self, event_type: &str) {
        self.find("debug-break")
            .await
            .select_by_value(event_type)
            .await
            .unwrap();
    }

    /// Waits until the debugger shows the step of `entry_id`; its event type. Fails at once
    /// with the panel's error if the relay refused a step.
    pub async fn wait_debug_step(&self, entry_id: &str) -> String {
        eventually(
            Duration::from_secs(15),
            &format!("the debugger at {entry_id}"),
            || async {
                if self.exists("debug-error").await {
                    panic!("the debugger failed: {}", self.text("debug-error").await);
                }
                let at = self.attr("debug-step", "data-entry").await;
                (at.as_deref() == Some(entry_id)).then_some(())
            },
        )
        .await;
        self.text("debug-type").await
    }
}
