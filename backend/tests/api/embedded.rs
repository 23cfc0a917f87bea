use test_support::Relay;
use test_support::relay::config;

#[tokio::test]
async fn without_a_redis_url_the_relay_runs_its_own_redis_and_claims_survive_a_restart() {
    let data = tempfile::tempdir().unwrap();
    let http = reqwest::Client::new();

    let relay = Relay::start(config(None, Some(data.path().to_owned()))).await;
    let address = relay.address.clone();
    let created: serde_json::Value = http
        .post(format!("http://{address}/api/claims"))
        .header("content-type", "application/json")
        .body(r#"{"customer_id":"CUST-7","amount":"70.00","description":"kept"}"#)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let claim_id = created["claim_id"].as_str().unwrap().to_owned();
    relay.shutdown().await;
    assert!(
        data.path().join("appendonlydir").is_dir(),
        "append-only files are in the data dir"
    );

    let relay = Relay::start(config(None, Some(data.path().to_owned()))).await;
    let address = relay.address.clone();
    let shown = http
        .get(format!("http://{address}/api/claims/{claim_id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(shown.status(), 200);
    let body: serde_json::Value = shown.json().await.unwrap();
    assert_eq!(body["claim"]["amount"], "70.00");
    relay.shutdown().await;
}
