//! Which relay this is among those sharing one Redis: a numbered lease, so the consumers of
//! each relay have names of their own (`notifier-1` in the first, `notifier-1@relay2` in the
//! second). Two processes reading as one consumer name would share its pending entries.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::store::db::{Db, DbError};
use crate::store::keys;
use crate::store::lease;

/// A lease lasts this long unless renewed; a relay killed outright frees its number then.
const LEASE: Duration = Duration::from_secs(30);
/// Relays one Redis serves at most.
pub const MAX_RELAYS: u32 = 64;

#[derive(Debug, Clone)]
pub struct RelaySlot {
    pub number: u32,
    owner: String,
}

impl RelaySlot {
    /// The lowest free number; none when [`MAX_RELAYS`] relays hold them all.
    pub async fn lease(db: &Db) -> Result<Option<Self>, DbError> {
        let owner = format!("{:032x}", rand::random::<u128>());
        for number in 1..=MAX_RELAYS {
            if lease::take(db, &keys::relay_slot(number), &owner, LEASE).await? {
                return Ok(Some(Self { number, owner }));
            }
        }
        Ok(None)
    }

    /// What this relay adds to its consumers' names: nothing for the first.
    pub fn suffix(&self) -> String {
        match self.number {
            1 => String::new(),
            n => format!("@relay{n}"),
        }
    }

    /// Keeps the lease until `stop`, then gives it back.
    pub async fn keep(self, db: Db, stop: CancellationToken) {
        let mut tick = tokio::time::interval(LEASE / 3);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                () = stop.cancelled() => break,
            }
            match lease::renew(&db, &keys::relay_slot(self.number), &self.owner, LEASE).await {
                Ok(true) => {}
                Ok(false) => tracing::warn!(
                    number = self.number,
                    "another relay took this relay's number while it could not renew it"
                ),
                Err(e) => tracing::debug!(error = %e, "relay number not renewed"),
            }
        }
        let _ = lease::release(&db, &keys::relay_slot(self.number), &self.owner).await;
    }
}
