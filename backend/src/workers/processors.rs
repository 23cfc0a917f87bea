//! `claims-processors`: auto-review. A submitted claim is moved to `under_review`, and approved
//! too when its amount is at most the threshold; larger claims wait for a person.

use shared::api::StreamEntry;
use shared::{Amount, ClaimCommand, ClaimId, ClaimStatus, EventPayload};

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
        // review, then approve: at most two steps, plus retries when a person acts meanwhile.
        for _ in 0..4 {
            match self.next_step(db, &event.claim_id).await {
                Ok(true) => continue,
                Ok(false) => return Ok(()),
                Err(CommandError::VersionConflict(_) | CommandError::Domain(_)) => continue,
                Err(e) => return Err(e.to_string()),
            }
        }
        Ok(())
    }
}

impl AutoReview {
    /// Takes the next step for the claim; false when there is none left.
    async fn next_step(&self, db: &Db, claim_id: &ClaimId) -> Result<bool, CommandError> {
        let mut trace = Trace::default();
        let loaded = claim_store::load(db, &mut trace, claim_id.as_str()).await?;
        let Some(details) = &loaded.claim.details else {
            // An event for a claim the index does not know (e.g. added by hand): nothing to do.
            return Ok(false);
        };
        let command = match details.status {
            ClaimStatus::Submitted => ClaimCommand::ReviewClaim {
                at: commands::now(),
            },
            ClaimStatus::UnderReview if details.amount <= self.approve_up_to => {
                ClaimCommand::ApproveClaim {
                    at: commands::now(),
                }
            }
            _ => return Ok(false),
        };
        commands::execute(db, &mut trace, &loaded.claim, &command, None).await?;
        Ok(true)
    }
}
