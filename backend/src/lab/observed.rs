//! What a lab's checks look at: the state of the learner's workspace, read from Redis in at
//! most three round trips.

use redis::Value;

use crate::console::Workspace;
use crate::console::workspace::Place;
use crate::db::{self, Db, DbError};
use crate::redis_cli::Trace;
use crate::workers::stats;

/// The stream the lab works on, and the group it reads with, by the names the learner types.
pub const STREAM: &str = "claims:events";
pub const FAILED: &str = "claims:failed";
pub const PROCESSORS: &str = "claims-processors";
/// Entries of the stream the checks read.
const READ: &str = "200";

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Observed {
    pub length: u64,
    /// Entries ever added (XINFO STREAM), so trims and deletions show.
    pub entries_added: u64,
    pub first_id: Option<String>,
    /// The first entries, oldest first.
    pub entries: Vec<(String, Vec<(String, String)>)>,
    pub groups: Vec<Group>,
    /// Consumers of `claims-processors`.
    pub consumers: Vec<String>,
    /// Pending entries of `claims-processors`: (id, consumer, deliveries).
    pub pending: Vec<(String, String, u64)>,
    pub dead_letters: u64,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Group {
    pub name: String,
    pub pending: u64,
    pub last_delivered: String,
    pub entries_read: Option<u64>,
    pub lag: Option<u64>,
}

pub async fn observe(db: &Db, workspace: &Workspace) -> Result<Observed, DbError> {
    let (Ok(Place::Own(stream)), Ok(Place::Own(failed))) =
        (workspace.place(STREAM), workspace.place(FAILED))
    else {
        unreachable!("the lab's keys are the workspace's own");
    };
    let trace = &mut Trace::off();
    let first = db
        .pipeline(trace, &[vec!["EXISTS", &stream], vec!["XLEN", &failed]])
        .await?;
    let mut seen = Observed {
        dead_letters: stats::int(first.get(1)).unwrap_or(0) as u64,
        ..Observed::default()
    };
    if stats::int(first.first()) != Some(1) {
        return Ok(seen);
    }
    let mut replies = db
        .pipeline(
            trace,
            &[
                vec!["XINFO", "STREAM", &stream],
                vec!["XINFO", "GROUPS", &stream],
                vec!["XRANGE", &stream, "-", "+", "COUNT", READ],
            ],
        )
        .await?
        .into_iter();
    let info = stats::fields(&replies.next().unwrap_or_default());
    seen.length = stats::int(stats::get(&info, "length")).unwrap_or(0) as u64;
    seen.entries_added = stats::int(stats::get(&info, "entries-added")).unwrap_or(0) as u64;
    seen.first_id = match stats::get(&info, "first-entry") {
        Some(Value::Array(entry)) => entry.first().and_then(db::text),
        _ => None,
    };
    seen.groups = stats::rows(&replies.next().unwrap_or_default())
        .iter()
        .map(|g| Group {
            name: stats::get(g, "name").and_then(db::text).unwrap_or_default(),
            pending: stats::int(stats::get(g, "pending")).unwrap_or(0) as u64,
            last_delivered: stats::get(g, "last-delivered-id")
                .and_then(db::text)
                .unwrap_or_default(),
            entries_read: stats::int(stats::get(g, "entries-read")).map(|n| n as u64),
            lag: stats::int(stats::get(g, "lag")).map(|n| n as u64),
        })
        .collect();
    seen.entries = db::entries(replies.next().unwrap_or_default());
    if seen.groups.iter().any(|g| g.name == PROCESSORS) {
        let replies = db
            .pipeline(
                trace,
                &[
                    vec!["XINFO", "CONSUMERS", &stream, PROCESSORS],
                    vec!["XPENDING", &stream, PROCESSORS, "-", "+", "100"],
                ],
            )
            .await?;
        seen.consumers = stats::rows(&replies[0])
            .iter()
            .filter_map(|c| stats::get(c, "name").and_then(db::text))
            .collect();
        if let Value::Array(rows) = &replies[1] {
            seen.pending = rows
                .iter()
                .filter_map(|row| match row {
                    Value::Array(parts) => Some((
                        db::text(parts.first()?)?,
                        db::text(parts.get(1)?)?,
                        stats::int(parts.get(3))? as u64,
                    )),
                    _ => None,
                })
                .collect();
        }
    }
    Ok(seen)
}
