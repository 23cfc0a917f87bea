//! `cargo xtask bench`: how fast the relay is, in one run against one Redis.
//!
//! Run it with `cargo run --release -p backend --example bench -- [flags]`. It starts its own
//! `redis-server` (no persistence, in a temporary directory) and a relay in this process on
//! 127.0.0.1, then measures three figures:
//!
//! * **submit**: `POST /api/claims` over 50 keep-alive connections (one task per connection,
//!   a client as light as `wrk`: `support/http_load.rs`), requests/s, p50/p99 latency, the
//!   relay's CPU per request and the bytes of an answer; then the same against the lab's Node
//!   stack (`bench/`: express + ioredis running the relay's own append script, installed with
//!   `npm ci` when needed) on the same Redis, with the relay beside it (target: the relay
//!   above 4x Node's requests/s); and raw `XADD` as `redis-benchmark -c 50` measures it;
//! * **ws**: 100 WebSocket clients on `/api/ws`; events are appended straight to
//!   `claims:events` with `XADD` at 1,000/s, each carrying its send time, and every client
//!   records send-to-receive latency (target: p99 < 5 ms);
//! * **rss**: this process's resident memory (which includes the bench's own clients) before
//!   and after appending many events while 10 WebSocket clients consume them; it must not grow
//!   with the number of events.
//!
//! The relay runs on the main Tokio runtime; the bench's clients run on a second runtime with
//! threads of their own (`load-client`), and the paced sender on one more (`load-sender`), so
//! the CPU each side uses can be told apart (from /proc/self/task) and printed next to Redis's.
//! Everything shares the machine's cores, so the figures are a floor, not the relay alone.
//!
//! Flags: `--requests N` (submits to time, default 20000), `--ws-seconds N` (default 5),
//! `--rss-events N` (default 100000).

// The relay's own allocator (see `src/main.rs`), so the relay runs here as it does there.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

// Only the helpers this bench uses, not all of `support/mod.rs`: see there.
#[path = "support/cpu.rs"]
mod cpu;
#[path = "support/flags.rs"]
mod flags;
#[path = "support/http_load.rs"]
mod http_load;
#[path = "support/node_stack.rs"]
mod node_stack;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use backend::Config;
use backend::store::embedded::Persistence;
use clap::Parser;
use futures_util::StreamExt;
use hdrhistogram::Histogram;
use node_stack::NodeStack;
use redis::aio::MultiplexedConnection;
use shared::api::ServerMessage;
use test_support::{RedisServer, Relay};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::{MissedTickBehavior, timeout};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tokio_util::sync::CancellationToken;

/// Concurrent HTTP connections for the submit figure.
const CONNECTIONS: usize = 50;
/// Submits sent before timing starts, to open connections and warm caches.
const WARM_UP: u64 = 1_000;
/// Raw `XADD`s `redis-benchmark` sends.
const RAW_REQUESTS: u64 = 200_000;
const WS_CLIENTS: usize = 100;
const WS_RATE: u64 = 1_000;
const RSS_CLIENTS: usize = 10;
const PIPELINE: u64 = 1_000;
/// The most any single request, connect or read may take.
const STEP_TIMEOUT: Duration = Duration::from_secs(10);
/// How long clients may take to receive the last events once sending is done.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);
const EVENTS: &str = "claims:events";

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

struct Args {
    requests: u64,
    ws_seconds: u64,
    rss_events: u64,
}

impl Args {
    fn parse() -> anyhow::Result<Self> {
        let mut args = Self {
            requests: 20_000,
            ws_seconds: 5,
            rss_events: 100_000,
        };
        flags::parse(
            "usage: bench [--requests N] [--ws-seconds N] [--rss-events N]\n\
             defaults: --requests 20000 --ws-seconds 5 --rss-events 100000",
            &mut [
                ("--requests", &mut args.requests),
                ("--ws-seconds", &mut args.ws_seconds),
                ("--rss-events", &mut args.rss_events),
            ],
        )?;
        Ok(args)
    }
}

/// Microseconds, 1 µs to 1 min, 3 significant digits.
fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid histogram bounds")
}

fn ms(us: u64) -> f64 {
    us as f64 / 1_000.0
}

/// Threads whose name starts with this run the bench's clients, not the relay.
const LOAD_THREAD: &str = "load-";

/// The relay and the Redis behind it, both started by the bench, and where the clients run.
struct Harness {
    /// The clients' runtime: two `load-client` threads, apart from the relay's workers.
    load: tokio::runtime::Handle,
    redis: RedisServer,
    relay_port: u16,
    relay: Relay,
}

