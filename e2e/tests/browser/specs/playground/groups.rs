//! The consumer groups' panel: consumers crashed and their entries claimed, dead letters
//! replayed one by one and in bulk.

use std::time::Duration;

use crate::fixture::{with_playground, with_playground_logging};
use crate::harness::{Stack, eventually, one_consumer, two_deliveries};
use crate::page::Playground;

#[tokio::test]
async fn a_crashed_consumers_pending_entries_show_then_move_when_claimed() {
    with_playground(Stack::start_with(one_consumer), async |stack, page| {
        let group = "claims-notifications";
        page.text(&format!("group-{group}")).await;

        // Every notification fails, so entries pile up pending on the one consumer.
        page.fill(&format!("inject-ratio-{group}"), "100").await;
        page.click(&format!("inject-{group}")).await;
        eventually(
            Duration::from_secs(15),
            "the injection to apply",
            || async {
                page.text("redis-panel")
                    .await
                    .contains("entries fail")
                    .then_some(())
            },
        )
        .await;
        for n in 1..=3 {
            stack.submit(&format!("{n}.00")).await;
        }
        let row = format!("consumer-{group}-notifier-1");
        page.wait_attribute(&row, "data-pending", Some("3"), Duration::from_secs(10))
            .await;
        page.click(&format!("crash-{group}-notifier-1")).await;
        eventually(
            Duration::from_secs(5),
            "notifier-1 to show as stopped",
            || async { page.text(&row).await.contains("stopped").then_some(()) },
        )
        .await;
        page.screenshot_at("groups", "10-consumer-crashed").await;
        assert_eq!(
            page.value(&format!("inject-ratio-{group}"))
                .await
                .as_deref(),
            Some("100"),
            "what was typed survives the refreshes"
        );

        page.fill(&format!("inject-ratio-{group}"), "0").await;
        page.click(&format!("inject-{group}")).await;
        page.click(&format!("add-consumer-{group}")).await;
        let fresh = format!("consumer-{group}-notifier-2");
        page.text(&fresh).await;
        page.click(&format!("claim-now-{group}")).await;
        page.wait_text(&format!("pending-{group}"), "0", Duration::from_secs(15))
            .await;
        let panel = page.text("redis-panel").await;
        assert!(
            panel.contains("XAUTOCLAIM claims:events claims-notifications notifier-2"),
            "{panel}"
        );
        assert!(
            panel.contains("3 idle entries moved to notifier-2"),
            "{panel}"
        );
        let notified = stack.xlen("claims:notifications").await;
        assert_eq!(notified, 3);
        page.screenshot_at("groups", "11-claimed-and-drained").await;
    })
    .await;
}

#[tokio::test]
async fn a_poisoned_entry_reaches_the_dead_letters_and_replays_once_the_poison_is_gone() {
    poisoned_entry_replays_from_the_page(Stack::start_with(two_deliveries), 1).await;
}

#[tokio::test]
async fn with_partitions_a_dead_letter_replays_from_the_page_by_its_partitions_name() {
    let stack = Stack::start_with(|c| {
        two_deliveries(c);
        c.partitions = 3;
    });
    poisoned_entry_replays_from_the_page(stack, 3).await;
}

