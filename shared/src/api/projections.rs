//! The read model's projection: where it is in the stream, its rebuild, and what it holds.

use serde::{Deserialize, Serialize};

use crate::ClaimStatus;

/// Where the `claims-projections` projection is in `claims:events`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProjectionPosition {
    /// The last entry applied to the read model; none before the first.
    pub position: Option<String>,
    /// Entries of the stream not applied yet (from XINFO GROUPS; none on Redis before 7).
    pub behind: Option<u64>,
}

/// `GET /api/projections`, and pushed on the WebSocket while a rebuild runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProjectionsResponse {
    /// The consumer group that keeps the read model: `claims-projections`.
    pub group: String,
    /// The last entry applied to the read model; none before the first. (The fields of
    /// [`ProjectionPosition`], written out: `serde(flatten)` costs the browser app kilobytes.)
    pub position: Option<String>,
    /// Entries of the stream not applied yet (from XINFO GROUPS; none on Redis before 7).
    pub behind: Option<u64>,
    /// The newest entry of `claims:events`.
    pub stream_last_id: Option<String>,
    /// Claims in the read model.
    pub claims: u64,
    pub rebuild: RebuildProgress,
    /// The customers with the most claims, most first (at most 20).
    pub customers: Vec<CustomerTotals>,
    /// What happened lately, newest first (at most 20).
    pub recent: Vec<ActivityItem>,
    #[serde(default)]
    pub redis: Vec<String>,
}

/// A rebuild of the read model from the first event.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RebuildProgress {
    /// "idle", "requested", "running", "done" or "failed".
    pub state: String,
    /// Entries replayed so far, of `total` (the stream's length when it started).
    pub replayed: u64,
    pub total: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One customer's claims, from the projection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CustomerTotals {
    pub customer_id: String,
    pub claims: u64,
    /// Claimed and paid amounts, per currency.
    pub claimed: Vec<MoneyTotal>,
    pub paid: Vec<MoneyTotal>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MoneyTotal {
    pub currency: String,
    pub amount: String,
}

/// One event in the projection's recent activity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ActivityItem {
    pub entry_id: String,
    pub claim_id: String,
    pub event_type: String,
    /// The claim's status after it.
    pub status: Option<ClaimStatus>,
    pub at: String,
}

/// `GET /api/projections/debug?from=&steps=`: the projection stepped one event at a time
/// through a scratch copy of the read model (never the live one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProjectionDebugResponse {
    /// The partition stepped through, when the claims are partitioned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    // The browser app has no use for it, and every field it reads costs it code.
    #[cfg_attr(target_arch = "wasm32", serde(skip_deserializing))]
    pub partition: Option<u32>,
    /// Entries before `from` folded into the scratch model before the first step.
    pub folded_before: u64,
    pub steps: Vec<ProjectionStep>,
    /// `from` for the steps after these; none at the stream's end.
    pub next: Option<String>,
}

/// One event applied to the scratch model, and what it changed there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProjectionStep {
    pub entry: crate::api::StreamEntry,
    pub changes: Vec<ModelChange>,
}

/// One read-model field the event changed, named as in the live model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ModelChange {
    pub key: String,
    /// A hash field, a sorted set's member (its value the score), `newest` or `oldest` for
    /// the activity list's ends, `position` in the projection hash.
    pub field: String,
    /// None: absent.
    pub before: Option<String>,
    pub after: Option<String>,
    /// When the field holds a JSON object before and after (a claim's view, a customer's
    /// totals): the members that differ, so a step reads `status: approved → paid` rather
    /// than two whole documents. Empty otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<MemberChange>,
}

/// One member of a JSON object that a change rewrote; a string member as it stands, any
/// other value as compact JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MemberChange {
    pub name: String,
    /// None: absent.
    pub before: Option<String>,
    pub after: Option<String>,
}

impl ModelChange {
    /// A change of `key`'s `field`, with the members that differ when both sides are JSON
    /// objects (in name order: what changed or appeared, then what went).
    pub fn new(key: String, field: String, before: Option<String>, after: Option<String>) -> Self {
        let object = |text: &Option<String>| match serde_json::from_str(text.as_deref()?) {
            Ok(serde_json::Value::Object(map)) => Some(map),
            _ => None,
        };
        let members = match (object(&before), object(&after)) {
            (Some(was), Some(now)) => {
                let shown = |value: &serde_json::Value| match value {
                    serde_json::Value::String(text) => text.clone(),
                    other => other.to_string(),
                };
                let changed = now
                    .iter()
                    .filter(|(name, value)| was.get(*name) != Some(*value));
                let gone = was.iter().filter(|(name, _)| !now.contains_key(*name));
                changed
                    .map(|(name, value)| MemberChange {
                        name: name.clone(),
                        before: was.get(name).map(shown),
                        after: Some(shown(value)),
                    })
                    .chain(gone.map(|(name, value)| MemberChange {
                        name: name.clone(),
                        before: Some(shown(value)),
                        after: None,
                    }))
                    .collect()
            }
            _ => Vec::new(),
        };
        Self {
            key,
            field,
            before,
            after,
            members,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(name: &str, before: Option<&str>, after: Option<&str>) -> MemberChange {
        MemberChange {
            name: name.to_owned(),
            before: before.map(str::to_owned),
            after: after.map(str::to_owned),
        }
    }

    #[test]
    fn a_change_of_one_json_object_to_another_lists_the_members_that_differ() {
        let change = ModelChange::new(
            "claims:{claims:events}:views".into(),
            "CLM-1".into(),
            Some(r#"{"status":"approved","version":3,"notes":0,"reason":"ok"}"#.into()),
            Some(r#"{"status":"paid","version":4,"notes":0,"reference":"PAY-1"}"#.into()),
        );
        assert_eq!(
            change.members,
            [
                member("reference", None, Some("PAY-1")),
                member("status", Some("approved"), Some("paid")),
                member("version", Some("3"), Some("4")),
                member("reason", Some("ok"), None),
            ]
        );
    }

    #[test]
    fn a_change_from_nothing_or_of_plain_text_lists_no_members() {
        let created = ModelChange::new("k".into(), "f".into(), None, Some(r#"{"a":1}"#.into()));
        let score = ModelChange::new("k".into(), "f".into(), Some("1".into()), Some("2".into()));
        let text = ModelChange::new("k".into(), "f".into(), Some("{x".into()), Some("{}".into()));
        for change in [created, score, text] {
            assert!(change.members.is_empty(), "{change:?}");
        }
    }
}
