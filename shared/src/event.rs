//! Claim events: facts in the past tense, each self-contained (it names its claim and customer
//! and carries the values projections need) and timestamped.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{
    Amount, ClaimId, ClaimStatus, CustomerId, Description, PaymentReference, Reason, Timestamp,
};

/// The schema version every event written today carries in its `v` field.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimEvent {
    pub v: u32,
    pub claim_id: ClaimId,
    pub customer_id: CustomerId,
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
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventPayload {
    ClaimSubmitted {
        amount: Amount,
        description: Description,
    },
    ClaimStatusUpdated {
        from: ClaimStatus,
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
}

impl EventPayload {
    pub fn event_type(&self) -> EventType {
        match self {
            Self::ClaimSubmitted { .. } => EventType::ClaimSubmitted,
            Self::ClaimStatusUpdated { .. } => EventType::ClaimStatusUpdated,
            Self::ClaimPaid { .. } => EventType::ClaimPaid,
            Self::ClaimRejected { .. } => EventType::ClaimRejected,
        }
    }
}

/// The `type` field of an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventType {
    ClaimSubmitted,
    ClaimStatusUpdated,
    ClaimPaid,
    ClaimRejected,
}

impl EventType {
    pub const ALL: [EventType; 4] = [
        Self::ClaimSubmitted,
        Self::ClaimStatusUpdated,
        Self::ClaimPaid,
        Self::ClaimRejected,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClaimSubmitted => "claim_submitted",
            Self::ClaimStatusUpdated => "claim_status_updated",
            Self::ClaimPaid => "claim_paid",
            Self::ClaimRejected => "claim_rejected",
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
