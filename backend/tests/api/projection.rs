//! The read model's projection: read-your-writes, and a rebuild that equals the live model.

use std::collections::BTreeMap;
use std::time::Duration;

use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use shared::api::{ClaimListResponse, CommandResponse, ProjectionsResponse, ServerMessage};

use crate::helpers::{TestApp, error_of, spawn_app, until};

#[tokio::test]
async fn the_list_answers_once_the_projection_has_applied_the_entry_asked_for() {
    let app = spawn_app().await;
    let created = app.submit("12.00").await;
    let list: ClaimListResponse = app
        .get(&format!(
            "/api/claims?after={}&wait_ms=5000",
            created.entry_id
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list.claims[0].claim_id, created.claim_id);
    assert_eq!(
        list.projection.position.as_deref(),
        Some(created.entry_id.as_str())
    );

    // An entry the projection cannot have reached: 503 with where it is.
    let far = "99999999999999-0";
    let r = app
        .get(&format!("/api/claims?after={far}&wait_ms=50"))
        .await;
    assert_eq!(
        r.headers()["x-projection-position"].to_str().unwrap(),
        created.entry_id
    );
    let (status, code, message) = error_of(r).await;
    assert_eq!((status, code.as_str()), (503, "projection_behind"));
    assert!(message.contains(&created.entry_id), "{message}");

    // Or, asked to, what the projection has, saying how far behind it is.
    let stale: ClaimListResponse = app
        .get(&format!("/api/claims?after={far}&wait_ms=50&stale_ok=true"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(stale.total, 1);
    assert_eq!(
        stale.projection.position.as_deref(),
        Some(created.entry_id.as_str())
    );

    for bad in ["after=soon", "after=1-0&wait_ms=60000"] {
        let (status, code, _) = error_of(app.get(&format!("/api/claims?{bad}")).await).await;
        assert_eq!((status, code.as_str()), (400, "invalid_query"), "{bad}");
    }
}

/// The live model's keys as data: views and totals parsed (the projector's Lua writes JSON
/// with its own key order), sets and lists as they are.
async fn model(app: &TestApp) -> BTreeMap<String, Value> {
    let mut conn = app.redis().await;
    let mut out = BTreeMap::new();
    for key in backend::keys::Partition::ONLY
        .model(backend::keys::Model::Live)
        .all_keys()
    {
        let kind: String = redis::cmd("TYPE")
            .arg(&key)
            .query_async(&mut conn)
            .await
            .unwrap();
        let value = match kind.as_str() {
            "hash" => {
                let all: BTreeMap<String, String> = redis::cmd("HGETALL")
                    .arg(&key)
                    .query_async(&mut conn)
                    .await
                    .unwrap();
                let parsed: BTreeMap<String, Value> = all
                    .into_iter()
                    .map(|(k, v)| (k, serde_json::from_str(&v).unwrap()))
                    .collect();
                json!(parsed)
            }
            "zset" => {
                let members: Vec<(String, f64)> = redis::cmd("ZRANGE")
                    .arg(&key)
                    .arg(0)
                    .arg(-1)
                    .arg("WITHSCORES")
                    .query_async(&mut conn)
                    .await
                    .unwrap();
                json!(members)
            }
            "list" => {
                let items: Vec<String> = redis::cmd("LRANGE")
                    .arg(&key)
                    .arg(0)
                    .arg(-1)
                    .query_async(&mut conn)
                    .await
                    .unwrap();
                let parsed: Vec<Value> = items
                    .iter()
                    .map(|i| serde_json::from_str(i).unwrap())
                    .collect();
                json!(parsed)
            }
            _ => Value::Null,
        };
        out.insert(key, value);
    }
    out
}

async fn projection(app: &TestApp) -> ProjectionsResponse {
    app.get("/api/projections").await.json().await.unwrap()
}

#[tokio::test]
async fn a_rebuild_from_the_first_event_equals_the_live_model_after_a_random_workload() {
    let app = spawn_app().await;
    let mut rng = rand::rngs::StdRng::seed_from_u64(9);
    let mut claims: Vec<String> = Vec::new();
    for i in 0..150 {
        match rng.random_range(0..10) {
            0..=3 => {
                let amount = format!(
                    "{}.{:02}",
                    rng.random_range(1..5000),
                    rng.random_range(0..100)
                );
                let currency = ["USD", "EUR", "GBP"][rng.random_range(0..3)];
                let r: CommandResponse = app
                    .post(
                        "/api/claims",
                        &json!({"customer_id": format!("CUST-{}", rng.random_range(1..6)),
                                "amount": amount, "description": "random", "currency": currency}),
                    )
                    .await
                    .json()
                    .await
                    .unwrap();
                claims.push(r.claim_id);
            }
            // Another program's claims, in its own dialect.
            4 => {
                let id = format!("lab_{i}");
                app.raw_xadd(&[
                    ("type", "claim_submitted"),
                    ("claim_id", &id),
                    ("customer_id", "CUST-LAB"),
                    ("amount", "700"),
                    ("submitted_at", "2026-11-21T09:00:00.000Z"),
                ])
                .await;
                claims.push(id);
            }
            _ if claims.is_empty() => {}
            n => {
                let claim = &claims[rng.random_range(0..claims.len())];
                let _ = match n {
                    5 | 6 => {
                        app.act(claim, ["review", "approve", "pay"][rng.random_range(0..3)])
                            .await
                    }
                    7 => app.act(claim, "reject").await,
                    _ => {
                        app.post(
                            &format!("/api/claims/{claim}/notes"),
                            &json!({"adjuster": "Ada", "note": format!("note {i}")}),
                        )
                        .await
                    }
                };
            }
        }
    }
    let last = app.xrange().await.last().unwrap().0.clone();
    until(
        Duration::from_secs(10),
        "the projection to catch up",
        async || projection(&app).await.position.as_deref() == Some(last.as_str()),
    )
    .await;
    let live = model(&app).await;
    let views = live[&backend::keys::Partition::ONLY
        .model(backend::keys::Model::Live)
        .views()]
        .as_object()
        .unwrap()
        .len();
    assert!(views > 40, "only {views} claims in the model");

    let mut ws = app.ws(None).await;
    ws.expect_caught_up().await;
    let started = app.post("/api/projections/rebuild", &json!({})).await;
    assert_eq!(started.status(), 202);
    // Progress is pushed to every browser; the last push says done.
    let mut states = Vec::new();
    while states.last().map(String::as_str) != Some("done") {
        match ws.next(Duration::from_secs(10)).await {
            Some(ServerMessage::Projection { projection }) => states.push(projection.rebuild.state),
            Some(_) => {}
            None => panic!("no rebuild progress pushed; saw {states:?}"),
        }
    }
    let done = projection(&app).await;
    assert_eq!(done.rebuild.replayed, app.xlen().await);
    assert_eq!(done.position.as_deref(), Some(last.as_str()));
    assert_eq!(
        model(&app).await,
        live,
        "the rebuilt model differs from the live one"
    );

    // And the projector goes on from where the rebuild stopped.
    let after = app.submit("3.00").await;
    let list: ClaimListResponse = app
        .get(&format!(
            "/api/claims?after={}&wait_ms=5000",
            after.entry_id
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list.total as usize, views + 1);
}

#[tokio::test]
async fn only_an_instructor_rebuilds_and_one_at_a_time() {
    let app = crate::helpers::spawn_app_with(|c| c.instructor_token = Some("s3cret".into())).await;
    let r = app.post("/api/projections/rebuild", &json!({})).await;
    assert_eq!(r.status(), 401);
    // A new projection group builds its model from the first event once, at the start.
    until(
        Duration::from_secs(5),
        "the first build to finish",
        async || projection(&app).await.rebuild.state == "done",
    )
    .await;
    let rebuild = || {
        app.http
            .post(app.url("/api/projections/rebuild"))
            .bearer_auth("s3cret")
            .json(&json!({}))
            .send()
    };
    assert_eq!(rebuild().await.unwrap().status(), 202);
    until(
        Duration::from_secs(5),
        "the rebuild to finish",
        async || projection(&app).await.rebuild.state == "done",
    )
    .await;
    // While one runs (as another relay's projector may be doing), another is refused.
    let () = redis::cmd("HSET")
        .arg(backend::keys::Partition::ONLY.projection())
        .arg("rebuild_state")
        .arg("running")
        .query_async(&mut app.redis().await)
        .await
        .unwrap();
    let (status, code, _) = error_of(rebuild().await.unwrap()).await;
    assert_eq!((status, code.as_str()), (409, "rebuild_running"));
}
