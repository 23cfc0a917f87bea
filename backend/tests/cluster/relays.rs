//! Several stateless relays on one cluster.

use std::time::Duration;

use backend::store::keys::Partitions;
use serde_json::json;

use crate::harness::{PARTITIONS, Stack};

#[tokio::test]
async fn a_claim_submitted_through_one_relay_appears_live_on_the_others_websocket() {
    let stack = Stack::start().await;
    let (one, other) = (stack.relay().await, stack.relay().await);
    let mut watching = other.ws().await;
    watching.expect_caught_up().await;
    let submitted = one.submit("CUST-CLUSTER").await;
    let entry = watching
        .entry_where(Duration::from_secs(10), |e| e.id == submitted.entry_id)
        .await;
    assert_eq!(
        entry.event.as_ref().unwrap().claim_id.to_string(),
        submitted.claim_id
    );
    // And the other relay serves the claim it did not write.
    let claim = other
        .get(&format!("/api/claims/{}", submitted.claim_id))
        .await;
    assert_eq!(claim.status(), 200);
    one.shutdown().await;
    other.shutdown().await;
    stack.cluster.stop().await.unwrap();
}

#[tokio::test]
async fn concurrent_transitions_of_one_claim_through_two_relays_give_one_event() {
    let stack = Stack::start().await;
    let (one, other) = (stack.relay().await, stack.relay().await);
    for n in 0..10 {
        let claim = one.submit(&format!("CUST-RACE-{n}")).await.claim_id;
        let (a, b) = tokio::join!(one.act(&claim, "review"), other.act(&claim, "review"));
        let mut codes = [a.status().as_u16(), b.status().as_u16()];
        codes.sort_unstable();
        assert_eq!(codes, [200, 409], "claim {claim}");
        let events: serde_json::Value = one
            .get(&format!("/api/claims/{claim}/events"))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(events["events"].as_array().unwrap().len(), 2, "{events}");
    }
    one.shutdown().await;
    other.shutdown().await;
    stack.cluster.stop().await.unwrap();
}

#[tokio::test]
async fn every_read_of_the_api_answers_on_a_cluster() {
    let stack = Stack::start().await;
    let relay = stack.relay_with(|c| c.workers = true).await;
    let claim = relay.submit("CUST-READS").await;
    assert_eq!(relay.act(&claim.claim_id, "review").await.status(), 200);
    let workspace: serde_json::Value = relay
        .post("/api/workspaces", &serde_json::json!({}))
        .await
        .json()
        .await
        .unwrap();
    let workspace = workspace["id"].as_str().unwrap().to_owned();
    let console = relay
        .http
        .post(relay.url("/api/console"))
        .header("x-workspace", &workspace)
        .json(&serde_json::json!({"line": "XADD claims:events * type claim_submitted"}))
        .send()
        .await
        .unwrap();
    assert_eq!(console.status(), 200);
    let reply: serde_json::Value = console.json().await.unwrap();
    assert!(reply["error"].is_null(), "{reply}");
    for path in [
        "/api/health".to_owned(),
        "/api/session".into(),
        "/api/claims".into(),
        format!("/api/claims/{}", claim.claim_id),
        format!("/api/claims/{}/events", claim.claim_id),
        "/api/groups".into(),
        "/api/analytics".into(),
        "/api/memory".into(),
        "/api/projections".into(),
        "/api/state".into(),
        "/api/streams/claims:events/entries".into(),
        "/api/traffic".into(),
        "/api/scenarios".into(),
        "/api/validate".into(),
        "/api/class".into(),
    ] {
        let r = relay.get(&path).await;
        let status = r.status();
        assert_eq!(status, 200, "{path}: {}", r.text().await.unwrap());
    }
    for path in ["/api/lab", "/api/lab/report"] {
        let r = relay
            .http
            .get(relay.url(path))
            .header("x-workspace", &workspace)
            .send()
            .await
            .unwrap();
        let status = r.status();
        assert_eq!(status, 200, "{path}: {}", r.text().await.unwrap());
    }
    relay.shutdown().await;
    stack.cluster.stop().await.unwrap();
}

