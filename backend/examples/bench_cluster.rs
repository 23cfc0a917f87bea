//! `cargo xtask bench cluster`: how submit throughput and the consumers' drain scale with the
//! number of partitions, on a real Redis Cluster.
//!
//! Run it with `cargo run --release -p backend --example bench_cluster -- [flags]`. For each of
//! 1, 2 and 4 partitions it starts a fresh cluster on 127.0.0.1 (`EmbeddedCluster`: three
//! primaries, each its own `redis-server --cluster-enabled yes`, no persistence, in a
//! temporary directory), so every count starts from empty servers. It has no replicas: on one
//! machine they would only add replication traffic on the same cores, and no read goes to them.
//! The relay's Redis handle is `Db::cluster` with `--partitions N`, as `backend
//! --redis-cluster ... --partitions N` builds it. Then:
//!
//! 1. **submit**: `--events` claims, each a `SubmitClaim` through `backend::commands::execute`
//!    (the relay's own path: the version-checked Lua append to the claim's partition stream,
//!    which also writes the claim's index), from 64 tasks at once, timed from the first
//!    to the last. Claim `c` lives in partition `crc16(c) mod N`, whose stream is
//!    `claims:events:{p}` (`claims:events` with one partition). Even claims are 500.00, odd
//!    ones 5000.00. Which primary serves each partition's stream is printed (CLUSTER KEYSLOT
//!    and CLUSTER SLOTS): with 3 primaries, 1 partition works one of them, 2 partitions two,
//!    4 partitions all three, one of them twice.
//! 2. **drain**: the relay's [`Consumer`] with the `claims-processors` [`AutoReview`] handler
//!    at the relay's default threshold (1000.00), one `Consumer` per partition
//!    (`Consumer::in_partition`) under one consumer name, as the relay's supervisor starts
//!    them, each calling `process_once` in a loop: N tasks for N partitions. Each partition's
//!    group is created at `0` first. Then the same with 2 consumer names (2N tasks) in a fresh
//!    group, after the claims are put back as submitted (histories trimmed to their submit
//!    entry), so both runs do the same work: per pre-loaded entry the claim is loaded and
//!    reviewed, and the 500.00 ones approved too, each step one round trip for the batch.
//!
//! A drain is timed until every partition's group has delivered past that partition's last
//! submitted entry and has none of them pending (XINFO GROUPS and XPENDING per partition
//! stream, every 100 ms). What the handler appends lands after that mark, so ev/s counts the
//! submitted entries only. Each phase also prints the CPU of this process (the relay's side)
//! and of every redis-server, the time their threads were runnable but waited for a core, and
//! the Redis commands per event (`INFO commandstats` deltas summed over the primaries). The
//! end is a table: partitions -> events/s, and the speed-up over 1 partition.
//!
//! What bounds the figures on one small machine: every process shares the same cores. Each
//! primary is one `redis-server` whose commands run on one thread, so a partition's appends
//! can go no faster than its primary's one core; more partitions spread them over more
//! primaries (up to the 3 here). This process, the relay's side (building commands, decoding
//! replies, folding claims), needs about as much CPU per event as Redis does or more, on the
//! same cores. Once this process and the busy primaries together keep every core busy, more
//! partitions only add round trips and connections; the CPU lines (and the time runnable but
//! waiting for a core) show which of the two it is.
//!
//! Flags: `--events N` (claims per partition count, default 200000: the whole run then takes
//! about 2 minutes on a 2-core machine).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use backend::commands;
use backend::db::{self, Db};
use backend::embedded_cluster::EmbeddedCluster;
use backend::entry_id::EntryId;
use backend::keys::{self, Partition, Partitions};
use backend::redis_cli::Trace;
use backend::workers::consumer::Injection;
use backend::workers::controls::GroupControls;
use backend::workers::processors::AutoReview;
use backend::workers::{Consumer, ConsumerConfig, Outcome};
use redis::Value;
use redis::aio::MultiplexedConnection;
use redis::cluster_async::ClusterConnection;
use shared::{Amount, Claim, ClaimCommand, ClaimId, ClaimStatus, CustomerId, Description};
use tokio::sync::RwLock;
use tokio::task::JoinHandle;
use tokio::time::timeout;
use tokio_util::sync::CancellationToken;