impl Harness {
    async fn start(load: tokio::runtime::Handle) -> anyhow::Result<Self> {
        let redis = RedisServer::start(Persistence::None).await?;
        let static_dir = redis.dir().join("no-static-files");
        let config = Config::try_parse_from([
            "backend",
            "--listen",
            "127.0.0.1:0",
            "--redis-url",
            &redis.url(),
            "--static-dir",
            &static_dir.to_string_lossy(),
            // The relay alone: consumer groups have a bench of their own.
            "--workers",
            "false",
            // One load generator on loopback stands for a crowd: no per-address caps.
            "--write-rate-per-second",
            "4000000000",
            "--write-burst",
            "4000000000",
            "--ws-max-per-client",
            "100000",
            "--ws-max-connections",
            "100000",
        ])?;
        let relay = Relay::start(config).await;
        // The relay compresses the app it serves on a thread of its own when it starts:
        // measuring meanwhile would measure that too.
        let compressing = Instant::now();
        while thread_running(COMPRESS_THREAD)? {
            anyhow::ensure!(
                compressing.elapsed() < Duration::from_secs(120),
                "the relay still compresses its assets after 120 s"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        println!(
            "assets  : compressed by the relay in {:.1} s, before any measurement",
            compressing.elapsed().as_secs_f64()
        );
        Ok(Self {
            load,
            redis,
            relay_port: relay.port(),
            relay,
        })
    }

    fn url(&self, path: &str) -> String {
        self.relay.url(path)
    }

    async fn redis(&self) -> anyhow::Result<MultiplexedConnection> {
        let config = redis::AsyncConnectionConfig::new().set_response_timeout(Some(STEP_TIMEOUT));
        Ok(redis::Client::open(self.redis.url())?
            .get_multiplexed_async_connection_with_config(&config)
            .await?)
    }

    /// CPU time used so far by the relay, by the bench's clients and by redis-server.
    async fn cpu(&self) -> anyhow::Result<CpuMark> {
        let info: String = redis::cmd("INFO")
            .arg("cpu")
            .query_async(&mut self.redis().await?)
            .await?;
        let (relay, load) = thread_cpu_seconds()?;
        Ok(CpuMark {
            at: Instant::now(),
            relay,
            load,
            redis: cpu::info_cpu_seconds(&info),
        })
    }

    async fn reset_command_stats(&self) -> anyhow::Result<()> {
        let () = redis::cmd("CONFIG")
            .arg("RESETSTAT")
            .query_async(&mut self.redis().await?)
            .await?;
        Ok(())
    }

    /// Redis's busiest commands since the last reset, by the time it spent in them: calls per
    /// request and µs per call (`INFO commandstats`).
    async fn command_stats(&self, requests: u64) -> anyhow::Result<String> {
        let info: String = redis::cmd("INFO")
            .arg("commandstats")
            .query_async(&mut self.redis().await?)
            .await?;
        // cmdstat_evalsha:calls=20000,usec=1640000,usec_per_call=82.00,...
        let mut stats: Vec<(String, f64, f64)> = info
            .lines()
            .filter_map(|l| {
                let (name, rest) = l.strip_prefix("cmdstat_")?.split_once(':')?;
                let field = |key: &str| -> Option<f64> {
                    rest.split(',')
                        .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))?
                        .parse()
                        .ok()
                };
                Some((name.to_owned(), field("calls")?, field("usec")?))
            })
            .collect();
        stats.sort_by(|a, b| b.2.total_cmp(&a.2));
        Ok(stats
            .iter()
            .take(6)
            .map(|(name, calls, usec)| {
                format!(
                    "{name} {:.2}/request {:.1} µs",
                    calls / requests as f64,
                    usec / calls
                )
            })
            .collect::<Vec<_>>()
            .join(", "))
    }

    async fn shutdown(mut self) -> anyhow::Result<()> {
        if timeout(STEP_TIMEOUT, self.relay.shutdown()).await.is_err() {
            eprintln!("warning: the relay did not stop within {STEP_TIMEOUT:?}");
        }
        self.redis.stop().await
    }
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse()?;
    // The relay gets the main runtime (a worker per core, as in production); the clients get
    // their own. Both are dropped here, outside any runtime, even when a phase fails.
    let relay = tokio::runtime::Runtime::new()?;
    let load = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("load-client")
        .enable_all()
        .build()?;
    relay.block_on(run(args, load.handle().clone()))
}

async fn run(args: Args, load: tokio::runtime::Handle) -> anyhow::Result<()> {
    let start = Instant::now();
    let harness = Harness::start(load).await?;
    println!(
        "relay on 127.0.0.1:{}, redis-server on 127.0.0.1:{} (no persistence); RSS at start {:.1} MiB",
        harness.relay_port,
        harness.redis.port(),
        rss_mib()?
    );

    let submit = bench_submit(&harness, Stack::Relay, args.requests).await?;
    let node = bench_node(&harness, args.requests).await?;
    let raw = bench_raw_xadd(&harness).await?;
    let ws = bench_ws(&harness, start, args.ws_seconds).await?;
    let peer = bench_xread_peer(&harness, start, args.ws_seconds).await?;
    let rss = bench_rss(&harness, args.rss_events).await?;
    harness.shutdown().await?;

    println!();
    println!("== claimstream bench ==");
    println!("{}", submit.summary());
    match &node {
        Some(node) => {
            println!("{}", node.summary());
            println!(
                "ratio   : relay/node {:.2}x in req/s (target > 4)",
                submit.requests_per_second() / node.requests_per_second()
            );
            println!("{}", submit.ceiling(4.0 * node.requests_per_second()));
        }
        None => println!("node    : not measured (node or npm not found)"),
    }
    match raw {
        Some(rps) => {
            println!("raw XADD: {rps:.0} req/s (redis-benchmark -c {CONNECTIONS})");
            println!(
                "ratio   : relay/raw XADD {:.2} (a submit is HTTP + JSON + a Lua script of 6 \
                 commands and a logged XADD; a raw XADD is 1)",
                submit.requests_per_second() / rps
            );
        }
        None => println!("raw XADD: not measured (redis-benchmark not found)"),
    }
    println!("{}", ws.summary());
    println!("{peer}");
    println!("{}", rss.summary());
    println!("(took {:.0} s)", start.elapsed().as_secs_f64());
    Ok(())
}

/// A reading of CPU time used, to tell afterwards which side was busy.
struct CpuMark {
    at: Instant,
    relay: f64,
    load: f64,
    redis: f64,
}

impl CpuMark {
    /// "CPU : relay 1.20 cores, bench clients 0.40, redis-server 0.30 (of N)" since `self`.
    fn until(&self, later: &CpuMark) -> String {
        let wall = (later.at - self.at).as_secs_f64();
        let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
        format!(
            "CPU     : relay {:.2} cores, bench clients {:.2} cores, redis-server {:.2} cores \
             (of {cores}, averaged over {wall:.1} s)",
            (later.relay - self.relay) / wall,
            (later.load - self.load) / wall,
            (later.redis - self.redis) / wall,
        )
    }
}

