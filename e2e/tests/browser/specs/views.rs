//! What holds across the views: the keyboard shortcuts between them, every view's fit on a
//! laptop and a projector, and the console check every spec ends with.

use std::time::Duration;

use fantoccini::key::Key;

use crate::fixture::{with_browser, with_playground};
use crate::harness::{Stack, eventually};
use crate::page::Playground;

#[tokio::test]
async fn keyboard_shortcuts_switch_views_and_modes_but_not_while_typing() {
    with_playground(Stack::start(), async |stack, page| {
        let client = &page.browser.client;
        let press = |key: String| async move {
            let body = client.find(fantoccini::Locator::Css("body")).await.unwrap();
            body.send_keys(&key).await.unwrap();
        };
        press("3".into()).await;
        eventually(Duration::from_secs(15), "the console view", || async {
            page.current_url().await.ends_with("/console").then_some(())
        })
        .await;
        // Typed into the console, a digit is the line's.
        page.fill("console-input", "XLEN 2").await;
        assert_eq!(page.value("console-input").await.as_deref(), Some("XLEN 2"));
        assert!(page.current_url().await.ends_with("/console"));

        press("?".into()).await;
        page.wait_hidden("shortcut-help", false, Duration::from_secs(15))
            .await;
        let list = page.text("shortcut-help").await;
        assert!(list.contains("projector mode on or off"), "{list}");
        press(Key::Escape.to_string()).await;
        page.wait_hidden("shortcut-help", true, Duration::from_secs(15))
            .await;
        press("p".into()).await;
        let projector = "projector-toggle";
        page.wait_attribute(
            projector,
            "aria-pressed",
            Some("true"),
            Duration::from_secs(15),
        )
        .await;
        press("1".into()).await;
        eventually(Duration::from_secs(15), "the playground", || async {
            (page.current_url().await == stack.url()).then_some(())
        })
        .await;
    })
    .await;
}

#[tokio::test]
async fn every_view_fits_a_1280_px_laptop_and_a_1920_px_projector() {
    let stack = Stack::start_then(async |stack| {
        let (claim, _) = stack.submit_for("CUST-WIDTH", "1234.56").await;
        stack.transition(&claim, "review").await;
    });
    with_playground(stack, async |stack, page| {
        let last = stack.stream_ids().await.pop().unwrap();
        page.wait_for_entry(&last, Duration::from_secs(20)).await;
        for view in ["playground", "lab", "console", "analytics", "instructor"] {
            page.click(&format!("nav-{view}")).await;
            page.assert_fits(view, &[1280, 1366, 1920]).await;
        }
    })
    .await;
}

#[tokio::test]
async fn the_console_check_sees_errors_the_page_logs() {
    with_browser(Stack::start(), async |stack, browser| {
        let _page = Playground::open(browser, &stack.url()).await;
        browser
            .client
            .execute("console.error('planted by the test')", vec![])
            .await
            .unwrap();
        let errors = browser.console_errors().await;
        assert!(
            errors.iter().any(|e| e.contains("planted by the test")),
            "{errors:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn a_click_waits_for_what_covers_its_target_to_go() {
    with_browser(Stack::start(), async |stack, browser| {
        let page = Playground::open(browser, &stack.url()).await;
        browser
            .client
            .execute(
                "const cover = document.createElement('div');
                 cover.style = 'position: fixed; inset: 0; z-index: 1000';
                 document.body.append(cover);
                 setTimeout(() => cover.remove(), 3000);",
                vec![],
            )
            .await
            .unwrap();
        page.click("nav-lab").await;
        page.wait_hidden("lab-panel", false, Duration::from_secs(10))
            .await;
    })
    .await;
}
