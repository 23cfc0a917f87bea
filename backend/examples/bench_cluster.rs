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
//! 1. **submit**: `--events` claims, each a `SubmitClaim` through `backend::events::commands::execute`
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
//!
//! [`Consumer`]: backend::workers::Consumer
//! [`AutoReview`]: backend::workers::processors::AutoReview

#[path = "support/mod.rs"]
mod support;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use backend::store::db::Db;
use backend::store::entry_id::EntryId;
use backend::store::keys::{self, Partition, Partitions};
use backend::store::trace::Trace;
use backend::workers::controls::GroupControls;
use redis::Value;
use redis::cluster_async::ClusterConnection;
use support::claims::{claims, print_check, reset_claims, submit_all, submit_one};
use support::drain::{Processors, create_group, drained, last_entry};
use support::measure::{Mark, Node, Usage, load_average, mark, node, print_took};
use support::{APPROVE_UP_TO, POLL, RUN_TIMEOUT, SMALL};
use test_support::EmbeddedCluster;
use tokio::task::JoinHandle;

const PARTITION_COUNTS: [u32; 3] = [1, 2, 4];
/// Consumer names of the drains: 1 (N tasks for N partitions), then 2 (2N tasks).
const NAME_COUNTS: [usize; 2] = [1, 2];
const PRIMARIES: usize = 3;
/// Tasks submitting claims at once.
const SUBMITTERS: usize = 64;
const SUBMIT_TIMEOUT: Duration = Duration::from_secs(180);
/// Claims submitted per partition count unless `--events` says otherwise.
const DEFAULT_EVENTS: u64 = 200_000;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut events = DEFAULT_EVENTS;
    support::flags::parse(
        &format!("usage: bench_cluster [--events N]\ndefaults: --events {DEFAULT_EVENTS}"),
        &mut [("--events", &mut events)],
    )?;
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
        let started = Instant::now();
        let cluster = EmbeddedCluster::start_temp(PRIMARIES, 0).await?;
        println!(
            "\n==== {count} partition(s): cluster up in {:.1} s, primaries on {}; load average \
             {} ====",
            started.elapsed().as_secs_f64(),
            cluster.addresses().join(", "),
            load_average()
        );
        // On an error the servers are killed when `cluster` is dropped.
        let result = run(&cluster, partitions, events).await;
        cluster.stop().await?;
        results.push(result?);
    }
    println!();
    print!("{}", summary(&results, events));
    print_took(start);
    Ok(())
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
    // Every primary, and its port, in the same order.
    let (mut nodes, mut node_ports) = (Vec::new(), Vec::new());
    for url in cluster.urls() {
        let (node, port) = node(&url).await?;
        nodes.push(node);
        node_ports.push(port);
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
    let idle: Vec<String> = node_ports
        .iter()
        .filter(|port| !ports.contains(port))
        .map(|port| format!(":{port}"))
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
    submit_all(
        &db,
        events,
        SUBMITTERS,
        SUBMIT_TIMEOUT,
        "the submit",
        Trace::off,
    )
    .await?;
    let after = mark(&mut nodes).await?;
    let mut submit = Phase::new(events, &before, &after);
    submit.label = "submit".into();
    println!(
        "submit  : {events} claims in {:.2} s = {:.0} ev/s",
        submit.used.elapsed.as_secs_f64(),
        submit.rate()
    );
    submit.print_details(&node_ports);
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
        drains.push(
            drain(
                &db,
                &mut admin,
                &mut nodes,
                &node_ports,
                &streams,
                names,
                events,
            )
            .await?,
        );
    }
    Ok(CountResult {
        partitions: partitions.count(),
        primaries_used: ports.len(),
        submit,
        drains,
    })
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
        submit_one(&claims(db), &mut Trace::off(), &id, SMALL, i).await?;
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

/// Every partition's stream: its length and last entry.
async fn streams(
    admin: &mut ClusterConnection,
    partitions: Partitions,
) -> anyhow::Result<Vec<Stream>> {
    let mut streams = Vec::new();
    for partition in partitions.all() {
        let key = partition.events();
        let len: u64 = redis::cmd("XLEN").arg(&key).query_async(admin).await?;
        let end = last_entry(admin, &key).await?;
        streams.push(Stream {
            partition,
            key,
            len,
            end,
        });
    }
    Ok(streams)
}

