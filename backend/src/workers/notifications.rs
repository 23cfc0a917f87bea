//! `claims-notifications`: tells the customer when their claim is submitted, approved, paid or
//! rejected. "Sending" appends to `claims:notifications`; an entry is notified at most once.

use std::sync::LazyLock;

use redis::Script;
use shared::api::StreamEntry;
use shared::{ClaimStatus, EventPayload};

use super::{Handled, Handler, HandlerError};
use crate::store::clock::Clock;
use crate::store::db::Db;
use crate::store::keys;

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

/// Appends the notification only if this entry was not notified before, atomically.
static NOTIFY_ONCE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
-- KEYS: notified set, notifications stream
-- ARGV: entry id, its score, the stream's length cap, notification field/value pairs...
if redis.call('ZADD', KEYS[1], 'NX', ARGV[2], ARGV[1]) == 0 then
  return 0
end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', unpack(ARGV, 4))
return 1
",
    )
});

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
        let sent_at = self.clock.now().to_string();
        let mut invocation = NOTIFY_ONCE.prepare_invoke();
        invocation
            .key(keys::notified())
            .key(keys::NOTIFICATIONS)
            .arg(keys::entry_marker(entry))
            .arg(crate::store::markers::score(&entry.id))
            .arg(self.keep);
        for (k, v) in [
            ("entry_id", entry.id.as_str()),
            ("claim_id", event.claim_id.as_str()),
            ("customer_id", event.customer_id.as_str()),
            ("channel", "email"),
            ("message", &message),
            ("sent_at", &sent_at),
        ] {
            invocation.arg(k).arg(v);
        }
        db.script::<i64>(&invocation)
            .await
            .map(|_| Handled::Applied)
            .map_err(|e| HandlerError::Dependency(e.to_string()))
    }
}
