use serde_json::{Value, json};
use shared::api::{ClaimEventsResponse, ClaimListResponse, ClaimResponse, CommandResponse};

use test_support::{error_of, spawn_app};

use crate::fixtures::strings_at;

#[tokio::test]
async fn submitting_a_claim_appends_one_entry_with_the_exact_fields() {
    let app = spawn_app().await;
    // As the playground asks: with what the script ran inside.
    let created: CommandResponse = test_support::api::json_of(
        app.http
            .post(app.url("/api/claims"))
            .header("x-redis-trace", "scripts")
            .json(&serde_json::json!({
                "customer_id": "CUST-001", "amount": "5000.5", "description": "Water damage"
            }))
            .send()
            .await
            .unwrap(),
    )
    .await;

    let entries = app.xrange().await;
    assert_eq!(entries.len(), 1);
    let (id, fields) = &entries[0];
    assert_eq!(id, &created.entry_id);
    let names: Vec<&str> = fields.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        names,
        [
            "type",
            "v",
            "claim_id",
            "customer_id",
            "timestamp",
            "amount",
            "description",
            "currency",
            "causation_id",
            "correlation_id"
        ]
    );
    let value = |name: &str| fields.iter().find(|(k, _)| k == name).unwrap().1.clone();
    // A submission starts its story: caused by the request, which names the story too.
    assert!(value("causation_id").starts_with("req-"));
    assert_eq!(value("correlation_id"), value("causation_id"));
    assert_eq!(value("type"), "claim_submitted");
    assert_eq!(value("v"), "2");
    assert_eq!(value("currency"), "USD");
    assert_eq!(value("claim_id"), created.claim_id);
    assert_eq!(value("customer_id"), "CUST-001");
    assert_eq!(value("amount"), "5000.50");
    assert_eq!(value("description"), "Water damage");
    assert!(value("timestamp").ends_with('Z') && value("timestamp").len() == 24);
    assert!(created.claim_id.starts_with("CLM-"));
    assert_eq!(created.claim.version, 1);
    // The append is one script: sent as EVALSHA, its commands shown as what ran inside it.
    let [script] = created.scripts.as_slice() else {
        panic!("one script: {:?}", created.scripts)
    };
    assert!(
        created
            .redis
            .iter()
            .any(|c| c.starts_with(&format!("EVALSHA {} 3 claims:events ", script.sha))),
        "{:?}",
        created.redis
    );
    assert!(
        !created
            .redis
            .iter()
            .any(|c| c.starts_with("XADD claims:events")),
        "the script's XADD is not a command of its own: {:?}",
        created.redis
    );
    // What came of the command goes to the log, after it.
    assert!(
        created.redis[1].starts_with("XADD claims:commands MAXLEN ~ 10000 * command submit "),
        "{:?}",
        created.redis
    );
    // What ran inside, as the script listed it: the real cursor, not a placeholder.
    assert!(
        script.inside[1].starts_with("XRANGE claims:events (0-0 + COUNT "),
        "{:?}",
        script.inside
    );
    assert!(
        script.inside[3].starts_with("XADD claims:events * type claim_submitted"),
        "{:?}",
        script.inside
    );
    assert_eq!(
        script.inside[4],
        format!(
            "RPUSH {} {}",
            shared::console::quote(&format!(
                "claims:{{claims:events}}:history:{}",
                created.claim_id
            )),
            created.entry_id
        )
    );
    // The answer names the script; its text is one GET away, and the same for every answer.
    let response = app.get(&format!("/api/scripts/{}", script.sha)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    let text: shared::api::ScriptSource = response.json().await.unwrap();
    assert_eq!(text.sha, script.sha);
    assert!(text.source.contains("'XADD'"), "{}", text.source);

    // Unasked, the script lists nothing (that costs Redis); the EVALSHA sent still shows.
    let plain = app.submit("1.00").await;
    assert!(plain.scripts.is_empty(), "{:?}", plain.scripts);
    assert!(
        plain
            .redis
            .iter()
            .any(|c| c.starts_with(&format!("EVALSHA {} ", script.sha))),
        "{:?}",
        plain.redis
    );
}

