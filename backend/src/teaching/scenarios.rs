//! Guided failure scenarios for a live demo, one request each: the relay sets the failure up
//! with its own controls and narrates, line by line, what it did and what to watch, waiting
//! for each effect to show in Redis before it says so. One runs at a time, for a minute at
//! most; they add no key of their own.

use std::future::Future;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use shared::api::{CommandBy, NarrationLine, ScenarioInfo, ScenarioRun, ScenariosResponse};
use shared::{Claim, ClaimCommand};

use crate::events::commands::{self, Cause};
use crate::store::claims::Claims;
use crate::store::clock::Clock;
use crate::store::db::{Db, DbError};
use crate::store::group_state;
use crate::store::groups;
use crate::store::keys;
use crate::store::streams;
use crate::store::trace::Trace;
use crate::workers::handler::Injection;
use crate::workers::{Workers, stats};

/// (id, title, summary) of each scenario.
const CATALOGUE: [(&str, &str, &str); 4] = [
    (
        "crash-consumer",
        "Crash a consumer",
        "a notifier crashes holding pending entries; they wait, then another consumer takes them with XAUTOCLAIM",
    ),
    (
        "poison-message",
        "Poison message",
        "one claim's entries fail every time: retries with backoff, then a dead letter, and the group goes on",
    ),
    (
        "stop-group",
        "Stop a group",
        "claims-analytics stops reading: its lag grows while claims arrive, then drains when it resumes",
    ),
    (
        "redis-unavailable",
        "Redis unavailable",
        "the relay's own redis-server stops: the API answers 503, then everything recovers by itself",
    ),
];

/// Longest a scenario may take.
const LIMIT: Duration = Duration::from_secs(60);

/// What a scenario acts on: the relay's Redis and its consumer groups.
#[derive(Clone)]
pub struct Stage {
    pub db: Db,
    /// The claims, loaded and appended to as the API does.
    pub claims: Claims,
    pub clock: Clock,
    /// The consumer groups, once started (never, with `--workers false`).
    pub workers: Arc<OnceLock<Arc<Workers>>>,
    /// Whether the relay runs its own redis-server, which only then may a scenario stop.
    pub own_redis: bool,
}

#[derive(Clone, Default)]
pub struct Scenarios {
    run: Arc<Mutex<Option<Narration>>>,
}

/// The narration of the scenario running or last run.
struct Narration {
    started: Instant,
    run: ScenarioRun,
}

#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error(
        "no scenario {0}; they are crash-consumer, poison-message, stop-group, redis-unavailable"
    )]
    Unknown(String),
    #[error("scenario {0} is still running; wait for it to finish")]
    Busy(String),
    #[error("{0}")]
    Unavailable(String),
}

impl Scenarios {
    pub fn catalogue(&self) -> ScenariosResponse {
        ScenariosResponse {
            scenarios: CATALOGUE
                .iter()
                .map(|(id, title, summary)| ScenarioInfo {
                    id: (*id).to_owned(),
                    title: (*title).to_owned(),
                    summary: (*summary).to_owned(),
                })
                .collect(),
            run: self.lock().as_ref().map(|n| n.run.clone()),
        }
    }

