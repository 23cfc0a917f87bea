//! One test per behaviour a learner relies on.

use std::time::Duration;

use fantoccini::key::Key;

use crate::harness::{Browser, Stack, eventually};
use crate::page::Playground;

#[tokio::test]
async fn a_submitted_claim_appears_in_the_timeline_within_2_s_and_in_redis() {
    let stack = Stack::start().await;
    let browser = Browser::launch().await;
    let page = Playground::open(&browser, &stack.url()).await;

    page.submit_claim("CUST-001", "5000.00", "Water damage")
        .await;
    let (claim_id, entry_id) = page.submitted().await;
    page.wait_for_entry(&entry_id, Duration::from_secs(20))
        .await;

    assert!(claim_id.starts_with("CLM-"));
    assert_eq!(stack.stream_ids().await, vec![entry_id.clone()]);
    // The append shows as the EVALSHA that was sent, its XADD inside it as one atomic step.
    let sent = page.text("redis-command").await;
    assert!(sent.starts_with("EVALSHA "), "{sent}");
    let inside = page.text("redis-atomic").await;
    assert!(inside.contains("one atomic step"), "{inside}");
    assert!(
        inside.contains("XADD claims:events * type claim_submitted"),
        "{inside}"
    );
    page.screenshot_at("redis-panel", "01-submitted-redis")
        .await;
    page.screenshot("01-submitted").await;
    page.assert_no_console_errors().await;
    browser.close().await;
}

#[tokio::test]
async fn an_entry_added_straight_to_redis_appears_live() {
    let stack = Stack::start().await;
    let browser = Browser::launch().await;
    let page = Playground::open(&browser, &stack.url()).await;

    let id = stack
        .raw_xadd(&[
            ("type", "claim_submitted"),
            ("v", "1"),
            ("claim_id", "CLM-FROM-CLI"),
            ("customer_id", "CUST-9"),
            ("timestamp", "2026-11-23T10:00:00.000Z"),
            ("amount", "42.00"),
            ("description", "typed in redis-cli"),
        ])
        .await;
    let junk = stack.raw_xadd(&[("hello", "world")]).await;
    page.wait_for_entry(&id, Duration::from_secs(20)).await;
    page.wait_for_entry(&junk, Duration::from_secs(20)).await;
    let timeline = page.text("timeline").await;
    assert!(timeline.contains("CLM-FROM-CLI"), "{timeline}");
    let raw = page.inspect(&junk).await;
    assert!(
        raw.contains("Not a claim event: missing field `type`"),
        "{raw}"
    );
    assert!(raw.contains("hello") && raw.contains("world"), "{raw}");
    page.screenshot("02-raw-xadd").await;
    page.assert_no_console_errors().await;
    browser.close().await;
}

#[tokio::test]
async fn a_claim_goes_through_its_lifecycle_by_the_buttons_offering_only_allowed_transitions() {
    let stack = Stack::start().await;
    let browser = Browser::launch().await;
    let page = Playground::open(&browser, &stack.url()).await;

    page.submit_claim("CUST-002", "250.00", "Cracked windscreen")
        .await;
    let (claim_id, _) = page.submitted().await;
    page.open_claim(&claim_id).await;
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
    page.assert_no_console_errors().await;
    browser.close().await;
}

#[tokio::test]
async fn invalid_form_input_shows_the_error_and_appends_nothing() {
    let stack = Stack::start().await;
    let browser = Browser::launch().await;
    let page = Playground::open(&browser, &stack.url()).await;

    page.submit_claim("CUST 001", "12.345", "").await;
    eventually(Duration::from_secs(15), "the amount error", || async {
        let text = page.text("error-amount").await;
        (!text.is_empty()).then_some(text)
    })
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
    page.submit_claim("CUST-001", "12.34", "Hail").await;
    let (_, entry_id) = page.submitted().await;
    assert_eq!(stack.stream_ids().await, vec![entry_id]);
    page.assert_no_console_errors().await;
    browser.close().await;
}

#[tokio::test]
async fn two_browser_windows_see_each_others_claims_live() {
    let stack = Stack::start().await;
    let (first, second) = tokio::join!(Browser::launch(), Browser::launch());
    let a = Playground::open(&first, &stack.url()).await;
    let b = Playground::open(&second, &stack.url()).await;

    a.submit_claim("CUST-A", "10.00", "from window A").await;
    let (_, from_a) = a.submitted().await;
    b.submit_claim("CUST-B", "20.00", "from window B").await;
    let (_, from_b) = b.submitted().await;

    b.wait_for_entry(&from_a, Duration::from_secs(20)).await;
    a.wait_for_entry(&from_b, Duration::from_secs(20)).await;
    assert_eq!(a.timeline_ids().await, b.timeline_ids().await);
    a.assert_no_console_errors().await;
    b.assert_no_console_errors().await;
    first.close().await;
    second.close().await;
}

