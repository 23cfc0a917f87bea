//! A `redis-server` the relay starts itself when no `REDIS_URL` is given, so a learner needs
//! nothing but this one command. Tests use it too, each with its own server.

use std::collections::VecDeque;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use shared::api::EmbeddedHealth;
use tokio::process::{Child, Command};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub struct EmbeddedRedis {
    child: Child,
    port: u16,
    dir: PathBuf,
    persistence: Persistence,
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
        left_behind::stop_in(dir).await?;
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
        Self::start_with(dir, port, persistence, &[]).await
    }

    /// Like [`EmbeddedRedis::start_on`], with more `redis-server` arguments (a cluster node's).
    pub async fn start_with(
        dir: &Path,
        port: u16,
        persistence: Persistence,
        extra: &[&str],
    ) -> anyhow::Result<Self> {
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
        cmd.args(extra);
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
            persistence,
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

pub(crate) fn free_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("no free loopback port")?;
    Ok(listener.local_addr()?.port())
}

/// Exits within [`CRASH_WINDOW`] after which the supervisor stops restarting: a server that
/// dies as soon as it starts (a full disk, a broken append-only file) needs a person.
const MAX_CRASHES: usize = 5;
const CRASH_WINDOW: Duration = Duration::from_secs(60);

/// The embedded server under supervision: whenever it exits on its own, it is reaped and
/// started again on the same port with the same data directory. With the append-only file,
/// every write Redis acknowledged is back: Redis writes the file before it replies, so only
/// the machine losing power, not the process dying, can lose a second of writes.
pub struct Supervised {
    status: EmbeddedStatus,
    stop: CancellationToken,
    task: JoinHandle<anyhow::Result<()>>,
}

/// What the supervisor reports, shared with `GET /api/health`.
#[derive(Debug, Clone)]
pub struct EmbeddedStatus(Arc<Mutex<EmbeddedHealth>>);

impl EmbeddedStatus {
    pub fn get(&self) -> EmbeddedHealth {
        self.0.lock().expect("embedded status lock").clone()
    }

    fn update(&self, f: impl FnOnce(&mut EmbeddedHealth)) {
        f(&mut self.0.lock().expect("embedded status lock"));
    }
}

impl EmbeddedRedis {
    /// Hands the server to a supervisor task that restarts it when it exits.
    pub fn supervise(self) -> Supervised {
        let status = EmbeddedStatus(Arc::new(Mutex::new(EmbeddedHealth {
            state: "running".into(),
            port: self.port,
            restarts: 0,
            last_exit: None,
        })));
        let stop = CancellationToken::new();
        let task = tokio::spawn(supervise(self, status.clone(), stop.clone()));
        Supervised { status, stop, task }
    }
}

impl Supervised {
    pub fn status(&self) -> EmbeddedStatus {
        self.status.clone()
    }

    /// Stops supervising and shuts the server down (flushing its append-only file).
    pub async fn stop(self) -> anyhow::Result<()> {
        self.stop.cancel();
        self.task.await.context("the Redis supervisor panicked")?
    }
}

async fn supervise(
    mut server: EmbeddedRedis,
    status: EmbeddedStatus,
    stop: CancellationToken,
) -> anyhow::Result<()> {
    let (dir, port, persistence) = (server.dir.clone(), server.port, server.persistence);
    let mut crashes = VecDeque::new();
    loop {
        // `wait` also reaps the process, so no defunct redis-server is left behind.
        let exited = tokio::select! {
            () = stop.cancelled() => None,
            exit = server.child.wait() => Some(exit),
        };
        let Some(exit) = exited else {
            return server.stop().await;
        };
        let exit = match exit {
            Ok(status) => status.to_string(),
            Err(e) => format!("cannot wait for it: {e}"),
        };
        tracing::warn!(
            port,
            %exit,
            log = %server.log_tail(),
            "the embedded redis-server exited; restarting it on the same port and data"
        );
        status.update(|s| {
            s.state = "restarting".into();
            s.last_exit = Some(exit.clone());
        });
        loop {
            let now = Instant::now();
            crashes.push_back(now);
            while crashes
                .front()
                .is_some_and(|t| now.duration_since(*t) > CRASH_WINDOW)
            {
                crashes.pop_front();
            }
            if crashes.len() > MAX_CRASHES {
                let why = format!(
                    "redis-server exited or failed to start {} times within {} s (last: {exit});                      not restarting it again. Its log is {}; fix the cause, then restart the relay",
                    crashes.len(),
                    CRASH_WINDOW.as_secs(),
                    dir.join("redis.log").display()
                );
                tracing::error!("{why}");
                status.update(|s| {
                    s.state = "gave_up".into();
                    s.last_exit = Some(why);
                });
                stop.cancelled().await;
                return Ok(());
            }
            // Back off a little more after each quick exit.
            let pause = Duration::from_millis(100 * 2u64.pow(crashes.len() as u32 - 1));
            tokio::select! {
                () = tokio::time::sleep(pause) => {}
                () = stop.cancelled() => return Ok(()),
            }
            match EmbeddedRedis::start_on(&dir, port, persistence).await {
                Ok(restarted) => {
                    server = restarted;
                    status.update(|s| {
                        s.state = "running".into();
                        s.restarts += 1;
                    });
                    tracing::info!(port, "the embedded redis-server is back");
                    break;
                }
                Err(e) => tracing::warn!(port, error = %e, "restarting redis-server failed"),
            }
        }
    }
}

