use std::time::Duration;

use backend::store::embedded::{EmbeddedRedis, Persistence};
use backend::{Application, Config};
use redis::aio::MultiplexedConnection;
use serde_json::Value;
use shared::api::CommandResponse;
use tempfile::TempDir;

pub use crate::ws_client::WsClient;
use tokio::sync::oneshot;

pub struct TestApp {
    pub address: String,
    /// The relay's live feed (for holding a WebSocket client at its seam).
    pub feed: backend::events::feed::Feed,
    config: Config,
    pub http: reqwest::Client,
    redis: Option<EmbeddedRedis>,
    redis_port: u16,
    redis_dir: TempDir,
    stop: Option<oneshot::Sender<()>>,
    relay: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

pub fn config(redis_url: Option<String>, data_dir: Option<std::path::PathBuf>) -> Config {
    Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        redis_url,
        data_dir,
        static_dir: "does-not-exist".into(),
        workers: false,
        auto_approve_up_to: shared::Amount::from_cents(100_000),
        // Tests send console lines faster than a learner types; the share per workspace is
        // tested where it is the point (`hostile_console`).
        console_lines_per_second: 10_000,
        console_line_burst: 10_000,
        ..Config::defaults()
    }
}

/// Starts a redis-server of the test's own and a relay in front of it.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Like [`spawn_app`], with the relay's config adjusted first.
pub async fn spawn_app_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    let redis_dir = tempfile::tempdir().unwrap();
    let redis = EmbeddedRedis::start(redis_dir.path(), Persistence::AppendOnly)
        .await
        .expect("redis-server starts (is it installed? `cargo xtask install`)");
    let mut config = config(Some(redis.url()), None);
    adjust(&mut config);
    let app = Application::build(config.clone()).await.unwrap();
    let feed = app.feed();
    let (address, stop, relay) = run(app);
    TestApp {
        address,
        feed,
        config,
        http: reqwest::Client::new(),
        redis_port: redis.port(),
        redis: Some(redis),
        redis_dir,
        stop: Some(stop),
        relay: Some(relay),
    }
}

/// Runs a built relay in the background; send on the sender to shut it down.
pub fn run(
    app: Application,
) -> (
    String,
    oneshot::Sender<()>,
    tokio::task::JoinHandle<anyhow::Result<()>>,
) {
    let address = format!("127.0.0.1:{}", app.port());
    let (stop, stopped) = oneshot::channel::<()>();
    let relay = tokio::spawn(app.run_until_stopped(async {
        let _ = stopped.await;
    }));
    (address, stop, relay)
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http.get(self.url(path)).send().await.unwrap()
    }

    pub async fn post(&self, path: &str, body: &Value) -> reqwest::Response {
        self.http
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn post_raw(&self, path: &str, body: impl Into<reqwest::Body>) -> reqwest::Response {
        self.http
            .post(self.url(path))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap()
    }

    /// Submits a valid claim and returns the relay's answer.
    pub async fn submit(&self, amount: &str) -> CommandResponse {
        let response = self
            .post(
                "/api/claims",
                &serde_json::json!({"customer_id": "CUST-001", "amount": amount, "description": "Water damage"}),
            )
            .await;
        assert_eq!(response.status(), 201);
        response.json().await.unwrap()
    }

    pub async fn act(&self, claim_id: &str, action: &str) -> reqwest::Response {
        let body = if action == "reject" {
            serde_json::json!({"reason": "not covered"})
        } else {
            serde_json::json!({})
        };
        self.post(&format!("/api/claims/{claim_id}/{action}"), &body)
            .await
    }

    pub fn redis_url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.redis_port)
    }

    pub async fn redis(&self) -> MultiplexedConnection {
        redis::Client::open(format!("redis://127.0.0.1:{}", self.redis_port))
            .unwrap()
            .get_multiplexed_async_connection_with_config(
                // Reading tens of thousands of entries in a debug build takes a while.
                &redis::AsyncConnectionConfig::new().set_response_timeout(None),
            )
            .await
            .unwrap()
    }

    /// Bytes the test's Redis has sent to all its clients so far (`INFO stats`).
    pub async fn redis_output_bytes(&self) -> u64 {
        let info: String = redis::cmd("INFO")
            .arg("stats")
            .query_async(&mut self.redis().await)
            .await
            .unwrap();
        info.lines()
            .find_map(|l| l.strip_prefix("total_net_output_bytes:"))
            .and_then(|n| n.trim().parse().ok())
            .expect("INFO stats has total_net_output_bytes")
    }

    /// The id of the newest entry of `claims:events`, read straight from Redis.
    pub async fn newest_id(&self) -> String {
        let newest: redis::Value = redis::cmd("XREVRANGE")
            .arg("claims:events")
            .arg("+")
            .arg("-")
            .arg("COUNT")
            .arg(1)
            .query_async(&mut self.redis().await)
            .await
            .unwrap();
        backend::store::reply::entries(newest).remove(0).0
    }

    pub async fn xlen(&self) -> u64 {
        redis::cmd("XLEN")
            .arg("claims:events")
            .query_async(&mut self.redis().await)
            .await
            .unwrap()
    }

    /// Every entry of `claims:events`, read straight from Redis.
    pub async fn xrange(&self) -> Vec<(String, Vec<(String, String)>)> {
        self.stream("claims:events").await
    }

    /// Every entry of a stream, read straight from Redis.
    pub async fn stream(&self, key: &str) -> Vec<(String, Vec<(String, String)>)> {
        let reply: redis::Value = redis::cmd("XRANGE")
            .arg(key)
            .arg("-")
            .arg("+")
            .query_async(&mut self.redis().await)
            .await
            .unwrap();
        backend::store::reply::entries(reply)
    }

    /// Appends an entry as `redis-cli XADD claims:events * ...` would.
    pub async fn raw_xadd(&self, fields: &[(&str, &str)]) -> String {
        let mut cmd = redis::cmd("XADD");
        cmd.arg("claims:events").arg("*");
        for (k, v) in fields {
            cmd.arg(*k).arg(*v);
        }
        cmd.query_async(&mut self.redis().await).await.unwrap()
    }

    /// A valid `claim_submitted` appended straight to the stream, as another program (or
    /// `redis-cli`) would: not in the claim index. Returns its id.
    pub async fn raw_submitted(&self, claim_id: &str) -> String {
        self.raw_xadd(&[
            ("type", "claim_submitted"),
            ("v", "1"),
            ("claim_id", claim_id),
            ("customer_id", "CUST-9"),
            ("timestamp", "2026-11-23T10:00:00.000Z"),
            ("amount", "42.00"),
            ("description", "typed in redis-cli"),
        ])
        .await
    }

    pub async fn ws(&self, since: Option<&str>) -> WsClient {
        let query = since.map(|s| format!("?since={s}")).unwrap_or_default();
        let (stream, _) =
            tokio_tungstenite::connect_async(format!("ws://{}/api/ws{query}", self.address))
                .await
                .expect("websocket connects");
        WsClient::from(stream)
    }

    pub async fn stop_redis(&mut self) {
        self.redis
            .take()
            .expect("redis is running")
            .stop()
            .await
            .unwrap();
    }

    /// Brings Redis back on the same port with the same data.
    pub async fn restart_redis(&mut self) {
        let server = EmbeddedRedis::start_on(
            self.redis_dir.path(),
            self.redis_port,
            Persistence::AppendOnly,
        )
        .await
        .unwrap();
        self.redis = Some(server);
    }

    /// Stops the relay gracefully and starts a new one on the same Redis (on a new port).
    pub async fn restart_relay(&mut self) {
        let _ = self.stop.take().unwrap().send(());
        self.relay.take().unwrap().await.unwrap().unwrap();
        let app = Application::build(self.config.clone()).await.unwrap();
        self.feed = app.feed();
        let (address, stop, relay) = run(app);
        self.address = address;
        self.stop = Some(stop);
        self.relay = Some(relay);
    }

    pub async fn shutdown(mut self) {
        let _ = self.stop.take().unwrap().send(());
        self.relay.take().unwrap().await.unwrap().unwrap();
    }
}

