//! A claim's history: notes, snapshots, and the claim as it was at a point in time.

use serde_json::json;
use shared::api::{ClaimEventsResponse, ClaimResponse, CommandResponse};

use crate::helpers::{TestApp, error_of, spawn_app, spawn_app_with};

async fn note(app: &TestApp, claim_id: &str, text: &str) -> reqwest::Response {
    app.post(
        &format!("/api/claims/{claim_id}/notes"),
        &json!({"adjuster": "Ada", "note": text, "document": "photo-1.jpg"}),
    )
    .await
}

async fn show(app: &TestApp, path: &str) -> ClaimResponse {
    let r = app.get(path).await;
    assert_eq!(r.status(), 200, "{path}");
    r.json().await.unwrap()
}

#[tokio::test]
async fn notes_are_events_that_repeat_until_the_claim_is_final() {
    let app = spawn_app().await;
    let claim = app.submit("80.00").await;
    for n in 1..=3 {
        let r = note(&app, &claim.claim_id, &format!("call {n}")).await;
        assert_eq!(r.status(), 200);
        let added: CommandResponse = r.json().await.unwrap();
        assert_eq!(added.claim.version, 1 + n);
        assert_eq!(added.claim.notes, n);
    }
    let entries = app.xrange().await;
    let last = &entries.last().unwrap().1;
    let value = |name: &str| crate::helpers::field(last, name).to_owned();
    assert_eq!(value("type"), "claim_note_added");
    assert_eq!(value("adjuster"), "Ada");
    assert_eq!(value("note"), "call 3");
    assert_eq!(value("document"), "photo-1.jpg");

    let r = app
        .post(
            &format!("/api/claims/{}/notes", claim.claim_id),
            &json!({"adjuster": "", "note": "x", "document": "../secret"}),
        )
        .await;
    let (status, code, message) = error_of(r).await;
    assert_eq!((status, code.as_str()), (422, "validation_failed"));
    assert!(
        message.contains("adjuster") && message.contains("document"),
        "{message}"
    );

    let rejected = app
        .post(
            &format!("/api/claims/{}/reject", claim.claim_id),
            &json!({"reason": "duplicate"}),
        )
        .await;
    assert_eq!(rejected.status(), 200);
    let (status, code, message) = error_of(note(&app, &claim.claim_id, "late").await).await;
    assert_eq!((status, code.as_str()), (409, "claim_closed"));
    assert_eq!(
        message,
        "cannot add a note to a claim that is rejected; rejected is final"
    );
    assert_eq!(app.xlen().await, 5, "nothing appended by the refusals");
}

