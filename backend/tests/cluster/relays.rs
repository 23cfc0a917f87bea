//! Several stateless relays on one cluster.

use std::time::Duration;

use backend::keys::Partitions;

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
