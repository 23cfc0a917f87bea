use std::time::{Duration, Instant};

use serde_json::Value;
use shared::api::ServerMessage;

use test_support::{TestApp, error_of, spawn_app};

/// Submits a claim every 100 ms until the relay accepts one (it has its Redis back), up to
/// 15 s; its 201 answer.
async fn accepted_again(app: &TestApp) -> reqwest::Response {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let r = app
            .post_raw(
                "/api/claims",
                r#"{"customer_id":"C1","amount":"1","description":"d"}"#,
            )
            .await;
        if r.status() == 201 {
            return r;
        }
        assert!(
            Instant::now() < deadline,
            "relay did not recover: {}",
            r.status()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn redis_down_gives_503_and_the_relay_recovers_when_it_returns() {
    let mut app = spawn_app().await;
    let kept = app.submit("1").await.claim_id;
    app.stop_redis().await;

    let (status, code, message) = error_of(
        app.post_raw(
            "/api/claims",
            r#"{"customer_id":"C1","amount":"1","description":"d"}"#,
        )
        .await,
    )
    .await;
    assert_eq!((status, code.as_str()), (503, "redis_unavailable"));
    assert!(
        message.starts_with("cannot reach Redis at redis://127.0.0.1:"),
        "{message}"
    );
    // The common issue is explained with its fix.
    let r = app.get(&format!("/api/claims/{kept}")).await;
    let body: Value = r.json().await.unwrap();
    let hint = body["error"]["hint"].as_str().unwrap_or_default();
    assert!(hint.starts_with("connection refused: "), "{body}");
    let health = app.get("/api/health").await;
    assert_eq!(health.status(), 503);
    let body: Value = health.json().await.unwrap();
    assert_eq!(body["redis"]["reachable"], false);
    assert_eq!(app.get(&format!("/api/claims/{kept}")).await.status(), 503);

    app.restart_redis().await;
    accepted_again(&app).await;
    assert_eq!(app.get(&format!("/api/claims/{kept}")).await.status(), 200);
    assert_eq!(app.get("/api/health").await.status(), 200);
}

#[tokio::test]
async fn the_live_feed_resumes_after_redis_comes_back() {
    let mut app = spawn_app().await;
    let mut ws = app.ws(None).await;
    ws.expect_caught_up().await;
    app.stop_redis().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    app.restart_redis().await;

    // The same socket keeps going: the feed reconnects on its own.
    let accepted = accepted_again(&app).await;
    let entry_id = accepted.json::<Value>().await.unwrap()["entry_id"]
        .as_str()
        .unwrap()
        .to_owned();
    loop {
        match ws.next(Duration::from_secs(10)).await {
            Some(ServerMessage::Entry { entry }) => {
                assert_eq!(entry.id, entry_id);
                break;
            }
            Some(_) => {}
            None => panic!("the entry appended after the outage never arrived"),
        }
    }
}
