//! The analytics dashboard: charts of length, rates, claims and amounts that move as events
//! arrive.

use std::time::Duration;

use crate::fixture::with_laptop_playground;
use crate::harness::{Stack, eventually, one_consumer};

#[tokio::test]
async fn the_dashboards_charts_move_as_events_arrive() {
    with_laptop_playground(Stack::start_with(one_consumer), async |stack, page| {
        page.click("analytics-toggle").await;
        let length = "analytics-length-value-claims:events";
        page.wait_attribute(length, "data-value", Some("0"), Duration::from_secs(10))
            .await;
        let line_before = page
            .attribute("analytics-length-line-claims:events", "points")
            .await;

        for amount in ["10.00", "20.00", "30.00", "40.00", "50.00"] {
            stack.submit(amount).await;
        }
        page.wait_attribute(length, "data-value", Some("5"), Duration::from_secs(10))
            .await;
        assert_ne!(
            page.attribute("analytics-length-line-claims:events", "points")
                .await,
            line_before,
            "the length's line was redrawn"
        );
        let rate = "analytics-rates-line-claim_submitted";
        eventually(
            Duration::from_secs(10),
            "a rate of claims submitted",
            || async {
                let max: f64 = page.attribute(rate, "data-max").await?.parse().ok()?;
                (max > 0.0).then_some(())
            },
        )
        .await;
        eventually(
            Duration::from_secs(10),
            "the bars of claims and amounts",
            || async {
                let claims = page
                    .attribute("analytics-claims-bar-submitted", "data-value")
                    .await;
                let amount = page
                    .attribute("analytics-amounts-bar-submitted", "data-value")
                    .await;
                (claims.as_deref() == Some("5") && amount.as_deref() == Some("150")).then_some(())
            },
        )
        .await;
        assert!(page.exists("lag-chart-claims-notifications").await);

        let overflowing = page.overflowing(&["analytics"]).await;
        assert!(overflowing.is_empty(), "{overflowing:#?}");
        page.screenshot_at("analytics", "16-analytics").await;
    })
    .await;
}