#[tokio::test]
async fn after_a_relay_restart_the_timeline_shows_what_was_added_meanwhile_exactly_once() {
    let mut stack = Stack::start().await;
    let browser = Browser::launch().await;
    let page = Playground::open(&browser, &stack.url()).await;
    page.submit_claim("CUST-003", "30.00", "before the restart")
        .await;
    let (_, before) = page.submitted().await;
    page.wait_for_entry(&before, Duration::from_secs(20)).await;

    stack.stop_relay().await;
    eventually(Duration::from_secs(15), "the page to notice", || async {
        let state = page.text("connection-status").await;
        state.contains("Disconnected").then_some(())
    })
    .await;
    page.screenshot("06-disconnected").await;
    let mut meanwhile = Vec::new();
    for n in 0..3 {
        meanwhile.push(
            stack
                .raw_xadd(&[("note", &format!("added while the relay was down #{n}"))])
                .await,
        );
    }
    stack.start_relay().await;

    page.wait_connected().await;
    for id in &meanwhile {
        page.wait_for_entry(id, Duration::from_secs(20)).await;
    }
    let mut expected = stack.stream_ids().await;
    expected.reverse();
    assert_eq!(
        page.timeline_ids().await,
        expected,
        "each entry exactly once, newest first"
    );
    page.screenshot("07-reconnected").await;
    page.assert_no_console_errors().await;
    browser.close().await;
}

#[tokio::test]
async fn the_console_check_sees_errors_the_page_logs() {
    let stack = Stack::start().await;
    let browser = Browser::launch().await;
    let _page = Playground::open(&browser, &stack.url()).await;
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
    browser.close().await;
}

#[tokio::test]
async fn the_timeline_keeps_the_dom_small_with_thousands_of_entries_and_pages_back_on_scroll() {
    let stack = Stack::start().await;
    stack.xadd_many(12_000).await;
    let browser = Browser::launch().await;
    let page = Playground::open(&browser, &stack.url()).await;
    assert_eq!(page.text("timeline-count").await, "100 entries");

    // Thousands more arrive live while the page is open, at 400 a second: half of what the
    // page takes in on a quiet machine, so a loaded one still keeps up.
    let newest = stack
        .xadd_paced(2_000, 200, Duration::from_millis(500))
        .await;
    page.wait_for_entry(&newest, Duration::from_secs(30)).await;
    assert_eq!(page.text("timeline-count").await, "2100 entries");
    let rows = page.timeline_ids().await.len();
    assert!(rows <= 40, "{rows} rows in the DOM");

    // Scrolling to the end pages older entries in from the stream.
    let count: usize = eventually(Duration::from_secs(20), "older entries", || async {
        browser
            .client
            .execute(
                "const t = document.querySelector('[data-testid=timeline]'); t.scrollTop = t.scrollHeight;",
                vec![],
            )
            .await
            .unwrap();
        let text = page.text("timeline-count").await;
        let n: usize = text.split(' ').next()?.parse().ok()?;
        (n > 2100).then_some(n)
    })
    .await;
    assert_eq!((count - 2100) % 200, 0, "whole pages of 200: {count}");
    assert!(page.timeline_ids().await.len() <= 40);
    page.screenshot("08-many-entries").await;
    page.assert_no_console_errors().await;
    browser.close().await;
}

#[tokio::test]
async fn rejecting_needs_a_reason_and_ends_the_claim() {
    let stack = Stack::start().await;
    let browser = Browser::launch().await;
    let page = Playground::open(&browser, &stack.url()).await;
    page.submit_claim("CUST-004", "80.00", "Lost luggage").await;
    let (claim_id, _) = page.submitted().await;
    page.open_claim(&claim_id).await;

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
    page.assert_no_console_errors().await;
    browser.close().await;
}

#[tokio::test]
async fn a_crashed_consumers_pending_entries_show_then_move_when_claimed() {
    let stack = Stack::start_with(|c| {
        c.workers = true;
        c.auto_review = false;
        c.consumers = 1;
    })
    .await;
    let browser = Browser::launch().await;
    let page = Playground::open(&browser, &stack.url()).await;
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
    eventually(
        Duration::from_secs(10),
        "3 pending on notifier-1",
        || async {
            (page.attribute(&row, "data-pending").await.as_deref() == Some("3")).then_some(())
        },
    )
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
    eventually(
        Duration::from_secs(15),
        "the pending count to fall to 0",
        || async { (page.text(&format!("pending-{group}")).await == "0").then_some(()) },
    )
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
    page.assert_no_console_errors().await;
    browser.close().await;
}

#[tokio::test]
async fn a_poisoned_entry_reaches_the_dead_letters_and_replays_once_the_poison_is_gone() {
    let stack = Stack::start_with(|c| {
        c.workers = true;
        c.auto_review = false;
        c.consumers = 1;
        c.max_deliveries = 2;
    })
    .await;
    poisoned_entry_replays_from_the_page(stack, 1).await;
}

#[tokio::test]
async fn with_partitions_a_dead_letter_replays_from_the_page_by_its_partitions_name() {
    let stack = Stack::start_with(|c| {
        c.workers = true;
        c.auto_review = false;
        c.consumers = 1;
        c.max_deliveries = 2;
        c.partitions = 3;
    })
    .await;
    poisoned_entry_replays_from_the_page(stack, 3).await;
}

