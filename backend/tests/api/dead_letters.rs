use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::fixtures::{inject, letter_every_notification, spawn_workers};
use test_support::{TestApp, error_of};

async fn entries(app: &TestApp, key: &str) -> Vec<Value> {
    let page: Value = app.get_json(&format!("/api/streams/{key}/entries")).await;
    page["entries"].as_array().unwrap().clone()
}

fn field(entry: &Value, name: &str) -> String {
    entry["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|kv| kv[0] == name)
        .map(|kv| kv[1].as_str().unwrap().to_owned())
        .unwrap_or_default()
}

/// Starts a relay whose notifications fail for a poisoned claim, and waits for the letter.
async fn poisoned() -> (TestApp, String, String) {
    let app = spawn_workers(1, false, |c| c.max_deliveries = 2).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    // Submitting first and poisoning right after races the notifier; pause it meanwhile.
    loop {
        let r = app
            .post(
                "/api/groups/claims-notifications/pause",
                &json!({"paused": true}),
            )
            .await;
        if r.status() == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "workers did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // A read already blocking when the pause came may still return one batch (BLOCK is 1 s).
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    let submitted = app.submit("7.00").await;
    for (action, body) in [
        ("inject", json!({"poison_claim": submitted.claim_id})),
        ("pause", json!({"paused": false})),
    ] {
        let r = app
            .post(&format!("/api/groups/claims-notifications/{action}"), &body)
            .await;
        assert_eq!(r.status(), 200);
    }
    let letter = loop {
        let letters = entries(&app, "claims:failed").await;
        if let Some(l) = letters.first() {
            break l["id"].as_str().unwrap().to_owned();
        }
        if Instant::now() > deadline {
            let g: Value = app.get_json("/api/groups").await;
            panic!("no dead letter: {g:#}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    (app, letter, submitted.entry_id)
}

#[tokio::test]
async fn a_dead_letter_replays_once_the_poison_is_removed_and_leaves_a_record() {
    let (app, letter, original) = poisoned().await;
    let path = format!("/api/dead-letters/{letter}/replay");

    let (status, code, message) = error_of(app.post(&path, &json!({})).await).await;
    assert_eq!((status, code.as_str()), (409, "version_conflict"));
    assert!(
        message.starts_with("the replay failed again: claim"),
        "{message}"
    );
    assert_eq!(
        entries(&app, "claims:failed").await.len(),
        1,
        "the letter stays"
    );

    app.post("/api/groups/claims-notifications/inject", &json!({}))
        .await;
    let replayed = app.post(&path, &json!({})).await;
    assert_eq!(replayed.status(), 200);
    let body: Value = replayed.json().await.unwrap();
    assert_eq!(
        body["done"],
        format!("entry {original} processed again; letter {letter} removed")
    );
    assert!(
        body["redis"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c.as_str().unwrap().starts_with("XDEL claims:failed"))
    );

    assert!(entries(&app, "claims:failed").await.is_empty());
    let log = entries(&app, "claims:failed:log").await;
    assert_eq!(field(&log[0], "action"), "replayed");
    assert_eq!(field(&log[0], "original_id"), original);
    let notes = entries(&app, "claims:notifications").await;
    assert_eq!(notes.len(), 1);
    assert_eq!(field(&notes[0], "entry_id"), original);
}

#[tokio::test]
async fn a_dead_letter_can_be_discarded_and_unknown_ones_are_404() {
    let (app, letter, _) = poisoned().await;
    let discarded = app
        .post(&format!("/api/dead-letters/{letter}/discard"), &json!({}))
        .await;
    assert_eq!(discarded.status(), 200);
    assert!(entries(&app, "claims:failed").await.is_empty());
    assert_eq!(
        field(&entries(&app, "claims:failed:log").await[0], "action"),
        "discarded"
    );
    let (status, _, message) = error_of(
        app.post(&format!("/api/dead-letters/{letter}/replay"), &json!({}))
            .await,
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(message, format!("no dead letter {letter} in claims:failed"));
    let (status, code, _) =
        error_of(app.post("/api/dead-letters/nope/discard", &json!({})).await).await;
    assert_eq!((status, code.as_str()), (400, "invalid_stream_id"));
}

#[tokio::test]
async fn a_groups_letters_replay_in_bulk_after_a_count_for_the_confirmation() {
    let app = letter_every_notification().await;
    for _ in 0..3 {
        app.submit("4.00").await;
    }
    test_support::until(Duration::from_secs(10), "three letters", async || {
        entries(&app, "claims:failed").await.len() == 3
    })
    .await;
    let replay = async |body: Value| app.post("/api/dead-letters/replay", &body).await;
    let counted: shared::api::BulkReplayResponse =
        replay(json!({"group": "claims-notifications", "dry_run": true}))
            .await
            .json()
            .await
            .unwrap();
    assert_eq!((counted.matched, counted.replayed.len()), (3, 0));
    assert_eq!(entries(&app, "claims:failed").await.len(), 3);

    // Still failing: every letter stays, each with the reason.
    let again: shared::api::BulkReplayResponse = replay(json!({"group": "claims-notifications"}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!((again.replayed.len(), again.failed.len()), (0, 3));
    assert!(
        again.failed[0].error.contains("failed again"),
        "{:?}",
        again.failed
    );

    inject(&app, "claims-notifications", json!({"fail_ratio": 0.0})).await;
    let done: shared::api::BulkReplayResponse = replay(json!({"group": "claims-notifications"}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!((done.matched, done.replayed.len()), (3, 3));
    assert!(entries(&app, "claims:failed").await.is_empty());
    assert_eq!(entries(&app, "claims:notifications").await.len(), 3);

    let (status, code, _) =
        error_of(replay(json!({"group": "claims-notifications", "ids": ["1-0"]})).await).await;
    assert_eq!((status, code.as_str()), (422, "validation_failed"));
}

/// A group's letters are counted over every page of `claims:failed` (500 a page), and the
/// count stops at the 1,000 one request may replay.
#[tokio::test]
async fn a_groups_letters_are_counted_past_the_first_page_and_up_to_the_cap() {
    let app = test_support::spawn_app().await;
    let letter = |group: &str| {
        (
            "*".to_owned(),
            vec![
                ("original_id".to_owned(), "1-1".to_owned()),
                ("group".to_owned(), group.to_owned()),
            ],
        )
    };
    // 700 of claims-analytics among 500 of another group: the count must page.
    let letters = (0..1200).map(|n| {
        letter(if n % 12 < 5 {
            "claims-processors"
        } else {
            "claims-analytics"
        })
    });
    test_support::streams::xadd_pipelined(&mut app.redis().await, "claims:failed", letters).await;
    let count = async |group: &str| -> u64 {
        let counted: shared::api::BulkReplayResponse = app
            .post(
                "/api/dead-letters/replay",
                &json!({"group": group, "dry_run": true}),
            )
            .await
            .json()
            .await
            .unwrap();
        counted.matched
    };
    assert_eq!(count("claims-analytics").await, 700);
    assert_eq!(count("claims-processors").await, 500);

    let more = (0..500).map(|_| letter("claims-analytics"));
    test_support::streams::xadd_pipelined(&mut app.redis().await, "claims:failed", more).await;
    assert_eq!(
        count("claims-analytics").await,
        1000,
        "at most 1,000 a request"
    );
}

/// A dead letter the lab's own code wrote names no group and gives its reason as
/// `error_message`, with the entry's fields after it: it lists, and replays through the
/// processors, like the relay's own.
#[tokio::test]
async fn a_dead_letter_another_program_wrote_replays_through_the_processors() {
    let app = spawn_workers(1, true, |_| {}).await;
    let submitted = app
        .raw_xadd(&[
            ("type", "claim_submitted"),
            ("claim_id", "claim_lab_dl"),
            ("customer_id", "CUST-LAB"),
            ("amount", "500"),
            ("submitted_at", "2026-11-21T09:00:00.000Z"),
        ])
        .await;
    let mut redis = app.redis().await;
    let letter = test_support::streams::xadd(
        &mut redis,
        "claims:failed",
        &[
            ("original_id", &submitted),
            ("error_message", "payment gateway timeout"),
            ("failed_at", "2026-11-21T09:01:00.000Z"),
            ("type", "claim_submitted"),
            ("claim_id", "claim_lab_dl"),
            ("customer_id", "CUST-LAB"),
            ("amount", "500"),
        ],
    )
    .await;
    let listed = entries(&app, "claims:failed").await;
    assert_eq!(
        field(&listed[0], "error_message"),
        "payment gateway timeout"
    );

    let replayed = app
        .post(&format!("/api/dead-letters/{letter}/replay"), &json!({}))
        .await;
    assert_eq!(replayed.status(), 200);
    let body: Value = replayed.json().await.unwrap();
    assert_eq!(
        body["done"],
        format!("entry {submitted} processed again; letter {letter} removed")
    );
    assert!(entries(&app, "claims:failed").await.is_empty());
    let log = entries(&app, "claims:failed:log").await;
    assert_eq!(field(&log[0], "action"), "replayed");
    assert_eq!(field(&log[0], "group"), "claims-processors");
}
