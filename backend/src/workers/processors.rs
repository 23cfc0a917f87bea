//! `claims-processors`: auto-review. A submitted claim is moved to `under_review`, and approved
//! too when its amount is at most the threshold; larger claims wait for a person.
//!
//! A batch is worked on together: its claims are loaded in one go (`load_many`), and each
//! step (review, then approve) is decided and appended for all of them in one round trip
//! (`commands::execute_many`). A claim that conflicts there (a person acted meanwhile) or is not in the
//! index yet goes the one-by-one way, which reads it again.

use std::collections::{HashMap, HashSet};

use shared::api::StreamEntry;
use shared::{Amount, Claim, ClaimCommand, ClaimId, ClaimStatus, EventPayload};

use super::{Handled, Handler, HandlerError};
use crate::events::commands::{self, Cause, CommandError};
use crate::store::claims::{self, Claims};
use crate::store::clock::Clock;
use crate::store::db::Db;
use crate::store::trace::Trace;

/// Attempts at one entry within one delivery, each after a version conflict.
const ATTEMPTS: usize = 4;

pub struct AutoReview {
    /// The claims it loads and moves on.
    pub claims: Claims,
    pub approve_up_to: Amount,
    /// Stamps the reviews and approvals.
    pub clock: Clock,
}

/// The claim a `claim_submitted` entry submits.
fn submitted(entry: &StreamEntry) -> Option<&str> {
    entry
        .event
        .as_ref()
        .filter(|e| matches!(e.payload, EventPayload::ClaimSubmitted { .. }))
        .map(|e| e.claim_id.as_str())
}

impl Handler for AutoReview {
    async fn handle_batch(
        &self,
        db: &Db,
        entries: &[&StreamEntry],
    ) -> Vec<Result<Handled, HandlerError>> {
        match self.batch(db, entries).await {
            Ok(results) => results,
            // Redis failed: every entry is retried (the status check keeps that harmless).
            Err(e) => entries.iter().map(|_| Err(e.clone())).collect(),
        }
    }

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
            match self.finish(db, &event.claim_id, &entry.id).await {
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
    async fn batch(
        &self,
        db: &Db,
        entries: &[&StreamEntry],
    ) -> Result<Vec<Result<Handled, HandlerError>>, HandlerError> {
        let mut ids: Vec<&str> = entries.iter().filter_map(|e| submitted(e)).collect();
        // Each step is caused by the entry before it: the submission, then the review.
        let mut causes: HashMap<&str, String> = HashMap::new();
        for entry in entries {
            if let Some(id) = submitted(entry) {
                causes.entry(id).or_insert_with(|| entry.id.clone());
            }
        }
        ids.sort_unstable();
        ids.dedup();
        let dependency = |e: crate::store::db::DbError| HandlerError::Dependency(e.to_string());
        let loaded = claims::load_many(
            &self.claims,
            &mut Trace::off(),
            &ids,
            &claims::Known::default(),
        )
        .await
        .map_err(dependency)?;
        let mut claims: HashMap<&str, Claim> = ids
            .iter()
            .zip(loaded)
            .map(|(id, l)| (*id, l.claim))
            .collect();
        // Not in the index yet, or changed under a step: the one-by-one way.
        let mut one_by_one: HashSet<&str> = claims
            .iter()
            .filter(|(_, c)| c.details.is_none())
            .map(|(id, _)| *id)
            .collect();
        for _step in 0..2 {
            let steps: Vec<(&str, ClaimCommand)> = claims
                .iter()
                .filter(|(id, _)| !one_by_one.contains(*id))
                .filter_map(|(id, claim)| Some((*id, self.next_command(claim)?)))
                .collect();
            if steps.is_empty() {
                break;
            }
            let commands: Vec<(&Claim, &ClaimCommand, Cause<'_>)> = steps
                .iter()
                .map(|(id, c)| (&claims[id], c, Cause::entry(&causes[id])))
                .collect();
            let executed = commands::execute_many(&self.claims, &commands)
                .await
                .map_err(dependency)?;
            for ((id, _), result) in steps.iter().zip(executed) {
                match result {
                    Ok(executed) => {
                        claims.insert(id, executed.state);
                        causes.insert(id, executed.entry_id);
                    }
                    // Refused or in conflict: a person acted meanwhile.
                    Err(_) => {
                        one_by_one.insert(id);
                    }
                }
            }
        }
        let mut results = Vec::with_capacity(entries.len());
        for entry in entries {
            results.push(match submitted(entry) {
                Some(id) if one_by_one.contains(id) => self.handle(db, entry).await,
                _ => Ok(Handled::Applied),
            });
        }
        Ok(results)
    }

    /// Takes the steps still missing for the claim, going on from each append's result; the
    /// first is caused by `entry_id`, each next one by the entry before it.
    async fn finish(
        &self,
        db: &Db,
        claim_id: &ClaimId,
        entry_id: &str,
    ) -> Result<Handled, CommandError> {
        let mut trace = Trace::off();
        let mut claim = claims::load(&self.claims, &mut trace, claim_id.as_str())
            .await?
            .claim;
        if claim.details.is_none() {
            // Appended by another program and not indexed yet: index, then look again.
            claims::catch_up(db, db.partition_of(claim_id.as_str())).await?;
            claim = claims::load(&self.claims, &mut trace, claim_id.as_str())
                .await?
                .claim;
        }
        if claim.details.is_none() {
            // Its index is gone (removed by hand): no command can ever apply to it.
            return Ok(Handled::Refused(format!(
                "claim {claim_id} is not in the claim index"
            )));
        }
        let mut cause = entry_id.to_owned();
        while let Some(command) = self.next_command(&claim) {
            let executed = commands::execute(
                &self.claims,
                &mut trace,
                &claim,
                &command,
                Cause::entry(&cause),
                None,
                None,
            )
            .await?;
            (claim, cause) = (executed.state, executed.entry_id);
        }
        Ok(Handled::Applied)
    }

    fn next_command(&self, claim: &Claim) -> Option<ClaimCommand> {
        let details = claim.details.as_ref()?;
        let at = self.clock.now();
        match details.status {
            ClaimStatus::Submitted => Some(ClaimCommand::ReviewClaim { at }),
            ClaimStatus::UnderReview if details.amount <= self.approve_up_to => {
                Some(ClaimCommand::ApproveClaim { at })
            }
            _ => None,
        }
    }
}
