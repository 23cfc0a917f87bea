//! The analytics dashboard: rates, lengths and amounts by status, sampled once a second.

use serde::{Deserialize, Serialize};

use crate::ClaimStatus;

use super::groups::GroupView;

/// `GET /api/analytics`: what the dashboard draws, from `claims:analytics`' counters and
/// XINFO, sampled by this relay once a second.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AnalyticsResponse {
    /// Events per second by type, over the last ten seconds.
    pub events_per_second: Vec<TypeRate>,
    /// The same, second by second, oldest first (two minutes).
    pub rate_series: Vec<RatePoint>,
    /// `claims:events`' length, second by second.
    pub stream_length: Vec<LengthPoint>,
    /// Claims and their amounts by status, as `claims-analytics` counted them.
    pub by_status: Vec<StatusAmount>,
    /// Every group's lag trend, catch-up time, processing time and error rate.
    pub groups: Vec<GroupView>,
    /// A group's error rate above this raises the alert.
    pub error_rate_threshold: f64,
    /// Groups over the threshold now.
    pub alerts: Vec<String>,
    pub dead_letters: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TypeRate {
    pub event_type: String,
    pub per_second: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RatePoint {
    pub at_ms: i64,
    pub rates: Vec<TypeRate>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LengthPoint {
    pub at_ms: i64,
    pub length: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StatusAmount {
    pub status: ClaimStatus,
    /// Claims that reached the status.
    pub claims: u64,
    pub amount: String,
}
