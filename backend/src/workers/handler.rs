//! What a group does with one entry: the [`Handler`] each group implements, what it answers,
//! and the failures injected for teaching ([`Injection`]). It knows nothing of how entries are
//! read or acknowledged.

use std::future::Future;

use rand::Rng;
use shared::api::StreamEntry;

use crate::store::db::Db;

/// What a group does with one entry. It must be idempotent: an entry can be delivered again
/// after a crash, and its effect must not be applied twice.
pub trait Handler: Send + Sync + 'static {
    fn handle(
        &self,
        db: &Db,
        entry: &StreamEntry,
    ) -> impl Future<Output = Result<Handled, HandlerError>> + Send;

    /// Handles a batch, one result per entry in order. By default one entry after another;
    /// a handler that reads or writes the same things for many entries does it for the
    /// whole batch at once.
    fn handle_batch(
        &self,
        db: &Db,
        entries: &[&StreamEntry],
    ) -> impl Future<Output = Vec<Result<Handled, HandlerError>>> + Send {
        async move {
            let mut results = Vec::with_capacity(entries.len());
            for entry in entries {
                results.push(self.handle(db, entry).await);
            }
            results
        }
    }
}

/// An entry the handler is done with: acknowledged either way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handled {
    /// Its effect is in Redis (or it needed none).
    Applied,
    /// It can never have its effect (e.g. its claim does not exist): logged and counted.
    Refused(String),
}

/// An entry not handled this time: retried with backoff, dead-lettered after
/// `max_deliveries`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandlerError {
    /// Something about this entry (bad data, a poisoned claim, a claim others keep changing).
    /// The circuit breaker ignores these: one bad entry must not stop the group.
    #[error("{0}")]
    Entry(String),
    /// Redis or another dependency failed: counted by the breaker.
    #[error("{0}")]
    Dependency(String),
}

pub use crate::store::group_state::Injection;

impl Injection {
    /// The failure injected for this entry, if any: a poisoned claim stands for bad data, a
    /// random failure for a flaky dependency.
    pub fn failure_for(&self, entry: &StreamEntry) -> Option<HandlerError> {
        let claim = entry
            .event
            .as_ref()
            .map(|e| e.claim_id.to_string())
            .or_else(|| {
                entry
                    .fields
                    .iter()
                    .find(|(k, _)| k == "claim_id")
                    .map(|(_, v)| v.clone())
            });
        if self.poison_claim.is_some() && self.poison_claim == claim {
            return Some(HandlerError::Entry(format!(
                "claim {} is poisoned (failure injection)",
                claim.unwrap_or_default()
            )));
        }
        if self.fail_ratio > 0.0 && rand::rng().random_bool(self.fail_ratio.min(1.0)) {
            return Some(HandlerError::Dependency(
                "random failure (failure injection)".into(),
            ));
        }
        None
    }
}
