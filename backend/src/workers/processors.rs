//! `claims-processors`: auto-review. A submitted claim is moved to `under_review`, and approved
//! too when its amount is at most the threshold; larger claims wait for a person.

use shared::api::StreamEntry;
use shared::{Amount, Claim, ClaimCommand, ClaimId, ClaimStatus, EventPayload};

use super::Handler;
use crate::claim_store;
use crate::commands::{self, CommandError};
use crate::db::Db;
use crate::redis_cli::Trace;

pub struct AutoReview {
    pub approve_up_to: Amount,
}

impl Handler for AutoReview {
    /// Idempotent by construction: it looks at the claim's current status and only takes the
    /// steps still missing, so a redelivered entry changes nothing.
    async fn handle(&self, db: &Db, entry: &StreamEntry) -> Result<(), String> {
        let Some(event) = &entry.event else {
            return Ok(());
        };
        let EventPayload::ClaimSubmitted { .. } = event.payload else {
            return Ok(());
        };
        // Review, then approve: at most two steps. A conflict means a person acted
        // meanwhile: read the claim again and see what is left.
        for _ in 0..4 {
            match self.finish(db, &event.claim_id).await {
                Ok(()) => return Ok(()),
                Err(CommandError::VersionConflict(_) | CommandError::Domain(_)) => continue,
                Err(e) => return Err(e.to_string()),
            }
        }
        Ok(())
    }
}

impl AutoReview {
    /// Takes the steps still missing for the claim, going on from each append's result.
    async fn finish(&self, db: &Db, claim_id: &ClaimId) -> Result<(), CommandError> {
        let mut trace = Trace::off();
        let mut claim = claim_store::load(db, &mut trace, claim_id.as_str())
            .await?
            .claim;
        while let Some(command) = self.next_command(&claim) {
            claim = commands::execute(db, &mut trace, &claim, &command, None)
                .await?
                .state;
        }
        Ok(())
    }

    fn next_command(&self, claim: &Claim) -> Option<ClaimCommand> {
        // An event for a claim the index does not know (e.g. added by hand): nothing to do.
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
