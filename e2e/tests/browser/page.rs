//! The playground page as tests see it: what a person would do and read, by `data-testid`.

use std::time::Duration;

use fantoccini::Locator;
use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::elements::Element;
use fantoccini::key::Key;

use crate::harness::{Browser, eventually, screenshot_dir};

pub struct Playground<'a> {
    pub browser: &'a Browser,
}

/// Panels that refresh every second replace their elements; an element found just before
/// may be gone by the time it is read.
fn is_stale(e: &fantoccini::error::CmdError) -> bool {
    e.to_string().contains("stale element")
}

fn testid(id: &str) -> String {
    format!(r#"[data-testid="{id}"]"#)
}

impl<'a> Playground<'a> {
    /// Opens the app and waits until its live feed is connected.
    pub async fn open(browser: &'a Browser, url: &str) -> Self {
        browser.client.goto(url).await.unwrap();
        let page = Self { browser };
        page.wait_connected().await;
        page
    }

    pub async fn wait_connected(&self) {
        eventually(
            Duration::from_secs(20),
            "the live feed to connect",
            || async {
                let state = self.attr("connection-status", "data-state").await;
                (state.as_deref() == Some("live")).then_some(())
            },
        )
        .await;
    }

    pub async fn find(&self, id: &str) -> Element {
        self.browser
            .client
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::Css(&testid(id)))
            .await
            .unwrap_or_else(|e| panic!("no element {id}: {e}"))
    }

    async fn attr(&self, id: &str, name: &str) -> Option<String> {
        let el = self
            .browser
            .client
            .find(Locator::Css(&testid(id)))
            .await
            .ok()?;
        el.attr(name).await.ok().flatten()
    }

    /// An attribute of the element with this test id, once it exists.
    pub async fn attribute(&self, id: &str, name: &str) -> Option<String> {
        for _ in 0..10 {
            match self.find(id).await.attr(name).await {
                Ok(value) => return value,
                Err(e) if is_stale(&e) => continue,
                Err(e) => panic!("{id}: {e}"),
            }
        }
        panic!("{id} kept being re-rendered")
    }

    /// What an input holds now.
    pub async fn value(&self, id: &str) -> Option<String> {
        self.find(id).await.prop("value").await.unwrap()
    }

    pub async fn text(&self, id: &str) -> String {
        for _ in 0..10 {
            match self.find(id).await.text().await {
                Ok(text) => return text,
                Err(e) if is_stale(&e) => continue,
                Err(e) => panic!("{id}: {e}"),
            }
        }
        panic!("{id} kept being re-rendered")
    }

    /// Whether an element with this test id is on the page now (no waiting).
    pub async fn exists(&self, id: &str) -> bool {
        self.browser
            .client
            .find(Locator::Css(&testid(id)))
            .await
            .is_ok()
    }

    /// The address bar's URL.
    pub async fn current_url(&self) -> String {
        self.browser.client.current_url().await.unwrap().to_string()
    }

    pub async fn fill(&self, id: &str, value: &str) {
        let input = self.find(id).await;
        input.clear().await.unwrap();
        input.send_keys(value).await.unwrap();
    }

    pub async fn click(&self, id: &str) {
        for _ in 0..10 {
            match self.find(id).await.click().await {
                Ok(()) => return,
                Err(e) if is_stale(&e) => continue,
                Err(e) => panic!("{id}: {e}"),
            }
        }
        panic!("{id} kept being re-rendered")
    }

    pub async fn submit_claim(&self, customer: &str, amount: &str, description: &str) {
        self.fill("customer_id", customer).await;
        self.fill("amount", amount).await;
        self.fill("description", description).await;
        self.click("submit-claim").await;
    }

    /// The claim id and entry id the form reports after a successful submit.
    pub async fn submitted(&self) -> (String, String) {
        self.find("submit-result").await;
        (
            self.text("submitted-claim-id").await,
            self.text("submitted-entry-id").await,
        )
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
        self.browser
            .client
            .find(Locator::Css(&button))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
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
        eventually(Duration::from_secs(15), "the claim detail", || async {
            (self.text("claim-id").await == claim_id).then_some(())
        })
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

    /// How many elements with this test id are on the page now.
    pub async fn count(&self, id: &str) -> usize {
        self.browser
            .client
            .find_all(Locator::Css(&testid(id)))
            .await
            .map_or(0, |found| found.len())
    }

    /// What sticks out sideways: the page past the window, any panel past its box, and
    /// anything inside the given panels past its own box (hidden, spilled or scrolled), as
    /// `what (scroll width > width)`. Empty when everything fits.
    pub async fn overflowing(&self, panels: &[&str]) -> Vec<String> {
        let inside: Vec<String> = panels.iter().map(|p| format!("{} *", testid(p))).collect();
        let found = self
            .browser
            .client
            .execute(
                r"
                const out = [];
                const page = document.documentElement;
                if (page.scrollWidth > window.innerWidth) {
                    out.push(`page (${page.scrollWidth} > ${window.innerWidth})`);
                }
                for (const panel of document.querySelectorAll('main > .panel')) {
                    if (panel.scrollWidth > panel.clientWidth + 1) {
                        out.push(`panel ${panel.className} (${panel.scrollWidth} > ${panel.clientWidth})`);
                    }
                }
                for (const el of document.querySelectorAll(arguments[0])) {
                    if (el.clientWidth > 0 && el.scrollWidth > el.clientWidth + 1) {
                        out.push(`${el.tagName.toLowerCase()}.${el.className} (${el.scrollWidth} > ${el.clientWidth})`);
                    }
                }
                return out;
                ",
                vec![serde_json::Value::String(inside.join(", "))],
            )
            .await
            .unwrap();
        serde_json::from_value(found).unwrap()
    }

    /// Opens a claim by its id in a timeline row, as a learner following someone else's claim.
    pub async fn open_claim_from_timeline(&self, entry_id: &str, claim_id: &str) {
        let link = format!(r#"[data-entry-id="{entry_id}"] button.claim"#);
        self.browser
            .client
            .find(Locator::Css(&link))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        eventually(Duration::from_secs(15), "the claim detail", || async {
            (self.text("claim-id").await == claim_id).then_some(())
        })
        .await;
    }

    /// How many events the claim's history lists.
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

    /// Resizes the window to `width` px and lists whatever sticks out of its panel or makes
    /// the page scroll sideways (at either edge): nothing should at a laptop's 1280 px.
    pub async fn overflow_at_width(&self, width: u32) -> Vec<String> {
        self.browser
            .client
            .set_window_size(width, 1000)
            .await
            .unwrap();
        let script = r#"
            const out = [];
            if (window.innerWidth > arguments[0]) out.push(`window is ${window.innerWidth} px`);
            for (const panel of document.querySelectorAll('.panel')) {
                const box = panel.getBoundingClientRect();
                const left = box.left - 1, right = box.right + 1;
                for (const el of panel.querySelectorAll('*')) {
                    const r = el.getBoundingClientRect();
                    if (r.width > 0 && r.right > right) {
                        out.push(`${el.tagName.toLowerCase()}.${el.className} in ${panel.className}: ${Math.round(r.right)} > ${Math.round(right)}`);
                    }
                    if (r.width > 0 && r.left < left) {
                        out.push(`${el.tagName.toLowerCase()}.${el.className} in ${panel.className}: ${Math.round(r.left)} < ${Math.round(left)}`);
                    }
                }
            }
            const page = document.documentElement;
            if (page.scrollWidth > page.clientWidth) out.push(`the page is ${page.scrollWidth} px wide`);
            return out;
        "#;
        let found = self
            .browser
            .client
            .execute(script, vec![width.into()])
            .await
            .unwrap();
        serde_json::from_value(found).unwrap()
    }

    /// Scrolls the element with this test id into view, then takes the screenshot.
    pub async fn screenshot_at(&self, id: &str, name: &str) {
        let script = format!(
            "document.querySelector('{}').scrollIntoView({{block: 'center'}})",
            testid(id)
        );
        self.browser.client.execute(&script, vec![]).await.unwrap();
        self.screenshot(name).await;
    }

    /// Waits for every CSS animation to end, so a screenshot shows the page as it stays.
    pub async fn settled(&self) {
        eventually(Duration::from_secs(15), "animations to end", || async {
            let running = self
                .browser
                .client
                .execute(
                    "return document.getAnimations().filter(a => a.playState === 'running').length",
                    vec![],
                )
                .await
                .unwrap();
            (running.as_u64() == Some(0)).then_some(())
        })
        .await;
    }

    pub async fn screenshot(&self, name: &str) {
        let png = self.browser.client.screenshot().await.unwrap();
        std::fs::write(screenshot_dir().join(format!("{name}.png")), png).unwrap();
    }

    pub async fn assert_no_console_errors(&self) {
        self.assert_console_errors_only(&[]).await;
    }

    /// Fails on any console error but those containing one of `expected`: Chromium logs
    /// every 4xx answer, including the ones a test provokes on purpose.
    pub async fn assert_console_errors_only(&self, expected: &[&str]) {
        let errors = self.browser.console_errors().await;
        let unexpected: Vec<&String> = errors
            .iter()
            .filter(|e| !expected.iter().any(|x| e.contains(x)))
            .collect();
        assert!(
            unexpected.is_empty(),
            "browser console errors: {unexpected:#?}"
        );
    }
}
