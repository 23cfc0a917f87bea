//! Guided failure scenarios: each sets its failure up, narrates what happens as Redis shows
//! it, and leaves the groups as they were.

use std::time::Duration;

use serde_json::json;
use shared::api::{ScenarioRun, ScenariosResponse};

use test_support::relay::config;
use test_support::streams::pending;
use test_support::{ApiClient, Relay};
use test_support::{TestApp, spawn_app_with, until};

async fn app_with_workers(max_deliveries: u64) -> TestApp {
    let app = spawn_app_with(move |c| {
        c.workers = true;
        c.auto_review = false;
        c.consumers = 2;
        c.claim_idle_ms = 300;
        c.max_deliveries = max_deliveries;
    })
    .await;
    until(Duration::from_secs(10), "the groups to start", async || {
        let groups: shared::api::GroupsResponse = app.get_json("/api/groups").await;
        groups.groups.iter().filter(|g| g.in_relay).count() == 2
    })
    .await;
    app
}

/// Starts a scenario and waits for its end; its narration.
async fn play(api: &ApiClient, id: &str) -> ScenarioRun {
    let r = api.post(&format!("/api/scenarios/{id}"), &json!({})).await;
    assert_eq!(r.status(), 202, "{}", r.text().await.unwrap());
    let mut last = None;
    until(
        Duration::from_secs(60),
        "the scenario to finish",
        async || {
            let list: ScenariosResponse = api.get_json("/api/scenarios").await;
            let run = list.run.unwrap();
            let finished = run.finished;
            last = Some(run);
            finished
        },
    )
    .await;
    let run = last.unwrap();
    assert_eq!(run.id, id);
    assert_eq!(run.failed, None, "{:#?}", run.lines);
    run
}

/// A relay with its workers ([`app_with_workers`]) that has played scenario `id`; and what the
/// scenario said.
async fn played(max_deliveries: u64, id: &str) -> (TestApp, String) {
    let app = app_with_workers(max_deliveries).await;
    let text = said(&play(&app, id).await);
    (app, text)
}

fn said(run: &ScenarioRun) -> String {
    run.lines
        .iter()
        .map(|l| l.text.as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn a_crashed_consumers_entries_wait_then_move_to_another() {
    let (app, text) = played(5, "crash-consumer").await;
    assert!(text.contains(" pending (XPENDING)."), "{text}");
    assert!(text.contains("took them with XAUTOCLAIM"), "{text}");
    let mut redis = app.redis().await;
    let pending = pending(&mut redis, "claims:events", "claims-notifications").await;
    assert_eq!(pending, 0, "nothing left pending");
    assert!(
        app.stream("claims:failed").await.is_empty(),
        "nothing failed for good"
    );
}

#[tokio::test]
async fn a_poisoned_entry_becomes_a_dead_letter() {
    let (app, text) = played(2, "poison-message").await;
    assert!(text.contains("went to claims:failed as letter"), "{text}");
    assert_eq!(app.stream("claims:failed").await.len(), 1);
}

#[tokio::test]
async fn a_stopped_groups_lag_grows_then_drains() {
    let (app, text) = played(5, "stop-group").await;
    assert!(text.contains("the lag is 1"), "{text}");
    assert!(text.contains("Drained in "), "{text}");
    // Running again while it runs is refused; an unknown one is not found.
    let r = app.post("/api/scenarios/stop-group", &json!({})).await;
    assert_eq!(r.status(), 202);
    let again = app.post("/api/scenarios/stop-group", &json!({})).await;
    assert_eq!(again.status(), 409);
    assert_eq!(
        app.post("/api/scenarios/nope", &json!({})).await.status(),
        404
    );
    // Only the relay's own Redis may be stopped.
    let r = app
        .post("/api/scenarios/redis-unavailable", &json!({}))
        .await;
    assert_eq!(r.status(), 409);
}

#[tokio::test]
async fn the_relays_own_redis_stops_and_comes_back_with_every_entry() {
    let data = tempfile::tempdir().unwrap();
    let relay = Relay::start(config(None, Some(data.path().to_owned()))).await;
    for n in 1..=3 {
        relay
            .submit_claim("CUST-1", &format!("{n}.00"), "kept")
            .await;
    }
    let text = said(&play(&relay, "redis-unavailable").await);
    assert!(text.contains("holds 3 entries"), "{text}");
    assert!(text.contains("Redis is down"), "{text}");
    assert!(
        text.contains("claims:events holds 3 entries, as before"),
        "{text}"
    );
    let health = relay.get("/api/health").await;
    assert_eq!(health.status(), 200);
    relay.shutdown().await;
}

#[tokio::test]
async fn scenarios_are_listed_for_everyone_and_run_by_the_instructor() {
    let app = spawn_app_with(|c| c.instructor_token = Some("tok".into())).await;
    let list: ScenariosResponse = app.get_json("/api/scenarios").await;
    assert_eq!(list.scenarios.len(), 4);
    assert!(list.run.is_none());
    let r = app.post("/api/scenarios/stop-group", &json!({})).await;
    assert_eq!(r.status(), 401);
}
