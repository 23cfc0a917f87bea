//! The traffic generator, so a demo always has motion: realistic claims submitted and moved
//! through their lifecycle at a chosen rate, through the same commands as the API (so every
//! event is checked by the aggregate and appended with its version). It adds no key of its own.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rand::Rng;
use rand::seq::IndexedRandom;
use shared::api::{CommandBy, TrafficStatus};
use shared::{
    Adjuster, Amount, Claim, ClaimCommand, ClaimId, ClaimStatus, Currency, CustomerId, Description,
    Note, PaymentReference, PolicyNumber, Reason, Timestamp,
};
use tokio::sync::Mutex;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::events::commands::{self, Cause, CommandError, generate};
use crate::store;
use crate::store::claims::Claims;
use crate::store::clock::Clock;
use crate::store::trace::Trace;

/// Events per second the generator may be asked for.
pub const MAX_RATE: u32 = 200;
/// Cents in a unit of money.
const CENTS: i64 = 100;
/// Claims it keeps moving at once; past this it only moves them on.
const OPEN_AT_MOST: usize = 200;

/// Starts, stops and reports the relay's one generator.
#[derive(Clone, Default)]
pub struct Traffic {
    state: Arc<Mutex<State>>,
}

#[derive(Default)]
struct State {
    running: Option<Running>,
    /// What the last run did, once stopped.
    last: TrafficStatus,
}

struct Running {
    rate: u32,
    started_at: String,
    stop: CancellationToken,
    task: JoinHandle<()>,
    counts: Arc<Counts>,
}

impl Running {
    fn status(&self) -> TrafficStatus {
        TrafficStatus {
            running: !self.task.is_finished(),
            rate: self.rate,
            started_at: Some(self.started_at.clone()),
            events: self.counts.events.load(Ordering::Relaxed),
            claims: self.counts.claims.load(Ordering::Relaxed),
            conflicts: self.counts.conflicts.load(Ordering::Relaxed),
        }
    }

    /// Cancels the run and waits for it: once this returns it appends nothing more.
    async fn finish(mut self) -> TrafficStatus {
        self.stop.cancel();
        let _ = (&mut self.task).await;
        self.status()
    }
}

/// What a run has done.
#[derive(Debug, Default)]
pub struct Counts {
    pub events: AtomicU64,
    pub claims: AtomicU64,
    /// Commands refused because a worker moved the claim first (it is read again).
    pub conflicts: AtomicU64,
}

impl Traffic {
    /// Starts the generator at `rate` events/s, or restarts the one running at a new rate.
    pub async fn start(&self, claims: Claims, clock: Clock, rate: u32) -> TrafficStatus {
        let mut state = self.state.lock().await;
        if let Some(running) = state.running.take() {
            state.last = running.finish().await;
        }
        let stop = CancellationToken::new();
        let counts = Arc::new(Counts::default());
        let task = tokio::spawn({
            let (stop, counts) = (stop.clone(), counts.clone());
            let clock = clock.clone();
            async move { run(&claims, &clock, rate, stop, &counts).await }
        });
        let running = Running {
            rate,
            started_at: clock.now().to_string(),
            stop,
            task,
            counts,
        };
        let status = TrafficStatus {
            running: true,
            ..running.status()
        };
        state.running = Some(running);
        status
    }

    /// Stops the generator; once this returns it appends nothing more.
    pub async fn stop(&self) -> TrafficStatus {
        let mut state = self.state.lock().await;
        if let Some(running) = state.running.take() {
            state.last = running.finish().await;
        }
        state.last.clone()
    }

    pub async fn status(&self) -> TrafficStatus {
        let state = self.state.lock().await;
        match &state.running {
            Some(running) => running.status(),
            None => state.last.clone(),
        }
    }
}