/// Poisons one claim for claims-notifications, then replays its letter from the page: in
/// vain while the poison stays, then for good.
async fn poisoned_entry_replays_from_the_page(stack: Stack, partitions: u32) {
    let browser = Browser::launch().await;
    let page = Playground::open(&browser, &stack.url()).await;
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

    eventually(Duration::from_secs(10), "a dead letter", || async {
        (page.text("dead-letter-count").await == "1").then_some(())
    })
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
    eventually(Duration::from_secs(15), "the letter to go", || async {
        (page.text("dead-letter-count").await == "0").then_some(())
    })
    .await;
    let panel = page.text("redis-panel").await;
    let failed = backend::store::keys::Partitions::new(partitions)
        .unwrap()
        .of(&claim)
        .failed();
    assert!(panel.contains(&format!("XDEL {failed} ")), "{panel}");
    let notified = stack.xlen("claims:notifications").await;
    assert_eq!(notified, 1);
    page.assert_console_errors_only(&[
        "/replay - Failed to load resource: the server responded with a status of 409",
    ])
    .await;
    browser.close().await;
}

#[tokio::test]
async fn instructor_controls_show_only_in_a_browser_given_the_token() {
    let stack = Stack::start_with(|c| {
        c.workers = true;
        c.instructor_token = Some("e2e-token".into());
    })
    .await;
    let browser = Browser::launch().await;
    let group = "claims-notifications";
    let page = Playground::open(&browser, &stack.url()).await;
    eventually(Duration::from_secs(10), "the learner role", || async {
        (page.text("role").await == "learner").then_some(())
    })
    .await;
    // The group's figures are there for learners; its controls are not.
    eventually(Duration::from_secs(10), "a consumer row", || async {
        page.exists(&format!("consumer-{group}-notifier-1"))
            .await
            .then_some(())
    })
    .await;
    assert!(!page.exists(&format!("add-consumer-{group}")).await);
    assert!(!page.exists(&format!("crash-{group}-notifier-1")).await);
    assert!(!page.exists("projection-rebuild").await);
    page.screenshot("12-learner").await;
    // Where versions before the session cookie kept the token: the app removes it.
    browser
        .client
        .execute(
            "localStorage.setItem('claimstream.instructor_token', 'e2e-token')",
            vec![],
        )
        .await
        .unwrap();

    browser.client.goto("about:blank").await.unwrap();
    let page = Playground::open(&browser, &format!("{}#token=e2e-token", stack.url())).await;
    eventually(Duration::from_secs(10), "the instructor role", || async {
        (page.text("role").await == "instructor").then_some(())
    })
    .await;
    assert!(
        !page.current_url().await.contains("token"),
        "the token stays in the address bar"
    );
    assert!(page.exists("projection-rebuild").await);
    page.click(&format!("add-consumer-{group}")).await;
    eventually(Duration::from_secs(10), "the added consumer", || async {
        page.exists(&format!("consumer-{group}-notifier-3"))
            .await
            .then_some(())
    })
    .await;
    page.screenshot("13-instructor").await;
    page.assert_no_console_errors().await;

    // The token was exchanged for an HttpOnly cookie: page script finds it nowhere.
    let storage = browser
        .client
        .execute(
            "return JSON.stringify(Object.entries(localStorage))",
            vec![],
        )
        .await
        .unwrap();
    assert!(
        !storage.as_str().unwrap().contains("e2e-token"),
        "the token is in local storage: {storage}"
    );
    // A page again without the token is the instructor's, by the cookie alone.
    browser.client.goto("about:blank").await.unwrap();
    let page = Playground::open(&browser, &stack.url()).await;
    eventually(
        Duration::from_secs(10),
        "the instructor role again",
        || async { (page.text("role").await == "instructor").then_some(()) },
    )
    .await;
    // The cookie's path is /api: a document there is sent it but cannot read it.
    browser
        .client
        .goto(&format!("{}api/session", stack.url()))
        .await
        .unwrap();
    let seen = browser
        .client
        .execute("return [document.body.innerText, document.cookie]", vec![])
        .await
        .unwrap();
    let [body, cookie] = [&seen[0], &seen[1]].map(|v| v.as_str().unwrap().to_owned());
    assert!(body.contains("instructor"), "{body}");
    assert_eq!(cookie, "", "page script reads the session cookie");
    browser.close().await;
}

#[tokio::test]
async fn the_history_slider_shows_the_claim_as_it_was_after_each_event() {
    let stack = Stack::start().await;
    let browser = Browser::launch().await;
    let page = Playground::open(&browser, &stack.url()).await;

    page.fill("currency", "EUR").await;
    page.fill("policy_number", "POL-2026-12").await;
    page.submit_claim("CUST-005", "120.50", "Storm damage to the roof")
        .await;
    let (claim_id, _) = page.submitted().await;
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
    assert_eq!(
        page.history_state().await,
        ("submitted".into(), "2".into(), "1 note".into())
    );
    assert_eq!(page.highlighted_step().await.as_deref(), Some("2"));
    let state = page.text("history-state").await;
    assert!(state.contains("120.50 EUR"), "{state}");
    page.screenshot_at("claim-history", "14-history-step-2")
        .await;

    page.slide_history_to(4).await;
    assert_eq!(
        page.history_state().await,
        ("under_review".into(), "4".into(), "2 notes".into())
    );
    assert_eq!(page.highlighted_step().await.as_deref(), Some("4"));
    let history = page.text("claim-history").await;
    assert!(
        history.contains("Ana") && history.contains("roof.jpg"),
        "{history}"
    );
    let board = page.text("board").await;
    assert!(board.contains("120.50 EUR"), "{board}");

    let sticking_out = page.overflow_at_width(1280).await;
    assert!(sticking_out.is_empty(), "{sticking_out:#?}");
    page.screenshot_at("role", "15-claim-page-1280").await;
    page.assert_no_console_errors().await;
    browser.close().await;
}

