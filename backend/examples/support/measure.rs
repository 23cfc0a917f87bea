//! What a phase used: CPU of this process and of every redis-server, the time their threads
//! waited for a core, and Redis's command counters, read before and after it.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::Context;
use redis::aio::MultiplexedConnection;

use super::STEP_TIMEOUT;
use super::cpu::{info_cpu_seconds, stat_cpu_seconds};

/// The 1, 5 and 15 minute load averages, from /proc/loadavg.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg").map_or_else(
        |_| "unknown".into(),
        |l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "),
    )
}

/// The last line of a run: how long it took since `start`, and the load average then.
pub fn print_took(start: Instant) {
    println!(
        "(took {:.0} s; load average at the end {}: other processes on this machine share the \
         cores)",
        start.elapsed().as_secs_f64(),
        load_average()
    );
}

/// User + system CPU seconds of this whole process, from /proc/self/stat (USER_HZ = 100).
fn process_cpu_seconds() -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").context("reading /proc/self/stat")?;
    stat_cpu_seconds(&stat)
}

/// Seconds the live threads of process `pid` spent runnable but waiting for a core: the
/// second field of each /proc/<pid>/task/*/schedstat, in ns. 0 where schedstat is missing.
fn runqueue_wait_seconds(pid: &str) -> f64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0.0;
    };
    tasks
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().nth(1)?.parse::<f64>().ok())
        .sum::<f64>()
        / 1e9
}

/// A connection to the redis-server at `url`, every connect and reply within
/// [`STEP_TIMEOUT`].
pub async fn connect(url: &str) -> anyhow::Result<MultiplexedConnection> {
    let config = redis::AsyncConnectionConfig::new()
        .set_connection_timeout(Some(STEP_TIMEOUT))
        .set_response_timeout(Some(STEP_TIMEOUT));
    Ok(redis::Client::open(url)?
        .get_multiplexed_async_connection_with_config(&config)
        .await?)
}

/// One redis-server: a connection (for INFO, and whatever else the bench sends it) and its
/// process id (for /proc).
pub struct Node {
    pub conn: MultiplexedConnection,
    pid: String,
}

/// Connects to the redis-server at `url`: it, and its port (`tcp_port`).
pub async fn node(url: &str) -> anyhow::Result<(Node, u16)> {
    let mut conn = connect(url).await?;
    let server: String = redis::cmd("INFO")
        .arg("server")
        .query_async(&mut conn)
        .await?;
    let field = |name: &str| {
        server
            .lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
            .map(|v| v.trim().to_owned())
    };
    let pid = field("process_id").context("no process_id in INFO server")?;
    let port = field("tcp_port")
        .and_then(|p| p.parse().ok())
        .context("no tcp_port in INFO server")?;
    Ok((Node { conn, pid }, port))
}

/// CPU used so far by this process and by each redis-server, and Redis's command counters
/// summed over the servers.
pub struct Mark {
    at: Instant,
    bench_cpu: f64,
    /// Seconds the threads of this process and of each redis-server were runnable but waited
    /// for a core (/proc schedstat): what the other processes on the machine take away.
    bench_wait: f64,
    /// Per node, in the order of `nodes`: (CPU seconds, wait seconds).
    redis: Vec<(f64, f64)>,
    /// Command name -> (calls, µs), over all nodes.
    commands: BTreeMap<String, (u64, u64)>,
}

pub async fn mark(nodes: &mut [Node]) -> anyhow::Result<Mark> {
    let mut redis = Vec::with_capacity(nodes.len());
    let mut commands: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for node in nodes.iter_mut() {
        let cpu: String = redis::cmd("INFO")
            .arg("cpu")
            .query_async(&mut node.conn)
            .await?;
        let stats: String = redis::cmd("INFO")
            .arg("commandstats")
            .query_async(&mut node.conn)
            .await?;
        redis.push((info_cpu_seconds(&cpu), runqueue_wait_seconds(&node.pid)));
        // cmdstat_xack:calls=10,usec=20,usec_per_call=2.00,rejected_calls=0,failed_calls=0
        for line in stats.lines() {
            let Some((name, rest)) = line
                .strip_prefix("cmdstat_")
                .and_then(|l| l.split_once(':'))
            else {
                continue;
            };
            let value = |key: &str| -> Option<u64> {
                rest.split(',')
                    .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))?
                    .parse()
                    .ok()
            };
            if let (Some(calls), Some(usec)) = (value("calls"), value("usec")) {
                let sum = commands.entry(name.to_owned()).or_default();
                sum.0 += calls;
                sum.1 += usec;
            }
        }
    }
    Ok(Mark {
        at: Instant::now(),
        bench_cpu: process_cpu_seconds()?,
        bench_wait: runqueue_wait_seconds("self"),
        redis,
        commands,
    })
}

/// What one timed stretch used, from one [`Mark`] to the next.
pub struct Usage {
    pub elapsed: Duration,
    /// CPU seconds of this process.
    pub bench_cpu: f64,
    /// Seconds this process's threads were runnable but waited for a core.
    pub bench_wait: f64,
    /// Per node: (CPU seconds, wait seconds).
    pub redis: Vec<(f64, f64)>,
    /// Command name -> (calls, µs), over all nodes, for the commands that ran.
    pub commands: BTreeMap<String, (u64, u64)>,
}

impl Usage {
    pub fn between(before: &Mark, after: &Mark) -> Self {
        let commands = after
            .commands
            .iter()
            .filter_map(|(name, (calls, usec))| {
                let (c0, u0) = before.commands.get(name).copied().unwrap_or((0, 0));
                (*calls > c0).then(|| (name.clone(), (calls - c0, usec.saturating_sub(u0))))
            })
            .collect();
        Self {
            elapsed: after.at - before.at,
            bench_cpu: after.bench_cpu - before.bench_cpu,
            bench_wait: after.bench_wait - before.bench_wait,
            redis: after
                .redis
                .iter()
                .zip(&before.redis)
                .map(|(a, b)| (a.0 - b.0, a.1 - b.1))
                .collect(),
            commands,
        }
    }

    /// CPU seconds of all redis-servers together.
    pub fn redis_cpu(&self) -> f64 {
        self.redis.iter().map(|(cpu, _)| cpu).sum()
    }

    /// Seconds the threads of all redis-servers together waited for a core.
    pub fn redis_wait(&self) -> f64 {
        self.redis.iter().map(|(_, wait)| wait).sum()
    }

    /// Cores busy on average: this process, all redis-servers together.
    pub fn cores(&self) -> (f64, f64) {
        let wall = self.elapsed.as_secs_f64();
        (self.bench_cpu / wall, self.redis_cpu() / wall)
    }

    /// "name calls (µs each), ..." per one of `per` events, most calls first: the commands
    /// whose names start with one of `probes` (the bench's own) left out, and those run fewer
    /// than 0.005 times per event.
    pub fn commands_per(&self, per: f64, probes: &[&str]) -> String {
        let mut rows: Vec<(&String, &(u64, u64))> = self
            .commands
            .iter()
            .filter(|(name, (calls, _))| {
                !probes.iter().any(|p| name.starts_with(p)) && *calls as f64 / per >= 0.005
            })
            .collect();
        rows.sort_by_key(|(_, (calls, _))| std::cmp::Reverse(*calls));
        rows.iter()
            .map(|(name, (calls, usec))| {
                format!(
                    "{name} {:.2} ({:.1} µs each)",
                    *calls as f64 / per,
                    *usec as f64 / *calls as f64
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}