#[tokio::test]
async fn a_script_is_found_only_by_its_sha() {
    let app = spawn_app().await;
    let short = app.get("/api/scripts/abc").await;
    assert_eq!(short.status(), 400);
    let body: Value = short.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_sha");
    let unknown = app.get(&format!("/api/scripts/{}", "0".repeat(40))).await;
    assert_eq!(unknown.status(), 404);
}

#[tokio::test]
async fn a_claim_goes_through_its_whole_lifecycle() {
    let app = spawn_app().await;
    let id = app.submit("120.00").await.claim_id;
    for (action, status, version) in [
        ("review", "under_review", 2),
        ("approve", "approved", 3),
        ("pay", "paid", 4),
    ] {
        let response = app.act(&id, action).await;
        assert_eq!(response.status(), 200, "{action}");
        let body: CommandResponse = response.json().await.unwrap();
        assert_eq!(body.claim.status.as_str(), status);
        assert_eq!(body.claim.version, version);
    }

    let shown: ClaimResponse = app.claim(&id).await;
    assert_eq!(shown.claim.status.as_str(), "paid");
    assert!(shown.claim.payment_reference.unwrap().starts_with("PAY-"));
    assert!(shown.claim.allowed_actions.is_empty());
    assert!(shown.redis[0].starts_with("LRANGE "), "{:?}", shown.redis);

    let history: ClaimEventsResponse = app.claim_events(&id).await;
    let types: Vec<String> = history
        .events
        .iter()
        .map(|e| e.event.as_ref().unwrap().event_type().to_string())
        .collect();
    assert_eq!(
        types,
        [
            "claim_submitted",
            "claim_status_updated",
            "claim_status_updated",
            "claim_paid"
        ]
    );
    let stream_ids: Vec<String> = app.xrange().await.into_iter().map(|(id, _)| id).collect();
    let history_ids: Vec<String> = history.events.iter().map(|e| e.id.clone()).collect();
    assert_eq!(history_ids, stream_ids);
}

#[tokio::test]
async fn every_invalid_transition_is_refused_with_409_and_a_message() {
    let app = spawn_app().await;
    let paths: [&[&str]; 5] = [
        &[],
        &["review"],
        &["review", "approve"],
        &["review", "approve", "pay"],
        &["reject"],
    ];
    let allowed: [&[&str]; 5] = [
        &["review", "reject"],
        &["approve", "reject"],
        &["pay"],
        &[],
        &[],
    ];
    let mut refused = 0;
    for (path, allowed) in paths.iter().zip(allowed) {
        let id = app.submit("10.00").await.claim_id;
        for action in *path {
            assert_eq!(app.act(&id, action).await.status(), 200);
        }
        for action in ["review", "approve", "reject", "pay"] {
            if allowed.contains(&action) {
                continue;
            }
            let before = app.xlen().await;
            let (status, code, message) = error_of(app.act(&id, action).await).await;
            assert_eq!(
                (status, code.as_str()),
                (409, "invalid_transition"),
                "{action} after {path:?}"
            );
            assert!(
                message.starts_with(&format!("cannot {action} a claim that is")),
                "{message}"
            );
            assert_eq!(app.xlen().await, before);
            refused += 1;
        }
    }
    assert_eq!(refused, 15);
    let (_, _, message) = error_of(app.act(&app.submit("1").await.claim_id, "approve").await).await;
    assert_eq!(
        message,
        "cannot approve a claim that is submitted; review it first"
    );
}

#[tokio::test]
async fn concurrent_approve_and_reject_leave_exactly_one_event() {
    let app = spawn_app().await;
    for _ in 0..25 {
        let id = app.submit("99.99").await.claim_id;
        assert_eq!(app.act(&id, "review").await.status(), 200);
        let (a, b) = tokio::join!(app.act(&id, "approve"), app.act(&id, "reject"));
        let mut statuses = [a.status().as_u16(), b.status().as_u16()];
        statuses.sort();
        assert_eq!(statuses, [200, 409]);
        let history: ClaimEventsResponse = app.claim_events(&id).await;
        assert_eq!(history.events.len(), 3);
    }
    assert_eq!(app.xlen().await, 25 * 3);
}