/// The thread the relay compresses its assets on, while it does.
const COMPRESS_THREAD: &str = "compress-assets";

/// Whether a thread of this process is named `name`.
fn thread_running(name: &str) -> anyhow::Result<bool> {
    for task in std::fs::read_dir("/proc/self/task").context("reading /proc/self/task")? {
        let comm = std::fs::read_to_string(task?.path().join("comm")).unwrap_or_default();
        if comm.trim_end() == name {
            return Ok(true);
        }
    }
    Ok(false)
}

/// User + system CPU seconds of this process's live threads: (relay, bench clients), told
/// apart by thread name. Threads that have exited no longer count, which only loses the
/// paced sender's small share once it is done.
fn thread_cpu_seconds() -> anyhow::Result<(f64, f64)> {
    let (mut relay, mut load) = (0.0, 0.0);
    for task in std::fs::read_dir("/proc/self/task").context("reading /proc/self/task")? {
        let dir = task?.path();
        // A thread may exit between listing and reading; skip it then.
        let (Ok(comm), Ok(stat)) = (
            std::fs::read_to_string(dir.join("comm")),
            std::fs::read_to_string(dir.join("stat")),
        ) else {
            continue;
        };
        let seconds = cpu::stat_cpu_seconds(&stat)?;
        if comm.starts_with(LOAD_THREAD) {
            load += seconds;
        } else {
            relay += seconds;
        }
    }
    Ok((relay, load))
}

// ---------------------------------------------------------------------------------------------
// (a) submit throughput, the relay's and the Node stack's

/// Which stack a submit phase measures.
enum Stack<'a> {
    Relay,
    Node(&'a NodeStack),
}

struct SubmitReport {
    name: &'static str,
    requests: u64,
    failures: u64,
    elapsed: Duration,
    connections: usize,
    latency: Histogram<u64>,
    /// CPU seconds the stack's own process used meanwhile: the relay's threads, or node's.
    cpu_seconds: f64,
    /// CPU seconds Redis used meanwhile, and the whole machine's share of this test: the
    /// stack, Redis, the bench's clients (and, beside node, the relay's projector).
    redis_cpu_seconds: f64,
    machine_cpu_seconds: f64,
    /// Answers on the wire (status line, headers and body), and their bodies alone.
    bytes: u64,
    body_bytes: u64,
}

impl SubmitReport {
    fn requests_per_second(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }

    fn answered(&self) -> u64 {
        (self.requests - self.failures).max(1)
    }

    /// What a submit costs the machine in CPU, and how many a second that allows at most on
    /// its cores, beside `target` req/s.
    fn ceiling(&self, target: f64) -> String {
        let per_request = |seconds: f64| seconds * 1e6 / self.requests as f64;
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let whole = per_request(self.machine_cpu_seconds);
        format!(
            "ceiling : a {} submit costs this machine {whole:.0} µs of CPU ({} {:.0}, \
             redis-server {:.0}, the rest clients): {cores} cores allow at most {:.0} req/s, \
             against {target:.0} for the target",
            self.name,
            self.name,
            per_request(self.cpu_seconds),
            per_request(self.redis_cpu_seconds),
            cores as f64 * 1e6 / whole,
        )
    }

    fn summary(&self) -> String {
        format!(
            "submit {:<5}: {:.0} req/s (p50 {:.2} ms, p99 {:.2} ms), {:.0} µs of {} CPU per \
             request, {} B per answer ({} B body) over {} connections{}",
            self.name,
            self.requests_per_second(),
            ms(self.latency.value_at_quantile(0.50)),
            ms(self.latency.value_at_quantile(0.99)),
            self.cpu_seconds * 1e6 / self.requests as f64,
            self.name,
            self.bytes / self.answered(),
            self.body_bytes / self.answered(),
            self.connections,
            if self.failures > 0 {
                format!(", {} FAILED", self.failures)
            } else {
                String::new()
            }
        )
    }
}

/// What one connection's task saw.
struct SubmitTally {
    latency: Histogram<u64>,
    failures: u64,
    bytes: u64,
    body_bytes: u64,
}

async fn bench_submit(
    harness: &Harness,
    stack: Stack<'_>,
    requests: u64,
) -> anyhow::Result<SubmitReport> {
    let (name, port) = match stack {
        Stack::Relay => ("relay", harness.relay_port),
        Stack::Node(node) => ("node", node.port),
    };
    println!("\n-- submit ({name}): POST /api/claims, {CONNECTIONS} connections --");
    let connections = harness
        .load
        .spawn(async move {
            let mut connections = Vec::with_capacity(CONNECTIONS);
            for _ in 0..CONNECTIONS {
                connections.push(http_load::Connection::open(port, STEP_TIMEOUT).await?);
            }
            anyhow::Ok(connections)
        })
        .await??;
    let (connections, warm) = run_submits(&harness.load, connections, port, WARM_UP).await?;
    println!(
        "warm-up : {WARM_UP} requests in {:.2} s",
        warm.elapsed.as_secs_f64()
    );
    let own_cpu = || match stack {
        Stack::Relay => thread_cpu_seconds().map(|(relay, _)| relay),
        Stack::Node(node) => node.cpu_seconds(),
    };
    harness.reset_command_stats().await?;
    let cpu_before = harness.cpu().await?;
    let own_before = own_cpu()?;
    let (connections, mut report) = run_submits(&harness.load, connections, port, requests).await?;
    let own_after = own_cpu()?;
    let cpu_after = harness.cpu().await?;
    report.name = name;
    report.cpu_seconds = own_after - own_before;
    report.redis_cpu_seconds = cpu_after.redis - cpu_before.redis;
    report.machine_cpu_seconds = (cpu_after.relay - cpu_before.relay)
        + (cpu_after.load - cpu_before.load)
        + report.redis_cpu_seconds
        + match stack {
            Stack::Relay => 0.0,
            Stack::Node(_) => report.cpu_seconds,
        };
    // The connections are still open.
    report.connections = established_to(port)?;
    drop(connections);
    println!(
        "timed   : {} requests in {:.2} s, {} failed; {} connections open to {name}",
        report.requests,
        report.elapsed.as_secs_f64(),
        report.failures,
        report.connections
    );
    let mut cpu = cpu_before.until(&cpu_after);
    if let Stack::Node(_) = stack {
        cpu.push_str(&format!(
            "; node {:.2} cores",
            report.cpu_seconds / report.elapsed.as_secs_f64()
        ));
        // The relay's projector and live feed still take every entry node appends.
        println!(
            "beside  : the relay's projector and feed spent {:.0} µs of CPU per entry node \
             appended",
            (cpu_after.relay - cpu_before.relay) * 1e6 / report.requests as f64
        );
    }
    println!("{cpu}");
    println!(
        "redis   : {}",
        harness.command_stats(report.requests).await?
    );
    println!("{}", report.summary());
    Ok(report)
}

