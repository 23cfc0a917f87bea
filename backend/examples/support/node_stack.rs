//! The lab's Node stack (`bench/` at the repository's root: express + ioredis), started beside
//! the relay so the two are measured in the same run, against the same Redis, doing the same
//! append with the same Lua. Its dependencies are installed with `npm ci` when the lockfile
//! is newer than what `node_modules` holds.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The folder of the Node stack.
pub fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../bench")
}

/// A running `node bench/server.js`.
pub struct NodeStack {
    child: Child,
    pub port: u16,
    pub pid: u32,
}

/// Whether `node` and `npm` are on PATH.
pub async fn available() -> bool {
    let runs = |program: &'static str| async move {
        Command::new(program)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .await
            .is_ok_and(|s| s.success())
    };
    runs("node").await && runs("npm").await
}

/// `npm ci` in `bench/`, unless `node_modules` already holds what the lockfile says.
pub async fn install() -> anyhow::Result<()> {
    let dir = dir();
    let modified = |p: PathBuf| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let installed = modified(dir.join("node_modules/.package-lock.json"));
    let locked = modified(dir.join("package-lock.json")).context("bench/package-lock.json")?;
    if installed.is_some_and(|i| i >= locked) {
        return Ok(());
    }
    println!("npm ci in {} ...", dir.display());
    let status = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(&dir)
        .stdin(Stdio::null())
        .status()
        .await
        .context("running npm ci")?;
    if !status.success() {
        bail!("npm ci in {} failed ({status})", dir.display());
    }
    Ok(())
}

impl NodeStack {
    /// Starts the server on a free port against `redis_url`, with the append script's
    /// `source`, and waits for it to say where it listens.
    pub async fn start(redis_url: &str, source: &str, scratch: &Path) -> anyhow::Result<Self> {
        let script = scratch.join("append.lua");
        std::fs::write(&script, source)?;
        let mut child = Command::new("node")
            .arg(dir().join("server.js"))
            .env("REDIS_URL", redis_url)
            .env("APPEND_LUA", &script)
            .env("PORT", "0")
            .env("NODE_ENV", "production")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .context("starting node bench/server.js")?;
        let pid = child.id().context("node exited at once")?;
        let mut lines = BufReader::new(child.stdout.take().expect("piped")).lines();
        let first = tokio::time::timeout(Duration::from_secs(10), lines.next_line())
            .await
            .context("node did not say where it listens within 10 s")??
            .context("node exited before listening")?;
        let port = first
            .strip_prefix("listening on ")
            .and_then(|p| p.trim().parse().ok())
            .with_context(|| format!("node said {first:?}, not `listening on <port>`"))?;
        Ok(Self { child, port, pid })
    }

    /// User + system CPU seconds the node process (all its threads) has used.
    pub fn cpu_seconds(&self) -> anyhow::Result<f64> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid))?;
        super::cpu::stat_cpu_seconds(&stat)
    }

    pub async fn stop(mut self) {
        let _ = self.child.start_kill();
        let _ = tokio::time::timeout(Duration::from_secs(5), self.child.wait()).await;
    }
}
