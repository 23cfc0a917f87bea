//! The bench's claims: submitted through the relay's own path, counted by status, and put
//! back as submitted between drains.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use backend::events::commands;
use backend::store::claims::{Claims, DEFAULT_SNAPSHOT_EVERY};
use backend::store::db::Db;
use backend::store::keys::{Partition, Partitions};
use backend::store::trace::Trace;
use redis::aio::ConnectionLike;
use shared::snapshot::SnapshotEvery;
use shared::{Amount, Claim, ClaimCommand, ClaimId, ClaimStatus, CustomerId, Description};
use tokio::task::JoinHandle;
use tokio::time::timeout;

use super::{LARGE, SMALL, STEP_TIMEOUT};

pub fn claim_id(n: u64) -> String {
    format!("CLM-B{n:09}")
}

/// The claims in `db`, snapshotted as the relay does by default.
pub fn claims(db: &Db) -> Claims {
    Claims::new(db.clone(), SnapshotEvery(DEFAULT_SNAPSHOT_EVERY))
}

/// Submits one claim the way `POST /api/claims` does, minus HTTP; `i` picks its customer.
pub async fn submit_one(
    claims: &Claims,
    trace: &mut Trace,
    claim_id: &str,
    amount: Amount,
    i: u64,
) -> anyhow::Result<()> {
    let command = ClaimCommand::SubmitClaim {
        claim_id: ClaimId::parse(claim_id).map_err(anyhow::Error::msg)?,
        customer_id: CustomerId::parse(&format!("CUST-{:03}", i % 100 + 1))
            .map_err(anyhow::Error::msg)?,
        amount,
        description: Description::parse("Hail damage to the roof and two windows, photos attached")
            .map_err(anyhow::Error::msg)?,
        currency: shared::Currency::BEFORE_V2,
        policy_number: None,
        at: backend::store::clock::Clock::system().now(),
    };
    let blank = Claim::default();
    let submit = commands::execute(
        claims,
        trace,
        &blank,
        &command,
        commands::Cause {
            id: "req-BENCH",
            by: shared::api::CommandBy::Learner,
        },
        None,
        None,
    );
    timeout(STEP_TIMEOUT, submit)
        .await
        .context("a submit timed out")??;
    Ok(())
}

/// Submits the `n` claims [`claim_id`]`(0..n)` from `tasks` tasks at once, each with a
/// fresh `trace()`; even claims are [`SMALL`], odd ones [`LARGE`]. Fails if it takes longer
/// than `within`, saying that `phase` did not finish.
pub async fn submit_all(
    db: &Db,
    n: u64,
    tasks: usize,
    within: Duration,
    phase: &'static str,
    trace: fn() -> Trace,
) -> anyhow::Result<()> {
    let next = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + within;
    let tasks: Vec<JoinHandle<anyhow::Result<()>>> = (0..tasks)
        .map(|_| {
            let (claims, next) = (claims(db), next.clone());
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        return Ok(());
                    }
                    if Instant::now() > deadline {
                        bail!("{phase} did not finish within {within:?}");
                    }
                    let amount = if i % 2 == 0 { SMALL } else { LARGE };
                    submit_one(&claims, &mut trace(), &claim_id(i), amount, i).await?;
                }
            })
        })
        .collect();
    for task in tasks {
        task.await??;
    }
    Ok(())
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
pub async fn reset_claims(
    admin: &mut impl ConnectionLike,
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
    admin: &mut impl ConnectionLike,
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

/// Prints how many of the `n` claims a drain approved and left under review, against what
/// `AutoReview` should have done: the even ones ([`SMALL`]) approved, the odd ones under
/// review.
pub async fn print_check(
    admin: &mut impl ConnectionLike,
    partitions: Partitions,
    n: u64,
) -> anyhow::Result<()> {
    let counts = statuses(admin, partitions, n).await?;
    let (approved, under_review) = (
        counts[&ClaimStatus::Approved],
        counts[&ClaimStatus::UnderReview],
    );
    println!(
        "check   : {approved} claims approved, {under_review} under review (expected {} and {})",
        n.div_ceil(2),
        n / 2
    );
    Ok(())
}
