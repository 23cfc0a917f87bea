//! `claims-processors`: auto-review. A submitted claim is moved to `under_review`, and approved
//! too when its amount is at most the threshold; larger claims wait for a person.

use shared::api::StreamEntry;
use shared::{Amount, Claim, ClaimCommand, ClaimId, ClaimStatus, EventPayload};

use super::{Handled, Handler, HandlerError};
use crate::claim_store;
use crate::commands::{self, CommandError};
use crate::db::Db;
use crate::redis_cli::Trace;

/// Attempts at one entry within one delivery, each after a version conflict.
const ATTEMPTS: usize = 4;

pub struct AutoReview {
    pub approve_up_to: Amount,
}

impl Handler for AutoReview {
    /// Idempotent by construction: it looks at the claim's current status and only takes the
    /// steps still missing, so a redelivered entry changes nothing.
    async fn handle(&self, db: &Db, entry: &StreamEntry) -> Result<Handled, HandlerError> {
        let Some(event) = &entry.event else {
            return Ok(Handled::Applied);
        };
        let EventPayload::ClaimSubmitted { .. } = event.payload else {
            return Ok(Handled::Applied);
        };
        // Review, then approve: at most two steps. A conflict means a person acted
        // meanwhile: read the claim again and see what is left.
        for _ in 0..ATTEMPTS {
            match self.finish(db, &event.claim_id).await {
                Ok(handled) => return Ok(handled),
                Err(CommandError::VersionConflict(_) | CommandError::Domain(_)) => continue,
                Err(CommandError::Db(e)) => return Err(HandlerError::Dependency(e.to_string())),
                Err(e) => return Err(HandlerError::Entry(e.to_string())),
            }
        }
        // Not done: never acknowledged as if it were. Retried later, dead-lettered at last.
        Err(HandlerError::Entry(format!(
            "claim {} changed under {ATTEMPTS} attempts in a row",
            event.claim_id
        )))
    }
}

impl AutoReview {
    /// Takes the steps still missing for the claim, going on from each append's result.
    async fn finish(&self, db: &Db, claim_id: &ClaimId) -> Result<Handled, CommandError> {
        let mut trace = Trace::off();
        let mut claim = claim_store::load(db, &mut trace, claim_id.as_str())
            .await?
            .claim;
        if claim.details.is_none() {
            // Appended by another program and not indexed yet: index, then look again.
            claim_store::catch_up(db).await?;
            claim = claim_store::load(db, &mut trace, claim_id.as_str())
                .await?
                .claim;
        }
        if claim.details.is_none() {
            // Its index is gone (removed by hand): no command can ever apply to it.
            return Ok(Handled::Refused(format!(
                "claim {claim_id} is not in the claim index"
            )));
        }
        while let Some(command) = self.next_command(&claim) {
            claim = commands::execute(db, &mut trace, &claim, &command, None, None)
                .await?
                .state;
        }
        Ok(Handled::Applied)
    }

    fn next_command(&self, claim: &Claim) -> Option<ClaimCommand> {
        let details = claim.details.as_ref()?;
        let at = commands::now();
        match details.status {
            ClaimStatus::Submitted => Some(ClaimCommand::ReviewClaim { at }),
            ClaimStatus::UnderReview if details.amount <= self.approve_up_to => {
                Some(ClaimCommand::ApproveClaim { at })
            }
            _ => None,
        }
    }
}
