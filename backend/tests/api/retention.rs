//! Trimming safely, and where the memory goes.

use std::time::Duration;

use serde_json::{Value, json};
use shared::api::{MemoryResponse, TrimResponse};

use test_support::api::json_of;
use test_support::{TestApp, error_of, spawn_app, spawn_app_with, until};

async fn trim(app: &TestApp, stream: &str, body: Value) -> reqwest::Response {
    app.post(&format!("/api/streams/{stream}/trim"), &body)
        .await
}

/// A trim the relay accepts: its answer.
async fn trimmed(app: &TestApp, stream: &str, body: Value) -> TrimResponse {
    json_of(trim(app, stream, body).await).await
}

/// Claims with their events, and the projection caught up (its group has read everything).
async fn claims(app: &TestApp, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    let mut last = String::new();
    for i in 0..n {
        let c = app.submit(&format!("{}.00", i + 1)).await;
        let reviewed: shared::api::CommandResponse = app.act_json(&c.claim_id, "review").await;
        last = reviewed.entry_id;
        ids.push(c.claim_id);
    }
    let r = app
        .get(&format!("/api/claims?after={last}&wait_ms=5000"))
        .await;
    assert_eq!(r.status(), 200);
    ids
}

#[tokio::test]
async fn a_trim_that_would_lose_events_no_snapshot_covers_is_refused_unless_forced() {
    let app = spawn_app().await;
    claims(&app, 3).await;

    let dry: TrimResponse =
        trimmed(&app, "claims:events", json!({"maxlen": 2, "dry_run": true})).await;
    assert_eq!(dry.would_remove, 4);
    let entries = app.xrange().await;
    assert_eq!(dry.first_removed.as_deref(), Some(entries[0].0.as_str()));
    assert_eq!(dry.last_removed.as_deref(), Some(entries[3].0.as_str()));
    assert_eq!(dry.first_kept.as_deref(), Some(entries[4].0.as_str()));
    assert_eq!(dry.removed, None);
    assert_eq!(dry.blockers.len(), 1, "{:?}", dry.blockers);
    assert!(
        dry.blockers[0].starts_with("2 claims would lose events"),
        "{:?}",
        dry.blockers
    );

    let (status, code, message) =
        error_of(trim(&app, "claims:events", json!({"maxlen": 2})).await).await;
    assert_eq!((status, code.as_str()), (409, "trim_unsafe"));
    assert!(message.contains("\"force\": true"), "{message}");
    assert_eq!(app.xlen().await, 6, "nothing removed");

    let forced: TrimResponse =
        trimmed(&app, "claims:events", json!({"maxlen": 2, "force": true})).await;
    assert_eq!((forced.removed, forced.length_after), (Some(4), 2));
    assert!(
        forced
            .redis
            .iter()
            .any(|c| c.starts_with("XTRIM claims:events MINID "))
    );
}

#[tokio::test]
async fn with_snapshots_covering_them_old_events_go_and_the_claims_still_load() {
    let app = spawn_app_with(|c| c.snapshot_every = 1).await;
    let ids = claims(&app, 3).await;
    let first_kept = app.xrange().await[4].0.clone();
    let trimmed: TrimResponse = trimmed(&app, "claims:events", json!({"minid": first_kept})).await;
    assert_eq!(trimmed.blockers, Vec::<String>::new());
    assert_eq!((trimmed.removed, trimmed.length_after), (Some(4), 2));
    for id in &ids {
        let shown: Value = app.get_json(&format!("/api/claims/{id}")).await;
        assert_eq!(shown["claim"]["status"], "under_review", "{id}");
        assert_eq!(shown["claim"]["version"], 2);
    }
}

#[tokio::test]
async fn a_group_that_has_not_read_or_acknowledged_what_goes_blocks_the_trim() {
    let app = spawn_app_with(|c| c.snapshot_every = 1).await;
    claims(&app, 2).await;
    let mut conn = app.redis().await;
    let () = redis::cmd("XGROUP")
        .arg(&["CREATE", "claims:events", "slow", "0"])
        .query_async(&mut conn)
        .await
        .unwrap();
    let dry: TrimResponse =
        trimmed(&app, "claims:events", json!({"maxlen": 1, "dry_run": true})).await;
    assert_eq!(
        dry.blockers,
        ["group slow has not read everything that would go (it has read up to 0-0)"]
    );
    // It reads two, acknowledges neither.
    let _: redis::Value = redis::cmd("XREADGROUP")
        .arg(&[
            "GROUP",
            "slow",
            "c1",
            "COUNT",
            "2",
            "STREAMS",
            "claims:events",
            ">",
        ])
        .query_async(&mut conn)
        .await
        .unwrap();
    let dry: TrimResponse =
        trimmed(&app, "claims:events", json!({"maxlen": 3, "dry_run": true})).await;
    assert_eq!(dry.blockers.len(), 1, "{:?}", dry.blockers);
    assert!(
        dry.blockers[0].starts_with("group slow has 2 entries read but not acknowledged"),
        "{:?}",
        dry.blockers
    );
}

#[tokio::test]
async fn trimming_is_for_instructors_and_for_the_relays_streams_only() {
    let app = spawn_app_with(|c| c.instructor_token = Some("t0ken".into())).await;
    assert_eq!(
        trim(&app, "claims:events", json!({"maxlen": 0}))
            .await
            .status(),
        401
    );
    let as_instructor = |stream: &str, body: Value| {
        app.http
            .post(app.url(&format!("/api/streams/{stream}/trim")))
            .bearer_auth("t0ken")
            .json(&body)
            .send()
    };
    let (status, code, _) = error_of(
        as_instructor("other:stream", json!({"maxlen": 0}))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, code.as_str()), (400, "key_not_allowed"));
    let (status, code, _) = error_of(
        as_instructor("claims:events", json!({"maxlen": 0, "minid": "1-0"}))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, code.as_str()), (422, "validation_failed"));
}

#[tokio::test]
async fn memory_shows_each_stream_and_the_indexes_and_lengths_over_time() {
    let app = spawn_app().await;
    claims(&app, 4).await;
    let memory = || async {
        let r = app.get("/api/memory").await;
        assert_eq!(r.status(), 200);
        r.json::<MemoryResponse>().await.unwrap()
    };
    let m = memory().await;
    assert!(m.used_bytes > 0 && m.peak_bytes >= m.used_bytes / 2);
    assert_eq!(m.maxmemory_policy, "noeviction");
    let events = m.keys.iter().find(|k| k.key == "claims:events").unwrap();
    assert_eq!(events.length, Some(8));
    assert!(events.bytes.unwrap() > 0);
    let views = m
        .keys
        .iter()
        .find(|k| {
            k.key
                == backend::store::keys::Partition::ONLY
                    .model(backend::store::keys::Model::Live)
                    .views()
        })
        .unwrap();
    assert_eq!(views.length, Some(4));
    // The command log: 4 submissions and 4 reviews.
    let log = m.keys.iter().find(|k| k.key == "claims:commands").unwrap();
    assert_eq!(log.length, Some(8));
    assert_eq!((m.indexes.lists, m.indexes.sampled), (4, 4));
    assert!(m.indexes.estimated_bytes > 0);
    until(
        Duration::from_secs(5),
        "a length sample with the 8 events",
        async || {
            memory().await.lengths.iter().any(|s| {
                s.lengths
                    .iter()
                    .any(|l| l.key == "claims:events" && l.length == 8)
            })
        },
    )
    .await;
}
