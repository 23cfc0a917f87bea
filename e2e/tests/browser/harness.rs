//! Starting the parts: Redis, the relay serving `dist/`, chromedriver and a browser session.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use backend::store::embedded::{EmbeddedRedis, Persistence};
use backend::{Application, Config};
use fantoccini::wd::{Capabilities, WebDriverCompatibleCommand};
use fantoccini::{Client, ClientBuilder};
use redis::aio::MultiplexedConnection;
use serde_json::json;
use tokio::process::{Child, Command};
use tokio::sync::oneshot;

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

/// The built browser app; the tests refuse to run against a missing one.
pub fn dist() -> PathBuf {
    let dist = workspace_root().join("dist");
    assert!(
        dist.join("index.html").is_file(),
        "{} has no built app: run `cargo xtask test` (it runs `trunk build --release` first)",
        dist.display()
    );
    dist
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A relay on a fixed port (so it can be restarted where the browser expects it) in front of
/// a redis-server of its own.
pub struct Stack {
    pub port: u16,
    adjust: fn(&mut Config),
    redis: EmbeddedRedis,
    _redis_dir: tempfile::TempDir,
    relay: Option<(
        oneshot::Sender<()>,
        tokio::task::JoinHandle<anyhow::Result<()>>,
    )>,
}

impl Stack {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// Like [`Stack::start`], then `prepare` run on the stack before any page opens.
    pub async fn start_then(prepare: impl AsyncFnOnce(&Self)) -> Self {
        let stack = Self::start().await;
        prepare(&stack).await;
        stack
    }

    /// Like [`Stack::start`], with the relay's config adjusted first.
    pub async fn start_with(adjust: fn(&mut Config)) -> Self {
        let redis_dir = tempfile::tempdir().unwrap();
        let redis = EmbeddedRedis::start(redis_dir.path(), Persistence::None)
            .await
            .expect("redis-server starts");
        let mut stack = Self {
            port: free_port(),
            adjust,
            redis,
            _redis_dir: redis_dir,
            relay: None,
        };
        stack.start_relay().await;
        stack
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    pub async fn start_relay(&mut self) {
        let mut config = Config {
            listen: format!("127.0.0.1:{}", self.port).parse().unwrap(),
            redis_url: Some(self.redis.url()),
            static_dir: dist(),
            workers: false,
            auto_approve_up_to: shared::Amount::from_cents(100_000),
            ..Config::defaults()
        };
        (self.adjust)(&mut config);
        let app = Application::build(config).await.expect("relay starts");
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(app.run_until_stopped(async {
            let _ = stopped.await;
        }));
        self.relay = Some((stop, task));
    }

    pub async fn stop_relay(&mut self) {
        let (stop, task) = self.relay.take().expect("relay running");
        let _ = stop.send(());
        task.await.unwrap().unwrap();
    }

    /// Submits a claim through the API, as another user would; returns its id.
    pub async fn submit(&self, amount: &str) -> String {
        let body = format!(
            r#"{{"customer_id":"CUST-E2E","amount":"{amount}","description":"from the test"}}"#
        );
        let created = self.post("api/claims", &body).await;
        created["claim_id"].as_str().unwrap().to_owned()
    }

    /// Submits a claim for `customer` through the API; returns its id and its entry's id.
    pub async fn submit_for(&self, customer: &str, amount: &str) -> (String, String) {
        let body = format!(
            r#"{{"customer_id":"{customer}","amount":"{amount}","description":"from the test"}}"#
        );
        let created = self.post("api/claims", &body).await;
        (
            created["claim_id"].as_str().unwrap().to_owned(),
            created["entry_id"].as_str().unwrap().to_owned(),
        )
    }

    /// Moves a claim (`review`, `approve`, `pay`) through the API; returns the entry's id.
    pub async fn transition(&self, claim_id: &str, action: &str) -> String {
        let moved = self
            .post(&format!("api/claims/{claim_id}/{action}"), "{}")
            .await;
        moved["entry_id"].as_str().unwrap().to_owned()
    }

    /// POSTs JSON to the relay and returns the JSON answer; panics unless it is a 2xx.
    pub async fn post(&self, path: &str, body: &str) -> serde_json::Value {
        let response = reqwest::Client::new()
            .post(format!("{}{path}", self.url()))
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
        response.json().await.unwrap()
    }

    /// GETs JSON from the relay, with the status it answered.
    pub async fn get(&self, path: &str) -> (u16, serde_json::Value) {
        let response = reqwest::get(format!("{}{path}", self.url())).await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or_default())
    }

    pub async fn redis(&self) -> MultiplexedConnection {
        redis::Client::open(self.redis.url())
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap()
    }

    /// How many entries a stream holds, straight from Redis.
    pub async fn xlen(&self, key: &str) -> u64 {
        redis::cmd("XLEN")
            .arg(key)
            .query_async(&mut self.redis().await)
            .await
            .unwrap()
    }

    /// A group's lag on `claims:events` as XINFO GROUPS gives it (None when unknown).
    pub async fn group_lag(&self, group: &str) -> Option<u64> {
        let groups: Vec<std::collections::HashMap<String, redis::Value>> = redis::cmd("XINFO")
            .arg("GROUPS")
            .arg("claims:events")
            .query_async(&mut self.redis().await)
            .await
            .unwrap();
        let found = groups
            .into_iter()
            .find(|g| g.get("name") == Some(&redis::Value::BulkString(group.into())))
            .unwrap_or_else(|| panic!("no group {group}"));
        match found.get("lag") {
            Some(redis::Value::Int(n)) => Some(*n as u64),
            _ => None,
        }
    }

    /// Entry ids of `claims:events`, straight from Redis.
    pub async fn stream_ids(&self) -> Vec<String> {
        let reply: redis::Value = redis::cmd("XRANGE")
            .arg("claims:events")
            .arg("-")
            .arg("+")
            .query_async(&mut self.redis().await)
            .await
            .unwrap();
        backend::store::reply::entries(reply)
            .into_iter()
            .map(|(id, _)| id)
            .collect()
    }

    /// Appends `n` claim events in pipelines; returns the last id.
    pub async fn xadd_many(&self, n: usize) -> String {
        self.xadd_paced(n, 1_000, Duration::ZERO).await
    }

    /// Appends `n` entries live, `burst` at a time with `gap` between bursts: at a rate the
    /// page is specified to absorb, so a test never races how fast this machine runs Chromium.
    pub async fn xadd_paced(&self, n: usize, burst: usize, gap: Duration) -> String {
        let mut conn = self.redis().await;
        let mut last = String::new();
        for (k, chunk) in (0..n).collect::<Vec<_>>().chunks(burst).enumerate() {
            if k > 0 {
                tokio::time::sleep(gap).await;
            }
            let mut pipe = redis::pipe();
            for i in chunk {
                let claim = format!("CLM-BULK{i}");
                pipe.cmd("XADD").arg("claims:events").arg("*").arg(&[
                    ("type", "claim_submitted"),
                    ("v", "1"),
                    ("claim_id", claim.as_str()),
                    ("customer_id", "CUST-BULK"),
                    ("timestamp", "2026-11-23T10:00:00.000Z"),
                    ("amount", "1.00"),
                    ("description", "bulk"),
                ]);
            }
            let ids: Vec<String> = pipe.query_async(&mut conn).await.unwrap();
            last = ids.last().cloned().unwrap_or_default();
        }
        last
    }

    /// Appends `n` claim submissions with ids of our choosing, one millisecond apart from
    /// `first_ms`, as a long-lived stream would have them.
    pub async fn xadd_spread(&self, first_ms: u64, n: u64) {
        let mut pipe = redis::pipe();
        for i in 0..n {
            let claim = format!("CLM-OLD{i}");
            pipe.cmd("XADD")
                .arg("claims:events")
                .arg(format!("{}-0", first_ms + i))
                .arg(&[
                    ("type", "claim_submitted"),
                    ("v", "1"),
                    ("claim_id", claim.as_str()),
                    ("customer_id", "CUST-OLD"),
                    ("timestamp", "2026-11-23T10:00:00.000Z"),
                    ("amount", "1.00"),
                    ("description", "long ago"),
                ]);
        }
        let _: Vec<String> = pipe.query_async(&mut self.redis().await).await.unwrap();
    }

    pub async fn raw_xadd(&self, fields: &[(&str, &str)]) -> String {
        let mut cmd = redis::cmd("XADD");
        cmd.arg("claims:events").arg("*");
        for (k, v) in fields {
            cmd.arg(*k).arg(*v);
        }
        cmd.query_async(&mut self.redis().await).await.unwrap()
    }
}

/// Workers on, each claim left for a person to review, one consumer a group.
pub fn one_consumer(config: &mut Config) {
    config.workers = true;
    config.auto_review = false;
    config.consumers = 1;
}

/// [`one_consumer`], with an entry dead-lettered after its second failed delivery.
pub fn two_deliveries(config: &mut Config) {
    one_consumer(config);
    config.max_deliveries = 2;
}

/// A chromedriver of the test's own and one headless Chromium session through it.
pub struct Browser {
    pub client: Client,
    _driver: Child,
    profile: tempfile::TempDir,
}

impl Browser {
    pub async fn launch() -> Self {
        let port = free_port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            // A group of its own, with the Chromium it starts: a test that panics before
            // `close` still takes the browser down with it (see `Drop`).
            .process_group(0)
            .spawn()
            .expect("chromedriver runs (`cargo xtask install` installs it)");
        let profile = tempfile::tempdir().unwrap();
        let caps: Capabilities = serde_json::from_value(json!({
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--window-size=1600,1000",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
                "prefs": {
                    "download.default_directory": profile.path().join("downloads"),
                    "download.prompt_for_download": false
                }
            },
            "goog:loggingPrefs": { "browser": "ALL" }
        }))
        .unwrap();
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        let client = loop {
            match ClientBuilder::new(connector.clone())
                .capabilities(caps.clone())
                .connect(&format!("http://127.0.0.1:{port}"))
                .await
            {
                Ok(client) => break client,
                Err(e) if Instant::now() > deadline => panic!("no browser session: {e}"),
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        };
        Self {
            client,
            _driver: driver,
            profile,
        }
    }

    /// Where files the page offers for download are saved.
    pub fn downloads(&self) -> PathBuf {
        self.profile.path().join("downloads")
    }

    /// The page's console messages at level SEVERE since the last call.
    pub async fn console_errors(&self) -> Vec<String> {
        let logs = self
            .client
            .issue_cmd(BrowserLog)
            .await
            .expect("browser log");
        logs.as_array()
            .into_iter()
            .flatten()
            .filter(|l| l["level"] == "SEVERE")
            .map(|l| l["message"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// Ends the session; a chromedriver that does not answer within 10 s is killed by `Drop`.
    pub async fn close(self) {
        let _ = tokio::time::timeout(Duration::from_secs(10), self.client.clone().close()).await;
    }
}

/// chromedriver's log endpoint, which fantoccini has no method for.
#[derive(Debug)]
struct BrowserLog;

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/se/log", session.unwrap_or_default()))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(r#"{"type":"browser"}"#.to_owned()))
    }
}

/// Polls `check` until it returns `Some`, or panics with `what` after `timeout`.
pub async fn eventually<T, F, Fut>(timeout: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Where screenshots go, for people to look at after a run.
pub fn screenshot_dir() -> PathBuf {
    let dir = workspace_root().join("target/e2e");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