const PARTITION_COUNTS: [u32; 3] = [1, 2, 4];
/// Consumer names of the drains: 1 (N tasks for N partitions), then 2 (2N tasks).
const NAME_COUNTS: [usize; 2] = [1, 2];
const PRIMARIES: usize = 3;
/// Tasks submitting claims at once.
const SUBMITTERS: usize = 64;
/// The most any single command, submit or consumer step may take.
const STEP_TIMEOUT: Duration = Duration::from_secs(10);
const SUBMIT_TIMEOUT: Duration = Duration::from_secs(180);
/// The most one drain may take; a drain that hits it is reported as such.
const RUN_TIMEOUT: Duration = Duration::from_secs(300);
/// Claims submitted per partition count unless `--events` says otherwise.
const DEFAULT_EVENTS: u64 = 200_000;
/// How often a drain's progress is checked.
const POLL: Duration = Duration::from_millis(100);
/// The relay's default `--auto-approve-up-to`.
const APPROVE_UP_TO: Amount = Amount::from_cents(100_000);
const SMALL: Amount = Amount::from_cents(50_000);
const LARGE: Amount = Amount::from_cents(500_000);

struct Args {
    events: u64,
}

impl Args {
    fn parse() -> anyhow::Result<Self> {
        let mut args = Self {
            events: DEFAULT_EVENTS,
        };
        let mut it = std::env::args().skip(1);
        while let Some(flag) = it.next() {
            let target = match flag.as_str() {
                "--events" => &mut args.events,
                "-h" | "--help" => {
                    println!(
                        "usage: bench_cluster [--events N]\ndefaults: --events {DEFAULT_EVENTS}"
                    );
                    std::process::exit(0);
                }
                other => bail!("unknown flag {other:?} (try --help)"),
            };
            let value = it
                .next()
                .with_context(|| format!("{flag} needs a number"))?;
            *target = value
                .parse()
                .with_context(|| format!("{flag}: {value:?} is not a number"))?;
            if *target == 0 {
                bail!("{flag} must be at least 1");
            }
        }
        Ok(args)
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse()?;
    let start = Instant::now();
    println!(
        "Redis Cluster on 127.0.0.1: {PRIMARIES} primaries, no replicas, no persistence, a fresh \
         one per partition count; {} cores; load average {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        load_average()
    );
    let mut results = Vec::new();
    for count in PARTITION_COUNTS {
        let partitions = Partitions::new(count).context("a valid partition count")?;
        let dir = tempfile::tempdir()?;
        let started = Instant::now();
        let cluster = EmbeddedCluster::start(dir.path(), PRIMARIES, 0).await?;
        println!(
            "\n==== {count} partition(s): cluster up in {:.1} s, primaries on {}; load average \
             {} ====",
            started.elapsed().as_secs_f64(),
            cluster.addresses().join(", "),
            load_average()
        );
        // On an error the servers are killed when `cluster` is dropped.
        let result = run(&cluster, partitions, args.events).await;
        cluster.stop().await?;
        results.push(result?);
    }
    println!();
    print!("{}", summary(&results, args.events));
    println!(
        "(took {:.0} s; load average at the end {}: other processes on this machine share the \
         cores)",
        start.elapsed().as_secs_f64(),
        load_average()
    );
    Ok(())
}

/// The 1, 5 and 15 minute load averages, from /proc/loadavg.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg").map_or_else(
        |_| "unknown".into(),
        |l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "),
    )
}

fn claim_id(n: u64) -> String {
    format!("CLM-B{n:09}")
}

/// What one partition count measured.
struct CountResult {
    partitions: u32,
    /// Distinct primaries serving the partitions' streams.
    primaries_used: usize,
    submit: Phase,
    /// One per entry of [`NAME_COUNTS`].
    drains: Vec<Phase>,
}

/// One cluster node: its port, a connection of its own (for INFO) and its process id.
struct Node {
    port: u16,
    conn: MultiplexedConnection,
    pid: String,
}

/// One partition's stream after the submit: where it lives and its last submitted entry.
struct Stream {
    partition: Partition,
    key: String,
    len: u64,
    end: EntryId,
}

