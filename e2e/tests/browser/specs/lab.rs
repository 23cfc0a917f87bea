//! The lab view: steps that turn done by what Redis shows, each step's quiz, "show me", and
//! the completion report.

use std::time::Duration;

use crate::fixture::with_laptop_playground;
use crate::harness::{Stack, eventually};
use crate::page::{Console, Lab};

#[tokio::test]
async fn a_lab_step_turns_done_by_itself_and_the_report_downloads() {
    with_laptop_playground(Stack::start(), async |_, page| {
        page.click("nav-lab").await;
        assert!(page.current_url().await.ends_with("/lab"));
        let lab = Lab::on(page);
        lab.wait_task_done("environment", Duration::from_secs(10))
            .await;
        assert_eq!(
            lab.task_done("append_three").await.as_deref(),
            Some("false")
        );
        let console = Console::on(page);
        for n in 1..=3 {
            console
                .line(&format!(
                    "XADD claims:events * type claim_submitted claim_id c-{n}"
                ))
                .await;
            console
                .wait_count("console-entry", n, Duration::from_secs(15))
                .await;
        }
        lab.wait_task_done("append_three", Duration::from_secs(10))
            .await;
        assert_eq!(lab.text("lab-progress").await, "3 of 11 tasks done");
        lab.screenshot_at("lab", "20-lab-step-done").await;

        lab.click("report-md").await;
        let report = lab.report_file();
        let text = eventually(Duration::from_secs(10), "the report file", || async {
            std::fs::read_to_string(&report)
                .ok()
                .filter(|t| !t.is_empty())
        })
        .await;
        assert!(
            text.starts_with("# claimstream lab: completion report"),
            "{text}"
        );
        assert!(
            text.contains("## [x] Claims can be submitted and tracked"),
            "{text}"
        );
        assert!(
            text.contains("## [ ] Consumer groups process events"),
            "{text}"
        );

        lab.assert_fits("the lab", &[1280, 1920]).await;
    })
    .await;
}

/// Every command shows as redis-cli, node-redis v4 or redis-py code: one switch sets it for
/// the lab's examples and the console's lines alike, and a reload keeps the choice.
#[tokio::test]
async fn commands_show_in_the_learners_language_and_a_reload_keeps_it() {
    with_laptop_playground(Stack::start(), async |_, page| {
        let within = Duration::from_secs(15);
        page.click("nav-lab").await;
        let lab = Lab::on(page);
        // The first task's example: the environment's check.
        lab.wait_text("lab-example", "PING", within).await;
        let console = Console::on(page);
        console.line("XADD orders * type demo").await;
        console.wait_count("console-entry", 1, within).await;
        assert!(!console.exists("console-snippet").await);

        page.click_css("[data-testid=lab-panel] [data-testid=language-node]")
            .await;
        console
            .wait_text(
                "console-snippet",
                "await client.xAdd('orders', '*', { type: 'demo' });",
                within,
            )
            .await;
        lab.wait_text("lab-example", "await client.ping();", within)
            .await;
        page.click_css("[data-testid=console] [data-testid=language-python]")
            .await;
        lab.wait_text("lab-example", "r.ping()", within).await;
        console
            .wait_text(
                "console-snippet",
                "r.xadd('orders', {'type': 'demo'})",
                within,
            )
            .await;
        lab.screenshot_at("lab-panel", "26-lab-in-python").await;

        page.browser.client.refresh().await.unwrap();
        page.wait_connected().await;
        lab.wait_text("lab-example", "r.ping()", within).await;
        page.click_css("[data-testid=lab-panel] [data-testid=language-cli]")
            .await;
        lab.wait_text("lab-example", "PING", within).await;
        page.assert_no_console_errors().await;
    })
    .await;
}

