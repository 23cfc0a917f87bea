//! The caps that keep one client from exhausting the relay, each hit and answered clearly.

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use crate::fixtures::group_named;
use crate::fixtures::{spawn_without_review, spawn_workers};
use test_support::relay::unthrottled;
use test_support::{TestApp, error_of, spawn_app_with, until};

const GROUP: &str = "claims-notifications";

/// The consumers Redis lists for the group (XINFO CONSUMERS): (name, pending); none before
/// the group exists.
async fn consumers_in_redis(app: &TestApp) -> Vec<(String, u64)> {
    let reply: Vec<redis::Value> = redis::cmd("XINFO")
        .arg("CONSUMERS")
        .arg("claims:events")
        .arg(GROUP)
        .query_async(&mut app.redis().await)
        .await
        .unwrap_or_default();
    reply
        .iter()
        .map(|c| {
            let map: std::collections::HashMap<String, redis::Value> =
                redis::from_redis_value(c.clone()).unwrap();
            let name: String = redis::from_redis_value(map["name"].clone()).unwrap();
            let pending: u64 = redis::from_redis_value(map["pending"].clone()).unwrap();
            (name, pending)
        })
        .collect()
}

#[tokio::test]
async fn consumers_per_group_are_capped_with_409() {
    let app = spawn_without_review(|c| c.max_consumers_per_group = 4).await;
    until(Duration::from_secs(10), "the groups run", || async {
        app.get("/api/groups").await.status() == 200
            && app
                .post(&format!("/api/groups/{GROUP}/consumers"), &json!({}))
                .await
                .status()
                == 200
    })
    .await;
    let mut refused = None;
    for _ in 0..30 {
        let response = app
            .post(&format!("/api/groups/{GROUP}/consumers"), &json!({}))
            .await;
        if response.status() != 200 {
            refused = Some(error_of(response).await);
            break;
        }
    }
    let (status, code, message) = refused.expect("the cap was never hit");
    assert_eq!((status, code.as_str()), (409, "too_many_consumers"));
    assert!(message.contains("4 consumers"), "{message}");
    // Each joins the group in Redis with its first read; the fifth never does.
    until(
        Duration::from_secs(10),
        "4 consumers are in the group",
        || async { consumers_in_redis(&app).await.len() == 4 },
    )
    .await;
    let groups: Value = app.get_json("/api/groups").await;
    let members = group_named(&groups, GROUP)["members"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(members, 4);
}

#[tokio::test]
async fn a_crashed_consumer_leaves_the_group_once_its_entries_are_claimed() {
    let app = spawn_workers(1, false, |c| c.max_deliveries = 1_000).await;
    let group = format!("/api/groups/{GROUP}");
    until(Duration::from_secs(10), "the group runs", || async {
        consumers_in_redis(&app).await.len() == 1
    })
    .await;
    // Every entry fails, so notifier-1 keeps what it reads pending.
    let inject = app
        .post(&format!("{group}/inject"), &json!({"fail_ratio": 1.0}))
        .await;
    assert_eq!(inject.status(), 200);
    for _ in 0..3 {
        app.submit("10.00").await;
    }
    until(
        Duration::from_secs(10),
        "notifier-1 holds 3 entries",
        || async { consumers_in_redis(&app).await == [("notifier-1".to_owned(), 3)] },
    )
    .await;
    let crashed = app
        .post(&format!("{group}/consumers/notifier-1/crash"), &json!({}))
        .await;
    assert_eq!(crashed.status(), 200);
    let added = app.post(&format!("{group}/consumers"), &json!({})).await;
    assert_eq!(added.status(), 200);
    app.post(&format!("{group}/inject"), &json!({"fail_ratio": 0.0}))
        .await;
    // Still listed while it owns entries: they would be lost with it.
    let listed = consumers_in_redis(&app).await;
    assert!(listed.contains(&("notifier-1".to_owned(), 3)), "{listed:?}");
    let claimed = app
        .post(&format!("{group}/claim"), &json!({"min_idle_ms": 0}))
        .await;
    assert_eq!(claimed.status(), 200);
    until(Duration::from_secs(10), "notifier-1 is removed", || async {
        consumers_in_redis(&app)
            .await
            .iter()
            .all(|(name, _)| name != "notifier-1")
    })
    .await;
    until(Duration::from_secs(20), "all 3 are notified", || async {
        app.stream("claims:notifications").await.len() == 3
    })
    .await;
}

#[tokio::test]
async fn write_requests_over_the_rate_get_429_and_reads_go_on() {
    let app = spawn_app_with(|c| (c.write_rate_per_second, c.write_burst) = (1, 5)).await;
    let body = json!({"customer_id": "CUST-1", "amount": "1.00", "description": "d"});
    let mut created = 0;
    let refused = loop {
        let response = app.post("/api/claims", &body).await;
        if response.status() == 201 {
            created += 1;
            assert!(created <= 6, "the rate was never enforced");
            continue;
        }
        break response;
    };
    assert!((5..=6).contains(&created), "{created} accepted");
    assert!(refused.headers().contains_key("retry-after"));
    let (status, code, message) = error_of(refused).await;
    assert_eq!((status, code.as_str()), (429, "rate_limited"), "{message}");
    assert_eq!(app.xlen().await, created);
    assert_eq!(app.get("/api/claims").await.status(), 200);
}

/// A WebSocket connected from `source` (any 127.x address is this machine).
async fn ws_from(
    app: &TestApp,
    source: &str,
) -> Result<
    tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>,
    tokio_tungstenite::tungstenite::Error,
> {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(format!("{source}:0").parse().unwrap()).unwrap();
    let tcp = socket.connect(app.address.parse().unwrap()).await.unwrap();
    let url = format!("ws://{}/api/ws", app.address);
    tokio_tungstenite::client_async(url, tcp)
        .await
        .map(|(ws, _)| ws)
}

fn refused_with_429(
    result: Result<
        tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>,
        tokio_tungstenite::tungstenite::Error,
    >,
) -> bool {
    matches!(result, Err(tokio_tungstenite::tungstenite::Error::Http(r)) if r.status() == 429)
}

#[tokio::test]
async fn websockets_are_capped_per_address_and_in_all() {
    let app = spawn_app_with(|c| (c.ws_max_per_client, c.ws_max_connections) = (2, 3)).await;
    let first = ws_from(&app, "127.0.0.1").await.unwrap();
    let _second = ws_from(&app, "127.0.0.1").await.unwrap();
    assert!(
        refused_with_429(ws_from(&app, "127.0.0.1").await),
        "per address"
    );
    let _third = ws_from(&app, "127.0.0.2").await.unwrap();
    assert!(refused_with_429(ws_from(&app, "127.0.0.3").await), "in all");

    // Closing one frees its place.
    drop(first);
    until(Duration::from_secs(5), "a place is free again", || async {
        ws_from(&app, "127.0.0.1").await.is_ok()
    })
    .await;
}

#[tokio::test]
async fn a_websocket_message_over_the_cap_closes_the_feed_with_a_reason() {
    let app = spawn_app_with(|c| c.ws_max_message_bytes = 1024).await;
    let mut ws = ws_from(&app, "127.0.0.1").await.unwrap();
    ws.send(Message::Text("x".repeat(100).into()))
        .await
        .unwrap();
    ws.send(Message::Text("x".repeat(10_000).into()))
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    let close = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, ws.next()).await {
            Ok(Some(Ok(Message::Close(frame)))) => break frame,
            Ok(Some(Ok(_))) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    };
    let frame = close.expect("a close frame with a code");
    assert_eq!(frame.code, CloseCode::Policy);
    assert!(frame.reason.contains("1024 bytes"), "{}", frame.reason);
}