async fn run(
    cluster: &EmbeddedCluster,
    partitions: Partitions,
    events: u64,
) -> anyhow::Result<CountResult> {
    let db = Db::cluster(&cluster.addresses())?.with_partitions(partitions);
    let mut admin = redis::cluster::ClusterClient::new(cluster.urls())?
        .get_async_connection()
        .await?;
    let mut nodes = Vec::new();
    for url in cluster.urls() {
        nodes.push(node(&url).await?);
    }

    let mut ports = Vec::new();
    for partition in partitions.all() {
        let key = partition.events();
        let (port, _) = cluster.serving(&key).await?;
        println!(
            "place   : partition {} -> {key} (slot {}) on the primary at :{port}",
            partition.index(),
            keys::slot(&key)
        );
        ports.push(port);
    }
    ports.sort_unstable();
    ports.dedup();
    let idle: Vec<String> = nodes
        .iter()
        .filter(|n| !ports.contains(&n.port))
        .map(|n| format!(":{}", n.port))
        .collect();
    if !idle.is_empty() {
        println!(
            "place   : no partition on {} (it serves no stream, only the cluster bus)",
            idle.join(", ")
        );
    }

    // Connections and the append script on every primary, before the clock starts.
    warm_up(&db).await?;

    println!("\n-- submit: {events} claims through commands::execute, {SUBMITTERS} tasks --");
    let before = mark(&mut nodes).await?;
    submit(&db, events).await?;
    let after = mark(&mut nodes).await?;
    let mut submit = Phase::new(events, &before, &after);
    submit.label = "submit".into();
    println!(
        "submit  : {events} claims in {:.2} s = {:.0} ev/s",
        submit.elapsed.as_secs_f64(),
        submit.rate()
    );
    submit.print_details(&nodes);
    let streams = streams(&mut admin, partitions).await?;
    let total: u64 = streams.iter().map(|s| s.len).sum();
    if total != events {
        bail!("the partition streams hold {total} entries after submitting {events}");
    }
    println!(
        "streams : {}",
        streams
            .iter()
            .map(|s| format!("{} {} entries", s.key, s.len))
            .collect::<Vec<_>>()
            .join(", ")
    );

    let mut drains = Vec::new();
    for (n, names) in NAME_COUNTS.into_iter().enumerate() {
        if n > 0 {
            let took = reset_claims(&mut admin, partitions, events).await?;
            println!(
                "\nreset   : {events} claims put back as submitted in {:.2} s",
                took.as_secs_f64()
            );
        }
        drains.push(drain(&db, &mut admin, &mut nodes, &streams, names, events).await?);
    }
    Ok(CountResult {
        partitions: partitions.count(),
        primaries_used: ports.len(),
        submit,
        drains,
    })
}

async fn node(url: &str) -> anyhow::Result<Node> {
    let config = redis::AsyncConnectionConfig::new()
        .set_connection_timeout(Some(STEP_TIMEOUT))
        .set_response_timeout(Some(STEP_TIMEOUT));
    let mut conn = redis::Client::open(url)?
        .get_multiplexed_async_connection_with_config(&config)
        .await?;
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
    Ok(Node { port, conn, pid })
}

/// One claim per partition, submitted and thrown away: the cluster connection's links to
/// every primary, and the append script loaded on each.
async fn warm_up(db: &Db) -> anyhow::Result<()> {
    let mut seen = Vec::new();
    let mut i = 0u64;
    while seen.len() < db.partitions.count() as usize {
        let id = format!("CLM-W{i:09}");
        let partition = db.partition_of(&id);
        i += 1;
        if seen.contains(&partition) {
            continue;
        }
        seen.push(partition);
        submit_one(db, &id, SMALL, i).await?;
        // Out of the stream and the index again, so the drains see only the bench's claims.
        let mut trace = Trace::off();
        let _: Value = db.run(&mut trace, &["DEL", &partition.events()]).await?;
        let _: Value = db
            .run(&mut trace, &["DEL", &partition.history(&id)])
            .await?;
        let _: Value = db.run(&mut trace, &["DEL", &partition.indexed()]).await?;
    }
    Ok(())
}

