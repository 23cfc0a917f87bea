//! Carrying out claim commands: read the claim, let the aggregate decide, append with the
//! version check. The HTTP API and the workers both come through here.

use rand::distr::{Alphanumeric, SampleString};
use shared::api::ClaimView;
use shared::{Claim, ClaimCommand, ClaimId, DomainError};

use crate::store::claims::IdempotencyMark;
use crate::store::claims::{self, Appended};
use crate::store::db::{Db, DbError};
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

/// Decides with the aggregate, then appends if the claim is still where it was read.
pub async fn execute(
    db: &Db,
    trace: &mut Trace,
    before: &Claim,
    command: &ClaimCommand,
    expected_version: Option<u64>,
    mark: Option<&IdempotencyMark>,
) -> Result<Executed, CommandError> {
    if let Some(expected) = expected_version.filter(|v| *v != before.version) {
        return Err(CommandError::VersionConflict(format!(
            "the claim is at version {}, not {expected}; reload it and try again",
            before.version
        )));
    }
    let events = shared::handle(before, command)?;
    let [event] = events.as_slice() else {
        return Err(anyhow::anyhow!(
            "a command produced {} events; appends take one",
            events.len()
        )
        .into());
    };
    let mut after = before.clone();
    shared::apply(&mut after, event);
    let mut appended = claims::append(db, trace, before, event, mark).await?;
    if let Appended::IndexBehind = appended {
        // Other programs appended more than one script run indexes: index them all, then
        // check the version again (the claim may be among them).
        claims::catch_up(db, db.partition_of(event.claim_id.as_str())).await?;
        appended = claims::append(db, trace, before, event, mark).await?;
    }
    match appended {
        Appended::Ok { entry_id } => {
            if db.snapshot_every.due(after.version) {
                claims::save_snapshot(db, trace, event.claim_id.as_str(), &after, &entry_id)
                    .await?;
            }
            Ok(Executed {
                claim_id: event.claim_id.to_string(),
                entry_id,
                claim: ClaimView::of(&after).expect("the claim exists after an event"),
                state: after,
            })
        }
        Appended::Conflict { version } => Err(CommandError::VersionConflict(format!(
            "the claim changed while this request ran (now version {version}); reload it and try again"
        ))),
        Appended::IndexBehind => Err(CommandError::VersionConflict(
            "other programs are appending faster than the relay indexes them; try again".into(),
        )),
    }
}

/// Loads an existing claim and executes `command` on it.
///
/// A claim other programs appended to since the relay last indexed it reads short, and the
/// append script, which indexes them first, then finds it grown: that conflict is the index's,
/// not the caller's. So a conflict is answered by indexing the claim's partition and reading
/// and deciding once more; a caller's `expected_version` is checked again against the claim
/// read then, so a real conflict is still refused.
pub async fn transition(
    db: &Db,
    trace: &mut Trace,
    claim_id: &ClaimId,
    expected_version: Option<u64>,
    mark: Option<&IdempotencyMark>,
    command: &ClaimCommand,
) -> Result<Executed, CommandError> {
    match load_and_execute(db, trace, claim_id, expected_version, mark, command).await {
        Err(CommandError::VersionConflict(_)) => {
            claims::catch_up(db, db.partition_of(claim_id.as_str())).await?;
            load_and_execute(db, trace, claim_id, expected_version, mark, command).await
        }
        done => done,
    }
}

async fn load_and_execute(
    db: &Db,
    trace: &mut Trace,
    claim_id: &ClaimId,
    expected_version: Option<u64>,
    mark: Option<&IdempotencyMark>,
    command: &ClaimCommand,
) -> Result<Executed, CommandError> {
    let loaded = claims::load(db, trace, claim_id.as_str()).await?;
    if loaded.claim.details.is_none() {
        return Err(CommandError::NotFound(claim_id.clone()));
    }
    execute(db, trace, &loaded.claim, command, expected_version, mark).await
}