#[tokio::test]
async fn a_stale_expected_version_is_refused_with_409() {
    let app = spawn_app().await;
    let id = app.submit("10").await.claim_id;
    let stale = app
        .post(
            &format!("/api/claims/{id}/review"),
            &json!({"expected_version": 0}),
        )
        .await;
    let (status, code, message) = error_of(stale).await;
    assert_eq!((status, code.as_str()), (409, "version_conflict"));
    assert!(message.contains("version 1, not 0"), "{message}");
    let fresh = app
        .post(
            &format!("/api/claims/{id}/review"),
            &json!({"expected_version": 1}),
        )
        .await;
    assert_eq!(fresh.status(), 200);
    assert_eq!(app.xlen().await, 2);
}

#[tokio::test]
async fn the_claim_list_filters_by_status_and_pages_newest_first() {
    let app = spawn_app().await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(app.submit(&format!("{}.00", i + 1)).await.claim_id);
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    assert_eq!(app.act(&ids[1], "review").await.status(), 200);
    let rejected = app.act(&ids[3], "reject").await;
    assert_eq!(rejected.status(), 200);
    let rejected: CommandResponse = rejected.json().await.unwrap();

    // The list reads the projection: ask for it once it has the last command applied.
    let page: ClaimListResponse = app
        .get_json(&format!(
            "/api/claims?status=submitted&limit=2&after={}&wait_ms=5000",
            rejected.entry_id
        ))
        .await;
    assert_eq!(page.total, 3);
    let listed: Vec<&str> = page.claims.iter().map(|c| c.claim_id.as_str()).collect();
    assert_eq!(listed, [ids[4].as_str(), ids[2].as_str()]);
    let next: ClaimListResponse = app
        .get_json("/api/claims?status=submitted&limit=2&offset=2")
        .await;
    assert_eq!(next.claims[0].claim_id, ids[0]);

    let reviewing: ClaimListResponse = app.get_json("/api/claims?status=under_review").await;
    assert_eq!(reviewing.claims.len(), 1);
    assert_eq!(reviewing.claims[0].claim_id, ids[1]);
    assert_eq!(reviewing.claims[0].version, 2);
    let all: ClaimListResponse = app.get_json("/api/claims").await;
    assert_eq!(all.total, 5);
}

#[tokio::test]
async fn the_entries_endpoint_pages_forwards_and_backwards() {
    let app = spawn_app().await;
    for _ in 0..5 {
        app.submit("1").await;
    }
    let ids: Vec<String> = app.xrange().await.into_iter().map(|(id, _)| id).collect();
    let page: Value = app
        .get_json("/api/streams/claims:events/entries?count=2")
        .await;
    let got = strings_at(&page["entries"], "id");
    assert_eq!(got, [ids[0].as_str(), ids[1].as_str()]);
    let next = page["next"].as_str().unwrap().to_owned();
    let page: Value = app
        .get_json(&format!(
            "/api/streams/claims:events/entries?count=10&start={next}"
        ))
        .await;
    assert_eq!(page["entries"].as_array().unwrap().len(), 3);
    assert!(page["next"].is_null());
    let newest: Value = app
        .get_json("/api/streams/claims:events/entries?count=1&rev=true")
        .await;
    assert_eq!(newest["entries"][0]["id"], ids[4].as_str());
    assert_eq!(newest["redis"][0], "XREVRANGE claims:events + - COUNT 1");
}

#[tokio::test]
async fn health_reports_redis_and_stream_lengths() {
    let app = spawn_app().await;
    app.submit("1").await;
    let response = app.get("/api/health").await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["redis"]["reachable"], true);
    let version = body["redis"]["version"].as_str().unwrap();
    assert!(
        version.split('.').all(|part| part.parse::<u32>().is_ok()),
        "{version}"
    );
    assert_eq!(body["streams"][0]["key"], "claims:events");
    assert_eq!(body["streams"][0]["length"], 1);
    assert_eq!(body["commands"][0], "PING");
    assert_eq!(body["commands"][2], "XLEN claims:events");
}