/// Appends about `rate` events a second until stopped.
pub async fn run(
    claims: &Claims,
    clock: &Clock,
    rate: u32,
    stop: CancellationToken,
    counts: &Counts,
) {
    let rate = rate.clamp(1, MAX_RATE);
    let mut tick = tokio::time::interval(Duration::from_secs(1) / rate);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut open: Vec<Claim> = Vec::new();
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        match step(claims, clock.now(), &mut open).await {
            Ok(Stepped::Submitted) => {
                counts.claims.fetch_add(1, Ordering::Relaxed);
                counts.events.fetch_add(1, Ordering::Relaxed);
            }
            Ok(Stepped::Moved) => {
                counts.events.fetch_add(1, Ordering::Relaxed);
            }
            Ok(Stepped::Conflict) => {
                counts.conflicts.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => {
                // Redis away: wait for it rather than spin.
                tracing::warn!(error = %e, "traffic: a step failed");
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
        }
    }
}

enum Stepped {
    Submitted,
    Moved,
    Conflict,
}

/// One event at `at`: a new claim, or the next step of an open one.
async fn step(
    claims: &Claims,
    at: Timestamp,
    open: &mut Vec<Claim>,
) -> Result<Stepped, CommandError> {
    let submit = {
        let mut rng = rand::rng();
        open.len() < 5 || (open.len() < OPEN_AT_MOST && rng.random_bool(0.3))
    };
    let trace = &mut Trace::off();
    let id = commands::request_id(CommandBy::Traffic);
    let cause = Cause {
        id: &id,
        by: CommandBy::Traffic,
    };
    if submit {
        let executed = commands::execute(
            claims,
            trace,
            &Claim::default(),
            &new_claim(at),
            cause,
            None,
            None,
        )
        .await?;
        open.push(executed.state);
        return Ok(Stepped::Submitted);
    }
    let which = rand::rng().random_range(0..open.len());
    let Some(command) = next_command(&open[which], at) else {
        open.swap_remove(which);
        return Ok(Stepped::Moved);
    };
    match commands::execute(claims, trace, &open[which], &command, cause, None, None).await {
        Ok(executed) => {
            if finished(&executed.state) {
                open.swap_remove(which);
            } else {
                open[which] = executed.state;
            }
            Ok(Stepped::Moved)
        }
        // A worker (or a person) moved it first: read it again and go on from there.
        Err(CommandError::VersionConflict(_) | CommandError::Domain(_)) => {
            let id = open[which].details.as_ref().map(|d| d.claim_id.to_string());
            let loaded =
                store::claims::load(claims, trace, id.as_deref().unwrap_or_default()).await?;
            if finished(&loaded.claim) {
                open.swap_remove(which);
            } else {
                open[which] = loaded.claim;
            }
            Ok(Stepped::Conflict)
        }
        Err(e) => Err(e),
    }
}

/// Paid or rejected (or not there at all): nothing more to do.
fn finished(claim: &Claim) -> bool {
    claim.status().is_none_or(ClaimStatus::is_final)
}

/// What happens next to a claim, as claims go: most are reviewed, most reviews approve, a
/// few get a note first.
fn next_command(claim: &Claim, at: Timestamp) -> Option<ClaimCommand> {
    let mut rng = rand::rng();
    if rng.random_bool(0.1) && !finished(claim) {
        return Some(ClaimCommand::AddNote {
            adjuster: pick(&ADJUSTERS, Adjuster::parse),
            note: pick(&NOTES, Note::parse),
            document: None,
            at,
        });
    }
    Some(match claim.status()? {
        ClaimStatus::Submitted => ClaimCommand::ReviewClaim { at },
        ClaimStatus::UnderReview if rng.random_bool(0.75) => ClaimCommand::ApproveClaim { at },
        ClaimStatus::UnderReview => ClaimCommand::RejectClaim {
            reason: pick(&REASONS, Reason::parse),
            at,
        },
        ClaimStatus::Approved => ClaimCommand::PayClaim {
            payment_reference: PaymentReference::parse(&generate("PAY"))
                .expect("generated references are valid"),
            at,
        },
        ClaimStatus::Paid | ClaimStatus::Rejected => return None,
    })
}

/// A realistic new claim.
pub(crate) fn new_claim(at: Timestamp) -> ClaimCommand {
    let mut rng = rand::rng();
    // Most claims are small; some are large enough for a person to review.
    let cents = if rng.random_bool(0.7) {
        rng.random_range(CENTS * 50..CENTS * 2_000)
    } else {
        rng.random_range(CENTS * 2_000..CENTS * 25_000)
    };
    let currency = match rng.random_range(0..20) {
        0..12 => "USD",
        12..17 => "EUR",
        _ => "GBP",
    };
    let customer = format!("CUST-{:04}", rng.random_range(1..=250));
    let policy = rng
        .random_bool(0.8)
        .then(|| format!("POL-{:06}", rng.random_range(1..1_000_000)));
    ClaimCommand::SubmitClaim {
        claim_id: ClaimId::parse(&generate("CLM")).expect("generated ids are valid"),
        customer_id: CustomerId::parse(&customer).expect("generated customers are valid"),
        amount: Amount::from_cents(cents),
        description: pick(&DESCRIPTIONS, Description::parse),
        currency: currency.parse::<Currency>().expect("a known currency"),
        policy_number: policy
            .map(|p| PolicyNumber::parse(&p).expect("generated policies are valid")),
        at,
    }
}

fn pick<T>(from: &[&str], parse: fn(&str) -> Result<T, String>) -> T {
    let text = from.choose(&mut rand::rng()).expect("a list of several");
    parse(text).expect("the generator's texts are valid")
}

const DESCRIPTIONS: [&str; 10] = [
    "Water damage in the kitchen after a pipe burst",
    "Rear bumper dented in a car park",
    "Laptop stolen from a locked car",
    "Hail damage to the roof and gutters",
    "Broken windscreen from a stone on the motorway",
    "Storm blew down the garden fence",
    "Phone dropped and screen cracked",
    "Flooded basement after heavy rain",
    "Kitchen fire damaged the cabinets",
    "Bicycle stolen outside the station",
];

const REASONS: [&str; 5] = [
    "Damage predates the policy start date",
    "Not covered: wear and tear",
    "No police report for a theft",
    "Duplicate of an earlier claim",
    "Amount exceeds the policy limit",
];

const ADJUSTERS: [&str; 4] = ["A. Rivera", "K. Osei", "M. Novak", "S. Tanaka"];

const NOTES: [&str; 5] = [
    "Called the customer; photos requested",
    "Photos received and attached to the file",
    "Repair estimate looks reasonable",
    "Site visit booked for next week",
    "Customer confirmed the bank details",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_claim_goes_through_its_lifecycle_to_the_end() {
        for _ in 0..100 {
            let mut claim = Claim::default();
            let at = Clock::system().now();
            let mut command = Some(new_claim(at));
            let mut steps = 0;
            while let Some(c) = command {
                let events =
                    shared::handle(&claim, &c).expect("the generator asks only what is allowed");
                shared::apply(&mut claim, &events[0]);
                command = next_command(&claim, at);
                steps += 1;
                assert!(steps < 100, "{claim:?}");
            }
            assert!(finished(&claim) && claim.status().is_some(), "{claim:?}");
        }
    }

    #[test]
    fn generated_claims_are_valid_commands() {
        for _ in 0..200 {
            let ClaimCommand::SubmitClaim { amount, .. } = new_claim(Clock::system().now()) else {
                panic!("a submission")
            };
            assert!(amount.cents() >= CENTS * 50 && amount.cents() < CENTS * 25_000);
        }
    }
}
