//! What the relay pushes on the WebSocket.

use serde::{Deserialize, Serialize};

use super::groups::GroupsResponse;
use super::projections::ProjectionsResponse;
use super::streams::StreamEntry;

/// What the relay pushes on `GET /api/ws`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ServerMessage {
    /// A stream entry, in stream order: catch-up first, then live.
    Entry { entry: StreamEntry },
    /// Several stream entries in one frame, in stream order: what was ready together (a
    /// catch-up page, or a burst within a few milliseconds), bounded in count and bytes.
    /// A lone entry still comes as [`ServerMessage::Entry`].
    Entries { entries: Vec<StreamEntry> },
    /// Catch-up is done; what follows is live.
    CaughtUp { last_id: String },
    /// This client fell behind the live feed; the relay resumes it from `resume_from` by
    /// reading the stream, so nothing is skipped.
    Lagged { resume_from: String },
    /// Redis is unreachable; entries resume when it is back.
    Unavailable { message: String },
    /// The consumer groups' state, about once a second.
    Groups { groups: GroupsResponse },
    /// The read model's projection, about once a second while it changes.
    Projection { projection: ProjectionsResponse },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_messages_are_tagged_by_kind() {
        let m = ServerMessage::CaughtUp {
            last_id: "1-0".into(),
        };
        assert_eq!(
            serde_json::to_string(&m).unwrap(),
            r#"{"kind":"caught_up","last_id":"1-0"}"#
        );
    }

    #[test]
    fn a_batch_is_its_entries_in_order() {
        let json = r#"{"kind":"entries","entries":[{"id":"1-0","fields":[]},{"id":"2-0","fields":[["a","b"]]}]}"#;
        let ServerMessage::Entries { entries } = serde_json::from_str(json).unwrap() else {
            panic!("not a batch")
        };
        let ids: Vec<&str> = entries.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, ["1-0", "2-0"]);
    }
}
