//! Environment validation: the checklist endpoint and `backend validate` for setup scripts.

use shared::api::{CheckStatus, ValidationResponse};

use test_support::{TestApp, spawn_app};

/// Runs `backend validate` against the test's Redis: its exit code and what it printed.
async fn validate_cli(redis_url: &str) -> (i32, String) {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_backend"))
        .args(["validate", "--redis-url", redis_url])
        .env_remove("REDIS_URL")
        .output()
        .await
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

async fn checklist(app: &TestApp) -> ValidationResponse {
    let r = app.get("/api/validate").await;
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

fn status(v: &ValidationResponse, id: &str) -> CheckStatus {
    v.checks.iter().find(|c| c.id == id).unwrap().status
}

#[tokio::test]
async fn validate_passes_a_fit_redis_and_fails_an_evicting_or_absent_one() {
    let mut app = spawn_app().await;
    let url = app.redis_url();

    let (code, out) = validate_cli(&url).await;
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("ok   Redis reachable: "), "{out}");
    assert_eq!(out.lines().count(), 6, "one line per check: {out}");
    let fine = checklist(&app).await;
    assert!(fine.ok);
    assert_eq!(status(&fine, "redis_version_xautoclaim"), CheckStatus::Pass);
    assert_eq!(status(&fine, "persistence"), CheckStatus::Pass);

    let mut redis = app.redis().await;
    for (name, value) in [("maxmemory", "100mb"), ("maxmemory-policy", "allkeys-lru")] {
        let _: () = redis::cmd("CONFIG")
            .arg("SET")
            .arg(name)
            .arg(value)
            .query_async(&mut redis)
            .await
            .unwrap();
    }
    let evicting = checklist(&app).await;
    assert!(!evicting.ok);
    let memory = evicting
        .checks
        .iter()
        .find(|c| c.id == "maxmemory")
        .unwrap();
    assert_eq!(memory.status, CheckStatus::Fail);
    assert!(memory.fix.as_deref().unwrap().contains("noeviction"));
    let (code, out) = validate_cli(&url).await;
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("FAIL memory limit and eviction policy: "),
        "{out}"
    );

    app.stop_redis().await;
    let (code, out) = validate_cli(&url).await;
    assert_eq!(code, 1, "{out}");
    assert!(
        out.starts_with("FAIL Redis reachable: cannot reach Redis"),
        "{out}"
    );
    let down = checklist(&app).await;
    assert_eq!(status(&down, "redis_reachable"), CheckStatus::Fail);
}
