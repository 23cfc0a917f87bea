//! `cargo xtask bench history`: loading a long claim, and projecting many events.
//!
//! Starts its own `redis-server` (no persistence, in a temporary directory), then:
//!
//! 1. **claim load**: one claim with `--claim-events` events (default 10000: a submission
//!    and notes), appended through `backend::events::commands::execute` with a snapshot every 50.
//!    Then the median time of `claims::load` from the newest snapshot, and of a full
//!    replay (the same load with the snapshot key removed and snapshots off, so every event
//!    is read and folded), each over several runs.
//! 2. **projection**: `--projection-events` events (default 200000: claims submitted,
//!    reviewed, approved and paid, in turn) appended with pipelined `XADD`s, as another
//!    program would; then the relay's projector started on them. The time from start to its
//!    first build of the read model (index them, replay from the first event, write, swap)
//!    gives events/s. Then 20000 more events appended live, and the time until the projector
//!    has applied the last gives the live rate.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use backend::events::commands;
use backend::store::claims::{self, Replay};
use backend::store::db::Db;
use backend::store::embedded::{EmbeddedRedis, Persistence};
use backend::store::keys;
use backend::store::trace::Trace;
use shared::stream_codec;
use shared::{
    Adjuster, Amount, Claim, ClaimCommand, ClaimId, Currency, CustomerId, Description, Note,
    PaymentReference,
};
use tokio_util::sync::CancellationToken;

struct Args {
    claim_events: u64,
    projection_events: u64,
}

impl Args {
    fn parse() -> anyhow::Result<Self> {
        let mut args = Self {
            claim_events: 10_000,
            projection_events: 200_000,
        };
        let words: Vec<String> = std::env::args().skip(1).collect();
        for pair in words.chunks(2) {
            let [flag, value] = pair else {
                bail!("flags take a number: --claim-events N, --projection-events N");
            };
            let value: u64 = value.parse().with_context(|| format!("{flag} {value}"))?;
            match flag.as_str() {
                "--claim-events" => args.claim_events = value,
                "--projection-events" => args.projection_events = value,
                other => bail!("unknown flag {other}; use --claim-events N, --projection-events N"),
            }
        }
        Ok(args)
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse()?;
    let dir = tempfile::tempdir()?;
    let redis = EmbeddedRedis::start(dir.path(), Persistence::None).await?;
    println!(
        "redis-server on 127.0.0.1:{} (no persistence); {} cores",
        redis.port(),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let result = async {
        claim_load(&redis.url(), args.claim_events).await?;
        projection(&redis.url(), args.projection_events).await
    }
    .await;
    redis.stop().await?;
    result
}

fn at() -> shared::Timestamp {
    commands::now()
}

async fn claim_load(url: &str, events: u64) -> anyhow::Result<()> {
    println!("\n-- claim load: one claim with {events} events, a snapshot every 50 --");
    let db = Db::new(url)?.with_snapshot_every(50);
    let id = ClaimId::parse("CLM-LONG").map_err(anyhow::Error::msg)?;
    let submit = ClaimCommand::SubmitClaim {
        claim_id: id.clone(),
        customer_id: CustomerId::parse("CUST-1").map_err(anyhow::Error::msg)?,
        amount: Amount::from_cents(120_000),
        description: Description::parse("Storm damage").map_err(anyhow::Error::msg)?,
        currency: Currency::BEFORE_V2,
        policy_number: None,
        at: at(),
    };
    let started = Instant::now();
    let mut claim = commands::execute(
        &db,
        &mut Trace::off(),
        &Claim::default(),
        &submit,
        None,
        None,
    )
    .await?
    .state;
    let note = Note::parse("Called the garage; photos to follow").map_err(anyhow::Error::msg)?;
    let adjuster = Adjuster::parse("Ada").map_err(anyhow::Error::msg)?;
    for _ in 1..events {
        let command = ClaimCommand::AddNote {
            adjuster: adjuster.clone(),
            note: note.clone(),
            document: None,
            at: at(),
        };
        claim = commands::execute(&db, &mut Trace::off(), &claim, &command, None, None)
            .await?
            .state;
    }
    println!(
        "append  : {events} events in {:.2} s",
        started.elapsed().as_secs_f64()
    );

    let from_snapshot = median(200, async || {
        let loaded = claims::load(&db, &mut Trace::off(), id.as_str()).await?;
        anyhow::ensure!(
            loaded.claim == claim,
            "the snapshot load differs from the fold"
        );
        Ok(loaded.entries.len())
    })
    .await?;
    // Without a snapshot, and without writing one back.
    let bare = Db::new(url)?.with_snapshot_every(0);
    let _: i64 = bare
        .run(
            &mut Trace::off(),
            &["DEL", &keys::Partition::ONLY.snapshot(id.as_str())],
        )
        .await?;
    let full = median(20, async || {
        let loaded = claims::load(&bare, &mut Trace::off(), id.as_str()).await?;
        anyhow::ensure!(
            loaded.claim == claim,
            "the full replay differs from the fold"
        );
        Ok(loaded.entries.len())
    })
    .await?;
    let with_states = median(20, async || {
        let loaded =
            claims::load_until(&bare, &mut Trace::off(), id.as_str(), Replay::Full, None).await?;
        Ok(loaded.states.len())
    })
    .await?;
    println!(
        "load    : from the snapshot {:.2} ms ({} events folded after it); full replay {:.2} ms ({} events); full replay keeping each state (the events endpoint) {:.2} ms",
        from_snapshot.0, from_snapshot.1, full.0, full.1, with_states.0
    );
    println!(
        "targets : full replay < 50 ms: {}; from a snapshot < 5 ms: {}",
        verdict(full.0 < 50.0),
        verdict(from_snapshot.0 < 5.0)
    );
    Ok(())
}

fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "NOT met" }
}