#[tokio::test]
async fn a_history_longer_than_a_page_of_the_api_shows_every_event() {
    let stack = Stack::start().await;
    let browser = Browser::launch().await;
    let page = Playground::open(&browser, &stack.url()).await;
    page.submit_claim("CUST-007", "80.00", "Flooded cellar")
        .await;
    let (claim_id, _) = page.submitted().await;
    // 250 notes another program appended, then one through the API, which indexes them:
    // 252 events, more than the 200 one answer of GET /api/claims/{id}/events holds.
    let mut pipe = redis::pipe();
    for n in 0..250 {
        pipe.cmd("XADD")
            .arg("claims:events")
            .arg("*")
            .arg(&[
                ("type", "claim_note_added"),
                ("v", "2"),
                ("claim_id", claim_id.as_str()),
                ("customer_id", "CUST-007"),
                ("timestamp", "2026-11-23T10:00:00.000Z"),
                ("adjuster", "Ada"),
                ("note", &format!("note {n}")),
            ])
            .ignore();
    }
    let () = pipe.query_async(&mut stack.redis().await).await.unwrap();
    stack
        .post(
            &format!("api/claims/{claim_id}/notes"),
            r#"{"adjuster":"Ana","note":"the last one"}"#,
        )
        .await;

    page.open_claim(&claim_id).await;
    page.wait_history_len(252).await;
    assert_eq!(page.text("history-step").await, "252");
    assert_eq!(
        page.history_state().await,
        ("submitted".into(), "252".into(), "251 notes".into())
    );
    // The first event of the second page, folded on from the first page's last.
    page.slide_history_to(201).await;
    assert_eq!(
        page.history_state().await,
        ("submitted".into(), "201".into(), "200 notes".into())
    );
    page.assert_no_console_errors().await;
    browser.close().await;
}

#[tokio::test]
async fn a_note_added_through_the_form_appears_in_the_history_until_the_claim_is_closed() {
    let stack = Stack::start().await;
    let browser = Browser::launch().await;
    let page = Playground::open(&browser, &stack.url()).await;
    page.submit_claim("CUST-006", "75.00", "Broken phone screen")
        .await;
    let (claim_id, _) = page.submitted().await;
    page.open_claim(&claim_id).await;
    page.wait_history_len(1).await;

    // Checked in the browser first: nothing is sent.
    page.add_note("", "", "../etc/passwd").await;
    eventually(Duration::from_secs(15), "the adjuster error", || async {
        let text = page.text("error-adjuster").await;
        (!text.is_empty()).then_some(text)
    })
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
    assert_eq!(
        page.history_state().await,
        ("submitted".into(), "2".into(), "1 note".into())
    );
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
    page.assert_no_console_errors().await;
    browser.close().await;
}

#[tokio::test]
async fn entries_another_program_wrote_show_upcast_and_a_status_without_from() {
    let stack = Stack::start().await;
    let browser = Browser::launch().await;
    let page = Playground::open(&browser, &stack.url()).await;

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
    page.assert_no_console_errors().await;
    browser.close().await;
}

#[tokio::test]
async fn the_time_slider_shows_the_board_as_it_was_after_an_entry_and_now_returns_to_live() {
    let stack = Stack::start().await;
    let browser = Browser::launch().await;
    let page = Playground::open(&browser, &stack.url()).await;

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
    page.assert_no_console_errors().await;
    browser.close().await;
}

#[tokio::test]
async fn the_time_slider_reaches_entries_older_than_the_page_holds() {
    let stack = Stack::start().await;
    // 1,000 entries a millisecond apart; the page loads the newest 100.
    stack.xadd_spread(1_000, 1_000).await;
    let browser = Browser::launch().await;
    let page = Playground::open(&browser, &stack.url()).await;
    assert_eq!(page.text("timeline-count").await, "100 entries");
    // One step per older entry (900 of them, a millisecond each), then one per entry held.
    eventually(
        Duration::from_secs(10),
        "the slider over the whole stream",
        || async {
            (page.attribute("travel-slider", "max").await.as_deref() == Some("999")).then_some(())
        },
    )
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
    page.assert_no_console_errors().await;
    browser.close().await;
}

