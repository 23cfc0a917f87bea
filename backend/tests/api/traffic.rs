//! The traffic generator: claims move through their lifecycle at the rate asked, it stops
//! when told, refuses a rate out of range, and is the instructor's to run.

use std::time::Duration;

use serde_json::json;
use shared::api::TrafficStatus;

use test_support::{spawn_app, spawn_app_with, until};

#[tokio::test]
async fn generated_claims_go_through_their_lifecycle_and_stop_when_told() {
    let app = spawn_app().await;
    let r = app
        .post("/api/traffic", &json!({"running": true, "rate": 100}))
        .await;
    assert_eq!(r.status(), 200);
    let started: TrafficStatus = r.json().await.unwrap();
    assert!(started.running);
    assert_eq!(started.rate, 100);

    until(
        Duration::from_secs(20),
        "every kind of event from the generator",
        async || {
            let types: Vec<String> = app
                .xrange()
                .await
                .into_iter()
                .filter_map(|(_, fields)| {
                    fields
                        .into_iter()
                        .find(|(k, _)| k == "type")
                        .map(|(_, v)| v)
                })
                .collect();
            [
                "claim_submitted",
                "claim_status_updated",
                "claim_paid",
                "claim_rejected",
            ]
            .iter()
            .all(|t| types.iter().any(|x| x == t))
        },
    )
    .await;

    let r = app.post("/api/traffic", &json!({"running": false})).await;
    assert_eq!(r.status(), 200);
    let stopped: TrafficStatus = r.json().await.unwrap();
    assert!(!stopped.running);
    // Nothing else appends here (no workers), and nothing is appended after the stop.
    assert_eq!(app.xlen().await, stopped.events);
    assert!(stopped.claims > 0 && stopped.events > stopped.claims);
    let again = app.post("/api/traffic", &json!({"running": false})).await;
    assert_eq!(
        again.status(),
        200,
        "stopping a stopped generator is no error"
    );
    let now: TrafficStatus = app.get_json("/api/traffic").await;
    assert!(!now.running);
    assert_eq!(now.events, stopped.events);

    for rate in [0, 201] {
        let r = app
            .post("/api/traffic", &json!({"running": true, "rate": rate}))
            .await;
        assert_eq!(r.status(), 422, "rate {rate}");
    }
}

#[tokio::test]
async fn only_the_instructor_runs_the_generator() {
    let app = spawn_app_with(|c| c.instructor_token = Some("t0ken".into())).await;
    let r = app
        .post("/api/traffic", &json!({"running": true, "rate": 5}))
        .await;
    assert_eq!(r.status(), 401);
    assert_eq!(app.get("/api/traffic").await.status(), 200);
    let r = app
        .http
        .post(app.url("/api/traffic"))
        .bearer_auth("t0ken")
        .json(&json!({"running": true, "rate": 5}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    until(Duration::from_secs(10), "a generated claim", async || {
        app.xlen().await > 0
    })
    .await;
}

#[tokio::test]
async fn backend_traffic_appends_for_the_seconds_asked_then_ends() {
    let app = spawn_app().await;
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_backend"))
        .args(["traffic", "--rate", "50", "--seconds", "1", "--redis-url"])
        .arg(app.redis_url())
        .output()
        .await
        .unwrap();
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{printed}");
    let events: u64 = printed
        .lines()
        .last()
        .and_then(|l| l.strip_prefix("traffic: "))
        .and_then(|l| l.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{printed}"));
    assert!(events > 0, "{printed}");
    assert_eq!(app.xlen().await, events);
}
