//! The console view: Redis commands typed by a learner, with history, completion and refusals
//! that explain themselves.

use std::time::Duration;

use fantoccini::key::Key;

use crate::fixture::with_browser;
use crate::harness::{Stack, eventually};
use crate::page::Console;

#[tokio::test]
async fn the_console_runs_commands_with_history_completion_and_explained_refusals() {
    with_browser(Stack::start(), async |stack, browser| {
        browser.client.set_window_size(1280, 900).await.unwrap();
        let page = Console::open(browser, &stack.url()).await;

        page.line("XADD orders * type demo").await;
        page.wait_count("console-entry", 1, Duration::from_secs(15))
            .await;
        let added = page.text("console-output").await;
        assert!(
            added.starts_with("> XADD orders * type demo\n\""),
            "{added}"
        );

        // Tab completes the key just made; the usage of the command shows while typing.
        page.fill("console-input", "XLEN ord").await;
        eventually(Duration::from_secs(15), "the usage of XLEN", || async {
            page.text("console-usage")
                .await
                .starts_with("XLEN key")
                .then_some(())
        })
        .await;
        page.press(Key::Tab).await;
        assert_eq!(page.input().await.as_deref(), Some("XLEN orders "));
        page.press(Key::Enter).await;
        page.wait_output_ends_with("(integer) 1", "the length")
            .await;

        page.line("FLUSHALL").await;
        page.wait_exists("console-hint", Duration::from_secs(15))
            .await;
        let output = page.text("console-output").await;
        assert!(output.contains("FLUSHALL is not allowed here"), "{output}");
        page.screenshot_at("console", "19-console").await;

        // A reload keeps the history and the workspace.
        browser.client.refresh().await.unwrap();
        page.wait_connected().await;
        page.press(Key::Up).await;
        assert_eq!(page.input().await.as_deref(), Some("FLUSHALL"));
        page.line("XLEN orders").await;
        page.wait_output_ends_with("(integer) 1", "the same workspace")
            .await;
        page.assert_fits("the console", &[1280]).await;
        page.assert_no_console_errors().await;
    })
    .await;
}
