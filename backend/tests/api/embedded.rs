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
    let (binary, args) = relay_in(data.path());

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

/// A relay killed outright (SIGKILL, a crash) cannot stop its Redis. The next start stops the
/// one left behind, in order, rather than run a second server on the same append-only file;
/// nothing written is lost.
#[tokio::test]
async fn a_start_stops_the_redis_a_killed_relay_left_behind() {
    let data = tempfile::tempdir().unwrap();
    let (binary, args) = relay_in(data.path());

    let mut relay = RelayProcess::spawn(binary, &args).await;
    let claim_id = relay
        .relay
        .submit_claim("CUST-9", "90.00", "kept through a kill")
        .await
        .claim_id;
    let left = redis_servers_in(data.path());
    assert_eq!(left.len(), 1);
    relay.kill().await;
    assert_eq!(
        redis_servers_in(data.path()),
        left,
        "killed, the relay left its Redis"
    );

    let mut relay = RelayProcess::spawn(binary, &args).await;
    let now = redis_servers_in(data.path());
    assert_eq!(now.len(), 1, "one server in the data dir: {now:?}");
    assert_ne!(now, left, "the one left behind was stopped");
    let shown = relay.relay.get(&format!("/api/claims/{claim_id}")).await;
    assert_eq!(shown.status(), 200);
    assert!(relay.terminate().await.success());
}

/// A second relay on a data dir another running relay's Redis works in refuses to start,
/// saying so: it neither stops the other's Redis nor runs a second one on the same files.
#[tokio::test]
async fn a_second_relay_on_a_data_dir_in_use_refuses_to_start() {
    let data = tempfile::tempdir().unwrap();
    let (binary, args) = relay_in(data.path());
    let mut first = RelayProcess::spawn(binary, &args).await;
    let running = redis_servers_in(data.path());

    let second = tokio::time::timeout(
        std::time::Duration::from_secs(30),
        tokio::process::Command::new(binary)
            .args(&args)
            .args(["--listen", "127.0.0.1:0"])
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("the second relay ends by itself")
    .unwrap();
    assert!(!second.status.success());
    let said = String::from_utf8_lossy(&second.stderr);
    assert!(said.contains("for another relay"), "{said}");
    assert!(said.contains(&running[0]), "names the pid: {said}");
    assert_eq!(
        redis_servers_in(data.path()),
        running,
        "the first relay's Redis untouched"
    );
    assert_eq!(first.relay.get("/api/health").await.status(), 200);
    assert!(first.terminate().await.success());
}

/// The relay's binary, and the arguments that run it with its own Redis in `dir`.
fn relay_in(dir: &std::path::Path) -> (&'static std::path::Path, [String; 4]) {
    let binary = std::path::Path::new(env!("CARGO_BIN_EXE_backend"));
    let args = [
        "--data-dir".to_owned(),
        dir.display().to_string(),
        "--static-dir".to_owned(),
        "does-not-exist".to_owned(),
    ];
    (binary, args)
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
