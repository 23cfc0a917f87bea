//! The live analytics dashboard's figures: lag over time and the catch-up estimate, event
//! rates, processing times, error rates with their alert.

use std::time::Duration;

use serde_json::json;
use shared::api::{AnalyticsResponse, GroupView, GroupsResponse};

use crate::fixtures::{inject, spawn_workers};
use test_support::{TestApp, until};

async fn analytics(app: &TestApp) -> AnalyticsResponse {
    let r = app.get("/api/analytics").await;
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

async fn group(app: &TestApp, name: &str) -> GroupView {
    let groups: GroupsResponse = app.get_json("/api/groups").await;
    groups.groups.into_iter().find(|g| g.name == name).unwrap()
}

async fn app_with_workers() -> TestApp {
    let app = spawn_workers(1, false, |_| {}).await;
    until(Duration::from_secs(10), "the groups to start", async || {
        group_exists(&app, "claims-notifications").await
    })
    .await;
    app
}

async fn group_exists(app: &TestApp, name: &str) -> bool {
    let groups: GroupsResponse = app.get_json("/api/groups").await;
    groups.groups.iter().any(|g| g.name == name && g.in_relay)
}

#[tokio::test]
async fn a_paused_groups_lag_grows_in_its_trend_then_drains_to_a_zero_catch_up() {
    let app = app_with_workers().await;
    let path = "/api/groups/claims-notifications/pause";
    assert_eq!(app.post(path, &json!({"paused": true})).await.status(), 200);
    for _ in 0..20 {
        app.submit("1.00").await;
    }
    until(
        Duration::from_secs(10),
        "a lag of 20 in the trend",
        async || {
            let g = group(&app, "claims-notifications").await;
            g.lag_trend.last().map(|p| p.lag) == Some(20)
        },
    )
    .await;
    // Not falling: no estimate.
    assert_eq!(
        group(&app, "claims-notifications").await.catch_up_seconds,
        None
    );
    assert_eq!(
        app.post(path, &json!({"paused": false})).await.status(),
        200
    );
    until(Duration::from_secs(10), "the lag to drain", async || {
        let g = group(&app, "claims-notifications").await;
        g.catch_up_seconds == Some(0.0) && g.lag_trend.last().map(|p| p.lag) == Some(0)
    })
    .await;
    let g = group(&app, "claims-notifications").await;
    assert!(
        g.lag_trend.iter().any(|p| p.lag == 20),
        "the trend keeps the high point: {:?}",
        g.lag_trend
    );
    let times = g.processing_ms.expect("timed runs");
    assert!(times.samples >= 20 && times.p99 >= times.p50, "{times:?}");
}

#[tokio::test]
async fn event_rates_by_type_and_amounts_by_status_follow_the_claims() {
    let app = app_with_workers().await;
    for _ in 0..5 {
        let c = app.submit("10.00").await;
        app.act(&c.claim_id, "review").await;
    }
    until(
        Duration::from_secs(10),
        "submissions per second",
        async || {
            let a = analytics(&app).await;
            a.events_per_second
                .iter()
                .any(|r| r.event_type == "claim_submitted" && r.per_second > 0.0)
                && a.rate_series.iter().any(|p| !p.rates.is_empty())
        },
    )
    .await;
    until(Duration::from_secs(10), "the amounts counted", async || {
        let a = analytics(&app).await;
        let submitted = a
            .by_status
            .iter()
            .find(|s| s.status == shared::ClaimStatus::Submitted)
            .unwrap();
        submitted.claims == 5 && submitted.amount == "50.00"
    })
    .await;
    let a = analytics(&app).await;
    assert!(
        a.stream_length.iter().any(|p| p.length == 10),
        "{:?}",
        a.stream_length
    );
}

#[tokio::test]
async fn a_group_failing_most_entries_raises_the_alert() {
    let app = app_with_workers().await;
    inject(&app, "claims-notifications", json!({"fail_ratio": 1.0})).await;
    assert!(analytics(&app).await.alerts.is_empty());
    for _ in 0..3 {
        app.submit("1.00").await;
    }
    until(Duration::from_secs(15), "the alert", async || {
        let a = analytics(&app).await;
        a.alerts
            .iter()
            .any(|m| m.starts_with("claims-notifications failed"))
    })
    .await;
    let g = group(&app, "claims-notifications").await;
    assert!(g.error_rate > 0.10, "{}", g.error_rate);
}

/// `lag_ms`: how long the oldest entry a group has not been given has waited; 0 once it has
/// had everything.
#[tokio::test]
async fn a_stopped_groups_lag_in_time_is_the_age_of_its_oldest_undelivered_entry() {
    let app = test_support::spawn_app().await;
    let _: () = app
        .query(&[
            "XGROUP",
            "CREATE",
            "claims:events",
            "stopped",
            "$",
            "MKSTREAM",
        ])
        .await;
    assert_eq!(group(&app, "stopped").await.lag_ms, 0);

    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let minute_ago = format!("{}-0", now_ms - 60_000);
    let _: String = app
        .query(&[
            "XADD",
            "claims:events",
            &minute_ago,
            "type",
            "stream_created",
            "timestamp",
            &(now_ms - 60_000).to_string(),
        ])
        .await;
    app.raw_xadd(&[("type", "stream_created"), ("timestamp", "0")])
        .await;
    let lag_ms = group(&app, "stopped").await.lag_ms;
    assert!(
        (60_000..90_000).contains(&lag_ms),
        "the entry appended a minute ago waits: {lag_ms} ms"
    );

    let _: redis::Value = app
        .query(&[
            "XREADGROUP",
            "GROUP",
            "stopped",
            "c",
            "STREAMS",
            "claims:events",
            ">",
        ])
        .await;
    assert_eq!(group(&app, "stopped").await.lag_ms, 0);
}