#[tokio::test]
async fn rebuilding_the_projection_fills_the_progress_bar_to_done_and_keeps_the_counts() {
    let stack = Stack::start().await;
    let browser = Browser::launch().await;
    browser.client.set_window_size(1280, 900).await.unwrap();
    let page = Playground::open(&browser, &stack.url()).await;

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
        (board_counts(&page).await == ["2", "1", "0", "0", "0"]).then_some(())
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
    let state = eventually(Duration::from_secs(15), "the rebuild to finish", || async {
        let done = page
            .attribute("rebuild-state", "data-state")
            .await
            .as_deref()
            == Some("done");
        let text = page.text("rebuild-state").await;
        (done && text != before).then_some(text)
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
    assert_eq!(board_counts(&page).await, ["2", "1", "0", "0", "0"]);
    let panel = page.text("redis-panel").await;
    assert!(panel.contains("POST /api/projections/rebuild"), "{panel}");

    // Everything fits a 1280-px window.
    let overflowing = page
        .overflowing(&["travel-panel", "projection-panel"])
        .await;
    assert!(overflowing.is_empty(), "{overflowing:#?}");
    page.screenshot_at("projection-panel", "15-projection-rebuilt")
        .await;
    page.assert_no_console_errors().await;
    browser.close().await;
}

/// The board's count per status, in the order the statuses go.
async fn board_counts(page: &Playground<'_>) -> Vec<String> {
    let mut counts = Vec::new();
    for status in ["submitted", "under_review", "approved", "paid", "rejected"] {
        counts.push(page.text(&format!("board-count-{status}")).await);
    }
    counts
}

#[tokio::test]
async fn the_dashboards_charts_move_as_events_arrive() {
    let stack = Stack::start_with(|c| {
        c.workers = true;
        c.auto_review = false;
        c.consumers = 1;
    })
    .await;
    let browser = Browser::launch().await;
    browser.client.set_window_size(1280, 900).await.unwrap();
    let page = Playground::open(&browser, &stack.url()).await;
    page.click("analytics-toggle").await;
    let length = "analytics-length-value-claims:events";
    eventually(Duration::from_secs(10), "the first samples", || async {
        (page.attribute(length, "data-value").await.as_deref() == Some("0")).then_some(())
    })
    .await;
    let line_before = page
        .attribute("analytics-length-line-claims:events", "points")
        .await;

    for amount in ["10.00", "20.00", "30.00", "40.00", "50.00"] {
        stack.submit(amount).await;
    }
    eventually(Duration::from_secs(10), "the length to reach 5", || async {
        (page.attribute(length, "data-value").await.as_deref() == Some("5")).then_some(())
    })
    .await;
    assert_ne!(
        page.attribute("analytics-length-line-claims:events", "points")
            .await,
        line_before,
        "the length's line was redrawn"
    );
    eventually(
        Duration::from_secs(10),
        "a rate of claims submitted",
        || async {
            let max = page
                .attribute("analytics-rates-line-claim_submitted", "data-max")
                .await?;
            (max.parse::<f64>().ok()? > 0.0).then_some(())
        },
    )
    .await;
    eventually(
        Duration::from_secs(10),
        "the bars of claims and amounts",
        || async {
            let claims = page
                .attribute("analytics-claims-bar-submitted", "data-value")
                .await;
            let amount = page
                .attribute("analytics-amounts-bar-submitted", "data-value")
                .await;
            (claims.as_deref() == Some("5") && amount.as_deref() == Some("150")).then_some(())
        },
    )
    .await;
    assert!(page.exists("lag-chart-claims-notifications").await);

    let overflowing = page.overflowing(&["analytics"]).await;
    assert!(overflowing.is_empty(), "{overflowing:#?}");
    page.screenshot_at("analytics", "16-analytics").await;
    page.assert_no_console_errors().await;
    browser.close().await;
}

#[tokio::test]
async fn dead_letters_replay_in_bulk_after_a_confirmation_that_says_how_many() {
    let stack = Stack::start_with(|c| {
        c.workers = true;
        c.auto_review = false;
        c.consumers = 1;
        c.max_deliveries = 2;
    })
    .await;
    let browser = Browser::launch().await;
    let page = Playground::open(&browser, &stack.url()).await;
    let group = "api/groups/claims-notifications";
    page.text("group-claims-notifications").await;
    stack
        .post(&format!("{group}/inject"), r#"{"fail_ratio":1.0}"#)
        .await;
    for amount in ["1.00", "2.00", "3.00"] {
        stack.submit(amount).await;
    }
    eventually(Duration::from_secs(15), "three dead letters", || async {
        (page.count("dead-letter").await == 3).then_some(())
    })
    .await;
    stack.post(&format!("{group}/inject"), "{}").await;

    // One ticked, then replayed after its confirmation.
    page.click("select-dead-letter").await;
    page.click("replay-selected").await;
    let asked = page.text("replay-confirm").await;
    assert!(asked.starts_with("Replay 1 letter selected?"), "{asked}");
    page.click("confirm-replay").await;
    eventually(Duration::from_secs(20), "two letters left", || async {
        (page.count("dead-letter").await == 2).then_some(())
    })
    .await;

    // The rest of the group, counted before anything moves.
    page.click("replay-all-claims-notifications").await;
    let asked = page.text("replay-confirm").await;
    assert!(
        asked.starts_with("Replay 2 letters of claims-notifications?"),
        "{asked}"
    );
    assert_eq!(page.count("dead-letter").await, 2);
    page.screenshot_at("dead-letters", "17-bulk-replay-confirm")
        .await;
    page.click("confirm-replay").await;
    let result = page.text("replay-result").await;
    assert!(
        result.starts_with("Replayed 2 letters; 0 failed again"),
        "{result}"
    );
    eventually(Duration::from_secs(10), "no letters left", || async {
        (page.text("dead-letter-count").await == "0").then_some(())
    })
    .await;
    let notified = stack.xlen("claims:notifications").await;
    assert_eq!(notified, 3);
    page.assert_no_console_errors().await;
    browser.close().await;
}

#[tokio::test]
async fn a_trim_is_previewed_with_what_stands_against_it_and_runs_only_when_forced() {
    let stack = Stack::start().await;
    let browser = Browser::launch().await;
    browser.client.set_window_size(1280, 900).await.unwrap();
    let page = Playground::open(&browser, &stack.url()).await;
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
    eventually(Duration::from_secs(15), "the preview", || async {
        page.exists("trim-plan").await.then_some(())
    })
    .await;
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
    eventually(
        Duration::from_secs(10),
        "the memory figures read again",
        || async {
            let length = page
                .attribute("memory-key-claims:events", "data-length")
                .await;
            (length.as_deref() == Some("1")).then_some(())
        },
    )
    .await;
    page.assert_no_console_errors().await;
    browser.close().await;
}

/// Types a line into the console and runs it.
async fn console_line(page: &Playground<'_>, line: &str) {
    page.fill("console-input", line).await;
    page.find("console-input")
        .await
        .send_keys(&Key::Enter.to_string())
        .await
        .unwrap();
}

#[tokio::test]
async fn the_console_runs_commands_with_history_completion_and_explained_refusals() {
    let stack = Stack::start().await;
    let browser = Browser::launch().await;
    browser.client.set_window_size(1280, 900).await.unwrap();
    let page = Playground::open(&browser, &format!("{}console", stack.url())).await;

    console_line(&page, "XADD orders * type demo").await;
    eventually(Duration::from_secs(15), "the reply", || async {
        (page.count("console-entry").await == 1).then_some(())
    })
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
    page.find("console-input")
        .await
        .send_keys(&Key::Tab.to_string())
        .await
        .unwrap();
    assert_eq!(
        page.value("console-input").await.as_deref(),
        Some("XLEN orders ")
    );
    page.find("console-input")
        .await
        .send_keys(&Key::Enter.to_string())
        .await
        .unwrap();
    eventually(Duration::from_secs(15), "the length", || async {
        page.text("console-output")
            .await
            .ends_with("(integer) 1")
            .then_some(())
    })
    .await;

    console_line(&page, "FLUSHALL").await;
    eventually(Duration::from_secs(15), "the refusal", || async {
        page.exists("console-hint").await.then_some(())
    })
    .await;
    let output = page.text("console-output").await;
    assert!(output.contains("FLUSHALL is not allowed here"), "{output}");
    page.screenshot_at("console", "19-console").await;

    // A reload keeps the history and the workspace.
    browser.client.refresh().await.unwrap();
    page.wait_connected().await;
    page.find("console-input")
        .await
        .send_keys(&Key::Up.to_string())
        .await
        .unwrap();
    assert_eq!(
        page.value("console-input").await.as_deref(),
        Some("FLUSHALL")
    );
    console_line(&page, "XLEN orders").await;
    eventually(Duration::from_secs(15), "the same workspace", || async {
        page.text("console-output")
            .await
            .ends_with("(integer) 1")
            .then_some(())
    })
    .await;
    let overflowing = page.overflow_at_width(1280).await;
    assert!(overflowing.is_empty(), "{overflowing:#?}");
    page.assert_no_console_errors().await;
    browser.close().await;
}

#[tokio::test]
async fn a_lab_step_turns_done_by_itself_and_the_report_downloads() {
    let stack = Stack::start().await;
    let browser = Browser::launch().await;
    browser.client.set_window_size(1280, 900).await.unwrap();
    let page = Playground::open(&browser, &stack.url()).await;
    page.click("nav-lab").await;
    assert!(page.current_url().await.ends_with("/lab"));
    eventually(Duration::from_secs(10), "the lab read", || async {
        (page
            .attribute("lab-task-environment", "data-done")
            .await
            .as_deref()
            == Some("true"))
        .then_some(())
    })
    .await;
    assert_eq!(
        page.attribute("lab-task-append_three", "data-done")
            .await
            .as_deref(),
        Some("false")
    );
    for n in 1..=3 {
        console_line(
            &page,
            &format!("XADD claims:events * type claim_submitted claim_id c-{n}"),
        )
        .await;
        eventually(Duration::from_secs(15), "the reply", || async {
            (page.count("console-entry").await == n).then_some(())
        })
        .await;
    }
    eventually(Duration::from_secs(10), "the step to turn done", || async {
        let done = page.attribute("lab-task-append_three", "data-done").await;
        (done.as_deref() == Some("true")).then_some(())
    })
    .await;
    assert_eq!(page.text("lab-progress").await, "3 of 11 tasks done");
    page.screenshot_at("lab", "20-lab-step-done").await;

    page.click("report-md").await;
    let report = browser.downloads().join("claimstream-lab-report.md");
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

    for width in [1280, 1920] {
        let overflowing = page.overflow_at_width(width).await;
        assert!(overflowing.is_empty(), "at {width}: {overflowing:#?}");
    }
    page.assert_no_console_errors().await;
    browser.close().await;
}

#[tokio::test]
async fn the_instructor_starts_and_stops_traffic_and_reads_the_checklist() {
    let stack = Stack::start().await;
    let browser = Browser::launch().await;
    let page = Playground::open(&browser, &format!("{}instructor", stack.url())).await;
    eventually(Duration::from_secs(10), "the checklist", || async {
        page.exists("check-redis_reachable").await.then_some(())
    })
    .await;
    page.fill("traffic-rate", "50").await;
    page.click("traffic-start").await;
    eventually(Duration::from_secs(10), "traffic running", || async {
        let state = page.text("traffic-state").await;
        (state.starts_with("running at 50/s") && !state.contains(": 0 events")).then_some(())
    })
    .await;
    page.click("traffic-stop").await;
    let stopped = eventually(Duration::from_secs(10), "traffic stopped", || async {
        let state = page.text("traffic-state").await;
        state.starts_with("stopped").then_some(state)
    })
    .await;
    let events: u64 = stopped
        .trim_start_matches("stopped (")
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(stack.xlen("claims:events").await, events);
    page.screenshot("21-instructor").await;
    // Back to the playground: the timeline shows what the generator appended.
    page.click("nav-playground").await;
    let last = stack.stream_ids().await.pop().expect("generated entries");
    page.wait_for_entry(&last, Duration::from_secs(20)).await;
    page.assert_no_console_errors().await;
    browser.close().await;
}

#[tokio::test]
async fn a_failure_scenario_narrates_each_effect_as_redis_shows_it() {
    let stack = Stack::start_with(|c| c.workers = true).await;
    let browser = Browser::launch().await;
    let page = Playground::open(&browser, &format!("{}instructor", stack.url())).await;
    page.click("scenario-stop-group").await;
    let narration = eventually(
        Duration::from_secs(40),
        "the scenario to finish",
        || async {
            let done = page.attribute("scenario-state", "data-finished").await;
            (done.as_deref() == Some("true")).then_some(())?;
            Some(page.text("narration").await)
        },
    )
    .await;
    assert!(page.text("scenario-state").await.ends_with("done"));
    // One line per effect, in order: paused, lag grown, resumed, drained.
    let lines: Vec<&str> = narration.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 4, "{narration}");
    for (line, says) in lines
        .iter()
        .zip(["Paused", "lag is", "Resumed", "Drained in"])
    {
        assert!(line.contains(says), "{line:?} should say {says:?}");
    }
    // What the narration claims is what Redis shows: the group has caught up.
    let lag = stack.group_lag("claims-analytics").await;
    assert_eq!(lag, Some(0));
    page.screenshot("23-scenario-narrated").await;
    page.assert_no_console_errors().await;
    browser.close().await;
}

#[tokio::test]
async fn projector_mode_shows_the_join_address_and_the_live_panels_large() {
    let stack = Stack::start().await;
    let browser = Browser::launch().await;
    browser.client.set_window_size(1920, 1080).await.unwrap();
    let page = Playground::open(&browser, &format!("{}?projector=1", stack.url())).await;
    let url = eventually(Duration::from_secs(10), "the join address", || async {
        let url = page.text("join-url").await;
        (!url.is_empty()).then_some(url)
    })
    .await;
    assert_eq!(url, stack.url());
    let qr = browser
        .client
        .find(fantoccini::Locator::Css(r#"[data-testid="join"] svg path"#))
        .await
        .expect("the QR code is drawn");
    assert!(qr.attr("d").await.unwrap().unwrap().len() > 100);
    assert_eq!(
        page.attribute("projector-toggle", "aria-pressed")
            .await
            .as_deref(),
        Some("true")
    );
    let claim = stack.submit("42.00").await;
    let id = stack.stream_ids().await.pop().unwrap();
    page.wait_for_entry(&id, Duration::from_secs(20)).await;
    // Only the live panels: the form is out of the way.
    let form_shown = browser
        .client
        .find(fantoccini::Locator::Css(".form-panel"))
        .await
        .unwrap()
        .is_displayed()
        .await
        .unwrap();
    assert!(!form_shown, "{claim}");
    page.settled().await;
    // A 720p projector too, where the zoom leaves the least room.
    for width in [1280, 1920] {
        let overflowing = page.overflow_at_width(width).await;
        assert!(overflowing.is_empty(), "{width}: {overflowing:#?}");
    }
    page.screenshot("22-projector").await;

    page.click("projector-toggle").await;
    eventually(Duration::from_secs(15), "the join box to go", || async {
        page.attribute("join", "hidden")
            .await
            .is_some()
            .then_some(())
    })
    .await;
    page.assert_no_console_errors().await;
    browser.close().await;
}

#[tokio::test]
async fn keyboard_shortcuts_switch_views_and_modes_but_not_while_typing() {
    let stack = Stack::start().await;
    let browser = Browser::launch().await;
    let page = Playground::open(&browser, &stack.url()).await;
    let client = &browser.client;
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
    eventually(Duration::from_secs(15), "the shortcuts' list", || async {
        page.attribute("shortcut-help", "hidden")
            .await
            .is_none()
            .then_some(())
    })
    .await;
    let list = page.text("shortcut-help").await;
    assert!(list.contains("projector mode on or off"), "{list}");
    press(Key::Escape.to_string()).await;
    eventually(Duration::from_secs(15), "the list to close", || async {
        page.attribute("shortcut-help", "hidden")
            .await
            .is_some()
            .then_some(())
    })
    .await;
    press("p".into()).await;
    eventually(Duration::from_secs(15), "projector mode", || async {
        (page
            .attribute("projector-toggle", "aria-pressed")
            .await
            .as_deref()
            == Some("true"))
        .then_some(())
    })
    .await;
    press("1".into()).await;
    eventually(Duration::from_secs(15), "the playground", || async {
        (page.current_url().await == stack.url()).then_some(())
    })
    .await;
    page.assert_no_console_errors().await;
    browser.close().await;
}

#[tokio::test]
async fn every_view_fits_a_1280_px_laptop_and_a_1920_px_projector() {
    let stack = Stack::start().await;
    let (claim, _) = stack.submit_for("CUST-WIDTH", "1234.56").await;
    stack.transition(&claim, "review").await;
    let browser = Browser::launch().await;
    let page = Playground::open(&browser, &stack.url()).await;
    let last = stack.stream_ids().await.pop().unwrap();
    page.wait_for_entry(&last, Duration::from_secs(20)).await;
    for view in ["playground", "lab", "console", "analytics", "instructor"] {
        page.click(&format!("nav-{view}")).await;
        for width in [1280, 1366, 1920] {
            let overflowing = page.overflow_at_width(width).await;
            assert!(
                overflowing.is_empty(),
                "{view} at {width}: {overflowing:#?}"
            );
        }
    }
    page.assert_no_console_errors().await;
    browser.close().await;
}

#[tokio::test]
async fn partitioned_claims_say_their_partition_and_every_entry_arrives() {
    let stack = Stack::start_with(|c| c.partitions = 3).await;
    let browser = Browser::launch().await;
    let page = Playground::open(&browser, &stack.url()).await;
    let partitions = backend::store::keys::Partitions::new(3).unwrap();
    let mut claims = Vec::new();
    for n in 0..9 {
        claims.push(stack.submit_for(&format!("CUST-PART{n}"), "42.00").await);
    }
    let used: std::collections::HashSet<u32> = claims
        .iter()
        .map(|(c, _)| partitions.of(c).index())
        .collect();
    assert!(
        used.len() > 1,
        "the claims all fell in one partition: {claims:?}"
    );
    // Every entry arrives live, though ids of different partitions do not order, and each
    // row says its claim's partition.
    for (claim, entry) in &claims {
        page.wait_for_entry(entry, Duration::from_secs(20)).await;
        let expected = format!("p{}", partitions.of(claim).index());
        let badges = browser
            .client
            .find_all(fantoccini::Locator::Css(&format!(
                r#"[data-entry-id="{entry}"] .part"#
            )))
            .await
            .unwrap();
        let mut said = Vec::new();
        for badge in badges {
            said.push(badge.text().await.unwrap());
        }
        assert!(
            said.contains(&expected),
            "{claim}: {said:?}, expected {expected}"
        );
    }
    // An entry of one partition with an id older than another partition's newest, appended
    // after it (as a busy partition's entries can be): it arrives too, ids order nothing
    // across partitions.
    let mut newest = Vec::new();
    for p in partitions.all() {
        let last: Vec<(String, Vec<(String, String)>)> = redis::cmd("XREVRANGE")
            .arg(p.events())
            .arg("+")
            .arg("-")
            .arg("COUNT")
            .arg(1)
            .query_async(&mut stack.redis().await)
            .await
            .unwrap();
        let ms: u64 = last
            .first()
            .and_then(|(id, _)| id.split('-').next()?.parse().ok())
            .unwrap_or(0);
        newest.push((ms, p));
    }
    newest.sort();
    let ((behind_ms, behind), (ahead_ms, _)) = (newest[0], newest[2]);
    assert!(ahead_ms > behind_ms + 1, "{newest:?}");
    let late = format!("{}-0", behind_ms + 1);
    let _: String = redis::cmd("XADD")
        .arg(behind.events())
        .arg(&late)
        .arg("note")
        .arg("appended late by hand")
        .query_async(&mut stack.redis().await)
        .await
        .unwrap();
    page.wait_for_entry(&late, Duration::from_secs(20)).await;
    // The partition view: a row per partition, each with its length.
    eventually(Duration::from_secs(10), "the partition view", || async {
        let mut rows = 0;
        for p in 0..3 {
            rows += page.count(&format!("partition-{p}")).await;
        }
        (rows == 3).then_some(())
    })
    .await;
    page.screenshot_at("partitions", "25-partition-view").await;
    // A trim names a partition's stream: `claims:events` is not one to trim any more.
    let offered = eventually(
        Duration::from_secs(5),
        "the partitions' streams to trim",
        || async {
            let options = browser
                .client
                .find_all(fantoccini::Locator::Css(
                    r#"[data-testid="trim-stream"] option"#,
                ))
                .await
                .ok()?;
            let mut values = Vec::new();
            for option in options {
                values.push(option.attr("value").await.ok()??);
            }
            values
                .contains(&"claims:events:{2}".to_owned())
                .then_some(values)
        },
    )
    .await;
    assert!(
        !offered.contains(&"claims:events".to_owned()),
        "{offered:?}"
    );
    assert_eq!(
        page.value("trim-stream").await.as_deref(),
        Some("claims:events:{0}")
    );
    let (claim, entry) = &claims[0];
    page.open_claim_from_timeline(entry, claim).await;
    let shown = eventually(Duration::from_secs(10), "the claim's partition", || async {
        page.exists("claim-partition").await.then_some(())?;
        Some(page.text("claim-partition").await)
    })
    .await;
    assert!(
        shown.starts_with(&format!("{} ", partitions.of(claim).index())),
        "{shown}"
    );
    page.screenshot("24-partitions").await;
    page.assert_no_console_errors().await;
    browser.close().await;
}
