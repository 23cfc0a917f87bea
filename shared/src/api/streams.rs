//! Stream entries as stored and decoded, pages of them, stream lengths, and trims.

use serde::{Deserialize, Serialize};

use crate::{ClaimEvent, stream_codec};

/// `POST /api/streams/{key}/trim` (instructor): `maxlen` or `minid`, as `XTRIM` takes them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StreamEntry {
    pub id: String,
    pub fields: Vec<(String, String)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<ClaimEvent>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The type of an entry that names no claim but says what it is (the lab's
    /// `stream_created`): a marker in the stream, not a claim event and not an error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marker: Option<String>,
    /// The partition whose stream holds it, when the claims are partitioned: ids order
    /// entries within a partition only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition: Option<u32>,
}

impl StreamEntry {
    pub fn decode(id: String, fields: Vec<(String, String)>) -> Self {
        let (event, error, marker) = match stream_codec::decode(&fields) {
            Ok(e) => (Some(e), None, None),
            Err(e) => match marker_type(&fields) {
                Some(marker) => (None, None, Some(marker)),
                None => (None, Some(e.to_string()), None),
            },
        };
        Self {
            id,
            fields,
            event,
            error,
            marker,
            partition: None,
        }
    }
}

/// The type an entry names when it is a marker: no claim, and a type that is not a claim
/// event's.
fn marker_type(fields: &[(String, String)]) -> Option<String> {
    let field = |name: &str| fields.iter().find(|(k, _)| k == name).map(|(_, v)| v);
    let named = field("type").or(field("event_type"))?;
    let is_claim_event = crate::EventType::parse(&named.replace('.', "_")).is_some();
    (field("claim_id").is_none() && !is_claim_event).then(|| named.clone())
}

/// `GET /api/streams/{key}/entries`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EntriesPage {
    pub stream: String,
    pub entries: Vec<StreamEntry>,
    /// Pass as `start` (or `end` when reading in reverse) for the next page; `None` at the end.
    pub next: Option<String>,
    pub redis: Vec<String>,
}

/// Why a search (`GET /api/streams/{key}/search`) stopped where it did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SearchStop {
    /// Every entry up to `to` (or the stream's end) was examined.
    End,
    /// `limit` matches were found.
    Limit,
    /// The entries one request examines at most were examined.
    ScanBound,
    /// The time one request searches for at most was spent.
    Deadline,
}

/// `GET /api/streams/{key}/search`: the matching entries, oldest first, and how far the scan
/// went. Everything up to `last_examined` was examined; pass `next_after` as `after` to go on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SearchPage {
    // The browser app has no use for it, and every field it reads costs it code.
    #[cfg_attr(target_arch = "wasm32", serde(skip_deserializing))]
    pub stream: String,
    pub matches: Vec<StreamEntry>,
    /// Entries Redis looked at for this page.
    pub examined: u64,
    /// Every entry up to this one was examined (`<partition>:<id>` when partitions are
    /// merged); `None` when there was nothing to examine.
    pub last_examined: Option<String>,
    // The browser app has no use for it, and every field it reads costs it code.
    #[cfg_attr(target_arch = "wasm32", serde(skip_deserializing))]
    pub reached_end: bool,
    pub stopped: SearchStop,
    /// Pass as `after` for the next page; `None` once the end was reached.
    pub next_after: Option<String>,
    /// The most entries one request examines, and the most matches it returns.
    // The browser app has no use for it, and every field it reads costs it code.
    #[cfg_attr(target_arch = "wasm32", serde(skip_deserializing))]
    pub scan_bound: u64,
    // The browser app has no use for it, and every field it reads costs it code.
    #[cfg_attr(target_arch = "wasm32", serde(skip_deserializing))]
    pub limit: usize,
    pub redis: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StreamLength {
    pub key: String,
    pub length: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(fields: &[(&str, &str)]) -> StreamEntry {
        StreamEntry::decode(
            "1-0".into(),
            fields
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn an_entry_naming_no_claim_but_its_type_is_a_marker_not_an_error() {
        let created = entry(&[("type", "stream_created"), ("timestamp", "1732190000000")]);
        assert_eq!(created.marker.as_deref(), Some("stream_created"));
        assert_eq!((created.event, created.error), (None, None));
        let dotted = entry(&[("event_type", "stream.created")]);
        assert_eq!(dotted.marker.as_deref(), Some("stream.created"));
        // A claim event without its claim, or an entry saying nothing of itself, is an error.
        let no_claim = entry(&[("type", "claim_submitted"), ("amount", "1")]);
        assert_eq!(no_claim.marker, None);
        assert!(no_claim.error.is_some());
        let junk = entry(&[("hello", "world")]);
        assert_eq!(junk.marker, None);
        assert_eq!(junk.error.as_deref(), Some("missing field `type`"));
    }
}
