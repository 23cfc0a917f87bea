//! Claim events: facts in the past tense, each self-contained (it names its claim and customer
//! and carries the values projections need) and timestamped.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{
    Adjuster, Amount, ClaimId, ClaimStatus, Currency, CustomerId, Description, DocumentName, Note,
    PaymentReference, PolicyNumber, Reason, Timestamp,
};

/// The schema version every event written today carries in its `v` field. Older entries are
/// upcast when read (`stream_codec`): v1 had no currency nor policy number, and entries with no
/// `v` at all (v0) are what other programs write.
pub const SCHEMA_VERSION: u32 = 2;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClaimEvent {
    /// The version the entry was written with; the event itself is always in today's shape.
    pub v: u32,
    pub claim_id: ClaimId,
    /// `None` only in a v0 entry that did not name the customer (the lab's status updates and
    /// payments); the claim's state before it says who (`upcast::complete`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<CustomerId>,
    pub timestamp: Timestamp,
    #[serde(flatten)]
    pub payload: EventPayload,
}

impl ClaimEvent {
    pub fn event_type(&self) -> EventType {
        self.payload.event_type()
    }
}

/// What happened, with its own data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventPayload {
    ClaimSubmitted {
        amount: Amount,
        description: Description,
        currency: Currency,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        policy_number: Option<PolicyNumber>,
    },
    ClaimStatusUpdated {
        /// `None` only in a v0 entry that recorded just the new status; the claim's state
        /// before it says what it was (`upcast::complete`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        from: Option<ClaimStatus>,
        to: ClaimStatus,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<Reason>,
    },
    ClaimPaid {
        amount: Amount,
        payment_reference: PaymentReference,
    },
    ClaimRejected {
        reason: Reason,
    },
    /// An adjuster's note or an attached document's name; may repeat while the claim is open.
    ClaimNoteAdded {
        adjuster: Adjuster,
        note: Note,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        document: Option<DocumentName>,
    },
}

impl EventPayload {
    pub fn event_type(&self) -> EventType {
        match self {
            Self::ClaimSubmitted { .. } => EventType::ClaimSubmitted,
            Self::ClaimStatusUpdated { .. } => EventType::ClaimStatusUpdated,
            Self::ClaimPaid { .. } => EventType::ClaimPaid,
            Self::ClaimRejected { .. } => EventType::ClaimRejected,
            Self::ClaimNoteAdded { .. } => EventType::ClaimNoteAdded,
        }
    }
}

/// The `type` field of an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum EventType {
    ClaimSubmitted,
    ClaimStatusUpdated,
    ClaimPaid,
    ClaimRejected,
    ClaimNoteAdded,
}

impl EventType {
    pub const ALL: [EventType; 5] = [
        Self::ClaimSubmitted,
        Self::ClaimStatusUpdated,
        Self::ClaimPaid,
        Self::ClaimRejected,
        Self::ClaimNoteAdded,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClaimSubmitted => "claim_submitted",
            Self::ClaimStatusUpdated => "claim_status_updated",
            Self::ClaimPaid => "claim_paid",
            Self::ClaimRejected => "claim_rejected",
            Self::ClaimNoteAdded => "claim_note_added",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
