//! `claims-notifications`: tells the customer when their claim is submitted, approved, paid or
//! rejected. "Sending" appends to `claims:notifications`; an entry is notified at most once.

use shared::api::StreamEntry;
use shared::{ClaimStatus, EventPayload};

use super::{Handled, Handler, HandlerError};
use crate::store::claims;
use crate::store::clock::Clock;
use crate::store::db::Db;
use crate::store::notifications::{self, Notification};

pub struct Notify {
    /// `MAXLEN ~` of `claims:notifications`.
    pub keep: u64,
    /// Stamps each notification's `sent_at`.
    pub clock: Clock,
}

impl Default for Notify {
    fn default() -> Self {
        Self {
            keep: 10_000,
            clock: Clock::system(),
        }
    }
}

impl Handler for Notify {
    async fn handle(&self, db: &Db, entry: &StreamEntry) -> Result<Handled, HandlerError> {
        let Some(event) = &entry.event else {
            return Ok(Handled::Applied);
        };
        let message = match &event.payload {
            EventPayload::ClaimSubmitted { amount, .. } => {
                format!("We received your claim {} for {amount}.", event.claim_id)
            }
            EventPayload::ClaimStatusUpdated {
                to: ClaimStatus::Approved,
                ..
            } => format!("Your claim {} was approved.", event.claim_id),
            EventPayload::ClaimPaid {
                amount,
                payment_reference,
            } => format!(
                "Your claim {} was paid: {amount} (payment {payment_reference}).",
                event.claim_id
            ),
            EventPayload::ClaimRejected { reason } => {
                format!("Your claim {} was rejected: {reason}", event.claim_id)
            }
            // Internal steps: the customer hears of the outcome, not of each note.
            EventPayload::ClaimStatusUpdated { .. } | EventPayload::ClaimNoteAdded { .. } => {
                return Ok(Handled::Applied);
            }
        };
        // The lab's own entries after a submission leave the customer to the claim.
        let customer = match &event.customer_id {
            Some(customer) => customer.to_string(),
            None => claims::customer_of(db, event.claim_id.as_str())
                .await
                .map_err(|e| HandlerError::Dependency(e.to_string()))?
                .unwrap_or_default(),
        };
        let notification = Notification {
            claim_id: event.claim_id.as_str(),
            customer_id: &customer,
            message: &message,
            sent_at: self.clock.now(),
        };
        notifications::send_once(db, entry, &notification, self.keep)
            .await
            .map(|_| Handled::Applied)
            .map_err(|e| HandlerError::Dependency(e.to_string()))
    }
}
