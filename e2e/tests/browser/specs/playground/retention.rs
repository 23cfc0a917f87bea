//! The retention panel: a trim previewed with what stands against it, run only when forced,
//! and the memory figures after.

use std::time::Duration;

use crate::fixture::with_laptop_playground;
use crate::harness::{Stack, eventually};

#[tokio::test]
async fn a_trim_is_previewed_with_what_stands_against_it_and_runs_only_when_forced() {
    with_laptop_playground(Stack::start(), async |stack, page| {
        for amount in ["1.00", "2.00", "3.00"] {
            stack.submit(amount).await;
        }
        eventually(
            Duration::from_secs(10),
            "three entries in memory",
            || async {
                page.click("memory-refresh").await;
                let length = page
                    .attribute("memory-key-claims:events", "data-length")
                    .await;
                (length.as_deref() == Some("3")).then_some(())
            },
        )
        .await;

        page.fill("trim-value", "1").await;
        page.click("trim-preview").await;
        page.wait_exists("trim-plan", Duration::from_secs(15)).await;
        assert_eq!(page.text("trim-count").await, "2");
        let blockers = page.text("trim-blockers").await;
        assert!(blockers.contains("no snapshot covers"), "{blockers}");
        assert_eq!(
            page.attribute("trim-run", "disabled").await.as_deref(),
            Some("true"),
            "an unsafe trim waits for force"
        );
        page.screenshot_at("retention", "18-trim-preview").await;
        let before = stack.xlen("claims:events").await;
        assert_eq!(before, 3, "a preview removes nothing");

        page.click("trim-force").await;
        page.click("trim-run").await;
        let result = page.text("trim-result").await;
        assert_eq!(result, "Removed 2 entries; claims:events has 1 now.");
        let after = stack.xlen("claims:events").await;
        assert_eq!(after, 1);
        let memory = "memory-key-claims:events";
        page.wait_attribute(memory, "data-length", Some("1"), Duration::from_secs(10))
            .await;
    })
    .await;
}
