//! Claim statuses and the actions a person can take on a claim.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Where a claim is in its life: `submitted -> under_review -> approved -> paid`, or
/// `rejected` from `submitted` or `under_review`. `paid` and `rejected` are final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ClaimStatus {
    Submitted,
    UnderReview,
    Approved,
    Paid,
    Rejected,
}

impl ClaimStatus {
    pub const ALL: [ClaimStatus; 5] = [
        Self::Submitted,
        Self::UnderReview,
        Self::Approved,
        Self::Paid,
        Self::Rejected,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Submitted => "submitted",
            Self::UnderReview => "under_review",
            Self::Approved => "approved",
            Self::Paid => "paid",
            Self::Rejected => "rejected",
        }
    }

    pub fn is_final(self) -> bool {
        matches!(self, Self::Paid | Self::Rejected)
    }

    /// The actions the aggregate accepts in this status; the UI offers exactly these.
    pub fn allowed_actions(self) -> &'static [Action] {
        match self {
            Self::Submitted => &[Action::Review, Action::Reject],
            Self::UnderReview => &[Action::Approve, Action::Reject],
            Self::Approved => &[Action::Pay],
            Self::Paid | Self::Rejected => &[],
        }
    }
}

impl fmt::Display for ClaimStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ClaimStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| {
                format!("unknown status {s:?}; expected one of submitted, under_review, approved, paid, rejected")
            })
    }
}

/// A transition a person asks for on an existing claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Review,
    Approve,
    Reject,
    Pay,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Review => "review",
            Self::Approve => "approve",
            Self::Reject => "reject",
            Self::Pay => "pay",
        }
    }

    /// "reviewed", "paid": for messages such as "it can only be paid now".
    pub fn past_participle(self) -> &'static str {
        match self {
            Self::Review => "reviewed",
            Self::Approve => "approved",
            Self::Reject => "rejected",
            Self::Pay => "paid",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