/// Poisons one claim for claims-notifications, then replays its letter from the page: in
/// vain while the poison stays, then for good.
async fn poisoned_entry_replays_from_the_page(stack: impl Future<Output = Stack>, partitions: u32) {
    let refused = "/replay - Failed to load resource: the server responded with a status of 409";
    with_playground_logging(&[refused], stack, async |stack, page| {
        let group = "api/groups/claims-notifications";
        page.text("group-claims-notifications").await;
        stack
            .post(&format!("{group}/pause"), r#"{"paused":true}"#)
            .await;
        // A read already blocking when the pause came may still return one batch (BLOCK is 1 s).
        tokio::time::sleep(Duration::from_millis(1_200)).await;
        let claim = stack.submit("9.00").await;
        stack
            .post(
                &format!("{group}/inject"),
                &format!(r#"{{"poison_claim":"{claim}"}}"#),
            )
            .await;
        stack
            .post(&format!("{group}/pause"), r#"{"paused":false}"#)
            .await;

        page.wait_text("dead-letter-count", "1", Duration::from_secs(10))
            .await;
        let letter = page.text("dead-letter").await;
        assert!(
            letter.contains("claims-notifications") && letter.contains("2 attempts"),
            "{letter}"
        );
        assert!(
            letter.contains(&format!("claim {claim} is poisoned")),
            "{letter}"
        );
        page.screenshot_at("dead-letters", "12-dead-letter").await;

        page.click("replay-dead-letter").await;
        let error = page.text("dead-letter-error").await;
        assert!(error.starts_with("the replay failed again"), "{error}");

        stack.post(&format!("{group}/inject"), "{}").await;
        page.click("replay-dead-letter").await;
        page.wait_text("dead-letter-count", "0", Duration::from_secs(15))
            .await;
        let panel = page.text("redis-panel").await;
        let failed = backend::store::keys::Partitions::new(partitions)
            .unwrap()
            .of(&claim)
            .failed();
        assert!(panel.contains(&format!("XDEL {failed} ")), "{panel}");
        let notified = stack.xlen("claims:notifications").await;
        assert_eq!(notified, 1);
    })
    .await;
}

#[tokio::test]
async fn dead_letters_replay_in_bulk_after_a_confirmation_that_says_how_many() {
    with_playground(Stack::start_with(two_deliveries), async |stack, page| {
        let group = "api/groups/claims-notifications";
        page.text("group-claims-notifications").await;
        stack
            .post(&format!("{group}/inject"), r#"{"fail_ratio":1.0}"#)
            .await;
        for amount in ["1.00", "2.00", "3.00"] {
            stack.submit(amount).await;
        }
        page.wait_count("dead-letter", 3, Duration::from_secs(15))
            .await;
        stack.post(&format!("{group}/inject"), "{}").await;

        // One ticked, then replayed after its confirmation.
        page.click("select-dead-letter").await;
        page.click("replay-selected").await;
        asks(page, "Replay 1 letter selected?").await;
        page.click("confirm-replay").await;
        page.wait_count("dead-letter", 2, Duration::from_secs(20))
            .await;

        // The rest of the group, counted before anything moves.
        page.click("replay-all-claims-notifications").await;
        asks(page, "Replay 2 letters of claims-notifications?").await;
        assert_eq!(page.count("dead-letter").await, 2);
        page.screenshot_at("dead-letters", "17-bulk-replay-confirm")
            .await;
        page.click("confirm-replay").await;
        let result = page.text("replay-result").await;
        assert!(
            result.starts_with("Replayed 2 letters; 0 failed again"),
            "{result}"
        );
        page.wait_text("dead-letter-count", "0", Duration::from_secs(10))
            .await;
        // The list emptied, and the result stays for the instructor to read.
        page.wait_count("dead-letter", 0, Duration::from_secs(10))
            .await;
        assert_eq!(page.text("replay-result").await, result);
        let notified = stack.xlen("claims:notifications").await;
        assert_eq!(notified, 3);
    })
    .await;
}

/// Asserts that the replay's confirmation asks `question`.
async fn asks(page: &Playground<'_>, question: &str) {
    let asked = page.text("replay-confirm").await;
    assert!(asked.starts_with(question), "{asked}");
}

/// A group's lag in time: red when its oldest entry not yet delivered has waited long, up to
/// date once it has read everything.
#[tokio::test]
async fn a_group_behind_in_time_shows_how_far_in_red_until_it_reads() {
    with_playground(Stack::start(), async |stack, page| {
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        // A stream begun two minutes ago, and a group that has read none of it.
        stack.xadd_spread(now_ms - 120_000, 3).await;
        let mut redis = stack.redis().await;
        let _: () = redis::cmd("XGROUP")
            .arg(&["CREATE", "claims:events", "auditors", "0"])
            .query_async(&mut redis)
            .await
            .unwrap();
        let behind = "lag-ms-auditors";
        page.wait_attribute(behind, "data-level", Some("red"), Duration::from_secs(15))
            .await;
        let text = page.text(behind).await;
        assert!(text.ends_with("min behind"), "{text}");
        page.screenshot_at("groups", "27-group-behind").await;

        let _: redis::Value = redis::cmd("XREADGROUP")
            .arg(&["GROUP", "auditors", "a", "STREAMS", "claims:events", ">"])
            .query_async(&mut redis)
            .await
            .unwrap();
        page.wait_text(behind, "up to date", Duration::from_secs(15))
            .await;
        assert_eq!(
            page.attribute(behind, "data-level").await.as_deref(),
            Some("ok")
        );
    })
    .await;
}

/// Rewinding a group from its card: the preview says what it would be given again before
/// anything moves; the move keeps its lag known, and shows what Redis ran.
#[tokio::test]
async fn an_instructor_rewinds_a_group_after_a_preview_and_its_lag_stays_known() {
    with_playground(Stack::start(), async |stack, page| {
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        stack.xadd_spread(now_ms - 10_000, 5).await;
        let mut redis = stack.redis().await;
        let _: () = redis::cmd("XGROUP")
            .arg(&["CREATE", "claims:events", "auditors", "$"])
            .query_async(&mut redis)
            .await
            .unwrap();
        let within = Duration::from_secs(15);
        page.wait_text("lag-auditors", "0", within).await;

        page.fill("position-value-auditors", "3").await;
        page.click("position-preview-auditors").await;
        page.wait_exists("position-plan-auditors", within).await;
        let plan = page.text("position-plan-auditors").await;
        assert!(plan.contains("would give 3 entries again"), "{plan}");
        assert_eq!(
            stack.group_lag("auditors").await,
            Some(0),
            "a preview moves nothing"
        );
        page.screenshot_at("group-auditors", "29-rewind-preview")
            .await;

        page.click("position-move-auditors").await;
        page.wait_text("lag-auditors", "3", within).await;
        assert_eq!(stack.group_lag("auditors").await, Some(3));
        let panel = page.text("redis-panel").await;
        assert!(panel.contains("gives 3 entries again"), "{panel}");
        assert!(panel.contains("EVALSHA"), "{panel}");
    })
    .await;
}

/// A single pending entry acknowledged from the group card: only it leaves the pending list;
/// another claimed to a consumer named on the card, refused while not idle long enough.
#[tokio::test]
async fn an_instructor_acknowledges_one_pending_entry_and_claims_another_from_the_card() {
    // The refused claim's 409, which Chromium logs.
    with_playground_logging(&["409"], Stack::start(), async |stack, page| {
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        stack.xadd_spread(now_ms - 10_000, 3).await;
        let mut redis = stack.redis().await;
        let _: () = redis::cmd("XGROUP")
            .arg(&["CREATE", "claims:events", "readers", "0"])
            .query_async(&mut redis)
            .await
            .unwrap();
        let _: redis::Value = redis::cmd("XREADGROUP")
            .arg(&["GROUP", "readers", "c1", "STREAMS", "claims:events", ">"])
            .query_async(&mut redis)
            .await
            .unwrap();
        let within = Duration::from_secs(15);
        page.wait_text("pending-readers", "3", within).await;
        let first = format!("{}-0", now_ms - 10_000);
        page.click(&format!("pending-ack-readers-{first}")).await;
        page.wait_text("pending-readers", "2", within).await;
        assert!(!page.exists(&format!("pending-entry-readers-{first}")).await);
        let panel = page.text("redis-panel").await;
        assert!(
            panel.contains(&format!("XACK claims:events readers {first}")),
            "{panel}"
        );
        page.screenshot_at("group-readers", "31-pending-acked")
            .await;

        // The next one, to a consumer named on the card, once it has been idle long enough.
        let second = format!("{}-0", now_ms - 10_000 + 1);
        page.fill("claim-to-readers", "c2").await;
        page.fill("claim-min-idle-readers", "3600000").await;
        page.click(&format!("pending-claim-readers-{second}")).await;
        let refusal = page
            .wait_css_text("[data-testid=group-readers] [role=alert]", within)
            .await;
        assert!(
            refusal.contains("less than min_idle_ms 3600000; it stays with c1"),
            "{refusal}"
        );
        page.fill("claim-min-idle-readers", "0").await;
        page.click(&format!("pending-claim-readers-{second}")).await;
        eventually(within, "the entry to move to c2", || async {
            let entry = page.text(&format!("pending-entry-readers-{second}")).await;
            entry.contains(" c2 ").then_some(())
        })
        .await;
        let panel = page.text("redis-panel").await;
        assert!(
            panel.contains(&format!("XCLAIM claims:events readers c2 0 {second}")),
            "{panel}"
        );
    })
    .await;
}