#[tokio::test]
async fn every_event_of_a_claim_is_in_its_own_partition_and_the_partitions_share_the_load() {
    let stack = Stack::start().await;
    let (one, other) = (stack.relay().await, stack.relay().await);
    let mut claims = Vec::new();
    for n in 0..24 {
        let relay = if n % 2 == 0 { &one } else { &other };
        let submitted = relay.submit(&format!("CUST-P{n}")).await;
        // The next step through the other relay, so both write to every claim.
        let next = if n % 2 == 0 { &other } else { &one };
        assert_eq!(next.act(&submitted.claim_id, "review").await.status(), 200);
        claims.push(submitted.claim_id);
    }
    let partitions = Partitions::new(PARTITIONS).unwrap();
    let mut used = 0;
    for partition in partitions.all() {
        let entries = stack.entries(&partition.events()).await;
        used += usize::from(!entries.is_empty());
        for (id, claim) in &entries {
            assert_eq!(
                partitions.of(claim),
                partition,
                "entry {id} of claim {claim} is in the wrong partition"
            );
        }
        // Both events of each of its claims, submission first.
        for claim in claims.iter().filter(|c| partitions.of(c) == partition) {
            let own: Vec<&String> = entries
                .iter()
                .filter(|(_, c)| c == claim)
                .map(|(id, _)| id)
                .collect();
            assert_eq!(own.len(), 2, "claim {claim}");
        }
    }
    assert!(
        used >= 3,
        "24 claims landed in only {used} of {PARTITIONS} partitions"
    );
    // The list merges the partitions' read models: every claim, newest first.
    let listed = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let page: serde_json::Value =
                one.get("/api/claims?limit=50").await.json().await.unwrap();
            if page["total"] == 24 {
                return page;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .expect("the projection lists every claim");
    assert_eq!(listed["claims"].as_array().unwrap().len(), 24);
    one.shutdown().await;
    other.shutdown().await;
    stack.cluster.stop().await.unwrap();
}

#[tokio::test]
async fn dead_letters_stay_in_their_claims_partition_and_the_figures_add_up() {
    let stack = Stack::start().await;
    let relay = stack
        .relay_with(|c| {
            c.workers = true;
            c.auto_review = false;
            c.consumers = 1;
            c.max_deliveries = 2;
        })
        .await;
    let notifications = "/api/groups/claims-notifications";
    // Paused while the poisoned claim is submitted, so its first delivery already fails.
    let (pause, paused) = (format!("{notifications}/pause"), json!({"paused": true}));
    eventually(Duration::from_secs(10), || async {
        (relay.post(&pause, &paused).await.status() == 200).then_some(())
    })
    .await;
    let mut claims = Vec::new();
    for n in 0..12 {
        claims.push(relay.submit(&format!("CUST-ADD{n}")).await.claim_id);
    }
    let poisoned = claims[5].clone();
    for (action, body) in [
        ("inject", json!({"poison_claim": poisoned})),
        ("pause", json!({"paused": false})),
    ] {
        let r = relay
            .post(&format!("{notifications}/{action}"), &body)
            .await;
        assert_eq!(r.status(), 200);
    }
    let partition = Partitions::new(PARTITIONS).unwrap().of(&poisoned);
    // The letter lands in the poisoned claim's partition, named `<partition>:<id>`.
    let letter = eventually(Duration::from_secs(30), || async {
        let page: serde_json::Value = relay
            .get("/api/streams/claims:failed/entries")
            .await
            .json()
            .await
            .unwrap();
        let letter = page["entries"].as_array()?.first()?.clone();
        Some(letter)
    })
    .await;
    assert_eq!(letter["partition"], partition.index());
    let in_partition = stack.entries(&partition.failed()).await;
    assert_eq!(in_partition.len(), 1, "{in_partition:?}");
    // Every claim counted once by the analytics, whichever partition it is in.
    eventually(Duration::from_secs(20), || async {
        let a: serde_json::Value = relay.get("/api/analytics").await.json().await.unwrap();
        let submitted = a["by_status"]
            .as_array()?
            .iter()
            .find(|s| s["status"] == "submitted")?["claims"]
            .as_u64()?;
        (submitted == 12 && a["dead_letters"] == 1).then_some(())
    })
    .await;
    // Replayed by its name once the poison is gone: the letter leaves its partition.
    let r = relay
        .post(&format!("{notifications}/inject"), &json!({}))
        .await;
    assert_eq!(r.status(), 200);
    let name = format!("{}:{}", partition.index(), letter["id"].as_str().unwrap());
    let r = relay
        .post(&format!("/api/dead-letters/{name}/replay"), &json!({}))
        .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    assert!(stack.entries(&partition.failed()).await.is_empty());
    relay.shutdown().await;
    stack.cluster.stop().await.unwrap();
}

/// Polls `check` every 100 ms until it gives a value; panics after `within`.
async fn eventually<T, F, Fut>(within: Duration, check: F) -> T
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
