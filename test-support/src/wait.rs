//! Waiting for positive evidence: polling a condition until it holds, bounded in time.

use std::time::{Duration, Instant};

/// Polls `check` every 50 ms until it holds; panics with `what` after `limit`.
pub async fn until(limit: Duration, what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
