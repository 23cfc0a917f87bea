//! A claim: the form that submits it, the buttons that move it, its detail, its notes and
//! the history slider over its events.

use std::time::Duration;

use crate::fixture::with_playground;
use crate::harness::{Stack, eventually};
use crate::page::Playground;

#[tokio::test]
async fn a_claim_goes_through_its_lifecycle_by_the_buttons_offering_only_allowed_transitions() {
    with_playground(Stack::start(), async |stack, page| {
        page.open_new_claim("CUST-002", "250.00", "Cracked windscreen")
            .await;
        page.wait_status("submitted").await;
        assert_eq!(page.offered_actions().await, ["review", "reject"]);

        page.click("action-review").await;
        page.wait_status("under_review").await;
        assert_eq!(page.offered_actions().await, ["approve", "reject"]);

        page.click("action-approve").await;
        page.wait_status("approved").await;
        assert_eq!(page.offered_actions().await, ["pay"]);
        page.screenshot("03-claim-approved").await;

        page.click("action-pay").await;
        page.wait_status("paid").await;
        assert!(page.offered_actions().await.is_empty(), "paid is final");
        assert_eq!(page.text("claim-version").await, "4");
        assert_eq!(stack.stream_ids().await.len(), 4);
        page.screenshot("04-claim-paid").await;
    })
    .await;
}

#[tokio::test]
async fn invalid_form_input_shows_the_error_and_appends_nothing() {
    with_playground(Stack::start(), async |stack, page| {
        page.send_claim_form("CUST 001", "12.345", "").await;
        page.wait_some_text("error-amount", Duration::from_secs(15))
            .await;
        assert_eq!(
            page.text("error-amount").await,
            "must have at most 2 decimals"
        );
        assert!(
            page.text("error-customer_id")
                .await
                .contains("may only contain")
        );
        assert_eq!(page.text("error-description").await, "must not be empty");
        page.screenshot("05-invalid-form").await;
        // Corrected and sent again: the valid claim is the first and only entry, so the invalid
        // one never reached the stream before it.
        let (_, entry_id) = page.submit_claim("CUST-001", "12.34", "Hail").await;
        assert_eq!(stack.stream_ids().await, vec![entry_id]);
    })
    .await;
}

#[tokio::test]
async fn rejecting_needs_a_reason_and_ends_the_claim() {
    with_playground(Stack::start(), async |stack, page| {
        page.open_new_claim("CUST-004", "80.00", "Lost luggage")
            .await;

        page.click("action-reject").await;
        let error = page.text("action-error").await;
        assert_eq!(error, "reason: must not be empty");
        assert_eq!(
            stack.stream_ids().await.len(),
            1,
            "nothing appended without a reason"
        );

        page.fill("reject-reason", "not covered by the policy")
            .await;
        page.click("action-reject").await;
        page.wait_status("rejected").await;
        assert!(page.offered_actions().await.is_empty());
        let detail = page.text("claim-detail").await;
        assert!(detail.contains("not covered by the policy"), "{detail}");
        assert!(detail.contains("rejected is final"), "{detail}");
        page.screenshot("09-rejected").await;
    })
    .await;
}

#[tokio::test]
async fn the_history_slider_shows_the_claim_as_it_was_after_each_event() {
    with_playground(Stack::start(), async |stack, page| {
        page.fill("currency", "EUR").await;
        page.fill("policy_number", "POL-2026-12").await;
        let (claim_id, _) = page
            .submit_claim("CUST-005", "120.50", "Storm damage to the roof")
            .await;
        // Two notes and a review from colleagues, through the API.
        for note in [
            r#"{"adjuster":"Ana","note":"Photos received","document":"roof.jpg"}"#,
            r#"{"adjuster":"Ana","note":"Called the roofer"}"#,
        ] {
            stack
                .post(&format!("api/claims/{claim_id}/notes"), note)
                .await;
        }
        stack
            .post(&format!("api/claims/{claim_id}/review"), "{}")
            .await;

        page.open_claim(&claim_id).await;
        page.wait_status("under_review").await;
        page.wait_history_len(4).await;
        assert_eq!(page.text("claim-amount").await, "120.50 EUR");
        assert_eq!(page.text("claim-policy").await, "POL-2026-12");
        assert_eq!(page.text("claim-notes").await, "2");
        assert_eq!(
            page.text("claim-loaded-from").await,
            "folded from all 4 events"
        );
        // It opens on the newest event, the state the claim is in now.
        assert_eq!(page.text("history-step").await, "4");
        assert_eq!(page.highlighted_step().await.as_deref(), Some("4"));

        page.slide_history_to(2).await;
        history_shows(page, ["submitted", "2", "1 note"]).await;
        assert_eq!(page.highlighted_step().await.as_deref(), Some("2"));
        let state = page.text("history-state").await;
        assert!(state.contains("120.50 EUR"), "{state}");
        page.screenshot_at("claim-history", "14-history-step-2")
            .await;

        page.slide_history_to(4).await;
        history_shows(page, ["under_review", "4", "2 notes"]).await;
        assert_eq!(page.highlighted_step().await.as_deref(), Some("4"));
        let history = page.text("claim-history").await;
        assert!(
            history.contains("Ana") && history.contains("roof.jpg"),
            "{history}"
        );
        let board = page.text("board").await;
        assert!(board.contains("120.50 EUR"), "{board}");

        page.assert_fits("the claim page", &[1280]).await;
        page.screenshot_at("role", "15-claim-page-1280").await;
    })
    .await;
}

