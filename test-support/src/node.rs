//! The lab's own Node.js code (`test-support/node/lab.js`, node-redis v4), run against a real
//! Redis the way a learner runs it. `cargo xtask test` installs its packages (`npm ci`) before
//! the tests; nothing is fetched while they run.

use std::path::PathBuf;
use std::time::Duration;

/// Where the script and its `node_modules` are.
pub fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("node")
}

/// Runs `lab.js` for `claim_id` against `redis_url`; the ids it appended, by name.
pub async fn lab(redis_url: &str, claim_id: &str) -> serde_json::Value {
    let dir = dir();
    assert!(
        dir.join("node_modules/redis").is_dir(),
        "node-redis is not installed in {}: `cargo xtask test` installs it (or run `npm ci` there)",
        dir.display()
    );
    let run = tokio::process::Command::new("node")
        .arg("lab.js")
        .arg(claim_id)
        .current_dir(&dir)
        .env("REDIS_URL", redis_url)
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(30), run)
        .await
        .expect("the lab's script finishes within 30 s")
        .expect("node runs (is Node.js installed?)");
    assert!(
        out.status.success(),
        "lab.js failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("lab.js prints its ids as JSON")
}