/// Sends `total` submits spread over the connections, each one request at a time, on the
/// `load` runtime; gives the connections back for the next phase.
async fn run_submits(
    load: &tokio::runtime::Handle,
    connections: Vec<http_load::Connection>,
    port: u16,
    total: u64,
) -> anyhow::Result<(Vec<http_load::Connection>, SubmitReport)> {
    let count = connections.len();
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let tasks: Vec<JoinHandle<anyhow::Result<(http_load::Connection, SubmitTally)>>> = connections
        .into_iter()
        .enumerate()
        .map(|(n, mut conn)| {
            let next = next.clone();
            load.spawn(async move {
                let body = serde_json::json!({
                    "customer_id": format!("CUST-{:03}", n + 1),
                    "amount": "5000.00",
                    "description": "Hail damage to the roof and two windows",
                })
                .to_string();
                let request = http_load::post_json(port, "/api/claims", &body);
                let mut tally = SubmitTally {
                    latency: histogram(),
                    failures: 0,
                    bytes: 0,
                    body_bytes: 0,
                };
                while next.fetch_add(1, Ordering::Relaxed) < total {
                    let sent = Instant::now();
                    match conn.send(&request, STEP_TIMEOUT).await {
                        Ok(answer) if answer.status == 201 => {
                            tally
                                .latency
                                .saturating_record(sent.elapsed().as_micros() as u64);
                            tally.bytes += answer.bytes as u64;
                            tally.body_bytes += answer.body_bytes as u64;
                        }
                        Ok(_) => tally.failures += 1,
                        Err(_) => {
                            tally.failures += 1;
                            conn = http_load::Connection::open(port, STEP_TIMEOUT).await?;
                        }
                    }
                }
                Ok((conn, tally))
            })
        })
        .collect();
    let mut report = SubmitReport {
        name: "",
        requests: total,
        failures: 0,
        elapsed: Duration::ZERO,
        connections: count,
        latency: histogram(),
        cpu_seconds: 0.0,
        redis_cpu_seconds: 0.0,
        machine_cpu_seconds: 0.0,
        bytes: 0,
        body_bytes: 0,
    };
    let mut connections = Vec::with_capacity(count);
    for task in tasks {
        let (conn, tally) = task.await??;
        connections.push(conn);
        report.latency.add(&tally.latency)?;
        report.failures += tally.failures;
        report.bytes += tally.bytes;
        report.body_bytes += tally.body_bytes;
    }
    report.elapsed = started.elapsed();
    Ok((connections, report))
}

/// The relay's append script, as the Node stack is to run it: named by the sha in a submit's
/// answer, its source either there or at `GET /api/scripts/{sha}`.
async fn append_source(harness: &Harness) -> anyhow::Result<String> {
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(STEP_TIMEOUT)
        .build()?;
    let answer: serde_json::Value = client
        .post(harness.url("/api/claims"))
        // Only a caller that asks is told which scripts ran.
        .header("x-redis-trace", "scripts")
        .json(&serde_json::json!({
            "customer_id": "CUST-000",
            "amount": "5000.00",
            "description": "The script's source, for the Node stack",
        }))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let script = answer["scripts"]
        .get(0)
        .context("a submit's answer names no script")?;
    if let Some(source) = script["source"].as_str() {
        return Ok(source.to_owned());
    }
    let sha = script["sha"].as_str().context("a script without its sha")?;
    let text = client
        .get(harness.url(&format!("/api/scripts/{sha}")))
        .send()
        .await?
        .error_for_status()?
        .text()
        .await?;
    Ok(match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(json) => json["source"]
            .as_str()
            .context("GET /api/scripts/{sha} without a source")?
            .to_owned(),
        Err(_) => text,
    })
}

/// The same submits against the lab's Node stack (`bench/`), on the same Redis with the
/// relay still running beside it; `None` when node or npm is not installed.
async fn bench_node(harness: &Harness, requests: u64) -> anyhow::Result<Option<SubmitReport>> {
    if !node_stack::available().await {
        println!("\n-- submit (node): node or npm is not on PATH; skipping the Node stack --");
        return Ok(None);
    }
    node_stack::install().await?;
    let source = append_source(harness).await?;
    let node = NodeStack::start(&harness.redis.url(), &source, harness.redis.dir()).await?;
    let report = bench_submit(harness, Stack::Node(&node), requests).await;
    node.stop().await;
    report.map(Some)
}

