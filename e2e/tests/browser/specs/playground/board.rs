//! The board: its time travel over the stream and the rebuild of its projection.

use std::time::Duration;

use fantoccini::key::Key;

use crate::fixture::{with_laptop_playground, with_playground};
use crate::harness::{Stack, eventually};

#[tokio::test]
async fn the_time_slider_shows_the_board_as_it_was_after_an_entry_and_now_returns_to_live() {
    with_playground(Stack::start(), async |stack, page| {
        let (first, _) = stack.submit_for("CUST-T1", "10.00").await;
        let (_, second) = stack.submit_for("CUST-T2", "20.00").await;
        stack.submit_for("CUST-T3", "30.00").await;
        let reviewed = stack.transition(&first, "review").await;
        page.wait_for_entry(&reviewed, Duration::from_secs(20))
            .await;

        // The first entry, then one step on: just after the second submission.
        page.press_on_slider(&[Key::Home, Key::Right]).await;
        page.wait_travelled_to(&second).await;
        let replayed = page.text("travel-replayed").await;
        assert!(replayed.starts_with("Replayed 2 events"), "{replayed}");
        assert_eq!(page.text("travel-count-submitted").await, "2");
        assert_eq!(page.text("travel-count-under_review").await, "0");
        assert_eq!(page.text("travel-total").await, "2");
        assert_eq!(page.count("travel-claim").await, 2);
        assert!(page.text("travel-point").await.starts_with(&second));
        page.screenshot_at("travel-panel", "14-time-travel").await;

        page.click("travel-now").await;
        page.wait_travelled_to(&reviewed).await;
        assert_eq!(page.text("travel-total").await, "3");
        assert_eq!(page.text("travel-count-submitted").await, "2");
        assert_eq!(page.text("travel-count-under_review").await, "1");
        assert_eq!(page.count("travel-claim").await, 3);
        let panel = page.text("redis-panel").await;
        assert!(panel.contains("XRANGE claims:events"), "{panel}");
    })
    .await;
}

#[tokio::test]
async fn the_time_slider_reaches_entries_older_than_the_page_holds() {
    // 1,000 entries a millisecond apart; the page loads the newest 100.
    let stack = Stack::start_then(async |stack| stack.xadd_spread(1_000, 1_000).await);
    with_playground(stack, async |_, page| {
        assert_eq!(page.text("timeline-count").await, "100 entries");
        // One step per older entry (900 of them, a millisecond each), then one per entry held.
        page.wait_attribute("travel-slider", "max", Some("999"), Duration::from_secs(10))
            .await;

        page.press_on_slider(&[Key::Home]).await;
        page.wait_travelled_to("1000-0").await;
        assert!(page.text("travel-point").await.starts_with('≈'));
        assert_eq!(page.text("travel-total").await, "1");
        page.press_on_slider(&[Key::Right]).await;
        page.wait_travelled_to("1001-0").await;
        assert_eq!(page.text("travel-total").await, "2");
        page.press_on_slider(&[Key::End, Key::Left]).await;
        page.wait_travelled_to("1998-0").await;
        assert_eq!(
            page.attribute("travel-replayed", "data-events")
                .await
                .as_deref(),
            Some("999")
        );
    })
    .await;
}

#[tokio::test]
async fn rebuilding_the_projection_fills_the_progress_bar_to_done_and_keeps_the_counts() {
    with_laptop_playground(Stack::start(), async |stack, page| {
        let (first, _) = stack.submit_for("CUST-R1", "10.00").await;
        stack.submit_for("CUST-R1", "20.00").await;
        stack.submit_for("CUST-R2", "30.00").await;
        stack.transition(&first, "review").await;
        eventually(
            Duration::from_secs(10),
            "the projection to apply all 4 entries",
            || async {
                let claims = page.text("projection-claims").await;
                let behind = page.text("projection-behind").await;
                (claims == "3" && behind == "up to date").then_some(())
            },
        )
        .await;
        eventually(Duration::from_secs(10), "the board's counts", || async {
            (page.board_counts().await == ["2", "1", "0", "0", "0"]).then_some(())
        })
        .await;
        let customers = page.text("projection-customers").await;
        // A new group was built from the first event when the relay started, on an empty stream.
        let before = page.text("rebuild-state").await;
        assert!(
            before.starts_with("done: 0 / 0 entries replayed"),
            "{before}"
        );

        page.click("projection-rebuild").await;
        // The text first: once it is a new "done: ...", the rebuild has finished. (Read the
        // other way round, the old run's "done" state could pass with the new request's text.)
        let state = eventually(Duration::from_secs(15), "the rebuild to finish", || async {
            let text = page.text("rebuild-state").await;
            let done = page
                .attribute("rebuild-state", "data-state")
                .await
                .as_deref()
                == Some("done");
            (done && text.starts_with("done: ") && text != before).then_some(text)
        })
        .await;
        assert!(state.starts_with("done: 4 / 4 entries replayed"), "{state}");
        assert_eq!(
            page.attribute("rebuild-progress", "value").await.as_deref(),
            Some("4")
        );
        assert_eq!(
            page.attribute("rebuild-progress", "max").await.as_deref(),
            Some("4")
        );
        assert_eq!(page.text("projection-claims").await, "3");
        assert_eq!(page.text("projection-customers").await, customers);
        assert_eq!(page.board_counts().await, ["2", "1", "0", "0", "0"]);
        let panel = page.text("redis-panel").await;
        assert!(panel.contains("POST /api/projections/rebuild"), "{panel}");

        // Everything fits a 1280-px window.
        let overflowing = page
            .overflowing(&["travel-panel", "projection-panel"])
            .await;
        assert!(overflowing.is_empty(), "{overflowing:#?}");
        page.screenshot_at("projection-panel", "15-projection-rebuilt")
            .await;
    })
    .await;
}