/// The median of `runs` timings in ms, and what the last run returned.
async fn median(
    runs: usize,
    mut f: impl AsyncFnMut() -> anyhow::Result<usize>,
) -> anyhow::Result<(f64, usize)> {
    let mut times = Vec::with_capacity(runs);
    let mut last = 0;
    for _ in 0..runs {
        let started = Instant::now();
        last = f().await?;
        times.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    Ok((times[times.len() / 2], last))
}

/// Pipelined XADDs of whole claim lifecycles, as another program would write them.
async fn append_lifecycles(
    conn: &mut redis::aio::MultiplexedConnection,
    first_claim: u64,
    events: u64,
) -> anyhow::Result<()> {
    let mut claims = Vec::new();
    let mut written = 0;
    let mut n = first_claim;
    while written < events {
        let mut pipe = redis::pipe();
        for _ in 0..250 {
            let id = ClaimId::parse(&format!("CLM-B{n:07}")).map_err(anyhow::Error::msg)?;
            n += 1;
            let commands = [
                ClaimCommand::SubmitClaim {
                    claim_id: id,
                    customer_id: CustomerId::parse(&format!("CUST-{:03}", n % 100))
                        .map_err(anyhow::Error::msg)?,
                    amount: Amount::from_cents(50_000 + (n % 7) as i64 * 1_000),
                    description: Description::parse("Hail").map_err(anyhow::Error::msg)?,
                    currency: Currency::BEFORE_V2,
                    policy_number: None,
                    at: at(),
                },
                ClaimCommand::ReviewClaim { at: at() },
                ClaimCommand::ApproveClaim { at: at() },
                ClaimCommand::PayClaim {
                    payment_reference: PaymentReference::parse("PAY-1")
                        .map_err(anyhow::Error::msg)?,
                    at: at(),
                },
            ];
            let mut claim = Claim::default();
            for command in &commands {
                if written >= events {
                    break;
                }
                let [event] = shared::handle(&claim, command)?
                    .try_into()
                    .map_err(|_| anyhow::anyhow!("one event per command"))?;
                shared::apply(&mut claim, &event);
                let cmd = pipe.cmd("XADD").arg(keys::EVENTS).arg("*");
                for (k, v) in stream_codec::encode(&event) {
                    cmd.arg(k).arg(v);
                }
                cmd.ignore();
                written += 1;
            }
            claims.push(claim);
            if written >= events {
                break;
            }
        }
        let () = pipe.query_async(conn).await?;
    }
    Ok(())
}

async fn position(db: &Db) -> anyhow::Result<Option<String>> {
    Ok(backend::events::projection::position(db, &mut Trace::off(), keys::Partition::ONLY).await?)
}

async fn projection(url: &str, events: u64) -> anyhow::Result<()> {
    println!("\n-- projection: {events} events appended by pipelined XADD, then projected --");
    let db = Db::new(url)?;
    let mut conn = redis::Client::open(url)?
        .get_multiplexed_async_connection()
        .await?;
    let started = Instant::now();
    append_lifecycles(&mut conn, 0, events).await?;
    println!(
        "append  : {events} events in {:.2} s",
        started.elapsed().as_secs_f64()
    );
    let last = backend::events::feed::last_ids(&db).await?.to_string();

    let stop = CancellationToken::new();
    let projector = tokio::spawn(backend::events::projection::run(db.clone(), stop.clone()));
    let started = Instant::now();
    while position(&db).await?.as_deref() != Some(last.as_str()) {
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(600),
            "the first build did not finish in 10 minutes"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let took = started.elapsed().as_secs_f64();
    let claims: u64 = db
        .run(
            &mut Trace::off(),
            &[
                "ZCARD",
                &keys::Partition::ONLY.model(keys::Model::Live).all_claims(),
            ],
        )
        .await?;
    println!(
        "rebuild : {events} events into the read model ({claims} claims) in {took:.2} s: {:.0} events/s (indexing them included)",
        events as f64 / took
    );

    let live = 20_000.min(events);
    let started = Instant::now();
    append_lifecycles(&mut conn, 10_000_000, live).await?;
    let last = backend::events::feed::last_ids(&db).await?.to_string();
    while position(&db).await?.as_deref() != Some(last.as_str()) {
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(600),
            "the live projection did not catch up in 10 minutes"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let took = started.elapsed().as_secs_f64();
    println!(
        "live    : {live} events appended and projected in {took:.2} s: {:.0} events/s (appends included)",
        live as f64 / took
    );
    stop.cancel();
    projector.await?;
    Ok(())
}
