//! Stream entries as stored and decoded, pages of them, stream lengths, and trims.

use serde::{Deserialize, Serialize};

use crate::{ClaimEvent, stream_codec};

/// `POST /api/streams/{key}/trim` (instructor): `maxlen` or `minid`, as `XTRIM` takes them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrimRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maxlen: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minid: Option<String>,
    /// `~`: Redis may keep a few more entries, trimming whole nodes only (cheaper).
    #[serde(default)]
    pub approximate: bool,
    /// Trim even though a group or a claim still needs what goes.
    #[serde(default)]
    pub force: bool,
    /// Only say what the trim would remove.
    #[serde(default)]
    pub dry_run: bool,
}

/// What a trim removes (or would), and what stands against it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrimResponse {
    pub stream: String,
    pub dry_run: bool,
    /// Entries the exact trim removes; an approximate one may remove fewer.
    pub would_remove: u64,
    pub first_removed: Option<String>,
    pub last_removed: Option<String>,
    /// The oldest entry that stays.
    pub first_kept: Option<String>,
    /// Why the trim is unsafe: groups that have not read or acknowledged what goes, claims
    /// whose events go without a snapshot covering them.
    pub blockers: Vec<String>,
    /// Entries removed; none on a dry run.
    pub removed: Option<u64>,
    pub length_after: u64,
    pub redis: Vec<String>,
}

/// One stream entry as stored, with its decoding: `event` when it is a claim event this
/// version reads, `error` saying why not otherwise. Raw fields are always there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamEntry {
    pub id: String,
    pub fields: Vec<(String, String)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<ClaimEvent>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The partition whose stream holds it, when the claims are partitioned: ids order
    /// entries within a partition only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition: Option<u32>,
}

impl StreamEntry {
    pub fn decode(id: String, fields: Vec<(String, String)>) -> Self {
        let (event, error) = match stream_codec::decode(&fields) {
            Ok(e) => (Some(e), None),
            Err(e) => (None, Some(e.to_string())),
        };
        Self {
            id,
            fields,
            event,
            error,
            partition: None,
        }
    }
}

/// `GET /api/streams/{key}/entries`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntriesPage {
    pub stream: String,
    pub entries: Vec<StreamEntry>,
    /// Pass as `start` (or `end` when reading in reverse) for the next page; `None` at the end.
    pub next: Option<String>,
    pub redis: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamLength {
    pub key: String,
    pub length: u64,
}