/// Established TCP connections whose local port is `port`: the relay's side of each client.
fn established_to(port: u16) -> anyhow::Result<usize> {
    let table = std::fs::read_to_string("/proc/net/tcp").context("reading /proc/net/tcp")?;
    let local = format!(":{port:04X}");
    Ok(table
        .lines()
        .skip(1)
        .filter(|line| {
            let cols: Vec<&str> = line.split_whitespace().collect();
            // cols[1] = local address, cols[3] = state (01 = ESTABLISHED).
            cols.len() > 3 && cols[1].ends_with(&local) && cols[3] == "01"
        })
        .count())
}

/// `redis-benchmark -c 50` running `XADD` on the same server; `None` when it is not installed.
async fn bench_raw_xadd(harness: &Harness) -> anyhow::Result<Option<f64>> {
    println!("\n-- raw XADD: redis-benchmark -c {CONNECTIONS} -n {RAW_REQUESTS} --");
    let port = harness.redis.port().to_string();
    let clients = CONNECTIONS.to_string();
    let requests = RAW_REQUESTS.to_string();
    let mut cmd = tokio::process::Command::new("redis-benchmark");
    cmd.args([
        "-h",
        "127.0.0.1",
        "-p",
        &port,
        "-c",
        &clients,
        "-n",
        &requests,
    ])
    .args(["--csv", "XADD", "claims:bench", "*", "field", "value"])
    .stdin(std::process::Stdio::null())
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped())
    .kill_on_drop(true);
    let output = match cmd.spawn() {
        Ok(child) => timeout(Duration::from_secs(120), child.wait_with_output())
            .await
            .context("redis-benchmark took over 2 minutes")??,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            println!("redis-benchmark is not on PATH; skipping the raw XADD figure and the ratio");
            return Ok(None);
        }
        Err(e) => return Err(e).context("cannot run redis-benchmark"),
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    let rps = parse_benchmark_rps(&stdout).with_context(|| {
        format!(
            "cannot find requests/s in redis-benchmark's output ({}):\n{stdout}{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        )
    })?;
    let mut conn = harness.redis().await?;
    let _: () = redis::cmd("DEL")
        .arg("claims:bench")
        .query_async(&mut conn)
        .await?;
    println!("raw XADD: {rps:.0} req/s");
    println!(
        "context : one submit = HTTP + JSON + validation + EVALSHA of the append script \
         (GET, XRANGE, LLEN, XADD, RPUSH, SET) + the command log's XADD (queued) + the \
         projector folding the entry into the read model (a script of about 12 commands, \
         batched) + the live feed decoding it; one raw XADD = 1 command"
    );
    Ok(Some(rps))
}

/// Reads the `rps` column of `redis-benchmark --csv` (`"test","rps",...` then one line per
/// test), or failing that the `N requests per second` of its plain output.
fn parse_benchmark_rps(output: &str) -> Option<f64> {
    let rows: Vec<Vec<String>> = output.lines().map(csv_fields).collect();
    if let Some(header) = rows.iter().position(|r| r.iter().any(|c| c == "rps")) {
        let column = rows[header].iter().position(|c| c == "rps")?;
        return rows[header + 1..]
            .iter()
            .find_map(|r| r.get(column)?.parse().ok());
    }
    // Plain output: "XADD ...: 104166.66 requests per second, p50=0.311 msec". Progress
    // updates end in '\r', so look at the last segment of each line.
    output
        .split(['\n', '\r'])
        .filter_map(|l| {
            l.split_once(" requests per second")?
                .0
                .rsplit([' ', ':'])
                .next()
        })
        .find_map(|n| n.trim().parse().ok())
}

