//! Starting the parts: Redis and the relay serving `dist/` (test-support's, with the stream
//! writes the specs need), chromedriver and a browser session.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use backend::Config;
use backend::store::keys::EVENTS;
use fantoccini::wd::{Capabilities, WebDriverCompatibleCommand};
use fantoccini::{Client, ClientBuilder};
use redis::aio::MultiplexedConnection;
use serde_json::json;
use test_support::api::json_of;
use test_support::redis_server::free_port;
use test_support::{TestApp, streams};
use tokio::process::{Child, Command};

pub use test_support::eventually;

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
        "{} has no built app: run `cargo xtask build` (`cargo xtask test` builds it first)",
        dist.display()
    );
    dist
}

/// A relay serving `dist/` in front of a redis-server of its own: test-support's [`TestApp`],
/// whose relay comes back on the same port (where the browser expects it) when restarted.
pub struct Stack {
    app: TestApp,
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
        let app = test_support::spawn_app_with(|config| {
            let shipped = Config::defaults();
            config.static_dir = dist();
            // The page meets the console's share per workspace as a relay in use has it.
            config.console_lines_per_second = shipped.console_lines_per_second;
            config.console_line_burst = shipped.console_line_burst;
            adjust(config);
        })
        .await;
        Self { app }
    }

    pub fn url(&self) -> String {
        self.app.url("/")
    }

    pub async fn start_relay(&mut self) {
        self.app.start_relay().await;
    }

    pub async fn stop_relay(&mut self) {
        self.app.stop_relay().await;
    }

    /// Submits a claim through the API, as another user would; returns its id.
    pub async fn submit(&self, amount: &str) -> String {
        self.submit_for("CUST-E2E", amount).await.0
    }

    /// Submits a claim for `customer` through the API; returns its id and its entry's id.
    pub async fn submit_for(&self, customer: &str, amount: &str) -> (String, String) {
        let created = self
            .app
            .submit_claim(customer, amount, "from the test")
            .await;
        (created.claim_id, created.entry_id)
    }

    /// Moves a claim (`review`, `approve`, `pay`) through the API; returns the entry's id.
    pub async fn transition(&self, claim_id: &str, action: &str) -> String {
        self.app.act_json(claim_id, action).await.entry_id
    }

    /// Asks for a transition through the API; the status it answered.
    pub async fn try_transition(&self, claim_id: &str, action: &str) -> u16 {
        self.app.act(claim_id, action).await.status().as_u16()
    }

    /// POSTs JSON to the relay and returns the JSON answer; panics unless it is a 2xx.
    pub async fn post(&self, path: &str, body: &str) -> serde_json::Value {
        let response = self
            .app
            .post_raw(&format!("/{path}"), body.to_owned())
            .await;
        let status = response.status();
        assert!(status.is_success(), "{path}: {status}");
        json_of(response).await
    }

    /// GETs JSON from the relay, with the status it answered.
    pub async fn get(&self, path: &str) -> (u16, serde_json::Value) {
        let response = self.app.get(&format!("/{path}")).await;
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or_default())
    }

    pub async fn redis(&self) -> MultiplexedConnection {
        self.app.redis().await
    }

    /// How many entries a stream holds, straight from Redis.
    pub async fn xlen(&self, key: &str) -> u64 {
        streams::xlen(&mut self.redis().await, key).await
    }

    /// A group's lag on `claims:events` as XINFO GROUPS gives it (None when unknown).
    pub async fn group_lag(&self, group: &str) -> Option<u64> {
        streams::group_lag(&mut self.redis().await, EVENTS, group).await
    }

    /// Entry ids of `claims:events`, straight from Redis.
    pub async fn stream_ids(&self) -> Vec<String> {
        self.app
            .xrange()
            .await
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
            let entries = chunk.iter().map(|i| {
                let claim = format!("CLM-BULK{i}");
                let fields = streams::submitted_fields(&claim, "CUST-BULK", "1.00", "bulk");
                ("*".to_owned(), fields)
            });
            let ids = streams::xadd_pipelined(&mut conn, EVENTS, entries).await;
            last = ids.last().cloned().unwrap_or_default();
        }
        last
    }

    /// Appends `n` claim submissions with ids of our choosing, one millisecond apart from
    /// `first_ms`, as a long-lived stream would have them.
    pub async fn xadd_spread(&self, first_ms: u64, n: u64) {
        let entries = (0..n).map(|i| {
            let claim = format!("CLM-OLD{i}");
            let fields = streams::submitted_fields(&claim, "CUST-OLD", "1.00", "long ago");
            (format!("{}-0", first_ms + i), fields)
        });
        streams::xadd_pipelined(&mut self.redis().await, EVENTS, entries).await;
    }

    /// Appends `notes` notes on a claim of `customer` straight to `claims:events` (as another
    /// program would: not indexed), in one pipeline.
    pub async fn xadd_notes(&self, claim_id: &str, customer: &str, notes: &[String]) {
        let entries = notes.iter().map(|note| {
            (
                "*".to_owned(),
                streams::note_fields(claim_id, customer, note),
            )
        });
        streams::xadd_pipelined(&mut self.redis().await, EVENTS, entries).await;
    }

    pub async fn raw_xadd(&self, fields: &[(&str, &str)]) -> String {
        self.app.raw_xadd(fields).await
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
        let port = free_port().unwrap();
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

/// Where screenshots go, for people to look at after a run.
pub fn screenshot_dir() -> PathBuf {
    let dir = workspace_root().join("target/e2e");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