#[tokio::test]
async fn a_history_longer_than_a_page_of_the_api_shows_every_event() {
    with_playground(Stack::start(), async |stack, page| {
        let (claim_id, _) = page
            .submit_claim("CUST-007", "80.00", "Flooded cellar")
            .await;
        // 250 notes another program appended, then one through the API, which indexes them:
        // 252 events, more than the 200 one answer of GET /api/claims/{id}/events holds.
        let notes: Vec<String> = (0..250).map(|n| format!("note {n}")).collect();
        stack.xadd_notes(&claim_id, "CUST-007", &notes).await;
        stack
            .post(
                &format!("api/claims/{claim_id}/notes"),
                r#"{"adjuster":"Ana","note":"the last one"}"#,
            )
            .await;

        page.open_claim(&claim_id).await;
        page.wait_history_len(252).await;
        assert_eq!(page.text("history-step").await, "252");
        history_shows(page, ["submitted", "252", "251 notes"]).await;
        // The first event of the second page, folded on from the first page's last.
        page.slide_history_to(201).await;
        history_shows(page, ["submitted", "201", "200 notes"]).await;
    })
    .await;
}

#[tokio::test]
async fn a_note_added_through_the_form_appears_in_the_history_until_the_claim_is_closed() {
    with_playground(Stack::start(), async |stack, page| {
        let claim_id = page
            .open_new_claim("CUST-006", "75.00", "Broken phone screen")
            .await;
        page.wait_history_len(1).await;

        // Checked in the browser first: nothing is sent.
        page.add_note("", "", "../etc/passwd").await;
        page.wait_some_text("error-adjuster", Duration::from_secs(15))
            .await;
        assert_eq!(page.text("error-note").await, "must not be empty");
        assert!(
            page.text("error-document").await.contains("file name"),
            "a path is not a document name"
        );
        assert_eq!(stack.stream_ids().await.len(), 1);

        page.add_note("Ben", "Repair estimate received", "estimate.pdf")
            .await;
        page.wait_history_len(2).await;
        let history = page.text("claim-history").await;
        assert!(
            history.contains("claim_note_added")
                && history.contains("Repair estimate received")
                && history.contains("estimate.pdf"),
            "{history}"
        );
        assert_eq!(page.text("claim-notes").await, "1");
        history_shows(page, ["submitted", "2", "1 note"]).await;
        assert_eq!(page.value("note").await.as_deref(), Some(""));
        let redis = page.text("redis-panel").await;
        assert!(
            redis.contains(&format!("POST /api/claims/{claim_id}/notes")),
            "{redis}"
        );
        page.screenshot_at("claim-detail", "16-note-added").await;

        // A closed claim takes no more notes, so the form goes.
        page.fill("reject-reason", "not covered").await;
        page.click("action-reject").await;
        page.wait_status("rejected").await;
        assert!(!page.exists("note-form").await);
    })
    .await;
}

#[tokio::test]
async fn entries_another_program_wrote_show_upcast_and_a_status_without_from() {
    with_playground(Stack::start(), async |stack, page| {
        // What the lab's own scripts append: no `v`, and an update naming only the new status.
        stack
            .raw_xadd(&[
                ("type", "claim_submitted"),
                ("claim_id", "claim_lab_1"),
                ("customer_id", "CUST-LAB"),
                ("amount", "1500"),
                ("description", "Bumper"),
                ("submitted_at", "2026-11-21T09:00:00.000Z"),
            ])
            .await;
        let update = stack
            .raw_xadd(&[
                ("type", "claim_status_updated"),
                ("claim_id", "claim_lab_1"),
                ("customer_id", "CUST-LAB"),
                ("status", "under_review"),
                ("updated_at", "2026-11-21T09:05:00.000Z"),
            ])
            .await;
        page.wait_for_entry(&update, Duration::from_secs(20)).await;
        let row = page.text("timeline").await;
        assert!(row.contains("→ under_review"), "{row}");
        assert!(!row.contains("None"), "{row}");

        eventually(
            Duration::from_secs(5),
            "the relay to index both",
            || async {
                let (_, events) = stack.get("api/claims/claim_lab_1/events").await;
                (events["events"].as_array()?.len() == 2).then_some(())
            },
        )
        .await;
        page.open_claim_from_timeline(&update, "claim_lab_1").await;
        page.wait_history_len(2).await;
        assert_eq!(page.text("claim-amount").await, "1500.00 USD");
        let history = page.text("claim-history").await;
        assert_eq!(history.matches("v0 → v2 upcast").count(), 2, "{history}");
        // With its claim's history, the update knows where it came from.
        assert!(history.contains("submitted → under_review"), "{history}");
        page.screenshot_at("claim-history", "17-upcast").await;
    })
    .await;
}

