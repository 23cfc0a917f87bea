//! Carrying out claim commands: read the claim, let the aggregate decide, append with the
//! version check. The HTTP API and the workers both come through here.

use rand::distr::{Alphanumeric, SampleString};
use shared::api::{ClaimView, CommandBy, CommandOutcome, LoggedCommand};
use shared::{Claim, ClaimCommand, ClaimEvent, ClaimId, DomainError};

use crate::store;
use crate::store::claims::{Appended, Claims, IdempotencyMark};
use crate::store::db::DbError;
use crate::store::trace::Trace;

/// What an executed command appended and left behind.
pub struct Executed {
    pub claim_id: String,
    pub entry_id: String,
    pub claim: ClaimView,
    /// The claim after the command, to go on from without reading it again.
    pub state: Claim,
}

#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error(transparent)]
    Domain(#[from] DomainError),
    #[error("claim {0} does not exist")]
    NotFound(ClaimId),
    /// The claim is not at the version the caller expected, or changed during the command.
    #[error("{0}")]
    VersionConflict(String),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// `PREFIX-` and 10 random letters or digits: short enough to read out in class.
pub fn generate(prefix: &str) -> String {
    let suffix = Alphanumeric
        .sample_string(&mut rand::rng(), 10)
        .to_uppercase();
    format!("{prefix}-{suffix}")
}

/// What a command is carried out for, and who asked: the entry it appends names `id` as its
/// `causation_id` (`shared::causes`), and the command log names both.
#[derive(Debug, Clone, Copy)]
pub struct Cause<'a> {
    pub id: &'a str,
    pub by: CommandBy,
}

impl<'a> Cause<'a> {
    /// A group's reaction to the entry `entry_id`.
    pub fn entry(entry_id: &'a str) -> Self {
        Self {
            id: entry_id,
            by: CommandBy::Worker,
        }
    }
}

/// A new id for one request from `by` (`req-`, a person's through the API; `traffic-`;
/// `scenario-`), made once per request: every entry it appends names it.
pub fn request_id(by: CommandBy) -> String {
    generate(match by {
        CommandBy::Traffic => "traffic",
        CommandBy::Scenario => "scenario",
        CommandBy::Learner | CommandBy::Instructor | CommandBy::Worker => "req",
    })
}

/// Decides with the aggregate, then appends if the claim is still where it was read; logs
/// what came of it in `claims:commands`.
pub async fn execute(
    claims: &Claims,
    trace: &mut Trace,
    before: &Claim,
    command: &ClaimCommand,
    cause: Cause<'_>,
    expected_version: Option<u64>,
    mark: Option<&IdempotencyMark>,
) -> Result<Executed, CommandError> {
    let result = decide(
        claims,
        trace,
        before,
        command,
        cause,
        expected_version,
        mark,
    )
    .await;
    let claim_id = match command {
        ClaimCommand::SubmitClaim { claim_id, .. } => Some(claim_id),
        _ => before.details.as_ref().map(|d| &d.claim_id),
    };
    let claim_id = claim_id.map(ClaimId::as_str).unwrap_or_default();
    log(claims, trace, &[logged(claim_id, command, cause, &result)]).await;
    result
}

async fn decide(
    claims: &Claims,
    trace: &mut Trace,
    before: &Claim,
    command: &ClaimCommand,
    cause: Cause<'_>,
    expected_version: Option<u64>,
    mark: Option<&IdempotencyMark>,
) -> Result<Executed, CommandError> {
    if let Some(expected) = expected_version.filter(|v| *v != before.version) {
        return Err(CommandError::VersionConflict(format!(
            "the claim is at version {}, not {expected}; reload it and try again",
            before.version
        )));
    }
    let db = claims.db();
    let event = one_event(shared::handle(before, command)?)?;
    let mut appended = store::claims::append(db, trace, before, &event, cause.id, mark).await?;
    if let Appended::IndexBehind = appended {
        // Other programs appended more than one script run indexes: index them all, then
        // check the version again (the claim may be among them).
        store::claims::catch_up(db, db.partition_of(event.claim_id.as_str())).await?;
        appended = store::claims::append(db, trace, before, &event, cause.id, mark).await?;
    }
    match appended {
        Appended::Ok { entry_id } => Ok(executed(claims, trace, before, &event, entry_id).await?),
        Appended::Conflict { version } => Err(conflict(version)),
        Appended::IndexBehind => Err(index_behind()),
    }
}