#[tokio::test]
async fn a_claim_loads_from_its_newest_snapshot_and_an_untrusted_one_is_rebuilt() {
    let app = spawn_app_with(|c| c.snapshot_every = 5).await;
    let claim = app.submit("80.00").await;
    let id = claim.claim_id.as_str();
    for n in 0..11 {
        assert_eq!(note(&app, id, &format!("n{n}")).await.status(), 200);
    }
    // 12 events: the snapshot written at version 10, two folded after it.
    let loaded = show(&app, &format!("/api/claims/{id}")).await;
    assert_eq!(loaded.claim.version, 12);
    assert_eq!(loaded.claim.notes, 11);
    assert_eq!(
        (loaded.snapshot_version, loaded.events_replayed),
        (Some(10), 2)
    );
    assert!(
        loaded
            .redis
            .iter()
            .any(|c| c.starts_with("GET claims:{claims:events}:snapshot:")),
        "{:?}",
        loaded.redis
    );

    // The full fold agrees with snapshot + tail.
    let events: ClaimEventsResponse = app
        .get(&format!("/api/claims/{id}/events"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(events.events.len(), 12);
    assert_eq!(events.states.last().unwrap().as_ref(), Some(&loaded.claim));

    // A snapshot of another schema is ignored: the claim is folded from its events and the
    // snapshot written anew.
    let key = backend::store::keys::Partition::ONLY.snapshot(id);
    let mut conn = app.redis().await;
    let stored: String = redis::cmd("GET")
        .arg(&key)
        .query_async(&mut conn)
        .await
        .unwrap();
    let mut old: serde_json::Value = serde_json::from_str(&stored).unwrap();
    old["schema"] = json!(0);
    old["claim"]["details"]["status"] = json!("paid");
    let () = redis::cmd("SET")
        .arg(&key)
        .arg(old.to_string())
        .query_async(&mut conn)
        .await
        .unwrap();
    let refolded = show(&app, &format!("/api/claims/{id}")).await;
    assert_eq!(
        (refolded.snapshot_version, refolded.events_replayed),
        (None, 12)
    );
    assert_eq!(
        refolded.claim, loaded.claim,
        "the tampered status was not trusted"
    );
    let again = show(&app, &format!("/api/claims/{id}")).await;
    assert_eq!(
        (again.snapshot_version, again.events_replayed),
        (Some(12), 0)
    );
    assert_eq!(again.claim, loaded.claim);
}

#[tokio::test]
async fn a_claim_as_it_was_at_an_entry_or_a_time() {
    let app = spawn_app().await;
    let claim = app.submit("80.00").await;
    let id = claim.claim_id.as_str();
    let reviewed: CommandResponse = app.act(id, "review").await.json().await.unwrap();
    app.act(id, "approve").await;

    let then = show(&app, &format!("/api/claims/{id}?at={}", reviewed.entry_id)).await;
    assert_eq!(then.claim.status, shared::ClaimStatus::UnderReview);
    assert_eq!(then.claim.version, 2);
    assert_eq!(then.as_of.as_deref(), Some(reviewed.entry_id.as_str()));
    let now = show(&app, &format!("/api/claims/{id}")).await;
    assert_eq!(now.claim.status, shared::ClaimStatus::Approved);
    assert_eq!(now.as_of, None);

    // As a time: the submission's millisecond covers the submission.
    let ms = claim.entry_id.split('-').next().unwrap();
    let time = shared::Timestamp::from_unix_millis(ms.parse().unwrap()).unwrap();
    let at_submit = show(&app, &format!("/api/claims/{id}?at={time}")).await;
    assert_eq!(at_submit.claim.status, shared::ClaimStatus::Submitted);

    let before = shared::Timestamp::from_unix_millis(ms.parse::<i64>().unwrap() - 1).unwrap();
    let (status, code, message) =
        error_of(app.get(&format!("/api/claims/{id}?at={before}")).await).await;
    assert_eq!((status, code.as_str()), (404, "not_found"));
    assert!(message.contains("did not exist yet"), "{message}");
    let (status, code, _) =
        error_of(app.get(&format!("/api/claims/{id}?at=yesterday")).await).await;
    assert_eq!((status, code.as_str()), (400, "invalid_query"));
}

#[tokio::test]
async fn the_whole_board_as_it_was_at_a_point_in_time() {
    let app = spawn_app().await;
    let first = app.submit("1.00").await;
    let second = app.submit("2.00").await;
    let reviewed: CommandResponse = app
        .act(&first.claim_id, "review")
        .await
        .json()
        .await
        .unwrap();
    app.submit("3.00").await;
    app.raw_submitted("CLM-BYHAND").await;

    let state = |at: String| {
        let app = &app;
        async move {
            let r = app.get(&format!("/api/state?{at}")).await;
            assert_eq!(r.status(), 200, "{at}");
            r.json::<shared::api::StateResponse>().await.unwrap()
        }
    };
    let count = |s: &shared::api::StateResponse, status: shared::ClaimStatus| {
        s.counts.iter().find(|c| c.status == status).unwrap().count
    };

    let then = state(format!("at={}", second.entry_id)).await;
    assert_eq!((then.total, then.events_replayed), (2, 2));
    assert_eq!(count(&then, shared::ClaimStatus::Submitted), 2);
    assert_eq!(then.as_of.as_deref(), Some(second.entry_id.as_str()));
    let ids: Vec<&str> = then.last_events.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, [first.entry_id.as_str(), second.entry_id.as_str()]);
    assert_eq!(then.claims[0].claim_id, second.claim_id, "newest first");

    let later = state(format!("at={}&status=under_review", reviewed.entry_id)).await;
    assert_eq!(count(&later, shared::ClaimStatus::UnderReview), 1);
    assert_eq!(later.total, 1);
    assert_eq!(later.claims[0].claim_id, first.claim_id);

    // Now, with the claim another program wrote.
    let now = state(String::new()).await;
    assert_eq!((now.total, now.events_replayed), (4, 5));
    assert!(now.claims.iter().any(|c| c.claim_id == "CLM-BYHAND"));

    let ms: i64 = first.entry_id.split('-').next().unwrap().parse().unwrap();
    let before = shared::Timestamp::from_unix_millis(ms - 1).unwrap();
    let empty = state(format!("at={before}")).await;
    assert_eq!(
        (empty.total, empty.events_replayed, empty.as_of),
        (0, 0, None)
    );

    let (status, code, _) = error_of(app.get("/api/state?at=later").await).await;
    assert_eq!((status, code.as_str()), (400, "invalid_query"));
}

/// A long history is read in spans; where other claims' entries lie between, what a span
/// did not reach is read entry by entry. Either way every event comes back, in order.
#[tokio::test]
async fn a_long_history_among_other_claims_events_loads_whole_and_in_order() {
    let app = spawn_app_with(|c| c.snapshot_every = 0).await;
    let long = app.submit("1.00").await.claim_id;
    let others = [
        app.submit("2.00").await.claim_id,
        app.submit("3.00").await.claim_id,
    ];
    for n in 0..80 {
        assert_eq!(note(&app, &long, &format!("n{n}")).await.status(), 200);
        for other in &others {
            assert_eq!(note(&app, other, "between").await.status(), 200);
        }
    }
    let loaded = show(&app, &format!("/api/claims/{long}")).await;
    assert_eq!((loaded.claim.version, loaded.claim.notes), (81, 80));
    assert_eq!(
        (loaded.snapshot_version, loaded.events_replayed),
        (None, 81)
    );
    let events: ClaimEventsResponse = app
        .get(&format!("/api/claims/{long}/events"))
        .await
        .json()
        .await
        .unwrap();
    let notes: Vec<String> = events
        .events
        .iter()
        .filter_map(|e| match &e.event.as_ref()?.payload {
            shared::EventPayload::ClaimNoteAdded { note, .. } => Some(note.to_string()),
            _ => None,
        })
        .collect();
    let expected: Vec<String> = (0..80).map(|n| format!("n{n}")).collect();
    assert_eq!(notes, expected);
    assert!(
        events.redis.iter().any(|c| c.ends_with("COUNT 200")),
        "read in spans: {:?}",
        &events.redis[..3]
    );
}
