//! `Idempotency-Key`: a repeated command gets its first answer and appends nothing.

use serde_json::{Value, json};

use test_support::{TestApp, error_of, spawn_app};

use crate::fixtures::submit_directly;

async fn send(app: &TestApp, path: &str, key: &str, body: &Value) -> reqwest::Response {
    app.http
        .post(app.url(path))
        .header("idempotency-key", key)
        .json(body)
        .send()
        .await
        .unwrap()
}

fn claim(amount: &str) -> Value {
    json!({"customer_id": "CUST-1", "amount": amount, "description": "retried"})
}

#[tokio::test]
async fn a_repeated_submit_returns_the_first_answer_and_appends_nothing() {
    let app = spawn_app().await;
    let first = send(&app, "/api/claims", "k-1", &claim("10.00")).await;
    assert_eq!(first.status(), 201);
    assert!(first.headers().get("idempotent-replayed").is_none());
    let first: Value = first.json().await.unwrap();
    let again = send(&app, "/api/claims", "k-1", &claim("10.00")).await;
    assert_eq!(again.status(), 201);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let again: Value = again.json().await.unwrap();
    assert_eq!(again, first);
    assert_eq!(app.xlen().await, 1);

    // Another key is another claim.
    assert_eq!(
        send(&app, "/api/claims", "k-2", &claim("10.00"))
            .await
            .status(),
        201
    );
    assert_eq!(app.xlen().await, 2);

    // The answer is kept 24 h, not for ever.
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("claims:*:idempotency:*")
        .query_async(&mut app.redis().await)
        .await
        .unwrap();
    assert_eq!(keys.len(), 2);
    let ttl: i64 = redis::cmd("TTL")
        .arg(&keys[0])
        .query_async(&mut app.redis().await)
        .await
        .unwrap();
    assert!((86_000..=86_400).contains(&ttl), "ttl {ttl}");
}

#[tokio::test]
async fn the_same_key_with_a_different_request_is_refused_with_422() {
    let app = spawn_app().await;
    assert_eq!(
        send(&app, "/api/claims", "k", &claim("10.00"))
            .await
            .status(),
        201
    );
    let (status, code, message) =
        error_of(send(&app, "/api/claims", "k", &claim("11.00")).await).await;
    assert_eq!(
        (status, code.as_str()),
        (422, "idempotency_key_reused"),
        "{message}"
    );
    assert_eq!(app.xlen().await, 1);
}

#[tokio::test]
async fn a_repeated_transition_answers_the_same_and_appends_one_event() {
    let app = spawn_app().await;
    let id = app.submit("10.00").await.claim_id;
    let path = format!("/api/claims/{id}/review");
    let first: Value = send(&app, &path, "review-1", &json!({}))
        .await
        .json()
        .await
        .unwrap();
    let again = send(&app, &path, "review-1", &json!({})).await;
    assert_eq!(again.status(), 200);
    assert_eq!(again.json::<Value>().await.unwrap(), first);
    assert_eq!(app.xlen().await, 2);
    // Without the key, a second review is what it is: refused.
    assert_eq!(app.act(&id, "review").await.status(), 409);

    // A refusal is an answer too, and is given again.
    let (status, code, _) =
        error_of(send(&app, "/api/claims/CLM-NOPE000000/pay", "pay-1", &json!({})).await).await;
    let (status2, code2, _) =
        error_of(send(&app, "/api/claims/CLM-NOPE000000/pay", "pay-1", &json!({})).await).await;
    assert_eq!((status, code.as_str()), (404, "not_found"));
    assert_eq!((status2, code2), (status, code));
}

#[tokio::test]
async fn concurrent_repeats_append_once() {
    let app = spawn_app().await;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..10 {
        let (http, url) = (app.http.clone(), app.url("/api/claims"));
        tasks.spawn(async move {
            let r = http
                .post(url)
                .header("idempotency-key", "same")
                .json(&claim("10.00"))
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            let body: Value = r.json().await.unwrap();
            (status, body)
        });
    }
    let mut claim_ids = std::collections::HashSet::new();
    while let Some(done) = tasks.join_next().await {
        let (status, body) = done.unwrap();
        match status {
            201 => {
                claim_ids.insert(body["claim_id"].as_str().unwrap().to_owned());
            }
            409 => assert_eq!(body["error"]["code"], "idempotency_key_in_use"),
            other => panic!("{other}: {body}"),
        }
    }
    assert_eq!(claim_ids.len(), 1);
    assert_eq!(app.xlen().await, 1);
}

#[tokio::test]
async fn a_bad_idempotency_key_is_refused_with_400() {
    let app = spawn_app().await;
    let long = "k".repeat(300);
    let (status, code, _) = error_of(send(&app, "/api/claims", &long, &claim("1.00")).await).await;
    assert_eq!((status, code.as_str()), (400, "invalid_idempotency_key"));
    assert_eq!(app.xlen().await, 0);
}

#[tokio::test]
async fn a_request_applied_by_a_relay_that_died_before_answering_is_not_applied_again() {
    let app = spawn_app().await;
    let body = claim("10.00");
    let bytes = axum::body::Bytes::from(serde_json::to_vec(&body).unwrap());
    // What a relay does up to the append, then dies: reserve the key, append with the mark.
    let key = "k-lost";
    let partition = backend::store::keys::Partition::ONLY;
    let mark = backend::store::claims::IdempotencyMark::new(
        partition,
        key,
        backend::http::idempotency::fingerprint("POST", "/api/claims", &bytes),
    );
    let db = backend::store::db::Db::new(&app.redis_url()).unwrap();
    submit_directly(
        &db,
        "CLM-LOSTANSWER",
        "CUST-1",
        1_000,
        "retried",
        Some(&mark),
    )
    .await
    .unwrap();

    let (status, code, message) = error_of(
        app.http
            .post(app.url("/api/claims"))
            .header("idempotency-key", key)
            .header("content-type", "application/json")
            .body(bytes.clone())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, code.as_str()),
        (409, "idempotency_key_applied"),
        "{message}"
    );
    assert!(message.contains("CLM-LOSTANSWER"), "{message}");
    assert_eq!(app.xlen().await, 1);
}