async fn submit_one(db: &Db, claim_id: &str, amount: Amount, i: u64) -> anyhow::Result<()> {
    let command = ClaimCommand::SubmitClaim {
        claim_id: ClaimId::parse(claim_id).map_err(anyhow::Error::msg)?,
        customer_id: CustomerId::parse(&format!("CUST-{:03}", i % 100 + 1))
            .map_err(anyhow::Error::msg)?,
        amount,
        description: Description::parse("Hail damage to the roof and two windows, photos attached")
            .map_err(anyhow::Error::msg)?,
        currency: shared::Currency::BEFORE_V2,
        policy_number: None,
        at: commands::now(),
    };
    let (blank, mut trace) = (Claim::default(), Trace::off());
    let submit = commands::execute(db, &mut trace, &blank, &command, None, None);
    timeout(STEP_TIMEOUT, submit)
        .await
        .context("a submit timed out")??;
    Ok(())
}

/// Submits `n` claims the way `POST /api/claims` does, minus HTTP.
async fn submit(db: &Db, n: u64) -> anyhow::Result<()> {
    let next = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + SUBMIT_TIMEOUT;
    let tasks: Vec<JoinHandle<anyhow::Result<()>>> = (0..SUBMITTERS)
        .map(|_| {
            let (db, next) = (db.clone(), next.clone());
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        return Ok(());
                    }
                    if Instant::now() > deadline {
                        bail!("the submit did not finish within {SUBMIT_TIMEOUT:?}");
                    }
                    let amount = if i % 2 == 0 { SMALL } else { LARGE };
                    submit_one(&db, &claim_id(i), amount, i).await?;
                }
            })
        })
        .collect();
    for task in tasks {
        task.await??;
    }
    Ok(())
}

/// Every partition's stream: its length and last entry.
async fn streams(
    admin: &mut ClusterConnection,
    partitions: Partitions,
) -> anyhow::Result<Vec<Stream>> {
    let mut streams = Vec::new();
    for partition in partitions.all() {
        let key = partition.events();
        let len: u64 = redis::cmd("XLEN").arg(&key).query_async(admin).await?;
        let last: Value = redis::cmd("XREVRANGE")
            .arg(&key)
            .arg("+")
            .arg("-")
            .arg("COUNT")
            .arg(1)
            .query_async(admin)
            .await?;
        let end = db::entries(last)
            .first()
            .with_context(|| format!("{key} is empty after the submit"))?
            .0
            .parse::<EntryId>()
            .map_err(anyhow::Error::msg)?;
        streams.push(Stream {
            partition,
            key,
            len,
            end,
        });
    }
    Ok(streams)
}

/// The claims' ids by partition, `CHUNK` at a time: a cluster pipeline holds one slot's keys.
fn by_partition(partitions: Partitions, n: u64) -> BTreeMap<Partition, Vec<String>> {
    let mut ids: BTreeMap<Partition, Vec<String>> = BTreeMap::new();
    for i in 0..n {
        let id = claim_id(i);
        ids.entry(partitions.of(&id)).or_default().push(id);
    }
    ids
}

const CHUNK: usize = 1_000;

/// Puts the `n` claims back as submitted: each history trimmed to its submit entry (claims of
/// three events or fewer have no snapshot). The entries appended meanwhile stay in the
/// streams, after the submitted ones; no claim refers to them any more.
async fn reset_claims(
    admin: &mut ClusterConnection,
    partitions: Partitions,
    n: u64,
) -> anyhow::Result<Duration> {
    let started = Instant::now();
    for (partition, ids) in by_partition(partitions, n) {
        for chunk in ids.chunks(CHUNK) {
            let mut pipe = redis::pipe();
            for id in chunk {
                pipe.cmd("LTRIM")
                    .arg(partition.history(id))
                    .arg(0)
                    .arg(0)
                    .ignore();
            }
            let () = pipe.query_async(admin).await?;
        }
    }
    let submitted = statuses(admin, partitions, n).await?[&ClaimStatus::Submitted];
    if submitted != n {
        bail!("after the reset {submitted} claims are submitted, not {n}");
    }
    Ok(started.elapsed())
}