/// One CSV line, quotes removed (fields contain no commas or escaped quotes here).
fn csv_fields(line: &str) -> Vec<String> {
    line.split(',')
        .map(|f| f.trim().trim_matches('"').to_owned())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// (b) WebSocket delivery latency

struct WsReport {
    clients: usize,
    events: u64,
    send_elapsed: Duration,
    received: u64,
    lagged: u64,
    disorder: u64,
    latency: Histogram<u64>,
}

impl WsReport {
    fn summary(&self) -> String {
        let rate = self.events as f64 / self.send_elapsed.as_secs_f64();
        format!(
            "ws      : {} clients, {:.0} ev/s for {:.1} s, delivered {}/{}, p50 {:.1} ms p99 {:.1} ms \
             max {:.0} ms (target p99 < 5 ms){}{}",
            self.clients,
            rate,
            self.send_elapsed.as_secs_f64(),
            self.received,
            self.events * self.clients as u64,
            ms(self.latency.value_at_quantile(0.50)),
            ms(self.latency.value_at_quantile(0.99)),
            ms(self.latency.max()),
            if self.lagged > 0 {
                format!(", {} lagged notices", self.lagged)
            } else {
                String::new()
            },
            if self.disorder > 0 {
                format!(", {} DUPLICATE OR OUT OF ORDER", self.disorder)
            } else {
                String::new()
            }
        )
    }
}

/// What one WebSocket client saw.
struct Tally {
    received: u64,
    lagged: u64,
    /// Entries whose id was not above the previous one: a duplicate or a reordering.
    disorder: u64,
    latency: Histogram<u64>,
}

async fn bench_ws(harness: &Harness, start: Instant, seconds: u64) -> anyhow::Result<WsReport> {
    println!("\n-- ws: {WS_CLIENTS} clients, XADD at {WS_RATE}/s for {seconds} s --");
    let events = WS_RATE * seconds;
    let give_up = CancellationToken::new();
    let clients = start_clients(harness, WS_CLIENTS, events, start, &give_up).await?;

    let cpu_before = harness.cpu().await?;
    let sent = send_paced_on_own_thread(harness.redis.url(), start, events, seconds).await?;
    println!(
        "sent    : {events} events in {:.2} s ({:.0}/s); at most {:.1} ms behind schedule",
        sent.elapsed.as_secs_f64(),
        events as f64 / sent.elapsed.as_secs_f64(),
        sent.max_behind.as_secs_f64() * 1e3
    );

    let tallies = drain(clients, give_up).await?;
    println!("{}", cpu_before.until(&harness.cpu().await?));
    let mut latency = histogram();
    let (mut received, mut lagged, mut disorder) = (0, 0, 0);
    for t in &tallies {
        latency.add(&t.latency)?;
        received += t.received;
        lagged += t.lagged;
        disorder += t.disorder;
    }
    let report = WsReport {
        clients: WS_CLIENTS,
        events,
        send_elapsed: sent.elapsed,
        received,
        lagged,
        disorder,
        latency,
    };
    println!("{}", report.summary());
    Ok(report)
}

/// The same push without the relay: [`WS_CLIENTS`] clients on the load runtime, each reading
/// the stream straight from Redis with `XREAD BLOCK` on a connection of its own, while
/// entries are appended at the same pace. What this machine allows any push to 100 clients.
async fn bench_xread_peer(
    harness: &Harness,
    start: Instant,
    seconds: u64,
) -> anyhow::Result<String> {
    println!(
        "\n-- peer: {WS_CLIENTS} XREAD BLOCK clients straight on Redis, XADD at {WS_RATE}/s for {seconds} s --"
    );
    let events = WS_RATE * seconds;
    let give_up = CancellationToken::new();
    let url = harness.redis.url();
    let mut clients = Vec::with_capacity(WS_CLIENTS);
    for _ in 0..WS_CLIENTS {
        let config = redis::AsyncConnectionConfig::new().set_response_timeout(Some(STEP_TIMEOUT));
        let mut conn = redis::Client::open(url.clone())?
            .get_multiplexed_async_connection_with_config(&config)
            .await?;
        let after: Vec<redis::Value> = redis::cmd("XREVRANGE")
            .arg(EVENTS)
            .arg("+")
            .arg("-")
            .arg("COUNT")
            .arg(1)
            .query_async(&mut conn)
            .await?;
        let mut last = match after.first() {
            Some(redis::Value::Array(entry)) => match entry.first() {
                Some(redis::Value::BulkString(id)) => String::from_utf8_lossy(id).into_owned(),
                _ => "0-0".to_owned(),
            },
            _ => "0-0".to_owned(),
        };
        let give_up = give_up.clone();
        clients.push(harness.load.spawn(async move {
            let mut tally = Tally {
                received: 0,
                lagged: 0,
                disorder: 0,
                latency: histogram(),
            };
            while tally.received < events {
                let mut xread = redis::cmd("XREAD");
                xread.arg(&["BLOCK", "2000", "COUNT", "1000", "STREAMS", EVENTS, &last]);
                let read = xread.query_async::<Option<redis::streams::StreamReadReply>>(&mut conn);
                let reply = tokio::select! {
                    r = read => r,
                    () = give_up.cancelled() => break,
                };
                let Ok(reply) = reply else { break };
                let now_us = start.elapsed().as_micros() as u64;
                for key in reply.into_iter().flat_map(|r| r.keys) {
                    for entry in key.ids {
                        tally.received += 1;
                        if let Some(sent) = entry.get::<u64>("sent_at_us") {
                            tally
                                .latency
                                .saturating_record(now_us.saturating_sub(sent).max(1));
                        }
                        last = entry.id;
                    }
                }
            }
            tally
        }));
    }
    let sent = send_paced_on_own_thread(harness.redis.url(), start, events, seconds).await?;
    let tallies = drain(clients, give_up).await?;
    let mut latency = histogram();
    let mut received = 0;
    for t in &tallies {
        latency.add(&t.latency)?;
        received += t.received;
    }
    let line = format!(
        "peer    : {WS_CLIENTS} XREAD BLOCK clients on Redis itself, {:.0} ev/s, delivered {received}/{}, \
         p50 {:.1} ms p99 {:.1} ms max {:.0} ms (no relay: what this machine allows a push)",
        events as f64 / sent.elapsed.as_secs_f64(),
        events * WS_CLIENTS as u64,
        ms(latency.value_at_quantile(0.50)),
        ms(latency.value_at_quantile(0.99)),
        ms(latency.max()),
    );
    println!("{line}");
    Ok(line)
}

/// Connects `n` clients on the load runtime and, once each has seen `caught_up`, starts them
/// [consuming](consume) `expected` entries.
async fn start_clients(
    harness: &Harness,
    n: usize,
    expected: u64,
    start: Instant,
    give_up: &CancellationToken,
) -> anyhow::Result<Vec<JoinHandle<Tally>>> {
    let url = format!("ws://127.0.0.1:{}/api/ws", harness.relay_port);
    let sockets = harness.load.spawn(connect_clients(url, n)).await??;
    Ok(sockets
        .into_iter()
        .map(|ws| {
            harness
                .load
                .spawn(consume(ws, expected, start, give_up.clone()))
        })
        .collect())
}

/// Opens `n` WebSockets without `since` and waits for each one's `caught_up`.
async fn connect_clients(url: String, n: usize) -> anyhow::Result<Vec<Ws>> {
    let mut sockets = Vec::with_capacity(n);
    for _ in 0..n {
        let (mut ws, _) = timeout(STEP_TIMEOUT, tokio_tungstenite::connect_async(&url))
            .await
            .context("WebSocket connect timed out")??;
        loop {
            let msg = timeout(STEP_TIMEOUT, ws.next())
                .await
                .context("no caught_up within the timeout")?
                .context("the relay closed the WebSocket before caught_up")??;
            if let Message::Text(text) = msg
                && let Ok(ServerMessage::CaughtUp { .. }) = serde_json::from_str(text.as_str())
            {
                break;
            }
        }
        sockets.push(ws);
    }
    Ok(sockets)
}

/// Reads entries until `expected` arrived or `give_up` fires, recording for each the time
/// since its `sent_at_us` field.
async fn consume(mut ws: Ws, expected: u64, start: Instant, give_up: CancellationToken) -> Tally {
    let mut tally = Tally {
        received: 0,
        lagged: 0,
        disorder: 0,
        latency: histogram(),
    };
    let mut last_id = (0, 0);
    while tally.received < expected {
        let msg = tokio::select! {
            m = ws.next() => m,
            () = give_up.cancelled() => break,
        };
        let Some(Ok(Message::Text(text))) = msg else {
            if matches!(msg, None | Some(Err(_)) | Some(Ok(Message::Close(_)))) {
                break;
            }
            continue;
        };
        let now_us = start.elapsed().as_micros() as u64;
        let text = text.as_str();
        // Entries are by far the most messages; a prefix and substring look-up keeps the
        // clients' CPU (which the relay shares) low. A batch, and anything else, is parsed.
        let mut record = |id: Option<(u64, u64)>, sent_at: Option<u64>| {
            tally.received += 1;
            match id {
                Some(id) if id > last_id => last_id = id,
                _ => tally.disorder += 1,
            }
            if let Some(sent_at) = sent_at {
                tally
                    .latency
                    .saturating_record(now_us.saturating_sub(sent_at).max(1));
            }
        };
        if text.starts_with(ENTRY_PREFIX) {
            record(entry_id(text), sent_at_us(text));
            continue;
        }
        match serde_json::from_str(text) {
            Ok(ServerMessage::Entry { entry }) => record(parse_id(&entry.id), sent_at(&entry)),
            Ok(ServerMessage::Entries { entries }) => {
                for entry in &entries {
                    record(parse_id(&entry.id), sent_at(entry));
                }
            }
            Ok(ServerMessage::Lagged { .. }) => tally.lagged += 1,
            _ => {}
        }
    }
    let _ = ws.close(None).await;
    tally
}

/// How the relay's `ServerMessage::Entry` JSON begins.
const ENTRY_PREFIX: &str = r#"{"kind":"entry","#;

/// The entry's stream id as (milliseconds, sequence), from `{"kind":"entry","entry":{"id":"1-0"`.
fn entry_id(json: &str) -> Option<(u64, u64)> {
    let (_, rest) = json.split_once(r#""id":""#)?;
    parse_id(rest.split('"').next()?)
}

/// A stream id as (milliseconds, sequence).
fn parse_id(id: &str) -> Option<(u64, u64)> {
    let (ms, seq) = id.split_once('-')?;
    Some((ms.parse().ok()?, seq.parse().ok()?))
}

/// The entry's `sent_at_us` field.
fn sent_at(entry: &shared::api::StreamEntry) -> Option<u64> {
    let (_, v) = entry.fields.iter().find(|(k, _)| k == "sent_at_us")?;
    v.parse().ok()
}

/// The value of the entry field `sent_at_us`, from `"fields":[...,["sent_at_us","123"],...]`.
fn sent_at_us(json: &str) -> Option<u64> {
    let (_, rest) = json.split_once(r#"["sent_at_us",""#)?;
    rest.split('"').next()?.parse().ok()
}

/// Waits for the clients to finish, telling them to stop after [`DRAIN_TIMEOUT`].
async fn drain(
    clients: Vec<JoinHandle<Tally>>,
    give_up: CancellationToken,
) -> anyhow::Result<Vec<Tally>> {
    let timer = {
        let give_up = give_up.clone();
        tokio::spawn(async move {
            tokio::time::sleep(DRAIN_TIMEOUT).await;
            give_up.cancel();
        })
    };
    let mut tallies = Vec::with_capacity(clients.len());
    for client in clients {
        tallies.push(client.await?);
    }
    timer.abort();
    if give_up.is_cancelled() {
        println!("warning: some clients were still missing entries after {DRAIN_TIMEOUT:?}");
    }
    Ok(tallies)
}

struct Sent {
    elapsed: Duration,
    max_behind: Duration,
}

/// Runs [`send_paced`] on a thread and runtime of its own, so the pace does not depend on
/// how busy the relay and the clients keep the main runtime's workers.
async fn send_paced_on_own_thread(
    redis_url: String,
    start: Instant,
    events: u64,
    seconds: u64,
) -> anyhow::Result<Sent> {
    let (done, result) = oneshot::channel();
    std::thread::Builder::new()
        .name("load-sender".into())
        .spawn(move || {
            let sent = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(anyhow::Error::from)
                .and_then(|rt| {
                    rt.block_on(async {
                        let config = redis::AsyncConnectionConfig::new()
                            .set_response_timeout(Some(STEP_TIMEOUT));
                        let mut conn = redis::Client::open(redis_url)?
                            .get_multiplexed_async_connection_with_config(&config)
                            .await?;
                        send_paced(&mut conn, start, events).await
                    })
                });
            let _ = done.send(sent);
        })?;
    timeout(Duration::from_secs(seconds * 2) + STEP_TIMEOUT, result)
        .await
        .context("the sender did not finish in twice the planned time")?
        .context("the sender thread died")?
}

/// Appends `events` entries at [`WS_RATE`] per second, each stamped with its send time.
async fn send_paced(
    conn: &mut MultiplexedConnection,
    start: Instant,
    events: u64,
) -> anyhow::Result<Sent> {
    let period = Duration::from_secs(1) / WS_RATE as u32;
    let mut ticks = tokio::time::interval(period);
    // A late tick fires at once to catch up; how far behind the pace fell is reported, and
    // the latency is measured from the actual send, not the schedule.
    ticks.set_missed_tick_behavior(MissedTickBehavior::Burst);
    let mut max_behind = Duration::ZERO;
    let began = Instant::now();
    for n in 0..events {
        let scheduled = ticks.tick().await;
        max_behind = max_behind.max(scheduled.elapsed());
        let sent_at_us = start.elapsed().as_micros() as u64;
        let _: String = redis::cmd("XADD")
            .arg(EVENTS)
            .arg("*")
            .arg("sent_at_us")
            .arg(sent_at_us)
            .arg("bench")
            .arg(n)
            .query_async(conn)
            .await?;
    }
    Ok(Sent {
        elapsed: began.elapsed(),
        max_behind,
    })
}

// ---------------------------------------------------------------------------------------------
// (c) relay memory

struct RssReport {
    before: f64,
    after: f64,
    /// Change over the second half of the appends.
    second_half: f64,
    events: u64,
    delivered: u64,
    clients: usize,
}

impl RssReport {
    fn summary(&self) -> String {
        format!(
            "rss     : {:.1} MiB before, {:.1} MiB after {} events ({:+.1} MiB; {:+.1} MiB over \
             the second half); {} clients received {}/{} (whole bench process)",
            self.before,
            self.after,
            self.events,
            self.after - self.before,
            self.second_half,
            self.clients,
            self.delivered,
            self.events * self.clients as u64
        )
    }
}

async fn bench_rss(harness: &Harness, events: u64) -> anyhow::Result<RssReport> {
    println!(
        "\n-- rss: {events} events in pipelines of {PIPELINE}, {RSS_CLIENTS} clients consuming --"
    );
    let before = rss_mib()?;
    let give_up = CancellationToken::new();
    // The latency figures are meaningless here (the appends come in bursts); only counts count.
    let clients = start_clients(harness, RSS_CLIENTS, events, Instant::now(), &give_up).await?;
    let samples = harness
        .load
        .spawn(append_in_pipelines(harness.redis.url(), events))
        .await??;
    println!(
        "RSS MiB every {} events while appending: {}",
        PIPELINE * 10,
        samples
            .iter()
            .map(|m| format!("{m:.1}"))
            .collect::<Vec<_>>()
            .join(" ")
    );

    // Keep sampling while the clients catch up: what they read then is memory too.
    let drained = Instant::now();
    let sampling = CancellationToken::new();
    let sampler = tokio::spawn(sample_rss(sampling.clone()));
    let tallies = drain(clients, give_up).await?;
    sampling.cancel();
    let during_drain = sampler.await??;
    println!(
        "drained : in {:.2} s; RSS MiB every 250 ms meanwhile: {}",
        drained.elapsed().as_secs_f64(),
        during_drain
            .iter()
            .map(|m| format!("{m:.1}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let delivered = tallies.iter().map(|t| t.received).sum();
    let lagged: u64 = tallies.iter().map(|t| t.lagged).sum();
    let disorder: u64 = tallies.iter().map(|t| t.disorder).sum();
    println!(
        "clients : received {delivered}, {lagged} lagged notices (resumed from the stream), \
         {disorder} duplicate or out of order"
    );
    // Growth over the second half of the appends: zero once the relay's buffers are full.
    let half = samples.len() / 2;
    let report = RssReport {
        before,
        after: rss_mib()?,
        second_half: samples.last().copied().unwrap_or(0.0)
            - samples.get(half.saturating_sub(1)).copied().unwrap_or(0.0),
        events,
        delivered,
        clients: RSS_CLIENTS,
    };
    println!("{}", report.summary());
    println!(
        "note    : the relay runs in this process, so the figure includes the bench's own clients"
    );
    Ok(report)
}

/// Appends `events` claim-like entries with `XADD` in pipelines of [`PIPELINE`], sampling RSS
/// (MiB) every ten pipelines and at the end.
async fn append_in_pipelines(redis_url: String, events: u64) -> anyhow::Result<Vec<f64>> {
    let config = redis::AsyncConnectionConfig::new().set_response_timeout(Some(STEP_TIMEOUT));
    let mut conn = redis::Client::open(redis_url)?
        .get_multiplexed_async_connection_with_config(&config)
        .await?;
    let description = "Hail damage to the roof and two windows, photos attached";
    let mut samples = Vec::new();
    let mut appended = 0;
    let mut batch = 0u64;
    while appended < events {
        let size = PIPELINE.min(events - appended);
        let mut pipe = redis::pipe();
        for n in appended..appended + size {
            pipe.cmd("XADD")
                .arg(EVENTS)
                .arg("*")
                .arg("type")
                .arg("bench")
                .arg("claim_id")
                .arg(format!("CLM-BENCH{n:06}"))
                .arg("customer_id")
                .arg("CUST-001")
                .arg("amount")
                .arg("5000.00")
                .arg("description")
                .arg(description)
                .ignore();
        }
        let () = pipe.query_async(&mut conn).await?;
        appended += size;
        batch += 1;
        if batch.is_multiple_of(10) || appended == events {
            samples.push(rss_mib()?);
        }
    }
    Ok(samples)
}

/// RSS (MiB) every 250 ms until `stop`, at most 1,000 samples.
async fn sample_rss(stop: CancellationToken) -> anyhow::Result<Vec<f64>> {
    let mut samples = Vec::new();
    while samples.len() < 1_000 {
        samples.push(rss_mib()?);
        tokio::select! {
            () = tokio::time::sleep(Duration::from_millis(250)) => {}
            () = stop.cancelled() => break,
        }
    }
    Ok(samples)
}

/// This process's resident set size, from `VmRSS` in /proc/self/status.
fn rss_mib() -> anyhow::Result<f64> {
    let status =
        std::fs::read_to_string("/proc/self/status").context("reading /proc/self/status")?;
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .context("no VmRSS in /proc/self/status")?;
    Ok(kib / 1024.0)
}
