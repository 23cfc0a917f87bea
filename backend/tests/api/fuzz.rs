//! Generated garbage against the relay: 10,000 malformed HTTP bodies at every command route,
//! and foreign entries written straight to the stream while the groups run. No 500, no
//! panic, nothing half-written.

use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

use test_support::relay::unthrottled;
use test_support::spawn_app_with;
use test_support::streams::assert_every_entry_indexed;

const BODIES: usize = 10_000;

/// A body that is almost, or not at all, what a route expects.
fn body(rng: &mut StdRng) -> Vec<u8> {
    let valid = json!({"customer_id": "CUST-1", "amount": "12.50", "description": "ok"})
        .to_string()
        .into_bytes();
    match rng.random_range(0..6) {
        // Random bytes.
        0 => (0..rng.random_range(0..200))
            .map(|_| rng.random())
            .collect(),
        // A valid body cut short.
        1 => valid[..rng.random_range(0..valid.len())].to_vec(),
        // A valid body with bytes flipped.
        2 => {
            let mut b = valid.clone();
            for _ in 0..rng.random_range(1..4) {
                let at = rng.random_range(0..b.len());
                b[at] = rng.random();
            }
            b
        }
        // Right shape, wrong values.
        3 => {
            let values = [
                json!(null),
                json!(-1),
                json!(1e308),
                json!("9".repeat(40)),
                json!("x".repeat(600)),
                json!([]),
                json!({}),
                json!("\u{0000}\u{202e}"),
                json!("1.005"),
                json!(true),
            ];
            let mut pick = || values[rng.random_range(0..values.len())].clone();
            json!({"customer_id": pick(), "amount": pick(), "description": pick(),
                "reason": pick(), "expected_version": pick()})
            .to_string()
            .into_bytes()
        }
        // Deep nesting.
        4 => {
            let depth = rng.random_range(1..2_000);
            format!("{}{}", "[".repeat(depth), "]".repeat(depth)).into_bytes()
        }
        // Valid JSON of another shape.
        _ => json!({"claim": {"id": rng.random::<u32>()}, "extra": [1, 2, 3]})
            .to_string()
            .into_bytes(),
    }
}

#[tokio::test]
async fn ten_thousand_malformed_bodies_get_4xx_and_leave_nothing_half_written() {
    let app = spawn_app_with(unthrottled).await;
    let existing = app.submit("10.00").await.claim_id;
    let routes = [
        "/api/claims".to_owned(),
        format!("/api/claims/{existing}/review"),
        format!("/api/claims/{existing}/approve"),
        format!("/api/claims/{existing}/reject"),
        format!("/api/claims/{existing}/pay"),
        "/api/groups/claims-processors/inject".to_owned(),
        "/api/groups/claims-processors/pause".to_owned(),
    ];
    let mut lanes = tokio::task::JoinSet::new();
    for lane in 0..8u64 {
        let (http, base, routes) = (app.http.clone(), app.url(""), routes.clone());
        lanes.spawn(async move {
            let mut rng = StdRng::seed_from_u64(lane);
            let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
            for _ in 0..BODIES / 8 {
                let route = &routes[rng.random_range(0..routes.len())];
                let response = http
                    .post(format!("{base}{route}"))
                    .header("content-type", "application/json")
                    .body(body(&mut rng))
                    .send()
                    .await
                    .unwrap();
                let status = response.status().as_u16();
                let text = response.text().await.unwrap();
                assert!(status < 500, "{status} at {route}: {text}");
                if status >= 400 {
                    let error: Value = serde_json::from_str(&text).expect("a JSON error body");
                    assert!(
                        error["error"]["message"]
                            .as_str()
                            .is_some_and(|m| !m.is_empty())
                    );
                }
                *statuses.entry(status).or_default() += 1;
            }
            statuses
        });
    }
    let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
    while let Some(lane) = lanes.join_next().await {
        for (status, n) in lane.unwrap() {
            *statuses.entry(status).or_default() += n;
        }
    }
    println!("{BODIES} malformed bodies: {statuses:?}");
    assert_eq!(statuses.values().sum::<usize>(), BODIES);
    assert_every_entry_indexed(&mut app.redis().await).await;
}

#[tokio::test]
async fn foreign_entries_are_read_by_every_group_without_a_panic_or_a_dead_letter() {
    let app = spawn_app_with(|c| c.workers = true).await;
    let mut rng = StdRng::seed_from_u64(7);
    let types = [
        "claim_submitted",
        "claim_status_updated",
        "claim_paid",
        "claim_rejected",
        "x",
    ];
    let names = [
        "type",
        "v",
        "claim_id",
        "amount",
        "to",
        "from",
        "timestamp",
        "reason",
        "ü",
    ];
    let values = [
        "",
        "1",
        "0",
        "-1",
        "CLM-FOREIGN001",
        "approved",
        "2026-11-23T10:00:00.000Z",
        "not a time",
        "1e999",
        "12.345",
        "\u{0}",
    ];
    let mut written = 0;
    for _ in 0..1_000 {
        let mut fields: Vec<(&str, &str)> = vec![("type", types[rng.random_range(0..types.len())])];
        for _ in 0..rng.random_range(0..8) {
            fields.push((
                names[rng.random_range(0..names.len())],
                values[rng.random_range(0..values.len())],
            ));
        }
        app.raw_xadd(&fields).await;
        written += 1;
    }
    let claim = app.submit("10.00").await.claim_id;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let groups: Value = app.get_json("/api/groups").await;
        let settled = groups["groups"]
            .as_array()
            .unwrap()
            .iter()
            .all(|g| g["lag"] == 0 && g["pending"] == 0);
        if settled && groups["groups"].as_array().unwrap().len() == 4 {
            break;
        }
        assert!(Instant::now() < deadline, "groups did not settle: {groups}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(app.stream("claims:failed").await.is_empty());
    assert_eq!(app.get("/api/health").await.status(), 200);
    // The relay's own claim went on as usual among them.
    let shown: Value = app.get_json(&format!("/api/claims/{claim}")).await;
    assert_eq!(shown["claim"]["status"], "approved");
    assert_eq!(app.xlen().await as usize, written + 3);
}