/// How many of the `n` claims are in each status, by the length of their history (submitted
/// 1, under review 2, approved 3): there is no projector here to keep a read model.
async fn statuses(
    admin: &mut ClusterConnection,
    partitions: Partitions,
    n: u64,
) -> anyhow::Result<BTreeMap<ClaimStatus, u64>> {
    let mut counts = BTreeMap::new();
    for (partition, ids) in by_partition(partitions, n) {
        for chunk in ids.chunks(CHUNK) {
            let mut pipe = redis::pipe();
            for id in chunk {
                pipe.cmd("LLEN").arg(partition.history(id));
            }
            let lengths: Vec<u64> = pipe.query_async(admin).await?;
            for len in lengths {
                let status = match len {
                    1 => ClaimStatus::Submitted,
                    2 => ClaimStatus::UnderReview,
                    _ => ClaimStatus::Approved,
                };
                *counts.entry(status).or_default() += 1;
            }
        }
    }
    for status in ClaimStatus::ALL {
        counts.entry(status).or_default();
    }
    Ok(counts)
}

// ---------------------------------------------------------------------------------------------
// measuring

/// CPU used so far by this process and by each redis-server, and Redis's command counters
/// summed over the nodes.
struct Mark {
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

async fn mark(nodes: &mut [Node]) -> anyhow::Result<Mark> {
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
        let field = |name: &str| -> f64 {
            cpu.lines()
                .find_map(|l| l.strip_prefix(name)?.strip_prefix(':')?.trim().parse().ok())
                .unwrap_or(0.0)
        };
        redis.push((
            field("used_cpu_user") + field("used_cpu_sys"),
            runqueue_wait_seconds(&node.pid),
        ));
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

/// User + system CPU seconds of this whole process, from /proc/self/stat (USER_HZ = 100).
fn process_cpu_seconds() -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").context("reading /proc/self/stat")?;
    // utime and stime are the 12th and 13th fields after the command name's closing ')'.
    let after_name = stat.rsplit_once(')').context("odd /proc stat line")?.1;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |i: usize| -> anyhow::Result<f64> {
        Ok(fields
            .get(i)
            .context("short /proc stat line")?
            .parse::<f64>()?)
    };
    Ok((ticks(11)? + ticks(12)?) / 100.0)
}

/// One timed phase: the submit, or one drain.
struct Phase {
    /// What ran: "submit", "drain 1n" (one consumer name).
    label: String,
    /// Events the phase got through (all of them unless it timed out).
    events: u64,
    elapsed: Duration,
    timed_out: bool,
    bench_cpu: f64,
    bench_wait: f64,
    /// Per node: (CPU seconds, wait seconds) over the phase.
    redis: Vec<(f64, f64)>,
    commands: BTreeMap<String, (u64, u64)>,
}

impl Phase {
    fn new(events: u64, before: &Mark, after: &Mark) -> Self {
        let commands = after
            .commands
            .iter()
            .filter_map(|(name, (calls, usec))| {
                let (c0, u0) = before.commands.get(name).copied().unwrap_or((0, 0));
                (*calls > c0).then(|| (name.clone(), (calls - c0, usec.saturating_sub(u0))))
            })
            .collect();
        Self {
            label: String::new(),
            events,
            elapsed: after.at - before.at,
            timed_out: false,
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

    fn rate(&self) -> f64 {
        self.events as f64 / self.elapsed.as_secs_f64()
    }

    fn per(&self) -> f64 {
        self.events.max(1) as f64
    }

    fn redis_cpu(&self) -> f64 {
        self.redis.iter().map(|(cpu, _)| cpu).sum()
    }

    fn redis_wait(&self) -> f64 {
        self.redis.iter().map(|(_, wait)| wait).sum()
    }

    /// Cores busy on average: this process, all redis-servers together.
    fn cores(&self) -> (f64, f64) {
        let wall = self.elapsed.as_secs_f64();
        (self.bench_cpu / wall, self.redis_cpu() / wall)
    }

    /// CPU, Redis commands and where the time of one event goes.
    fn print_details(&self, nodes: &[Node]) {
        let wall = self.elapsed.as_secs_f64();
        let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
        let (bench, redis) = self.cores();
        println!(
            "CPU     : this process {bench:.2} cores, redis-servers {redis:.2} cores ({}) of \
             {cores}, over {wall:.1} s; runnable but waiting for a core: this process {:.2}, \
             redis-servers {:.2}",
            nodes
                .iter()
                .zip(&self.redis)
                .map(|(n, (cpu, _))| format!(":{} {:.2}", n.port, cpu / wall))
                .collect::<Vec<_>>()
                .join(", "),
            self.bench_wait / wall,
            self.redis_wait() / wall
        );
        let per = self.per();
        // The bench's own probes (INFO, XINFO, XPENDING, CLUSTER) are left out.
        let mut rows: Vec<(&String, &(u64, u64))> = self
            .commands
            .iter()
            .filter(|(name, (calls, _))| {
                !name.starts_with("info")
                    && !name.starts_with("xinfo")
                    && !name.starts_with("cluster")
                    && *calls as f64 / per >= 0.005
            })
            .collect();
        rows.sort_by_key(|(_, (calls, _))| std::cmp::Reverse(*calls));
        println!(
            "redis   : per event, over all primaries (a script's own commands counted too): {}",
            rows.iter()
                .map(|(name, (calls, usec))| format!(
                    "{name} {:.2} ({:.1} µs each)",
                    *calls as f64 / per,
                    *usec as f64 / *calls as f64
                ))
                .collect::<Vec<_>>()
                .join(", ")
        );
        println!(
            "per ev  : {:.1} µs CPU in this process, {:.1} µs CPU in the redis-servers",
            self.bench_cpu * 1e6 / per,
            self.redis_cpu() * 1e6 / per
        );
    }
}

// ---------------------------------------------------------------------------------------------
// drain

/// Sums of the consumers' outcomes.
#[derive(Default)]
struct Tally {
    delivered: AtomicU64,
    acked: AtomicU64,
    failed: AtomicU64,
}

impl Tally {
    fn add(&self, o: &Outcome) {
        self.delivered
            .fetch_add(o.delivered as u64, Ordering::Relaxed);
        self.acked.fetch_add(o.acked as u64, Ordering::Relaxed);
        self.failed.fetch_add(o.failed as u64, Ordering::Relaxed);
    }
}

async fn drain(
    db: &Db,
    admin: &mut ClusterConnection,
    nodes: &mut [Node],
    streams: &[Stream],
    names: usize,
    events: u64,
) -> anyhow::Result<Phase> {
    // `Consumer` takes the group as `&'static str`: one short name per drain.
    let group: &'static str =
        Box::leak(format!("{}-bench-{names}n", keys::PROCESSORS).into_boxed_str());
    let partitions = streams.len();
    println!(
        "\n-- drain: {names} consumer name(s) x {partitions} partition(s) = {} tasks with \
         AutoReview (approve up to {APPROVE_UP_TO}), group {group} at 0 on every partition --",
        names * partitions
    );
    for stream in streams {
        // From the start of the stream: `groups::ensure` creates at `$`, which would skip the
        // submitted entries.
        let _: String = redis::cmd("XGROUP")
            .arg("CREATE")
            .arg(&stream.key)
            .arg(group)
            .arg("0")
            .arg("MKSTREAM")
            .query_async(admin)
            .await
            .with_context(|| format!("creating group {group} on {}", stream.key))?;
    }
    let handler = Arc::new(AutoReview {
        approve_up_to: APPROVE_UP_TO,
    });
    let injection = Arc::new(RwLock::new(Injection::default()));
    let controls = Arc::new(GroupControls::default());
    let tally = Arc::new(Tally::default());
    let done = CancellationToken::new();
    let mut probe = admin.clone();

    let before = mark(nodes).await?;
    let deadline = Instant::now() + RUN_TIMEOUT;
    let mut tasks: Vec<JoinHandle<anyhow::Result<()>>> = Vec::new();
    for n in 1..=names {
        for stream in streams {
            let mut consumer = Consumer::new(
                db.clone(),
                group,
                format!("processor-{n}"),
                handler.clone(),
                ConsumerConfig::default(),
                injection.clone(),
            )
            .in_partition(stream.partition)
            .with_controls(controls.clone());
            let (tally, done) = (tally.clone(), done.clone());
            tasks.push(tokio::spawn(async move {
                // Steps are never cut short: a step that straddles the mark finishes.
                while !done.is_cancelled() && Instant::now() < deadline {
                    let outcome = timeout(STEP_TIMEOUT, consumer.process_once())
                        .await
                        .context("a consumer step timed out")??;
                    tally.add(&outcome);
                }
                Ok(())
            }));
        }
    }

    // When each partition's group was seen past its last submitted entry.
    let mut drained_at: Vec<Option<Duration>> = vec![None; partitions];
    let mut read = vec![0u64; partitions];
    let mut timed_out = false;
    let started = Instant::now();
    loop {
        tokio::time::sleep(POLL).await;
        for (i, stream) in streams.iter().enumerate() {
            if drained_at[i].is_some() {
                continue;
            }
            let (is_drained, entries_read) = drained(&mut probe, stream, group).await?;
            read[i] = entries_read;
            if is_drained {
                drained_at[i] = Some(started.elapsed());
            }
        }
        if drained_at.iter().all(Option::is_some) {
            break;
        }
        if Instant::now() > deadline || tasks.iter().any(JoinHandle::is_finished) {
            // Out of time, or a consumer stopped early (its error comes out of the join below).
            timed_out = true;
            break;
        }
    }
    let after = mark(nodes).await?;
    let delivered_at_mark = tally.delivered.load(Ordering::Relaxed);
    done.cancel();
    for task in tasks {
        timeout(STEP_TIMEOUT * 2, task)
            .await
            .context("a consumer did not stop")???;
    }

    let got_through = streams
        .iter()
        .zip(&drained_at)
        .zip(&read)
        .map(|((s, at), read)| {
            if at.is_some() {
                s.len
            } else {
                (*read).min(s.len)
            }
        })
        .sum();
    let mut phase = Phase::new(got_through, &before, &after);
    phase.label = format!("drain {names}n");
    phase.timed_out = timed_out;
    println!(
        "drained : {got_through} submitted entries in {:.2} s = {:.0} ev/s{}",
        phase.elapsed.as_secs_f64(),
        phase.rate(),
        if timed_out { "; TIMED OUT" } else { "" }
    );
    println!(
        "finish  : {}",
        streams
            .iter()
            .zip(&drained_at)
            .map(|(s, at)| match at {
                Some(at) => format!("{} at {:.2} s", s.key, at.as_secs_f64()),
                None => format!("{} not drained", s.key),
            })
            .collect::<Vec<_>>()
            .join(", ")
    );
    let delivered = tally.delivered.load(Ordering::Relaxed);
    println!(
        "consumer: delivered {delivered} ({delivered_at_mark} when the drain was seen), acked {}, \
         failed {}; {} past the marks (entries appended by review/approve, read by consumers \
         whose partition was done first, or in the last steps)",
        tally.acked.load(Ordering::Relaxed),
        tally.failed.load(Ordering::Relaxed),
        delivered.saturating_sub(got_through)
    );
    let counts = statuses(admin, db.partitions, events).await?;
    let (approved, under_review) = (
        counts[&ClaimStatus::Approved],
        counts[&ClaimStatus::UnderReview],
    );
    println!(
        "check   : {approved} claims approved, {under_review} under review (expected {} and {})",
        events.div_ceil(2),
        events / 2
    );
    phase.print_details(nodes);
    Ok(phase)
}

/// Whether `group` has delivered past the stream's last submitted entry and has none of the
/// entries up to it pending, and how many entries it has read so far.
async fn drained(
    probe: &mut ClusterConnection,
    stream: &Stream,
    group: &str,
) -> anyhow::Result<(bool, u64)> {
    let reply: Value = redis::cmd("XINFO")
        .arg("GROUPS")
        .arg(&stream.key)
        .query_async(probe)
        .await?;
    let info = group_info(&reply, group).with_context(|| format!("no group {group}"))?;
    let field = |name: &str| info.iter().find(|(k, _)| k == name).map(|(_, v)| *v);
    let last: EntryId = field("last-delivered-id")
        .and_then(db::text)
        .context("no last-delivered-id")?
        .parse()
        .map_err(anyhow::Error::msg)?;
    let read = field("entries-read")
        .and_then(db::text)
        .and_then(|t| t.parse().ok())
        .unwrap_or(0);
    if last < stream.end {
        return Ok((false, read));
    }
    let pending: Value = redis::cmd("XPENDING")
        .arg(&stream.key)
        .arg(group)
        .arg("-")
        .arg(stream.end.to_string())
        .arg(1)
        .query_async(probe)
        .await?;
    let none_pending = matches!(&pending, Value::Array(rows) if rows.is_empty());
    Ok((none_pending, read))
}

/// The fields of one group in an XINFO GROUPS reply.
fn group_info<'a>(reply: &'a Value, group: &str) -> Option<Vec<(String, &'a Value)>> {
    let Value::Array(groups) = reply else {
        return None;
    };
    groups.iter().find_map(|g| {
        let fields: Vec<(String, &Value)> = match g {
            Value::Array(flat) => flat
                .chunks(2)
                .filter_map(|kv| Some((db::text(kv.first()?)?, kv.get(1)?)))
                .collect(),
            Value::Map(pairs) => pairs
                .iter()
                .filter_map(|(k, v)| Some((db::text(k)?, v)))
                .collect(),
            _ => return None,
        };
        let name = fields
            .iter()
            .find(|(k, _)| k == "name")
            .and_then(|(_, v)| db::text(v))?;
        (name == group).then_some(fields)
    })
}

// ---------------------------------------------------------------------------------------------
// summary

fn summary(results: &[CountResult], events: u64) -> String {
    let mut out = String::new();
    let mut line = |s: String| {
        out.push_str(&s);
        out.push('\n');
    };
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    line(format!(
        "== claimstream bench: Redis Cluster, {PRIMARIES} primaries, no replicas, {events} \
         claims per partition count, {cores} cores =="
    ));
    let base = results.first();
    let speed_up =
        |rate: f64, of: &dyn Fn(&CountResult) -> f64| base.map_or(f64::NAN, |b| rate / of(b));
    let flag = |p: &Phase| if p.timed_out { " TIMED OUT" } else { "" };
    let cpu = |p: &Phase| {
        let (bench, redis) = p.cores();
        format!("{bench:.2} + {redis:.2}")
    };
    line(format!(
        "{:>10} {:>9} | {:>11} {:>7} {:>11} | {:>13} {:>7} {:>11} | {:>13} {:>7} {:>11}",
        "partitions",
        "primaries",
        "submit ev/s",
        "speedup",
        "CPU",
        "drain 1n ev/s",
        "speedup",
        "CPU",
        "drain 2n ev/s",
        "speedup",
        "CPU"
    ));
    for r in results {
        let mut row = format!(
            "{:>10} {:>9} | {:>11.0} {:>6.2}x {:>11}",
            r.partitions,
            r.primaries_used,
            r.submit.rate(),
            speed_up(r.submit.rate(), &|b| b.submit.rate()),
            cpu(&r.submit)
        );
        for (i, d) in r.drains.iter().enumerate() {
            row.push_str(&format!(
                " | {:>13.0} {:>6.2}x {:>11}{}",
                d.rate(),
                speed_up(d.rate(), &|b| b.drains.get(i).map_or(f64::NAN, Phase::rate)),
                cpu(d),
                flag(d)
            ));
        }
        line(row);
    }
    line(format!(
        "submit  : SubmitClaim through commands::execute from {SUBMITTERS} tasks (the Lua append \
         to the claim's partition stream plus its index), claims/s from the first to the last"
    ));
    line(
        "drain Nn: the relay's claims-processors Consumer (AutoReview), one per partition per \
         consumer name (1n: N tasks, 2n: 2N tasks); ev/s = submitted entries / time until every \
         partition's group is past its last submitted entry with none of them pending"
            .into(),
    );
    line(format!(
        "CPU     : cores busy on average, this process (the relay's side) + all redis-servers, \
         of {cores}; below, per partition count, also the busiest primary and the cores' worth \
         of threads that were runnable but waited for a core (this process + redis-servers)"
    ));
    for r in results {
        let phases = std::iter::once(&r.submit)
            .chain(&r.drains)
            .map(|p| {
                let wall = p.elapsed.as_secs_f64();
                let (bench, redis) = p.cores();
                let busiest = p
                    .redis
                    .iter()
                    .map(|(cpu, _)| cpu / wall)
                    .fold(0.0, f64::max);
                format!(
                    "{} {bench:.2} + {redis:.2} (busiest primary {busiest:.2}), waiting {:.2} + \
                     {:.2}",
                    p.label,
                    p.bench_wait / wall,
                    p.redis_wait() / wall
                )
            })
            .collect::<Vec<_>>()
            .join("; ");
        line(format!("cores {}p : {phases}", r.partitions));
    }
    out
}
