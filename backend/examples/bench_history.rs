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

#[path = "support/flags.rs"]
mod flags;

use std::time::{Duration, Instant};

use backend::events::commands;
use backend::store::claims::Claims;
use backend::store::claims::{self, Replay};
use backend::store::db::Db;
use backend::store::embedded::Persistence;
use backend::store::keys;
use backend::store::trace::Trace;
use shared::snapshot::SnapshotEvery;
use shared::stream_codec;
use shared::{
    Adjuster, Amount, Claim, ClaimCommand, ClaimId, Currency, CustomerId, Description, Note,
    PaymentReference,
};
use test_support::RedisServer;
use tokio_util::sync::CancellationToken;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let (mut claim_events, mut projection_events) = (10_000, 200_000);
    flags::parse(
        "usage: bench_history [--claim-events N] [--projection-events N]\n\
         defaults: --claim-events 10000 --projection-events 200000",
        &mut [
            ("--claim-events", &mut claim_events),
            ("--projection-events", &mut projection_events),
        ],
    )?;
    let mut redis = RedisServer::start(Persistence::None).await?;
    println!(
        "redis-server on 127.0.0.1:{} (no persistence); {} cores",
        redis.port(),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let result = async {
        claim_load(&redis.url(), claim_events).await?;
        projection(&redis.url(), projection_events).await
    }
    .await;
    redis.stop().await?;
    result
}

fn at() -> shared::Timestamp {
    backend::store::clock::Clock::system().now()
}

async fn claim_load(url: &str, events: u64) -> anyhow::Result<()> {
    println!("\n-- claim load: one claim with {events} events, a snapshot every 50 --");
    let db = Claims::new(Db::new(url)?, SnapshotEvery(50));
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
        commands::Cause {
            id: "req-BENCH",
            by: shared::api::CommandBy::Learner,
        },
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
        claim = commands::execute(
            &db,
            &mut Trace::off(),
            &claim,
            &command,
            commands::Cause {
                id: "req-BENCH",
                by: shared::api::CommandBy::Learner,
            },
            None,
            None,
        )
        .await?
        .state;
    }
    println!(
        "append  : {events} events in {:.2} s",
        started.elapsed().as_secs_f64()
    );

    let from_snapshot = median(200, async || {
        load_as_folded(&db, id.as_str(), &claim, "the snapshot load").await
    })
    .await?;
    // Without a snapshot, and without writing one back.
    let bare = Claims::new(Db::new(url)?, SnapshotEvery(0));
    let _: i64 = bare
        .db()
        .run(
            &mut Trace::off(),
            &["DEL", &keys::Partition::ONLY.snapshot(id.as_str())],
        )
        .await?;
    let full = median(20, async || {
        load_as_folded(&bare, id.as_str(), &claim, "the full replay").await
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

/// Loads the claim and checks it equals `folded`; how many entries were read. `what` names
/// the load in the error.
async fn load_as_folded(
    db: &Claims,
    id: &str,
    folded: &Claim,
    what: &str,
) -> anyhow::Result<usize> {
    let loaded = claims::load(db, &mut Trace::off(), id).await?;
    anyhow::ensure!(&loaded.claim == folded, "{what} differs from the fold");
    Ok(loaded.entries.len())
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

/// Checks every `every` until the projection's position is `last`; fails, naming `what`, if
/// that takes 10 minutes.
async fn projected_up_to(db: &Db, last: &str, every: Duration, what: &str) -> anyhow::Result<()> {
    let started = Instant::now();
    while position(db).await?.as_deref() != Some(last) {
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(600),
            "{what} did not catch up in 10 minutes"
        );
        tokio::time::sleep(every).await;
    }
    Ok(())
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
    let projector = tokio::spawn(backend::events::projection::run(
        Claims::new(
            db.clone(),
            SnapshotEvery(backend::store::claims::DEFAULT_SNAPSHOT_EVERY),
        ),
        backend::store::clock::Clock::system(),
        stop.clone(),
    ));
    let started = Instant::now();
    projected_up_to(&db, &last, Duration::from_millis(20), "the first build").await?;
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
    projected_up_to(&db, &last, Duration::from_millis(5), "the live projection").await?;
    let took = started.elapsed().as_secs_f64();
    println!(
        "live    : {live} events appended and projected in {took:.2} s: {:.0} events/s (appends included)",
        live as f64 / took
    );
    stop.cancel();
    projector.await?;
    Ok(())
}
