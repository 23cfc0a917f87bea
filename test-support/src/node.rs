//! The lab's own Node.js code (`test-support/node`, node-redis v4), run against a real Redis
//! the way a learner runs it. `cargo xtask test` installs its packages (`npm ci`) before the
//! tests; nothing is fetched while they run.

use std::path::{Path, PathBuf};

use crate::program;

/// Where the scripts and their `node_modules` are.
pub fn dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("node");
    assert!(
        dir.join("node_modules/redis").is_dir(),
        "node-redis is not installed in {}: `cargo xtask test` installs it (or run `npm ci` there)",
        dir.display()
    );
    dir
}

/// Runs `lab.js` for `claim_id` against `redis_url`; the ids it appended, by name.
pub async fn lab(redis_url: &str, claim_id: &str) -> serde_json::Value {
    let out = program::run(
        Path::new("node"),
        &["lab.js", claim_id],
        &dir(),
        redis_url,
        b"",
    )
    .await;
    serde_json::from_slice(&out).expect("lab.js prints its ids as JSON")
}

/// Runs each snippet of node-redis code in turn, with a connected `client`; each one's error.
pub async fn snippets(redis_url: &str, code: &[String]) -> Vec<Option<String>> {
    program::snippets(Path::new("node"), "snippets.js", &dir(), redis_url, code).await
}
