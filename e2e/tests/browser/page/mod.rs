//! The app's pages as tests see them: what a person would do and read, by `data-testid`.
//! [`Page`] is what every view shares (finding, reading, clicking, waiting, the layout and
//! console checks); each view's own controls are in its page object, which derefs to it.

/// Declares a view's page object: a [`Page`] it derefs to, with the view's own controls in an
/// `impl` of its own.
macro_rules! view {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        pub struct $name<'a>(super::Page<'a>);

        impl<'a> std::ops::Deref for $name<'a> {
            type Target = super::Page<'a>;

            fn deref(&self) -> &super::Page<'a> {
                &self.0
            }
        }

        impl<'a> $name<'a> {
            /// The view shown now, read as this one.
            #[allow(dead_code)]
            pub fn on(page: &super::Page<'a>) -> Self {
                Self(*page)
            }
        }
    };
}

mod console;
mod instructor;
mod lab;
mod playground;

use std::time::Duration;

use fantoccini::Locator;
use fantoccini::elements::Element;

use crate::harness::{Browser, eventually, screenshot_dir};
use test_support::poll;

pub use console::Console;
pub use instructor::Instructor;
pub use lab::Lab;
pub use playground::Playground;

/// Any view of the app in one browser.
#[derive(Clone, Copy)]
pub struct Page<'a> {
    pub browser: &'a Browser,
}

/// Panels that refresh every second replace their elements; an element found just before
/// may be gone by the time it is read.
fn is_stale(e: &fantoccini::error::CmdError) -> bool {
    e.to_string().contains("stale element")
}

/// WebDriver refuses, without dispatching it, a click another element would receive: panels
/// out of view are not rendered (`content-visibility: auto`) until the frame after they
/// scroll in, and panels above may change height as they render.
fn is_intercepted(e: &fantoccini::error::CmdError) -> bool {
    e.to_string().contains("click intercepted")
}

fn testid(id: &str) -> String {
    format!(r#"[data-testid="{id}"]"#)
}

impl<'a> Page<'a> {
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

    /// Does `act` to the element with this test id, found again while a refresh replaces it.
    async fn on_fresh<T>(
        &self,
        id: &str,
        act: impl AsyncFn(Element) -> Result<T, fantoccini::error::CmdError>,
    ) -> T {
        for _ in 0..10 {
            match act(self.find(id).await).await {
                Ok(done) => return done,
                Err(e) if is_stale(&e) => continue,
                Err(e) => panic!("{id}: {e}"),
            }
        }
        panic!("{id} kept being re-rendered")
    }

    /// An attribute of the element with this test id, once it exists.
    pub async fn attribute(&self, id: &str, name: &str) -> Option<String> {
        self.on_fresh(id, async |el| el.attr(name).await).await
    }

    /// What an input holds now.
    pub async fn value(&self, id: &str) -> Option<String> {
        self.find(id).await.prop("value").await.unwrap()
    }

    pub async fn text(&self, id: &str) -> String {
        self.on_fresh(id, async |el| el.text().await).await
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
        self.click_css(&testid(id)).await;
    }

    /// Clicks the element `selector` finds, as a person would: once it is the one drawn
    /// where it is, found again while a refresh replaces it.
    pub async fn click_css(&self, selector: &str) {
        poll(
            Duration::from_secs(20),
            &format!("{selector} to take a click"),
            async || {
                let el = self
                    .browser
                    .client
                    .wait()
                    .at_most(Duration::from_secs(20))
                    .for_element(Locator::Css(selector))
                    .await
                    .unwrap_or_else(|e| panic!("no element {selector}: {e}"));
                match el.click().await {
                    Ok(()) => Ok(()),
                    Err(e) if is_intercepted(&e) => {
                        self.bring_to_middle(&el).await;
                        Err(e.to_string())
                    }
                    Err(e) if is_stale(&e) => Err(e.to_string()),
                    Err(e) => panic!("{selector}: {e}"),
                }
            },
        )
        .await;
    }

    /// Scrolls `el` to the middle of the window, where nothing sticky covers it.
    async fn bring_to_middle(&self, el: &Element) {
        let el = serde_json::to_value(el).unwrap();
        let scrolled = self
            .browser
            .client
            .execute("arguments[0].scrollIntoView({block: 'center'})", vec![el])
            .await;
        // A refresh may have replaced it meanwhile; the next try finds it again.
        match scrolled {
            Err(e) if !is_stale(&e) => panic!("scrolling to it: {e}"),
            _ => {}
        }
    }

    /// Picks the option of value `value` in the select with this test id.
    pub async fn select(&self, id: &str, value: &str) {
        self.find(id)
            .await
            .select_by_value(value)
            .await
            .unwrap_or_else(|e| panic!("no option {value} in {id}: {e}"));
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

    /// Waits until an element `selector` finds has text; that text.
    pub async fn wait_css_text(&self, selector: &str, within: Duration) -> String {
        eventually(within, &format!("text in {selector}"), || async {
            let el = self
                .browser
                .client
                .find(Locator::Css(selector))
                .await
                .ok()?;
            el.text().await.ok().filter(|t| !t.is_empty())
        })
        .await
    }

    /// Waits until the element with this test id reads `expected`.
    pub async fn wait_text(&self, id: &str, expected: &str, within: Duration) {
        eventually(within, &format!("{id} to read {expected:?}"), || async {
            (self.text(id).await == expected).then_some(())
        })
        .await;
    }

    /// Waits until an attribute of the element with this test id is `expected` (`None`:
    /// absent).
    pub async fn wait_attribute(
        &self,
        id: &str,
        name: &str,
        expected: Option<&str>,
        within: Duration,
    ) {
        eventually(
            within,
            &format!("{id}'s {name} to be {expected:?}"),
            || async { (self.attribute(id, name).await.as_deref() == expected).then_some(()) },
        )
        .await;
    }

    /// Waits until an element with this test id is on the page.
    pub async fn wait_exists(&self, id: &str, within: Duration) {
        eventually(within, &format!("{id} on the page"), || async {
            self.exists(id).await.then_some(())
        })
        .await;
    }

    /// Waits until `n` elements with this test id are on the page.
    pub async fn wait_count(&self, id: &str, n: usize, within: Duration) {
        eventually(within, &format!("{n} of {id}"), || async {
            (self.count(id).await == n).then_some(())
        })
        .await;
    }

    /// Resizes the window to each width in turn and fails on whatever sticks out of `view`
    /// there (see [`Page::overflow_at_width`]).
    pub async fn assert_fits(&self, view: &str, widths: &[u32]) {
        for &width in widths {
            let overflowing = self.overflow_at_width(width).await;
            assert!(
                overflowing.is_empty(),
                "{view} at {width}: {overflowing:#?}"
            );
        }
    }

    /// Waits until the element with this test id is hidden (`true`) or shown (`false`) by
    /// its `hidden` attribute.
    pub async fn wait_hidden(&self, id: &str, hidden: bool, within: Duration) {
        let what = format!("{id} to be {}", if hidden { "hidden" } else { "shown" });
        eventually(within, &what, || async {
            (self.attribute(id, "hidden").await.is_some() == hidden).then_some(())
        })
        .await;
    }

    /// Waits until the element with this test id shows some text; returns it.
    pub async fn wait_some_text(&self, id: &str, within: Duration) -> String {
        eventually(within, &format!("text in {id}"), || async {
            let text = self.text(id).await;
            (!text.is_empty()).then_some(text)
        })
        .await
    }
}