/// Decides a command for each of several claims, each with its cause, then appends what was
/// decided in one round trip (the same version-checked script, once per claim, so one claim's conflict does not
/// hold up the others). Each answer is the claim's own: executed, refused by the aggregate, or
/// in conflict; only Redis failing fails them all. Nothing is retried here.
pub async fn execute_many(
    claims: &Claims,
    commands: &[(&Claim, &ClaimCommand, Cause<'_>)],
) -> Result<Vec<Result<Executed, CommandError>>, DbError> {
    let decided: Vec<Result<ClaimEvent, CommandError>> = commands
        .iter()
        .map(|(before, command, _)| one_event(shared::handle(before, command)?))
        .collect();
    let appends: Vec<(&Claim, &ClaimEvent, &str)> = commands
        .iter()
        .zip(&decided)
        .filter_map(|((before, _, cause), event)| Some((*before, event.as_ref().ok()?, cause.id)))
        .collect();
    let mut appended = store::claims::append_many(claims.db(), &appends)
        .await?
        .into_iter();
    let mut results = Vec::with_capacity(commands.len());
    for ((before, _, _), event) in commands.iter().zip(decided) {
        let event = match event {
            Ok(event) => event,
            Err(e) => {
                results.push(Err(e));
                continue;
            }
        };
        let appended = appended.next().expect("one answer per append");
        results.push(match appended {
            Appended::Ok { entry_id } => {
                Ok(executed(claims, &mut Trace::off(), before, &event, entry_id).await?)
            }
            Appended::Conflict { version } => Err(conflict(version)),
            Appended::IndexBehind => Err(index_behind()),
        });
    }
    let entries: Vec<LoggedCommand> = commands
        .iter()
        .zip(&results)
        .map(|((before, command, cause), result)| {
            let claim_id = before.details.as_ref().map_or("", |d| d.claim_id.as_str());
            logged(claim_id, command, *cause, result)
        })
        .collect();
    log(claims, &mut Trace::off(), &entries).await;
    Ok(results)
}

/// What the log says of a command for `claim_id` that came to `result`.
fn logged(
    claim_id: &str,
    command: &ClaimCommand,
    cause: Cause<'_>,
    result: &Result<Executed, CommandError>,
) -> LoggedCommand {
    let (outcome, reason, entry_id) = match result {
        Ok(executed) => (
            CommandOutcome::Applied,
            None,
            Some(executed.entry_id.clone()),
        ),
        Err(CommandError::Domain(e)) => (CommandOutcome::Refused, Some(e.to_string()), None),
        Err(CommandError::NotFound(_)) => (CommandOutcome::NotFound, None, None),
        Err(e @ CommandError::VersionConflict(_)) => {
            (CommandOutcome::Conflict, Some(e.to_string()), None)
        }
        Err(e @ (CommandError::Db(_) | CommandError::Internal(_))) => {
            (CommandOutcome::Failed, Some(e.to_string()), None)
        }
    };
    LoggedCommand {
        id: String::new(),
        command: name(command).to_owned(),
        by: cause.by,
        claim_id: claim_id.to_owned(),
        outcome,
        reason,
        entry_id,
        causation_id: cause.id.to_owned(),
    }
}

fn name(command: &ClaimCommand) -> &'static str {
    match command {
        ClaimCommand::SubmitClaim { .. } => "submit",
        ClaimCommand::ReviewClaim { .. } => "review",
        ClaimCommand::ApproveClaim { .. } => "approve",
        ClaimCommand::RejectClaim { .. } => "reject",
        ClaimCommand::PayClaim { .. } => "pay",
        ClaimCommand::AddNote { .. } => "add_note",
    }
}

/// Logs what came of commands. The commands are done whatever the log says: a log that could
/// not be written is a warning, not their failure.
async fn log(claims: &Claims, trace: &mut Trace, entries: &[LoggedCommand]) {
    if let Err(e) = claims
        .command_log()
        .record(claims.db(), trace, entries)
        .await
    {
        tracing::warn!(error = %e, commands = entries.len(), "commands not logged");
    }
}

/// The one event a command produced: an append takes one.
fn one_event(events: Vec<ClaimEvent>) -> Result<ClaimEvent, CommandError> {
    let count = events.len();
    let mut events = events.into_iter();
    match (events.next(), events.next()) {
        (Some(event), None) => Ok(event),
        _ => Err(anyhow::anyhow!("a command produced {count} events; appends take one").into()),
    }
}

/// The claim after `event` was appended as `entry_id`, its snapshot written when one is due.
async fn executed(
    claims: &Claims,
    trace: &mut Trace,
    before: &Claim,
    event: &ClaimEvent,
    entry_id: String,
) -> Result<Executed, DbError> {
    let mut after = before.clone();
    shared::apply(&mut after, event);
    if claims.snapshot_every().due(after.version) {
        store::claims::save_snapshot(
            claims.db(),
            trace,
            event.claim_id.as_str(),
            &after,
            &entry_id,
        )
        .await?;
    }
    Ok(Executed {
        claim_id: event.claim_id.to_string(),
        entry_id,
        claim: ClaimView::of(&after).expect("the claim exists after an event"),
        state: after,
    })
}

fn conflict(version: u64) -> CommandError {
    CommandError::VersionConflict(format!(
        "the claim changed while this request ran (now version {version}); reload it and try again"
    ))
}

fn index_behind() -> CommandError {
    CommandError::VersionConflict(
        "other programs are appending faster than the relay indexes them; try again".into(),
    )
}

/// Loads an existing claim and executes `command` on it.
///
/// A claim other programs appended to since the relay last indexed it reads short, and the
/// append script, which indexes them first, then finds it grown: that conflict is the index's,
/// not the caller's. So a conflict is answered by indexing the claim's partition and reading
/// and deciding once more; a caller's `expected_version` is checked again against the claim
/// read then, so a real conflict is still refused.
pub async fn transition(
    claims: &Claims,
    trace: &mut Trace,
    claim_id: &ClaimId,
    command: &ClaimCommand,
    cause: Cause<'_>,
    expected_version: Option<u64>,
    mark: Option<&IdempotencyMark>,
) -> Result<Executed, CommandError> {
    let attempt = async |trace: &mut Trace| {
        load_and_execute(
            claims,
            trace,
            claim_id,
            command,
            cause,
            expected_version,
            mark,
        )
        .await
    };
    let result = match attempt(trace).await {
        Err(CommandError::VersionConflict(_)) => {
            let db = claims.db();
            match store::claims::catch_up(db, db.partition_of(claim_id.as_str())).await {
                Ok(_) => attempt(trace).await,
                Err(e) => Err(e.into()),
            }
        }
        done => done,
    };
    let logged = logged(claim_id.as_str(), command, cause, &result);
    log(claims, trace, &[logged]).await;
    result
}

async fn load_and_execute(
    claims: &Claims,
    trace: &mut Trace,
    claim_id: &ClaimId,
    command: &ClaimCommand,
    cause: Cause<'_>,
    expected_version: Option<u64>,
    mark: Option<&IdempotencyMark>,
) -> Result<Executed, CommandError> {
    let loaded = store::claims::load(claims, trace, claim_id.as_str()).await?;
    if loaded.claim.details.is_none() {
        return Err(CommandError::NotFound(claim_id.clone()));
    }
    decide(
        claims,
        trace,
        &loaded.claim,
        command,
        cause,
        expected_version,
        mark,
    )
    .await
}