// ---------------------------------------------------------------------------------------------
// measuring

/// One timed phase: the submit, or one drain.
struct Phase {
    /// What ran: "submit", "drain 1n" (one consumer name).
    label: String,
    /// Events the phase got through (all of them unless it timed out).
    events: u64,
    timed_out: bool,
    /// CPU, waits and Redis commands over the phase, per node in the order of `nodes`.
    used: Usage,
}

impl Phase {
    fn new(events: u64, before: &Mark, after: &Mark) -> Self {
        Self {
            label: String::new(),
            events,
            timed_out: false,
            used: Usage::between(before, after),
        }
    }

    fn rate(&self) -> f64 {
        self.events as f64 / self.used.elapsed.as_secs_f64()
    }

    fn per(&self) -> f64 {
        self.events.max(1) as f64
    }

    /// CPU, Redis commands and where the time of one event goes; `ports` are the nodes'.
    fn print_details(&self, ports: &[u16]) {
        let used = &self.used;
        let wall = used.elapsed.as_secs_f64();
        let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
        let (bench, redis) = used.cores();
        println!(
            "CPU     : this process {bench:.2} cores, redis-servers {redis:.2} cores ({}) of \
             {cores}, over {wall:.1} s; runnable but waiting for a core: this process {:.2}, \
             redis-servers {:.2}",
            ports
                .iter()
                .zip(&used.redis)
                .map(|(port, (cpu, _))| format!(":{port} {:.2}", cpu / wall))
                .collect::<Vec<_>>()
                .join(", "),
            used.bench_wait / wall,
            used.redis_wait() / wall
        );
        let per = self.per();
        // The bench's own probes (INFO, XINFO, XPENDING, CLUSTER) are left out.
        println!(
            "redis   : per event, over all primaries (a script's own commands counted too): {}",
            used.commands_per(per, &["info", "xinfo", "cluster"])
        );
        println!(
            "per ev  : {:.1} µs CPU in this process, {:.1} µs CPU in the redis-servers",
            used.bench_cpu * 1e6 / per,
            used.redis_cpu() * 1e6 / per
        );
    }
}

// ---------------------------------------------------------------------------------------------
// drain

async fn drain(
    db: &Db,
    admin: &mut ClusterConnection,
    nodes: &mut [Node],
    ports: &[u16],
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
        create_group(admin, &stream.key, group).await?;
    }
    let processors = Processors::new(group, db);
    let controls = Arc::new(GroupControls::default());
    let mut probe = admin.clone();

    let before = mark(nodes).await?;
    let deadline = Instant::now() + RUN_TIMEOUT;
    let mut tasks: Vec<JoinHandle<anyhow::Result<()>>> = Vec::new();
    for n in 1..=names {
        for stream in streams {
            let consumer = processors
                .consumer(db, n)
                .in_partition(stream.partition)
                .with_controls(controls.clone());
            tasks.push(processors.spawn(consumer, deadline));
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
            let (is_drained, entries_read) =
                drained(&mut probe, &stream.key, group, stream.end).await?;
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
    let tally = &processors.tally;
    let delivered_at_mark = tally.delivered.load(Ordering::Relaxed);
    processors.stop(tasks).await?;

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
        phase.used.elapsed.as_secs_f64(),
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
    print_check(admin, db.partitions, events).await?;
    phase.print_details(ports);
    Ok(phase)
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
        let (bench, redis) = p.used.cores();
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
                let wall = p.used.elapsed.as_secs_f64();
                let (bench, redis) = p.used.cores();
                let busiest = p
                    .used
                    .redis
                    .iter()
                    .map(|(cpu, _)| cpu / wall)
                    .fold(0.0, f64::max);
                format!(
                    "{} {bench:.2} + {redis:.2} (busiest primary {busiest:.2}), waiting {:.2} + \
                     {:.2}",
                    p.label,
                    p.used.bench_wait / wall,
                    p.used.redis_wait() / wall
                )
            })
            .collect::<Vec<_>>()
            .join("; ");
        line(format!("cores {}p : {phases}", r.partitions));
    }
    out
}
