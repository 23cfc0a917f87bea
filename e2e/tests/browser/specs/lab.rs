//! The lab view: steps that turn done by what Redis shows, and the completion report.

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