/// The lab's code approves straight from submitted and pays without naming the customer: the
/// claim folds to paid for its customer, and the history marks the leap.
#[tokio::test]
async fn a_step_the_lab_took_outside_the_lifecycle_is_folded_and_marked() {
    with_playground(Stack::start(), async |stack, page| {
        stack
            .raw_xadd(&[
                ("type", "claim_submitted"),
                ("claim_id", "claim_lab_2"),
                ("customer_id", "CUST-LAB"),
                ("amount", "1500"),
                ("description", "Bumper"),
                ("submitted_at", "2026-11-21T09:00:00.000Z"),
                ("status", "pending"),
            ])
            .await;
        stack
            .raw_xadd(&[
                ("type", "claim_status_updated"),
                ("claim_id", "claim_lab_2"),
                ("status", "auto_approved"),
                ("reviewer", "auto_system"),
                ("updated_at", "2026-11-21T09:05:00.000Z"),
            ])
            .await;
        let paid = stack
            .raw_xadd(&[
                ("type", "claim_paid"),
                ("claim_id", "claim_lab_2"),
                ("amount", "1500"),
                ("payment_method", "bank_transfer"),
                ("paid_at", "2026-11-22T10:00:00.000Z"),
                ("status", "paid"),
            ])
            .await;
        page.wait_for_entry(&paid, Duration::from_secs(20)).await;
        eventually(
            Duration::from_secs(5),
            "the relay to index all three",
            || async {
                let (_, events) = stack.get("api/claims/claim_lab_2/events").await;
                (events["events"].as_array()?.len() == 3).then_some(())
            },
        )
        .await;
        page.open_claim_from_timeline(&paid, "claim_lab_2").await;
        page.wait_history_len(3).await;
        page.wait_status("paid").await;
        let history = page.text("claim-history").await;
        assert_eq!(
            history.matches("outside the lifecycle").count(),
            1,
            "{history}"
        );
        assert!(history.contains("submitted → approved"), "{history}");
        assert_eq!(page.count("outside-lifecycle").await, 1);
        page.screenshot_at("claim-history", "18-outside-the-lifecycle")
            .await;
    })
    .await;
}

/// Asserts the state the history shows for its step: status, version and notes.
async fn history_shows(page: &Playground<'_>, expected: [&str; 3]) {
    let (status, version, notes) = page.history_state().await;
    assert_eq!(
        [status.as_str(), version.as_str(), notes.as_str()],
        expected
    );
}

/// The claim's story: the request that submitted it, the review and approval
/// `claims-processors` took because of it, each under its cause, and the notifications.
#[tokio::test]
async fn the_claim_page_draws_what_caused_what() {
    let stack = Stack::start_with(|c| {
        c.workers = true;
        c.consumers = 1;
    });
    with_playground(stack, async |_, page| {
        page.open_new_claim("CUST-007", "40.00", "Broken fence")
            .await;
        page.wait_status("approved").await;
        let drawn = page.trace_causes_until("notification", 2).await;
        let without_summaries: Vec<(&str, usize)> = drawn
            .iter()
            .filter(|(kind, _)| kind != "analytics")
            .map(|(kind, depth)| (kind.as_str(), *depth))
            .collect();
        assert_eq!(
            without_summaries,
            [
                ("request", 0),
                ("event", 1),
                ("event", 2),
                ("event", 3),
                ("notification", 4),
                ("notification", 2),
            ]
        );
        page.screenshot_at("claim-causes", "32-claim-causes").await;
    })
    .await;
}

/// A command the lifecycle refuses leaves no event, but the command log keeps it with the
/// rule's reason.
#[tokio::test]
async fn the_command_log_keeps_a_refusal_with_its_reason() {
    with_playground(Stack::start(), async |stack, page| {
        let claim = page
            .open_new_claim("CUST-008", "90.00", "Dented door")
            .await;
        assert_eq!(stack.try_transition(&claim, "pay").await, 409);
        page.select("commands-outcome", "refused").await;
        let rows = page.command_rows(1).await;
        let (outcome, text) = &rows[0];
        assert_eq!(outcome, "refused");
        assert!(text.starts_with("pay"), "{text}");
        assert!(
            text.contains(&claim) && text.contains("cannot pay"),
            "{text}"
        );
        page.select("commands-outcome", "").await;
        let all = page.command_rows(2).await;
        let outcomes: Vec<&str> = all.iter().map(|(o, _)| o.as_str()).collect();
        assert_eq!(outcomes, ["refused", "applied"]);
        page.screenshot_at("commands-panel", "33-command-log").await;
    })
    .await;
}