/// The error body every 4xx carries.
pub async fn error_of(response: reqwest::Response) -> (u16, String, String) {
    let status = response.status().as_u16();
    let body: Value = response.json().await.expect("error bodies are JSON");
    let code = body["error"]["code"]
        .as_str()
        .expect("error.code")
        .to_owned();
    let message = body["error"]["message"]
        .as_str()
        .expect("error.message")
        .to_owned();
    (status, code, message)
}

/// A raw entry's field, or "" when it has none.
pub fn field<'a>(fields: &'a [(String, String)], name: &str) -> &'a str {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map_or("", |(_, v)| v.as_str())
}

/// Polls `check` every 50 ms until it holds; panics with `what` after `limit`.
pub async fn until(limit: Duration, what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = std::time::Instant::now() + limit;
    while !check().await {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Nothing half-written: each claim's index lists exactly its entries of `claims:events`, in
/// stream order. Returns them, by claim id.
pub async fn assert_every_entry_indexed(
    redis: &mut MultiplexedConnection,
) -> std::collections::HashMap<String, Vec<String>> {
    let reply: redis::Value = redis::cmd("XRANGE")
        .arg("claims:events")
        .arg("-")
        .arg("+")
        .query_async(redis)
        .await
        .unwrap();
    let mut by_claim = std::collections::HashMap::<String, Vec<String>>::new();
    for (id, fields) in backend::store::reply::entries(reply) {
        by_claim
            .entry(field(&fields, "claim_id").to_owned())
            .or_default()
            .push(id);
    }
    for (claim, ids) in &by_claim {
        let index: Vec<String> = redis::cmd("LRANGE")
            .arg(backend::store::keys::Partition::ONLY.history(claim))
            .arg(0)
            .arg(-1)
            .query_async(redis)
            .await
            .unwrap();
        assert_eq!(&index, ids, "index of {claim}");
    }
    by_claim
}

/// A redis-server of the test's own with no relay in front, so nothing indexes or projects
/// behind the test's back; a relay's handle on it and a plain connection.
pub async fn bare_redis() -> (
    EmbeddedRedis,
    TempDir,
    backend::store::db::Db,
    MultiplexedConnection,
) {
    let dir = tempfile::tempdir().unwrap();
    let redis = EmbeddedRedis::start(dir.path(), Persistence::None)
        .await
        .unwrap();
    let db = backend::store::db::Db::new(&redis.url()).unwrap();
    let conn = redis::Client::open(redis.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    (redis, dir, db, conn)
}

/// A `claim_submitted` as the lab's own scripts append it (v0: no `v`, `submitted_at`,
/// whole units), with a plain `XADD`. Returns its id.
pub async fn xadd_v0_submitted(
    conn: &mut MultiplexedConnection,
    claim_id: &str,
    amount: &str,
) -> String {
    redis::cmd("XADD")
        .arg("claims:events")
        .arg("*")
        .arg(&[
            "type",
            "claim_submitted",
            "claim_id",
            claim_id,
            "customer_id",
            "C",
            "amount",
            amount,
            "submitted_at",
            "2026-11-21T09:00:00.000Z",
        ])
        .query_async(conn)
        .await
        .unwrap()
}
