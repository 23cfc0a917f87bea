use test_support::relay::config;
use test_support::{Relay, RelayProcess};

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

/// SIGTERM (what `kill`, systemd and container runtimes send) stops the relay in order: its
/// own Redis goes with it, and what was written is there on the next start.
#[tokio::test]
async fn a_relay_stopped_with_sigterm_stops_its_own_redis_and_keeps_what_was_written() {
    let data = tempfile::tempdir().unwrap();
    let binary = std::path::Path::new(env!("CARGO_BIN_EXE_backend"));
    let args = [
        "--data-dir".to_owned(),
        data.path().display().to_string(),
        "--static-dir".to_owned(),
        "does-not-exist".to_owned(),
    ];

    let mut relay = RelayProcess::spawn(binary, &args).await;
    assert_eq!(
        redis_servers_in(data.path()).len(),
        1,
        "the relay runs its own Redis in its data dir"
    );
    let claim_id = relay
        .relay
        .submit_claim("CUST-7", "70.00", "kept")
        .await
        .claim_id;
    let status = relay.terminate().await;
    assert!(status.success(), "the relay stops in order: {status}");
    assert_eq!(
        redis_servers_in(data.path()),
        Vec::<String>::new(),
        "its Redis stopped with it"
    );

    let mut relay = RelayProcess::spawn(binary, &args).await;
    let shown = relay.relay.get(&format!("/api/claims/{claim_id}")).await;
    assert_eq!(shown.status(), 200);
    let body: serde_json::Value = shown.json().await.unwrap();
    assert_eq!(body["claim"]["amount"], "70.00");
    assert!(relay.terminate().await.success());
}

/// The redis-server processes working in `dir` (their pids), as `/proc` shows them.
fn redis_servers_in(dir: &std::path::Path) -> Vec<String> {
    let dir = dir.canonicalize().unwrap();
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter(|p| {
            let comm = std::fs::read_to_string(p.path().join("comm")).unwrap_or_default();
            comm.trim() == "redis-server"
                && std::fs::read_link(p.path().join("cwd")).is_ok_and(|cwd| cwd == dir)
        })
        .map(|p| p.file_name().to_string_lossy().into_owned())
        .collect()
}
