//! A `redis-server` the relay starts itself when no `REDIS_URL` is given, so a learner needs
//! nothing but this one command. Tests use it too, each with its own server.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use tokio::process::{Child, Command};

pub struct EmbeddedRedis {
    child: Child,
    port: u16,
    dir: PathBuf,
}

/// How the server keeps its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Persistence {
    /// Append-only file in the data directory: claims survive a restart.
    AppendOnly,
    /// Nothing on disk: for tests.
    None,
}

const INSTALL_HINT: &str = "redis-server was not found on PATH. Install it (Debian/Ubuntu: \
`sudo apt-get install -y redis-server`, macOS: `brew install redis`), or set REDIS_URL to a \
Redis you already run";

impl EmbeddedRedis {
    /// Starts a server on a free loopback port with its files in `dir`, and waits until it
    /// answers PING.
    pub async fn start(dir: &Path, persistence: Persistence) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the Redis data directory {}", dir.display()))?;
        // The port is free when we look; another process may take it before Redis binds, so
        // try a few.
        let mut last_error = None;
        for _ in 0..5 {
            let port = free_port()?;
            match Self::start_on(dir, port, persistence).await {
                Ok(server) => return Ok(server),
                Err(e) if e.to_string().contains(INSTALL_HINT) => return Err(e),
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.expect("at least one attempt"))
    }

    /// Starts a server on `port`: used to bring a stopped server back on the same address.
    pub async fn start_on(dir: &Path, port: u16, persistence: Persistence) -> anyhow::Result<Self> {
        let mut cmd = Command::new("redis-server");
        cmd.current_dir(dir)
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--dir",
                ".",
            ])
            .args(["--save", "", "--daemonize", "no", "--logfile", "redis.log"]);
        match persistence {
            Persistence::AppendOnly => {
                cmd.args(["--appendonly", "yes", "--appendfsync", "everysec"])
            }
            Persistence::None => cmd.args(["--appendonly", "no"]),
        };
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true);
        let child = match cmd.spawn() {
            Ok(child) => child,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(INSTALL_HINT),
            Err(e) => return Err(e).context("cannot start redis-server"),
        };
        let mut server = Self {
            child,
            port,
            dir: dir.to_owned(),
        };
        server.wait_until_ready().await?;
        Ok(server)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    async fn wait_until_ready(&mut self) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(10);
        let client = redis::Client::open(self.url())?;
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "redis-server exited ({status}) on port {}; its log ends with:\n{}",
                    self.port,
                    self.log_tail()
                );
            }
            if let Ok(mut conn) = client.get_multiplexed_async_connection().await {
                let pong: redis::RedisResult<String> =
                    redis::cmd("PING").query_async(&mut conn).await;
                if pong.is_ok() {
                    return Ok(());
                }
            }
            if Instant::now() > deadline {
                bail!(
                    "redis-server on port {} did not answer PING within 10 s",
                    self.port
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.dir.join("redis.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(5)..].join("\n")
    }

    /// Asks Redis to shut down, which flushes the append-only file, and waits for it to exit.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Ok(client) = redis::Client::open(self.url())
            && let Ok(mut conn) = client.get_multiplexed_async_connection().await
        {
            // The server closes the connection instead of answering.
            let _: redis::RedisResult<()> = redis::cmd("SHUTDOWN").query_async(&mut conn).await;
        }
        match tokio::time::timeout(Duration::from_secs(5), self.child.wait()).await {
            Ok(status) => {
                status?;
            }
            Err(_) => {
                tracing::warn!(
                    port = self.port,
                    "redis-server did not stop in 5 s; killing it"
                );
                self.child.kill().await?;
            }
        }
        Ok(())
    }
}

fn free_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("no free loopback port")?;
    Ok(listener.local_addr()?.port())
}
