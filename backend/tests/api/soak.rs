//! Many events through all three groups while consumers crash and the relay restarts.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::helpers::{TestApp, field, spawn_app_with};

const CLAIMS: usize = 4_000;

async fn groups(app: &TestApp) -> Value {
    app.get("/api/groups").await.json().await.unwrap()
}

/// Submits claims from 8 tasks; every other one is small enough to be approved automatically.
async fn submit_range(app: &TestApp, range: std::ops::Range<usize>) {
    let mut tasks = tokio::task::JoinSet::new();
    for lane in 0..8 {
        let (http, url) = (app.http.clone(), app.url("/api/claims"));
        let ids: Vec<usize> = range.clone().filter(|i| i % 8 == lane).collect();
        tasks.spawn(async move {
            for i in ids {
                let amount = if i % 2 == 0 { "500.00" } else { "5000.00" };
                let body = format!(
                    r#"{{"customer_id":"CUST-{i}","amount":"{amount}","description":"soak"}}"#
                );
                let r = http
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 201);
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
}

async fn crash_one_in_each_group(app: &TestApp) {
    let g = groups(app).await;
    // The relay's worker groups (the projection's one consumer is not one to crash).
    for group in g["groups"].as_array().unwrap() {
        if group["in_relay"] != true {
            continue;
        }
        let name = group["name"].as_str().unwrap();
        let running = group["members"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["running"] == true)
            .map(|c| c["name"].as_str().unwrap().to_owned());
        if let Some(consumer) = running {
            let r = app
                .post(
                    &format!("/api/groups/{name}/consumers/{consumer}/crash"),
                    &json!({}),
                )
                .await;
            assert_eq!(r.status(), 200);
            app.post(&format!("/api/groups/{name}/consumers"), &json!({}))
                .await;
        }
    }
}

#[tokio::test]
async fn ten_thousand_events_are_applied_exactly_once_per_group_through_crashes_and_a_restart() {
    let mut app = spawn_app_with(|c| {
        c.workers = true;
        c.consumers = 2;
        c.claim_idle_ms = 500;
        // Thousands of submits from one address: far above a class's rate.
        c.write_rate_per_second = 1_000_000;
        c.write_burst = 1_000_000;
    })
    .await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while groups(&app).await["groups"].as_array().unwrap().len() < 3 {
        assert!(Instant::now() < deadline, "the groups did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    submit_range(&app, 0..CLAIMS / 3).await;
    crash_one_in_each_group(&app).await;
    submit_range(&app, CLAIMS / 3..2 * CLAIMS / 3).await;
    app.restart_relay().await;
    submit_range(&app, 2 * CLAIMS / 3..CLAIMS).await;
    crash_one_in_each_group(&app).await;

    // Each claim: submitted, reviewed, and approved when small: 4,000 + 4,000 + 2,000 events.
    let expected_events = CLAIMS * 2 + CLAIMS / 2;
    let deadline = Instant::now() + Duration::from_secs(240);
    loop {
        let g = groups(&app).await;
        let settled = g["length"] == expected_events
            && g["groups"]
                .as_array()
                .unwrap()
                .iter()
                .all(|g| g["lag"] == 0 && g["pending"] == 0);
        if settled {
            break;
        }
        assert!(Instant::now() < deadline, "not settled: {g:#}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    // claims-processors: every claim reviewed once, the small ones approved once.
    let events = app.stream("claims:events").await;
    assert_eq!(events.len(), expected_events);
    let mut per_claim: HashMap<String, Vec<String>> = HashMap::new();
    let mut small_claims = HashSet::new();
    for (_, fields) in &events {
        let kind = match field(fields, "type") {
            "claim_status_updated" => field(fields, "to").to_owned(),
            other => other.to_owned(),
        };
        // Small by the amount it was submitted with (at most the 1000.00 threshold).
        if kind == "claim_submitted" && field(fields, "amount") == "500.00" {
            small_claims.insert(field(fields, "claim_id").to_owned());
        }
        per_claim
            .entry(field(fields, "claim_id").to_owned())
            .or_default()
            .push(kind);
    }
    assert_eq!(per_claim.len(), CLAIMS);
    assert_eq!(small_claims.len(), CLAIMS / 2);
    for (claim, history) in &per_claim {
        let small = small_claims.contains(claim);
        let expected: &[&str] = if small {
            &["claim_submitted", "under_review", "approved"]
        } else {
            &["claim_submitted", "under_review"]
        };
        assert_eq!(history, expected, "{claim}");
    }

    // claims-notifications: one per submitted and per approved entry, none twice.
    let notes = app.stream("claims:notifications").await;
    let notified: HashSet<&str> = notes.iter().map(|(_, f)| field(f, "entry_id")).collect();
    assert_eq!(notified.len(), notes.len(), "an entry was notified twice");
    assert_eq!(notes.len(), CLAIMS + CLAIMS / 2);

    // claims-analytics: every entry counted once.
    let mut conn = app.redis().await;
    let metrics: HashMap<String, i64> = redis::cmd("HGETALL")
        .arg("claims:{claims:analytics}:metrics")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(metrics["events:claim_submitted"], CLAIMS as i64);
    assert_eq!(
        metrics["events:claim_status_updated"],
        (CLAIMS + CLAIMS / 2) as i64
    );
    // Markers are trimmed once their entries are acknowledged, so at most one per entry.
    let counted: usize = redis::cmd("ZCARD")
        .arg(backend::store::keys::counted())
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(counted <= expected_events, "{counted} markers");
    assert!(
        app.stream("claims:failed").await.is_empty(),
        "nothing dead-lettered"
    );
}
