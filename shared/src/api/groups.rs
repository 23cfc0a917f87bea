//! Consumer groups: what Redis and the relay know of each, and the controls on them (inject, pause).

use serde::{Deserialize, Serialize};

/// `GET /api/groups`: every consumer group on `claims:events`, as Redis reports it (XINFO,
/// XPENDING), with what only the relay knows (breaker, pause, injected failures).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GroupsResponse {
    pub stream: String,
    pub length: u64,
    pub last_id: Option<String>,
    /// Entries in `claims:failed`.
    pub dead_letters: u64,
    pub groups: Vec<GroupView>,
    /// With partitioned claims, each partition's length and dead letters, by partition
    /// number (the figures above add them up); empty otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub partition_lengths: Vec<u64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    // Not shown in the browser app, which pays in code for every field it reads.
    #[cfg_attr(target_arch = "wasm32", serde(skip_deserializing))]
    pub partition_dead_letters: Vec<u64>,
    pub redis: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GroupView {
    pub name: String,
    /// From XINFO GROUPS.
    pub consumers: u64,
    pub pending: u64,
    pub last_delivered_id: String,
    pub entries_read: Option<u64>,
    pub lag: Option<u64>,
    /// Whether this relay runs consumers of the group (and so knows the fields below).
    pub in_relay: bool,
    /// "closed", "open" or "half_open".
    pub breaker: String,
    pub paused: bool,
    pub poison_claim: Option<String>,
    pub fail_ratio: f64,
    /// Entries finished (acknowledged or dead-lettered) per second, lately.
    pub throughput: f64,
    /// Entries acknowledged without effect because they could never have one (logged).
    #[serde(default)]
    pub refused: u64,
    /// The commands of one recent step of one of this relay's consumers (sampled about once
    /// a second, so the page is not flooded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sampled: Option<SampledStep>,
    /// The group's lag, sampled by this relay once a second, oldest first (two minutes).
    #[serde(default)]
    pub lag_trend: Vec<LagPoint>,
    /// How far behind the group is in time: the age of the oldest entry it has not been
    /// given yet, in milliseconds (0 when it has had everything). With partitioned claims,
    /// the largest of the partitions'.
    #[serde(default)]
    pub lag_ms: u64,
    /// At the rate the lag fell over the last ten seconds, how long until it is 0; none while
    /// it is not falling (0 when there is no lag).
    #[serde(default)]
    pub catch_up_seconds: Option<f64>,
    /// How long this relay's consumers took per entry, lately (none before any entry).
    #[serde(default)]
    pub processing_ms: Option<Percentiles>,
    /// Share of this relay's handler runs that failed in the last minute, 0.0 to 1.0.
    #[serde(default)]
    pub error_rate: f64,
    /// From XINFO CONSUMERS.
    pub members: Vec<ConsumerView>,
    /// The oldest pending entries, from the extended XPENDING form.
    pub pending_entries: Vec<PendingView>,
    /// With partitioned claims, the group's lag and pending entries in each partition, by
    /// partition number; empty otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub partition_lags: Vec<Option<u64>>,
    /// With partitioned claims, the group's `lag_ms` in each partition; empty otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(target_arch = "wasm32", serde(skip_deserializing))]
    pub partition_lag_ms: Vec<u64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    // Not shown in the browser app (see `partition_dead_letters`).
    #[cfg_attr(target_arch = "wasm32", serde(skip_deserializing))]
    pub partition_pending: Vec<u64>,
}

/// A group this far behind (`lag_ms`) shows amber ...
pub const LAG_AMBER_MS: u64 = 5_000;
/// ... and this far, red.
pub const LAG_RED_MS: u64 = 30_000;

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LagPoint {
    /// Unix milliseconds.
    pub at_ms: i64,
    pub lag: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Percentiles {
    pub p50: f64,
    pub p99: f64,
    /// Runs measured.
    pub samples: u64,
}

/// What a consumer sent to Redis in one step, in redis-cli form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SampledStep {
    pub consumer: String,
    pub ago_ms: u64,
    pub commands: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConsumerView {
    pub name: String,
    pub pending: u64,
    pub idle_ms: u64,
    /// Since its last successful read; absent on Redis before 7.2.
    pub inactive_ms: Option<i64>,
    /// Whether it runs in this relay now (a crashed consumer stays in Redis).
    pub running: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PendingView {
    pub id: String,
    pub consumer: String,
    pub idle_ms: u64,
    pub deliveries: u64,
}

/// `POST /api/groups/{group}/inject`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct InjectRequest {
    /// Fail every entry of this claim; null to stop.
    #[serde(default)]
    pub poison_claim: Option<String>,
    /// Fail this share of entries, 0.0 to 1.0.
    #[serde(default)]
    pub fail_ratio: f64,
}

/// `POST /api/groups/{group}/pause`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PauseRequest {
    pub paused: bool,
}

/// `POST /api/groups/{group}/position`: exactly one of `to` (`start` or `end`), `to_id`,
/// `to_time` (RFC 3339), `rewind` (entries back from where the group is) or `copy_from`
/// (another group's position); `dry_run` says what would happen and moves nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PositionRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rewind: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copy_from: Option<String>,
    #[serde(default)]
    pub dry_run: bool,
}

/// What moving a group does (or, in a dry run, would do).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PositionResponse {
    pub group: String,
    pub dry_run: bool,
    /// Entries the group is given (again) next, over every partition.
    pub redelivered: u64,
    /// The first of them (of the first partition that has any).
    pub first_redelivered: Option<String>,
    /// Each partition's stream (one, unless the claims are partitioned).
    pub streams: Vec<StreamPosition>,
    pub redis: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StreamPosition {
    pub stream: String,
    /// The group's last-delivered id before, and after.
    pub from: String,
    pub to: String,
    /// The `ENTRIESREAD` given with `XGROUP SETID`, so the group's lag stays known.
    pub entries_read: u64,
    pub redelivered: u64,
    pub first_redelivered: Option<String>,
}

/// `GET /api/groups/{group}/pending?consumer=&after=&limit=`: a page of the group's pending
/// entries, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PendingPage {
    pub group: String,
    pub entries: Vec<PendingItem>,
    /// Give it as `after` for the next page; none on the last.
    pub next_after: Option<String>,
    pub redis: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PendingItem {
    /// The partition's stream it is pending on.
    pub stream: String,
    pub id: String,
    pub consumer: String,
    pub idle_ms: u64,
    pub deliveries: u64,
}

/// `POST /api/groups/{group}/pending/{id}/claim`: to `consumer` (the first of this relay's
/// running consumers of the group when left out), if idle `min_idle_ms` (0), `force`d even
/// if not pending.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ClaimOneRequest {
    #[serde(default)]
    pub consumer: Option<String>,
    #[serde(default)]
    pub min_idle_ms: u64,
    #[serde(default)]
    pub force: bool,
}

/// The answer to a group action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GroupActionResponse {
    pub group: String,
    /// What happened, in words.
    pub done: String,
    pub redis: Vec<String>,
}
