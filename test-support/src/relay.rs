//! The relay on a loopback port: run in this process from a [`Config`] (and shut down
//! gracefully), run as a process of its own (and killed), or on a redis-server of its own as
//! one [`TestApp`] whose Redis and relay can each be stopped and restarted.

use std::ops::Deref;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use backend::events::feed::Feed;
use backend::store::embedded::Persistence;
use backend::{Application, Config};
use redis::aio::MultiplexedConnection;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::api::ApiClient;
use crate::redis_server::{RedisServer, free_port};
use crate::streams::{self, RawEntry};

/// The relay's config for tests: any free loopback port, no static files, no consumer groups,
/// the default auto-approval limit, and console lines as fast as a test sends them (the share
/// per workspace is tested where it is the point). No Redis is named: set `redis_url`,
/// `redis_cluster` or `data_dir`.
pub fn test_config() -> Config {
    Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        static_dir: "does-not-exist".into(),
        workers: false,
        auto_approve_up_to: shared::Amount::from_cents(100_000),
        console_lines_per_second: 10_000,
        console_line_burst: 10_000,
        ..Config::defaults()
    }
}

/// [`test_config`] on the Redis at `redis_url`, or (without one) on the relay's own embedded
/// Redis with its files in `data_dir`.
pub fn config(redis_url: Option<String>, data_dir: Option<std::path::PathBuf>) -> Config {
    Config {
        redis_url,
        data_dir,
        ..test_config()
    }
}

/// No cap on writes per address: for tests that send thousands of requests from one.
pub fn unthrottled(config: &mut Config) {
    config.write_rate_per_second = 1_000_000;
    config.write_burst = 1_000_000;
}

/// A relay answering on loopback, and the API client that talks to it (it derefs to that).
pub struct Relay {
    api: ApiClient,
    /// The live feed of a relay run in this process (for holding a WebSocket client at its
    /// seam); `None` for one in a process of its own.
    pub feed: Option<Feed>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<anyhow::Result<()>>>,
}

