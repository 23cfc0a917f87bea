use test_support::Relay;
use test_support::relay::config;

#[tokio::test]
async fn without_a_redis_url_the_relay_runs_its_own_redis_and_claims_survive_a_restart() {
    let data = tempfile::tempdir().unwrap();

    let relay = Relay::start(config(None, Some(data.path().to_owned()))).await;
    let created = relay.submit_claim("CUST-7", "70.00", "kept").await;
    let claim_id = created.claim_id;
    relay.shutdown().await;
    assert!(
        data.path().join("appendonlydir").is_dir(),
        "append-only files are in the data dir"
    );

    let relay = Relay::start(config(None, Some(data.path().to_owned()))).await;
    let shown = relay.get(&format!("/api/claims/{claim_id}")).await;
    assert_eq!(shown.status(), 200);
    let body: serde_json::Value = shown.json().await.unwrap();
    assert_eq!(body["claim"]["amount"], "70.00");
    relay.shutdown().await;
}