/// A mistake typed in the console (XREAD on a stream that has a consumer group) is explained
/// at once in the console's answer and at the lab task it concerns, with the line that showed it.
#[tokio::test]
async fn a_hint_appears_after_a_mistake_typed_in_the_console() {
    with_laptop_playground(Stack::start(), async |_, page| {
        let within = Duration::from_secs(15);
        page.click("nav-lab").await;
        let lab = Lab::on(page);
        lab.wait_task_done("environment", within).await;
        assert!(!lab.exists("lab-hint-read_as_c1").await);
        let console = Console::on(page);
        let lines = [
            "XADD claims:events * type claim_submitted claim_id c-1",
            "XGROUP CREATE claims:events claims-processors 0",
            "XREAD COUNT 5 STREAMS claims:events 0",
        ];
        for (n, line) in lines.into_iter().enumerate() {
            console.line(line).await;
            console.wait_count("console-entry", n + 1, within).await;
        }
        let hint = lab.wait_hint("read_as_c1", within).await;
        assert!(hint.contains("XREADGROUP GROUP"), "{hint}");
        assert!(
            hint.contains("XREAD COUNT 5 STREAMS claims:events 0"),
            "{hint}"
        );
        assert!(
            console
                .text("console-hint")
                .await
                .contains("XREAD reads a stream as a plain reader")
        );
        lab.screenshot_at("lab", "27-lab-hint").await;
        page.assert_no_console_errors().await;
    })
    .await;
}

/// A step's question answered wrongly, then rightly: each time the page says which, and why;
/// a reload keeps the answer.
#[tokio::test]
async fn a_quiz_answered() {
    with_laptop_playground(Stack::start(), async |_, page| {
        let within = Duration::from_secs(15);
        page.click("nav-lab").await;
        let lab = Lab::on(page);
        lab.wait_exists("quiz-streams_ids_grow", within).await;
        assert_eq!(
            lab.attribute("quiz-streams_ids_grow", "data-answered")
                .await
                .as_deref(),
            Some("false")
        );
        assert!(!lab.exists("quiz-streams_ids_grow-explanation").await);

        lab.answer("streams_ids_grow", 1).await;
        let wrong = lab.wait_verdict("streams_ids_grow", false, within).await;
        assert!(wrong.starts_with("Not quite."), "{wrong}");
        assert!(wrong.contains("append-only"), "{wrong}");
        lab.answer("streams_ids_grow", 0).await;
        let right = lab.wait_verdict("streams_ids_grow", true, within).await;
        assert!(right.starts_with("Right."), "{right}");
        lab.screenshot_at("lab-step-streams", "28-lab-quiz-answered")
            .await;

        page.browser.client.refresh().await.unwrap();
        page.wait_connected().await;
        lab.wait_verdict("streams_ids_grow", true, within).await;
        assert_eq!(
            lab.attribute("quiz-streams_ids_grow-choice-0", "aria-pressed")
                .await
                .as_deref(),
            Some("true")
        );
        page.assert_no_console_errors().await;
    })
    .await;
}

/// "Show me" runs a task's commands in the learner's workspace: they show with their replies
/// (in the page's language), and the task turns done with help.
#[tokio::test]
async fn show_me_completes_a_task() {
    with_laptop_playground(Stack::start(), async |_, page| {
        let within = Duration::from_secs(15);
        page.click("nav-lab").await;
        let lab = Lab::on(page);
        lab.wait_task_done("environment", within).await;
        assert_eq!(
            lab.task_done("append_three").await.as_deref(),
            Some("false")
        );

        lab.show_me("append_three").await;
        lab.wait_task_done("append_three", within).await;
        let shown = lab.wait_shown("append_three", within).await;
        assert_eq!(
            shown
                .matches("> XADD claims:events * type claim_submitted")
                .count(),
            3,
            "{shown}"
        );
        assert_eq!(
            lab.attribute("lab-task-append_three", "data-helped")
                .await
                .as_deref(),
            Some("true")
        );
        assert!(
            lab.text("lab-task-append_three")
                .await
                .contains("(done with help)"),
        );
        lab.screenshot_at("lab-step-streams", "29-lab-show-me")
            .await;

        page.click_css("[data-testid=lab-panel] [data-testid=language-node]")
            .await;
        eventually(within, "the shown lines in node-redis", || async {
            lab.text("lab-shown-append_three")
                .await
                .contains("> await client.xAdd('claims:events', '*'")
                .then_some(())
        })
        .await;
        page.assert_no_console_errors().await;
    })
    .await;
}