impl Relay {
    /// Builds the relay from `config` and runs it in a task of this process.
    pub async fn start(config: Config) -> Self {
        let app = Application::build(config).await.expect("the relay builds");
        let feed = app.feed();
        let address = format!("127.0.0.1:{}", app.port());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(app.run_until_stopped(async {
            let _ = stopped.await;
        }));
        Self {
            api: ApiClient::new(address),
            feed: Some(feed),
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// Stops a relay run in this process gracefully; panics unless it stops cleanly.
    pub async fn shutdown(mut self) {
        self.stop().await;
    }

    async fn stop(&mut self) {
        let _ = self.stop.take().expect("a relay of this process").send(());
        self.task.take().unwrap().await.unwrap().unwrap();
    }
}

impl Deref for Relay {
    type Target = ApiClient;
    fn deref(&self) -> &ApiClient {
        &self.api
    }
}

/// A relay running as a process of its own (the `backend` binary): one that can be killed.
pub struct RelayProcess {
    pub relay: Arc<Relay>,
    child: tokio::process::Child,
}

impl RelayProcess {
    /// Starts `binary` (`env!("CARGO_BIN_EXE_backend")` in the backend's tests) on a free
    /// loopback port with `args` after `--listen`, and waits up to 20 s for `/api/health` to
    /// answer 200.
    pub async fn spawn(binary: &Path, args: &[String]) -> Self {
        let port = free_port().unwrap();
        let child = tokio::process::Command::new(binary)
            .env_remove("REDIS_URL")
            .env_remove("REDIS_CLUSTER")
            .env("RUST_LOG", "warn")
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(args)
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("the backend binary starts");
        let relay = Relay {
            api: ApiClient::new(format!("127.0.0.1:{port}")),
            feed: None,
            stop: None,
            task: None,
        };
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(r) = relay.http.get(relay.url("/api/health")).send().await
                && r.status() == 200
            {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the relay process did not answer within 20 s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Self {
            relay: Arc::new(relay),
            child,
        }
    }

    /// SIGKILL: no shutdown, consumers stop holding whatever they had read.
    pub async fn kill(&mut self) {
        self.child.kill().await.unwrap();
    }

    /// SIGTERM, as `kill` or systemd stop a service; how the process exited, within 20 s.
    pub async fn terminate(&mut self) -> std::process::ExitStatus {
        let pid = self.child.id().expect("the relay is still running");
        let pid = rustix::process::Pid::from_raw(pid.cast_signed()).expect("a pid is positive");
        rustix::process::kill_process(pid, rustix::process::Signal::TERM)
            .expect("SIGTERM is delivered");
        tokio::time::timeout(Duration::from_secs(20), self.child.wait())
            .await
            .expect("the relay exits within 20 s of SIGTERM")
            .expect("the relay's exit status")
    }
}

/// A redis-server of the test's own (append-only, so it can be restarted with its data) and a
/// relay in front of it, which keeps its port across restarts (so a client, a browser page,
/// finds it again); derefs to the [`Relay`], and so to its [`ApiClient`].
pub struct TestApp {
    relay: Option<Relay>,
    /// The relay's live feed (for holding a WebSocket client at its seam).
    pub feed: Feed,
    config: Config,
    redis: RedisServer,
}

/// Starts a redis-server of the test's own and a relay in front of it.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Like [`spawn_app`], with the relay's config adjusted first.
pub async fn spawn_app_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    let redis = RedisServer::start(Persistence::AppendOnly)
        .await
        .expect("redis-server starts");
    let mut config = config(Some(redis.url()), None);
    adjust(&mut config);
    let relay = Relay::start(config.clone()).await;
    // Restarts come back where clients expect the relay.
    config.listen.set_port(relay.port());
    TestApp {
        feed: relay.feed.clone().expect("a relay of this process"),
        relay: Some(relay),
        config,
        redis,
    }
}

impl Deref for TestApp {
    type Target = Relay;
    /// Panics while the relay is stopped ([`TestApp::stop_relay`]).
    fn deref(&self) -> &Relay {
        self.relay.as_ref().expect("the relay is running")
    }
}

impl TestApp {
    pub fn redis_url(&self) -> String {
        self.redis.url()
    }

    /// A connection to the test's Redis that waits for replies as long as they take.
    pub async fn redis(&self) -> MultiplexedConnection {
        self.redis.connect().await
    }

    /// One command straight to the test's Redis, as `redis-cli` would send it; its reply.
    pub async fn query<T: redis::FromRedisValue>(&self, args: &[&str]) -> T {
        redis::cmd(args[0])
            .arg(&args[1..])
            .query_async(&mut self.redis().await)
            .await
            .unwrap()
    }

    /// Bytes the test's Redis has sent to all its clients so far (`INFO stats`).
    pub async fn redis_output_bytes(&self) -> u64 {
        streams::output_bytes(&mut self.redis().await).await
    }

    /// The id of the newest entry of `claims:events`, read straight from Redis.
    pub async fn newest_id(&self) -> String {
        streams::newest_id(&mut self.redis().await, backend::store::keys::EVENTS).await
    }

    pub async fn xlen(&self) -> u64 {
        streams::xlen(&mut self.redis().await, backend::store::keys::EVENTS).await
    }

    /// Every entry of `claims:events`, read straight from Redis.
    pub async fn xrange(&self) -> Vec<RawEntry> {
        self.stream(backend::store::keys::EVENTS).await
    }

    /// Every entry of a stream, read straight from Redis.
    pub async fn stream(&self, key: &str) -> Vec<RawEntry> {
        streams::xrange(&mut self.redis().await, key).await
    }

    /// Appends an entry as `redis-cli XADD claims:events * ...` would.
    pub async fn raw_xadd(&self, fields: &[(&str, &str)]) -> String {
        streams::xadd(
            &mut self.redis().await,
            backend::store::keys::EVENTS,
            fields,
        )
        .await
    }

    /// A valid `claim_submitted` appended straight to the stream, as another program (or
    /// `redis-cli`) would: not in the claim index. Returns its id.
    pub async fn raw_submitted(&self, claim_id: &str) -> String {
        streams::xadd_submitted(&mut self.redis().await, claim_id).await
    }

    pub async fn stop_redis(&mut self) {
        self.redis.stop().await.unwrap();
    }

    /// Brings Redis back on the same port with the same data.
    pub async fn restart_redis(&mut self) {
        self.redis.restart().await.unwrap();
    }

    /// Stops the relay gracefully (Redis keeps running); panics unless it stops cleanly.
    pub async fn stop_relay(&mut self) {
        self.relay
            .take()
            .expect("the relay is running")
            .shutdown()
            .await;
    }

    /// Starts a new relay, with the same config, on the same Redis and the same port.
    pub async fn start_relay(&mut self) {
        assert!(self.relay.is_none(), "the relay is already running");
        let relay = Relay::start(self.config.clone()).await;
        self.feed = relay.feed.clone().expect("a relay of this process");
        self.relay = Some(relay);
    }

    /// Stops the relay gracefully and starts a new one on the same Redis and port.
    pub async fn restart_relay(&mut self) {
        self.stop_relay().await;
        self.start_relay().await;
    }

    pub async fn shutdown(self) {
        if let Some(relay) = self.relay {
            relay.shutdown().await;
        }
    }
}
