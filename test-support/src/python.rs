//! redis-py code, as a learner following the lab in Python writes it, run against a real
//! Redis. `cargo xtask test` installs redis-py in `test-support/python/.venv` (from
//! `requirements.txt`) before the tests; nothing is fetched while they run.

use std::path::PathBuf;

use crate::program;

/// Where the driver and its virtual environment are.
pub fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("python")
}

/// Runs each snippet of redis-py code in turn, with a client `r`; each one's error.
pub async fn snippets(redis_url: &str, code: &[String]) -> Vec<Option<String>> {
    let dir = dir();
    let python = dir.join(".venv/bin/python");
    assert!(
        python.is_file(),
        "redis-py is not installed in {}: `cargo xtask test` installs it",
        dir.display()
    );
    program::snippets(&python, "snippets.py", &dir, redis_url, code).await
}
