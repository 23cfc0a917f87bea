use std::time::Duration;

use backend::embedded_cluster::EmbeddedCluster;
use backend::{Application, Config};
use shared::api::CommandResponse;
use tempfile::TempDir;

pub use crate::ws_client::WsClient;
use tokio::sync::oneshot;

/// Partitions the relays spread the claims over: more than primaries, so some share one.
pub const PARTITIONS: u32 = 4;

/// A cluster of three primaries with a replica each, and the relays started on it.
pub struct Stack {
    pub cluster: EmbeddedCluster,
    _dir: TempDir,
}

impl Stack {
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let cluster = EmbeddedCluster::start(dir.path(), 3, 1)
            .await
            .expect("a Redis Cluster starts (redis-server and redis-cli installed?)");
        Self { cluster, _dir: dir }
    }

    /// A relay on the cluster with the claims in [`PARTITIONS`] partitions, its config
    /// adjusted first.
    pub async fn relay_with(&self, adjust: impl FnOnce(&mut Config)) -> Relay {
        let mut config = Config {
            listen: "127.0.0.1:0".parse().unwrap(),
            redis_cluster: self.cluster.addresses(),
            partitions: PARTITIONS,
            static_dir: "does-not-exist".into(),
            workers: false,
            ..Config::defaults()
        };
        adjust(&mut config);
        let app = Application::build(config).await.unwrap();
        let address = format!("127.0.0.1:{}", app.port());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(app.run_until_stopped(async {
            let _ = stopped.await;
        }));
        Relay {
            address,
            http: reqwest::Client::new(),
            stop: Some(stop),
            task: Some(task),
        }
    }

    pub async fn relay(&self) -> Relay {
        self.relay_with(|_| {}).await
    }

    /// A relay in a process of its own (the `backend` binary), with its consumer groups,
    /// taking over idle entries after 1 s: one that can be killed.
    pub async fn relay_process(&self) -> RelayProcess {
        let port = free_port();
        let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_backend"))
            .env_remove("REDIS_URL")
            .env_remove("REDIS_CLUSTER")
            .env("RUST_LOG", "warn")
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(["--redis-cluster", &self.cluster.addresses().join(",")])
            .args(["--partitions", &PARTITIONS.to_string()])
            .args(["--claim-idle-ms", "1000", "--static-dir", "does-not-exist"])
            .args([
                "--write-rate-per-second",
                "100000",
                "--write-burst",
                "100000",
            ])
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("the backend binary starts");
        let relay = Relay {
            address: format!("127.0.0.1:{port}"),
            http: reqwest::Client::new(),
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
        RelayProcess {
            relay: std::sync::Arc::new(relay),
            child,
        }
    }

    /// A connection to the cluster of the test's own.
    pub async fn redis(&self) -> redis::cluster_async::ClusterConnection {
        redis::cluster::ClusterClient::new(self.cluster.urls())
            .unwrap()
            .get_async_connection()
            .await
            .unwrap()
    }

    /// `(entry id, claim id)` of every entry of one stream, in order.
    pub async fn entries(&self, stream: &str) -> Vec<(String, String)> {
        let reply: redis::Value = redis::cmd("XRANGE")
            .arg(stream)
            .arg("-")
            .arg("+")
            .query_async(&mut self.redis().await)
            .await
            .unwrap();
        backend::store::reply::entries(reply)
            .into_iter()
            .map(|(id, fields)| {
                let claim = fields
                    .into_iter()
                    .find(|(k, _)| k == "claim_id")
                    .map(|(_, v)| v)
                    .unwrap_or_default();
                (id, claim)
            })
            .collect()
    }
}

pub struct Relay {
    pub address: String,
    pub http: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl Relay {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http.get(self.url(path)).send().await.unwrap()
    }

    pub async fn post(&self, path: &str, body: &serde_json::Value) -> reqwest::Response {
        self.http
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// Submits a valid claim; panics unless the relay accepts it.
    pub async fn submit(&self, customer: &str) -> CommandResponse {
        let response = self
            .post(
                "/api/claims",
                &serde_json::json!({"customer_id": customer, "amount": "120.00", "description": "Hail"}),
            )
            .await;
        assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
        response.json().await.unwrap()
    }

    pub async fn act(&self, claim_id: &str, action: &str) -> reqwest::Response {
        self.post(
            &format!("/api/claims/{claim_id}/{action}"),
            &serde_json::json!({}),
        )
        .await
    }

    pub async fn ws(&self) -> WsClient {
        let (stream, _) = tokio_tungstenite::connect_async(format!("ws://{}/api/ws", self.address))
            .await
            .expect("websocket connects");
        WsClient::from(stream)
    }

    pub async fn shutdown(mut self) {
        let _ = self.stop.take().unwrap().send(());
        self.task.take().unwrap().await.unwrap().unwrap();
    }

    /// Submits a claim; its id if the relay said it was accepted, `None` if the request
    /// failed (the relay gone) or was refused.
    pub async fn try_submit(&self, customer: &str) -> Option<String> {
        let response = self
            .http
            .post(self.url("/api/claims"))
            .json(&serde_json::json!({"customer_id": customer, "amount": "120.00", "description": "Hail"}))
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .ok()?;
        if response.status() != 201 {
            return None;
        }
        let answer: CommandResponse = response.json().await.ok()?;
        Some(answer.claim_id)
    }

    /// The claim's status as the relay loads it from its events.
    pub async fn status_of(&self, claim_id: &str) -> Option<String> {
        let response = self.get(&format!("/api/claims/{claim_id}")).await;
        let claim: serde_json::Value = response.json().await.ok()?;
        claim["claim"]["status"].as_str().map(str::to_owned)
    }
}

/// A relay running as its own process.
pub struct RelayProcess {
    pub relay: std::sync::Arc<Relay>,
    child: tokio::process::Child,
}

impl RelayProcess {
    /// SIGKILL: no shutdown, consumers stop holding whatever they had read.
    pub async fn kill(&mut self) {
        self.child.kill().await.unwrap();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