#[tokio::test]
async fn side_streams_are_capped_and_markers_trimmed_once_entries_are_acknowledged() {
    let app = spawn_without_review(|c| {
        c.side_stream_maxlen = 10;
        unthrottled(c);
    })
    .await;
    until(Duration::from_secs(10), "the group runs", || async {
        consumers_in_redis(&app).await.len() == 2
    })
    .await;
    const N: usize = 300;
    for _ in 0..N {
        app.submit("10.00").await;
    }
    let notified = || async {
        let mut redis = app.redis().await;
        let card: usize = redis::cmd("ZCARD")
            .arg(backend::store::keys::notified())
            .query_async(&mut redis)
            .await
            .unwrap();
        card
    };
    until(
        Duration::from_secs(20),
        "every entry is notified",
        || async { notified().await == N },
    )
    .await;
    // Approximate trimming drops whole nodes of up to 100 entries.
    let length = app.stream("claims:notifications").await.len();
    assert!((10..=110).contains(&length), "{length} notifications kept");

    until(Duration::from_secs(10), "nothing is pending", || async {
        consumers_in_redis(&app).await.iter().all(|(_, p)| *p == 0)
    })
    .await;
    let db = backend::store::db::Db::new(&app.redis_url()).unwrap();
    let trimmed = backend::store::markers::trim(&db, GROUP).await.unwrap();
    let left = notified().await;
    assert_eq!(trimmed as usize + left, N);
    // Only markers in the millisecond of the group's cursor may stay.
    assert!(left < N / 2, "{left} markers left");
}
