//! The projection debugger: stepping forward and back through the projection, each step's
//! changed fields before and after, and a break on an event type.

use std::time::Duration;

use crate::fixture::with_laptop_playground;
use crate::harness::Stack;

#[tokio::test]
async fn the_projection_steps_forward_and_back_and_breaks_on_an_event_type() {
    with_laptop_playground(Stack::start(), async |stack, page| {
        let first = stack.submit("12.00").await;
        stack.submit("30.00").await;
        for action in ["review", "approve", "pay"] {
            stack.transition(&first, action).await;
        }
        stack.submit("7.00").await;
        let ids = stack.stream_ids().await;
        assert_eq!(ids.len(), 6);
        // The panels above the debugger grow as the entries arrive; a click while they do can
        // land on whatever moved under the pointer. So the page first shows them all.
        page.wait_for_entry(&ids[5], Duration::from_secs(10)).await;
        page.wait_text("projection-position", &ids[5], Duration::from_secs(10))
            .await;

        page.click("debug-start").await;
        assert_eq!(page.wait_debug_step(&ids[0]).await, "claim_submitted");
        // A submission shows its view among what it changed, from nothing.
        page.wait_exists("debug-change", Duration::from_secs(5))
            .await;
        let views = page
            .attribute("debug-change", "data-key")
            .await
            .unwrap_or_default();
        assert!(views.ends_with(":views"), "{views}");
        assert!(page.text("debug-changes").await.contains("– → "));
        assert_eq!(
            page.attribute("debug-back", "disabled").await.as_deref(),
            Some("true")
        );

        page.click("debug-forward").await;
        assert_eq!(page.wait_debug_step(&ids[1]).await, "claim_submitted");
        page.click("debug-back").await;
        assert_eq!(page.wait_debug_step(&ids[0]).await, "claim_submitted");

        // Forward to the payment, past the status updates.
        page.debug_break_on("claim_paid").await;
        page.click("debug-forward").await;
        assert_eq!(page.wait_debug_step(&ids[4]).await, "claim_paid");
        let changes = page.text("debug-changes").await;
        assert!(changes.contains("status:paid"), "{changes}");
        // The claim's view reads as the members the payment changed, not two documents.
        assert!(changes.contains("status: approved → paid"), "{changes}");
        assert!(!changes.contains(r#"{"claim_id""#), "{changes}");
        page.screenshot_at("debug-changes", "33-projection-debugger")
            .await;
        // No payment after it: it stays, saying so.
        page.click("debug-forward").await;
        page.wait_text(
            "debug-note",
            "No claim_paid further on.",
            Duration::from_secs(10),
        )
        .await;
        assert_eq!(page.wait_debug_step(&ids[4]).await, "claim_paid");
        page.click("debug-back").await;
        assert_eq!(page.wait_debug_step(&ids[3]).await, "claim_status_updated");
    })
    .await;
}
