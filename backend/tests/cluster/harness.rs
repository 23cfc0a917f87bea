//! The cluster tests' stack: a Redis Cluster of three primaries with a replica each, and the
//! relays started on it with the claims in [`PARTITIONS`] partitions.

use backend::Config;
use test_support::streams::claim_ids;
use test_support::{EmbeddedCluster, Relay, RelayProcess};

/// Partitions the relays spread the claims over: more than primaries, so some share one.
pub const PARTITIONS: u32 = 4;

pub struct Stack {
    pub cluster: EmbeddedCluster,
}

impl Stack {
    pub async fn start() -> Self {
        let cluster = EmbeddedCluster::start_temp(3, 1)
            .await
            .expect("a Redis Cluster starts (redis-server and redis-cli installed?)");
        Self { cluster }
    }

    /// A relay on the cluster with the claims in [`PARTITIONS`] partitions, its config
    /// adjusted first.
    pub async fn relay_with(&self, adjust: impl FnOnce(&mut Config)) -> Relay {
        let mut config = self.cluster.relay_config(PARTITIONS);
        adjust(&mut config);
        Relay::start(config).await
    }

    pub async fn relay(&self) -> Relay {
        self.relay_with(|_| {}).await
    }

    /// A relay in a process of its own (the `backend` binary), with its consumer groups,
    /// taking over idle entries after 1 s: one that can be killed.
    pub async fn relay_process(&self) -> RelayProcess {
        let args = [
            "--redis-cluster",
            &self.cluster.addresses().join(","),
            "--partitions",
            &PARTITIONS.to_string(),
            "--claim-idle-ms",
            "1000",
            "--static-dir",
            "does-not-exist",
            "--write-rate-per-second",
            "100000",
            "--write-burst",
            "100000",
        ]
        .map(str::to_owned);
        RelayProcess::spawn(env!("CARGO_BIN_EXE_backend").as_ref(), &args).await
    }

    /// Shuts `relays` down, then the cluster.
    pub async fn stop(self, relays: impl IntoIterator<Item = Relay>) {
        for relay in relays {
            relay.shutdown().await;
        }
        self.cluster.stop().await.unwrap();
    }

    /// `(entry id, claim id)` of every entry of one stream, in order.
    pub async fn entries(&self, stream: &str) -> Vec<(String, String)> {
        claim_ids(&mut self.cluster.connect().await, stream).await
    }
}
