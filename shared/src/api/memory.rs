//! Redis's memory: per key, the claims' indexes, and stream lengths over time.

use serde::{Deserialize, Serialize};

use super::streams::StreamLength;

/// `GET /api/memory`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MemoryResponse {
    /// From `INFO memory`.
    pub used_bytes: u64,
    pub peak_bytes: u64,
    /// 0: no limit.
    pub maxmemory_bytes: u64,
    pub maxmemory_policy: String,
    /// `MEMORY USAGE` of each stream and of the read model's keys.
    pub keys: Vec<KeyMemory>,
    /// The claims' indexes (one list per claim), estimated from a sample.
    pub indexes: IndexMemory,
    /// Stream lengths, sampled by this relay every few seconds, oldest first.
    pub lengths: Vec<LengthSample>,
    pub redis: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KeyMemory {
    pub key: String,
    /// None when the key does not exist.
    pub bytes: Option<u64>,
    /// Entries, fields or members, by the key's type.
    pub length: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IndexMemory {
    pub lists: u64,
    pub sampled: u64,
    pub estimated_bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LengthSample {
    /// Unix milliseconds.
    pub at_ms: i64,
    pub lengths: Vec<StreamLength>,
}