    /// Starts a scenario in the background; its narration is in [`Scenarios::catalogue`].
    pub fn start(&self, stage: &Stage, id: &str) -> Result<ScenarioRun, ScenarioError> {
        if !CATALOGUE.iter().any(|(known, _, _)| *known == id) {
            return Err(ScenarioError::Unknown(id.to_owned()));
        }
        if stage.workers.get().is_none() && id != "redis-unavailable" {
            return Err(ScenarioError::Unavailable(
                "the consumer groups are not running in this relay (--workers false)".into(),
            ));
        }
        if id == "redis-unavailable" && !stage.own_redis {
            return Err(ScenarioError::Unavailable(
                "only with the relay's own Redis (no REDIS_URL): stopping a shared Redis would \
                 stop every other program using it"
                    .into(),
            ));
        }
        let mut run = self.lock();
        if let Some(n) = run.as_ref().filter(|n| !n.run.finished) {
            return Err(ScenarioError::Busy(n.run.id.clone()));
        }
        let narration = Narration {
            started: Instant::now(),
            run: ScenarioRun {
                id: id.to_owned(),
                started_at: stage.clock.now().to_string(),
                finished: false,
                failed: None,
                lines: Vec::new(),
            },
        };
        let started = narration.run.clone();
        *run = Some(narration);
        drop(run);
        let (stage, scenarios, id) = (stage.clone(), self.clone(), id.to_owned());
        tokio::spawn(async move {
            let say = Say(scenarios.clone());
            let outcome = tokio::time::timeout(LIMIT, play(&stage, &id, &say)).await;
            let failed = match outcome {
                Ok(Ok(())) => None,
                Ok(Err(why)) => Some(why),
                Err(_) => Some(format!("it took longer than {} s", LIMIT.as_secs())),
            };
            // Whatever happened, leave the groups as they were.
            let _ = undo(&stage, &id).await;
            if let Some(n) = scenarios.lock().as_mut() {
                n.run.failed = failed;
                n.run.finished = true;
            }
        });
        Ok(started)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Narration>> {
        self.run.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Adds a line to the narration.
struct Say(Scenarios);

impl Say {
    fn line(&self, text: impl Into<String>) {
        if let Some(n) = self.0.lock().as_mut() {
            n.run.lines.push(NarrationLine {
                at_ms: n.started.elapsed().as_millis() as u64,
                text: text.into(),
            });
        }
    }
}

type Step = Result<(), String>;

async fn play(stage: &Stage, id: &str, say: &Say) -> Step {
    match id {
        "crash-consumer" => crash_consumer(stage, say).await,
        "poison-message" => poison_message(stage, say).await,
        "stop-group" => stop_group(stage, say).await,
        _ => redis_unavailable(stage, say).await,
    }
}

/// Clears what a scenario set, so an early end leaves no failure behind.
async fn undo(stage: &Stage, id: &str) -> Result<(), DbError> {
    match id {
        "crash-consumer" | "poison-message" => {
            inject(stage, keys::NOTIFICATIONS_GROUP, Injection::default()).await
        }
        "stop-group" => pause(stage, keys::ANALYTICS_GROUP, false).await,
        _ => Ok(()),
    }
}

async fn crash_consumer(stage: &Stage, say: &Say) -> Step {
    let group = keys::NOTIFICATIONS_GROUP;
    let workers = stage
        .workers
        .get()
        .cloned()
        .ok_or("no consumer groups here")?;
    inject(
        stage,
        group,
        Injection {
            poison_claim: None,
            fail_ratio: 1.0,
        },
    )
    .await
    .map_err(text)?;
    say.line(format!(
        "Every notification fails for now, so what {group} reads stays pending: delivered, not acknowledged."
    ));
    submit(stage, 3).await?;
    say.line("Submitted 3 claims.");
    let (holder, held) = wait(Duration::from_secs(20), "an entry pending", || async {
        let by = pending_by_consumer(&stage.db, group).await?;
        Ok(by
            .into_iter()
            .max_by_key(|(_, n)| *n)
            .filter(|(_, n)| *n >= 1))
    })
    .await?;
    say.line(format!("{holder} holds {held} pending (XPENDING)."));
    if workers.running(group).len() < 2 {
        let added = workers.add_consumer(group).map_err(text)?;
        say.line(format!("Started {added}, so someone is left to take over."));
    }
    workers.crash(group, &holder).map_err(text)?;
    inject(stage, group, Injection::default())
        .await
        .map_err(text)?;
    say.line(format!(
        "Crashed {holder} without XACK. Its {held} entries wait under its name: no other consumer \
         is given them until they have been idle long enough (--claim-idle-ms). Failures are off again."
    ));
    let started = Instant::now();
    wait(
        Duration::from_secs(45),
        "the entries to be taken over",
        || async {
            let by = pending_by_consumer(&stage.db, group).await?;
            Ok((!by.iter().any(|(c, n)| *c == holder && *n > 0)).then_some(()))
        },
    )
    .await?;
    say.line(format!(
        "After {:.0} s another consumer took them with XAUTOCLAIM and acknowledged them: nothing was lost.",
        started.elapsed().as_secs_f64()
    ));
    Ok(())
}

async fn poison_message(stage: &Stage, say: &Say) -> Step {
    let group = keys::NOTIFICATIONS_GROUP;
    let command = crate::teaching::traffic::new_claim(stage.clock.now());
    let ClaimCommand::SubmitClaim { claim_id, .. } = &command else {
        unreachable!("new_claim submits")
    };
    let claim = claim_id.to_string();
    inject(
        stage,
        group,
        Injection {
            poison_claim: Some(claim.clone()),
            fail_ratio: 0.0,
        },
    )
    .await
    .map_err(text)?;
    submit_one(&stage.claims, &command).await?;
    say.line(format!(
        "Submitted claim {claim}, whose entries {group} fails on every delivery: watch its \
         delivery count rise with each retry, spaced by a growing backoff."
    ));
    let failed = stage.db.partition_of(&claim).failed();
    let letter = wait(Duration::from_secs(50), "a dead letter", || async {
        let newest = streams::range(
            &stage.db,
            &mut Trace::off(),
            std::slice::from_ref(&failed),
            streams::Range {
                start: "-",
                end: "+",
                count: 20,
                rev: true,
            },
        )
        .await?;
        Ok(newest.into_iter().flatten().find_map(|(id, fields)| {
            let about = fields.iter().any(|(_, v)| v.contains(&claim));
            about.then_some(id)
        }))
    })
    .await?;
    inject(stage, group, Injection::default())
        .await
        .map_err(text)?;
    say.line(format!(
        "Out of retries, the entry went to {failed} as letter {letter}, with its reason; the \
         group went on with the rest. The poison is gone now: replay the letter from the dead \
         letters."
    ));
    Ok(())
}

async fn stop_group(stage: &Stage, say: &Say) -> Step {
    let group = keys::ANALYTICS_GROUP;
    pause(stage, group, true).await.map_err(text)?;
    say.line(format!(
        "Paused {group}: its consumers stop reading, and new entries wait in the stream."
    ));
    let before = lag(&stage.db, group).await.map_err(text)?.unwrap_or(0);
    submit(stage, 10).await?;
    let grown = wait(Duration::from_secs(15), "the lag to grow", || async {
        Ok(lag(&stage.db, group).await?.filter(|l| *l >= before + 10))
    })
    .await?;
    say.line(format!(
        "Submitted 10 claims: the lag is {grown}, entries {group} has not read yet (XINFO GROUPS)."
    ));
    // Long enough for the audience to see the lag on the dashboard.
    tokio::time::sleep(Duration::from_secs(3)).await;
    pause(stage, group, false).await.map_err(text)?;
    let resumed = Instant::now();
    say.line(format!("Resumed {group}: watch the lag drain."));
    wait(Duration::from_secs(30), "the lag to drain", || async {
        Ok(lag(&stage.db, group).await?.filter(|l| *l == 0))
    })
    .await?;
    say.line(format!(
        "Drained in {:.1} s: {group} caught up, in order, with nothing skipped.",
        resumed.elapsed().as_secs_f64()
    ));
    Ok(())
}

async fn redis_unavailable(stage: &Stage, say: &Say) -> Step {
    let length = |db: &Db| {
        let db = db.clone();
        async move { crate::events::feed::length(&db, &mut Trace::off()).await }
    };
    let before = length(&stage.db).await.map_err(text)?;
    say.line(format!(
        "Stopping the relay's redis-server ({} holds {before} entries). Until it is back the \
         API answers 503 and the live feed says Redis is unavailable.",
        keys::EVENTS
    ));
    // SHUTDOWN writes the append-only file out, then the connection drops.
    let _ = stage.db.shutdown_server().await;
    let stopped = Instant::now();
    wait(Duration::from_secs(10), "Redis to stop", || async {
        Ok(stage
            .db
            .ping(&mut Trace::off())
            .await
            .is_err()
            .then_some(()))
    })
    .await?;
    say.line("Redis is down: requests now get 503 with the reason.");
    let after = wait(Duration::from_secs(40), "Redis to be back", || async {
        Ok(length(&stage.db).await.ok())
    })
    .await?;
    say.line(format!(
        "Redis is back after {:.1} s: the relay restarted its own redis-server from its \
         append-only file and reconnected by itself. {} holds {after} entries, as before.",
        stopped.elapsed().as_secs_f64(),
        keys::EVENTS
    ));
    Ok(())
}

/// Polls `check` every 100 ms until it gives a value; Redis errors count as not yet.
async fn wait<T, F, Fut>(limit: Duration, what: &str, mut check: F) -> Result<T, String>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>, DbError>>,
{
    let deadline = Instant::now() + limit;
    loop {
        if let Ok(Some(found)) = check().await {
            return Ok(found);
        }
        if Instant::now() >= deadline {
            return Err(format!("waited {} s for {what}, in vain", limit.as_secs()));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn text(e: impl std::fmt::Display) -> String {
    e.to_string()
}

async fn submit(stage: &Stage, n: usize) -> Step {
    for _ in 0..n {
        let command = crate::teaching::traffic::new_claim(stage.clock.now());
        submit_one(&stage.claims, &command).await?;
    }
    Ok(())
}

/// Submits a new claim through the commands, as the API does.
async fn submit_one(claims: &Claims, command: &ClaimCommand) -> Step {
    commands::execute(
        claims,
        &mut Trace::off(),
        &Claim::default(),
        command,
        Cause {
            id: &commands::request_id(CommandBy::Scenario),
            by: CommandBy::Scenario,
        },
        None,
        None,
    )
    .await
    .map(drop)
    .map_err(text)
}

/// Sets a group's injected failures for every process, this relay's consumers at once.
async fn inject(stage: &Stage, group: &str, injection: Injection) -> Result<(), DbError> {
    group_state::set_injection(&stage.db, &mut Trace::off(), group, &injection).await?;
    if let Some(g) = stage.workers.get().and_then(|w| w.group(group).ok()) {
        *g.injection.write().await = injection;
    }
    Ok(())
}

/// Pauses or resumes a group for every process, this relay's consumers at once. A pause
/// returns once this relay's consumers have parked, so none is still reading.
async fn pause(stage: &Stage, group: &str, paused: bool) -> Result<(), DbError> {
    let epoch = group_state::set_paused(&stage.db, &mut Trace::off(), group, paused).await?;
    let workers = stage.workers.get().cloned();
    if let Some(g) = workers.as_ref().and_then(|w| w.group(group).ok()) {
        g.controls.set_paused(paused);
    }
    let Some(workers) = workers.filter(|_| paused) else {
        return Ok(());
    };
    let running = workers.running(group);
    let _ = wait(Duration::from_secs(10), "the consumers to park", || async {
        let parked = group_state::parked_since(&stage.db, group, epoch).await?;
        Ok(running.iter().all(|c| parked.contains(c)).then_some(()))
    })
    .await;
    Ok(())
}

/// (consumer, pending entries) of a group over every partition, from the XPENDING summary.
async fn pending_by_consumer(db: &Db, group: &str) -> Result<Vec<(String, u64)>, DbError> {
    let mut all: Vec<(String, u64)> = Vec::new();
    for partition in db.partitions.all() {
        let summary =
            groups::pending_summary(db, &mut Trace::off(), &partition.events(), group).await?;
        for (name, n) in summary.consumers {
            match all.iter_mut().find(|(c, _)| *c == name) {
                Some((_, sum)) => *sum += n,
                None => all.push((name, n)),
            }
        }
    }
    Ok(all)
}

/// A group's lag over every partition (unknown if unknown in one).
async fn lag(db: &Db, group: &str) -> Result<Option<u64>, DbError> {
    Ok(stats::lags(db)
        .await?
        .into_iter()
        .find(|(name, _)| name == group)
        .and_then(|(_, lag)| lag))
}
