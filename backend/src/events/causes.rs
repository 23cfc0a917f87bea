//! A claim's story across streams (`GET /api/claims/{id}/trace`): its events, what caused
//! each (a request, or the entry before it), and what each caused in the other streams, found
//! by the cause those entries name (`shared::causes`).

use std::collections::HashMap;

use shared::api::{ClaimTrace, StreamEntry, TraceEdge, TraceKind, TraceNode, TraceSearch};
use shared::causes::{CAUSATION_ID, Causes};

use crate::store::caused;
use crate::store::claims;
use crate::store::db::{Db, DbError};
use crate::store::keys;
use crate::store::trace::Trace;

/// The claim's events read, at most: a story longer than this is traced in its beginning.
pub const EVENTS_AT_MOST: u64 = 200;

/// The claim's story, or `None` if it has no events.
pub async fn trace(db: &Db, claim_id: &str) -> Result<Option<ClaimTrace>, DbError> {
    let mut redis = Trace::off();
    let page = claims::load_page(db, &mut redis, claim_id, 0, EVENTS_AT_MOST).await?;
    if page.version == 0 {
        return Ok(None);
    }
    let partition = db.partition_of(claim_id);
    let mut story = Story::default();
    let events: Vec<usize> = page
        .entries
        .iter()
        .map(|entry| story.add_event(&partition.events(), entry))
        .collect();
    let correlation_id = page.entries.first().map(|first| {
        Causes::of(&first.fields).map_or_else(|| first.id.clone(), |c| c.correlation_id)
    });
    // What each event caused elsewhere names the event's id (the analytics summary, which
    // counts every partition, its marker), and comes after the claim's first event.
    let Some(first) = page.entries.first() else {
        return Ok(Some(story.into_trace(claim_id, correlation_id)));
    };
    let ids: Vec<String> = page.entries.iter().map(|e| e.id.clone()).collect();
    let markers: Vec<String> = ids.iter().map(|id| partition.marker(id)).collect();
    let searches = [
        (
            keys::NOTIFICATIONS.to_owned(),
            CAUSATION_ID,
            &ids,
            TraceKind::Notification,
        ),
        (
            partition.failed(),
            "original_id",
            &ids,
            TraceKind::DeadLetter,
        ),
        (
            keys::ANALYTICS.to_owned(),
            CAUSATION_ID,
            &markers,
            TraceKind::Analytics,
        ),
    ];
    for (stream, field, causes, kind) in searches {
        let found = caused::search(db, &mut redis, &stream, &first.id, field, causes).await?;
        for (id, fields) in found.entries {
            let cause = fields
                .iter()
                .find(|(k, _)| k == field)
                .and_then(|(_, v)| causes.iter().position(|c| c == v));
            let node = story.add(TraceNode {
                label: label(kind, &fields),
                kind,
                id,
                stream: Some(stream.clone()),
            });
            if let Some(event) = cause {
                story.edge(events[event], node);
            }
        }
        story.searched.push(TraceSearch {
            stream,
            examined: found.examined as u64,
            complete: found.complete,
        });
    }
    Ok(Some(story.into_trace(claim_id, correlation_id)))
}

/// The nodes and edges found so far.
#[derive(Default)]
struct Story {
    nodes: Vec<TraceNode>,
    edges: Vec<TraceEdge>,
    searched: Vec<TraceSearch>,
    /// Node index of each request and event by its id, for the events' causes.
    by_id: HashMap<String, usize>,
}

impl Story {
    fn add(&mut self, node: TraceNode) -> usize {
        self.nodes.push(node);
        self.nodes.len() - 1
    }

    fn edge(&mut self, cause: usize, effect: usize) {
        self.edges.push(TraceEdge { cause, effect });
    }

    /// An event of the claim, after the request or event that caused it (a request's node
    /// made on its first mention). An entry that names no cause starts the story itself.
    fn add_event(&mut self, stream: &str, entry: &StreamEntry) -> usize {
        let label = match (&entry.event, &entry.marker) {
            (Some(event), _) => event.event_type().to_string(),
            (None, Some(marker)) => marker.clone(),
            (None, None) => "undecoded".to_owned(),
        };
        let cause = Causes::of(&entry.fields).map(|c| match self.by_id.get(&c.causation_id) {
            Some(known) => *known,
            None => {
                let request = self.add(TraceNode {
                    kind: TraceKind::Request,
                    label: request_label(&c.causation_id).to_owned(),
                    id: c.causation_id.clone(),
                    stream: None,
                });
                self.by_id.insert(c.causation_id, request);
                request
            }
        });
        let node = self.add(TraceNode {
            kind: TraceKind::Event,
            id: entry.id.clone(),
            stream: Some(stream.to_owned()),
            label,
        });
        self.by_id.insert(entry.id.clone(), node);
        if let Some(cause) = cause {
            self.edge(cause, node);
        }
        node
    }

    fn into_trace(self, claim_id: &str, correlation_id: Option<String>) -> ClaimTrace {
        ClaimTrace {
            claim_id: claim_id.to_owned(),
            correlation_id,
            nodes: self.nodes,
            edges: self.edges,
            searched: self.searched,
        }
    }
}

/// Who made a request, from its id's prefix (`events::commands::Cause::request`).
fn request_label(id: &str) -> &'static str {
    match id.split_once('-').map(|(origin, _)| origin) {
        Some("req") => "API request",
        Some("traffic") => "traffic generator",
        Some("scenario") => "scenario",
        _ => "request",
    }
}

fn label(kind: TraceKind, fields: &[(String, String)]) -> String {
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    };
    match kind {
        TraceKind::Notification => field("message").to_owned(),
        TraceKind::DeadLetter => format!("{}: {}", field("group"), field("error")),
        TraceKind::Analytics => "summary".to_owned(),
        TraceKind::Request | TraceKind::Event => String::new(),
    }
}
