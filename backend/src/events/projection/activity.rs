//! What an event shows in the board's recent activity.

use shared::api::{ActivityItem, StreamEntry};
use shared::{ClaimStatus, EventPayload};

/// What an event shows in the recent activity; the status is the one the event itself
/// names, so a replay from the first event gives the same items.
pub fn activity(entry: &StreamEntry) -> Option<ActivityItem> {
    let event = entry.event.as_ref()?;
    let status = match &event.payload {
        EventPayload::ClaimSubmitted { .. } => Some(ClaimStatus::Submitted),
        EventPayload::ClaimStatusUpdated { to, .. } => Some(*to),
        EventPayload::ClaimPaid { .. } => Some(ClaimStatus::Paid),
        EventPayload::ClaimRejected { .. } => Some(ClaimStatus::Rejected),
        EventPayload::ClaimNoteAdded { .. } => None,
    };
    Some(ActivityItem {
        entry_id: entry.id.clone(),
        claim_id: event.claim_id.to_string(),
        event_type: event.event_type().to_string(),
        status,
        at: event.timestamp.to_string(),
    })
}
