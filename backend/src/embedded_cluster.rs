//! A Redis Cluster on loopback ports, for the cluster tests and benches: one `redis-server
//! --cluster-enabled yes` per node, joined with `redis-cli --cluster create`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use tokio::process::Command;

use crate::store::embedded::{EmbeddedRedis, Persistence, free_port};

/// How long a node may be unreachable before the others fail it over: short, so a test's
/// failover takes seconds.
const NODE_TIMEOUT_MS: &str = "1000";

pub struct EmbeddedCluster {
    nodes: Vec<Option<EmbeddedRedis>>,
    ports: Vec<u16>,
    dir: PathBuf,
}

impl EmbeddedCluster {
    /// Starts `primaries` primaries with `replicas` replicas each, their files under `dir`,
    /// and waits until every node serves every slot.
    pub async fn start(dir: &Path, primaries: usize, replicas: usize) -> anyhow::Result<Self> {
        let count = primaries * (1 + replicas);
        let mut nodes = Vec::with_capacity(count);
        let mut ports = Vec::with_capacity(count);
        for n in 0..count {
            let node_dir = dir.join(format!("node-{n}"));
            std::fs::create_dir_all(&node_dir)?;
            let node = start_node(&node_dir).await?;
            ports.push(node.port());
            nodes.push(Some(node));
        }
        let mut create = Command::new("redis-cli");
        create.arg("--cluster").arg("create");
        create.args(ports.iter().map(|p| format!("127.0.0.1:{p}")));
        create.args(["--cluster-replicas", &replicas.to_string(), "--cluster-yes"]);
        let out = create
            .output()
            .await
            .context("cannot run redis-cli (it comes with redis-server)")?;
        if !out.status.success() {
            bail!(
                "redis-cli --cluster create failed: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let cluster = Self {
            nodes,
            ports,
            dir: dir.to_owned(),
        };
        cluster.wait_until_ok(Duration::from_secs(30)).await?;
        Ok(cluster)
    }

    /// `host:port` of every node, as `--redis-cluster` takes them.
    pub fn addresses(&self) -> Vec<String> {
        self.ports
            .iter()
            .map(|p| format!("127.0.0.1:{p}"))
            .collect()
    }

    /// `redis://` URLs of every node still running.
    pub fn urls(&self) -> Vec<String> {
        self.nodes
            .iter()
            .flatten()
            .map(EmbeddedRedis::url)
            .collect()
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Waits until every running node says `cluster_state:ok`, agrees on who serves what, and
    /// every replica has synced with its primary.
    pub async fn wait_until_ok(&self, within: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + within;
        loop {
            let mut ok = true;
            let mut views = Vec::new();
            for url in self.urls() {
                match node_view(&url).await {
                    Ok((state_ok, view)) => {
                        ok &= state_ok;
                        views.push(view);
                    }
                    Err(_) => ok = false,
                }
            }
            if ok && views.windows(2).all(|w| w[0] == w[1]) {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("the cluster did not reach cluster_state:ok within {within:?}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The port of the primary serving `key`, and of its replicas.
    pub async fn serving(&self, key: &str) -> anyhow::Result<(u16, Vec<u16>)> {
        let url = self.urls().into_iter().next().context("no node running")?;
        let mut conn = redis::Client::open(url)?
            .get_multiplexed_async_connection()
            .await?;
        let slot: u16 = redis::cmd("CLUSTER")
            .arg("KEYSLOT")
            .arg(key)
            .query_async(&mut conn)
            .await?;
        let ranges: Vec<(u16, u16, Vec<redis::Value>)> = slots(&mut conn).await?;
        for (start, end, nodes) in ranges {
            if (start..=end).contains(&slot) {
                let mut ports = nodes.iter().filter_map(node_port);
                let primary = ports.next().context("a slot without a primary")?;
                return Ok((primary, ports.collect()));
            }
        }
        bail!("slot {slot} is not served")
    }

    /// Promotes the replica on `port` with `CLUSTER FAILOVER`: it catches up with its primary
    /// first, so no acknowledged write is lost. Waits until the cluster is ok again.
    pub async fn fail_over_to(&self, port: u16) -> anyhow::Result<()> {
        let mut conn = redis::Client::open(format!("redis://127.0.0.1:{port}"))?
            .get_multiplexed_async_connection()
            .await?;
        let _: () = redis::cmd("CLUSTER")
            .arg("FAILOVER")
            .query_async(&mut conn)
            .await?;
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let role: Vec<redis::Value> = redis::cmd("ROLE").query_async(&mut conn).await?;
            if matches!(role.first(), Some(redis::Value::BulkString(r)) if r == b"master") {
                break;
            }
            if Instant::now() > deadline {
                bail!("the replica on {port} was not promoted within 20 s");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.wait_until_ok(Duration::from_secs(20)).await
    }

    /// Stops every node.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        for node in self.nodes.iter_mut().filter_map(Option::take) {
            node.stop().await?;
        }
        Ok(())
    }
}

/// A node of its own on a port whose cluster bus port (+10000) is a valid port too.
async fn start_node(dir: &Path) -> anyhow::Result<EmbeddedRedis> {
    let args = [
        "--cluster-enabled",
        "yes",
        "--cluster-config-file",
        "nodes.conf",
        "--cluster-node-timeout",
        NODE_TIMEOUT_MS,
        // Replicas sync at once rather than after Redis 7's default 5 s wait.
        "--repl-diskless-sync-delay",
        "0",
    ];
    let mut last_error = None;
    for _ in 0..20 {
        let port = free_port()?;
        if port > 55_000 || std::net::TcpListener::bind(("127.0.0.1", port + 10_000)).is_err() {
            continue;
        }
        match EmbeddedRedis::start_with(dir, port, Persistence::None, &args).await {
            Ok(node) => return Ok(node),
            Err(e) => last_error = Some(e),
        }
    }
    Err(last_error.unwrap_or_else(|| anyhow::anyhow!("no free port pair for a cluster node")))
}

/// Whether the node says `cluster_state:ok`, and its slot map (ranges and primaries).
async fn node_view(url: &str) -> anyhow::Result<(bool, Vec<(u16, u16, u16)>)> {
    let mut conn = redis::Client::open(url)?
        .get_multiplexed_async_connection()
        .await?;
    let info: String = redis::cmd("CLUSTER")
        .arg("INFO")
        .query_async(&mut conn)
        .await?;
    // A replica counts once it has synced: before that a failover to it would lose writes.
    let replication: String = redis::cmd("INFO")
        .arg("replication")
        .query_async(&mut conn)
        .await?;
    let synced =
        replication.contains("role:master") || replication.contains("master_link_status:up");
    let mut view: Vec<(u16, u16, u16)> = slots(&mut conn)
        .await?
        .into_iter()
        .filter_map(|(start, end, nodes)| Some((start, end, node_port(nodes.first()?)?)))
        .collect();
    view.sort_unstable();
    let covered: u32 = view.iter().map(|(s, e, _)| u32::from(e - s) + 1).sum();
    Ok((
        info.contains("cluster_state:ok") && covered == 16_384 && synced,
        view,
    ))
}

async fn slots(
    conn: &mut redis::aio::MultiplexedConnection,
) -> anyhow::Result<Vec<(u16, u16, Vec<redis::Value>)>> {
    let reply: Vec<Vec<redis::Value>> =
        redis::cmd("CLUSTER").arg("SLOTS").query_async(conn).await?;
    Ok(reply
        .into_iter()
        .filter_map(|mut range| {
            if range.len() < 3 {
                return None;
            }
            let nodes = range.split_off(2);
            let end = redis::from_redis_value::<u16>(range.pop()?).ok()?;
            let start = redis::from_redis_value::<u16>(range.pop()?).ok()?;
            Some((start, end, nodes))
        })
        .collect())
}

/// The port of one node of a `CLUSTER SLOTS` range: `[ip, port, id, ...]`.
fn node_port(node: &redis::Value) -> Option<u16> {
    match node {
        redis::Value::Array(fields) => redis::from_redis_value::<u16>(fields.get(1)?.clone()).ok(),
        _ => None,
    }
}