/// A redis-server an earlier relay left running in its data directory. A relay killed
/// outright (SIGKILL, a crash) cannot stop its Redis, which goes on holding the append-only
/// file; a second server on the same file would corrupt it. So a start first stops such a
/// server, in order (SIGTERM: Redis flushes the file and exits), and refuses while another
/// running relay owns it. Linux's `/proc` tells; elsewhere nothing is checked.
mod left_behind {
    use std::path::Path;
    use std::time::{Duration, Instant};

    use anyhow::{Context, bail};
    use rustix::process::{Pid, Signal, kill_process};

    /// How long a server left behind may take to stop.
    const STOP_TIME: Duration = Duration::from_secs(10);

    pub(super) async fn stop_in(dir: &Path) -> anyhow::Result<()> {
        let Ok(dir) = dir.canonicalize() else {
            return Ok(());
        };
        let ours = std::fs::read_link("/proc/self/exe").ok();
        for pid in servers_in(&dir) {
            // Its parent runs this same program: another relay, alive, owns it.
            let owner = parent_of(pid).filter(|parent| {
                ours.is_some() && std::fs::read_link(format!("/proc/{parent}/exe")).ok() == ours
            });
            if let Some(owner) = owner {
                bail!(
                    "a redis-server (pid {pid}) already works in {} for another relay (pid \
                     {owner}): stop that relay, or give this one another --data-dir",
                    dir.display()
                );
            }
            tracing::warn!(
                pid,
                dir = %dir.display(),
                "stopping the redis-server an earlier relay left running in its data directory"
            );
            let target = Pid::from_raw(pid).context("a redis-server's pid")?;
            kill_process(target, Signal::TERM).with_context(|| {
                format!("cannot stop the redis-server left running (pid {pid})")
            })?;
        }
        let since = Instant::now();
        while !servers_in(&dir).is_empty() {
            if since.elapsed() > STOP_TIME {
                bail!(
                    "the redis-server left running in {} did not stop in {STOP_TIME:?}",
                    dir.display()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(())
    }

    /// The live redis-server processes whose working directory is `dir` (the embedded server
    /// runs in its data directory). A stopped one waiting to be reaped has none.
    pub(super) fn servers_in(dir: &Path) -> Vec<i32> {
        let Ok(processes) = std::fs::read_dir("/proc") else {
            return Vec::new();
        };
        processes
            .flatten()
            .filter_map(|p| {
                let pid = p.file_name().to_str()?.parse::<i32>().ok()?;
                let comm = std::fs::read_to_string(p.path().join("comm")).ok()?;
                let cwd = std::fs::read_link(p.path().join("cwd")).ok()?;
                (comm.trim() == "redis-server" && cwd == dir).then_some(pid)
            })
            .collect()
    }

    /// The parent's pid, from `/proc/<pid>/stat` (after the command name, which may hold
    /// spaces and parentheses: the fields after its last `)` are the state, then the parent).
    fn parent_of(pid: i32) -> Option<i32> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let (_, after) = stat.rsplit_once(')')?;
        after.split_whitespace().nth(1)?.parse().ok()
    }
}
