//! The page's shared state, provided as context to every panel.

use std::collections::VecDeque;

use leptos::prelude::*;
use shared::api::{GroupsResponse, ProjectionsResponse, Role, ScriptRun, StreamEntry};

use crate::api::Connection;

/// Entries kept in memory for the timeline; older ones are dropped and can be paged back in.
pub const MAX_ENTRIES: usize = 20_000;

/// One action and the Redis commands the relay reported for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisAction {
    pub seq: u64,
    pub title: String,
    pub commands: Vec<String>,
    /// What the scripts among the commands did inside.
    pub scripts: Vec<ScriptRun>,
}

#[derive(Clone, Copy)]
pub struct Store {
    /// `claims:events` entries, oldest first.
    pub entries: RwSignal<Vec<StreamEntry>>,
    /// Whether older entries than the first held exist in the stream.
    pub more_history: RwSignal<bool>,
    pub connection: RwSignal<Connection>,
    /// The claim the detail panel shows.
    pub selected: RwSignal<Option<String>>,
    /// Bumped for every live entry, with the claim it touched, and (with no claim) when a
    /// rebuilt read model is swapped in, so panels can refresh.
    pub changed: RwSignal<(u64, Option<String>)>,
    pub redis_log: RwSignal<Vec<RedisAction>>,
    /// The consumer groups as last pushed by the relay.
    pub groups: RwSignal<Option<GroupsResponse>>,
    /// The read model's projection as last read or pushed by the relay.
    pub projection: RwSignal<Option<ProjectionsResponse>>,
    /// Who the relay says this browser is; instructor controls show only to the instructor.
    pub role: RwSignal<Role>,
    /// The latest entries that arrived live, to highlight when their rows appear.
    fresh: StoredValue<VecDeque<String>>,
}

/// How many recent live entries count as fresh.
const FRESH: usize = 50;

impl Store {
    pub fn new() -> Self {
        Self {
            entries: RwSignal::new(Vec::new()),
            more_history: RwSignal::new(false),
            connection: RwSignal::new(Connection::Connecting),
            selected: RwSignal::new(None),
            changed: RwSignal::new((0, None)),
            redis_log: RwSignal::new(Vec::new()),
            groups: RwSignal::new(None),
            projection: RwSignal::new(None),
            role: RwSignal::new(Role::Learner),
            fresh: StoredValue::new(VecDeque::new()),
        }
    }

    pub fn is_instructor(&self) -> bool {
        self.role.get() == Role::Instructor
    }

    /// Where the timeline is: the newest id, or with partitioned claims the newest id of
    /// each partition in view, `<partition>:<id>,...` (ids order entries within a partition
    /// only).
    pub fn last_id(&self) -> Option<String> {
        self.entries.with_untracked(|entries| {
            let last = entries.last()?;
            if last.partition.is_none() {
                return Some(last.id.clone());
            }
            let mut seen: Vec<u32> = Vec::new();
            let mut cursor: Vec<String> = Vec::new();
            for e in entries.iter().rev().take(2000) {
                if let Some(p) = e.partition.filter(|p| !seen.contains(p)) {
                    seen.push(p);
                    cursor.push(format!("{p}:{}", e.id));
                }
            }
            Some(cursor.join(","))
        })
    }

    /// Appends a live entry unless it is already held (ids only grow along the stream).
    pub fn push_live(&self, entry: StreamEntry) {
        let id = entry.id.clone();
        let claim = entry
            .event
            .as_ref()
            .map(|e| e.claim_id.to_string())
            .or_else(|| field(&entry, "claim_id"));
        let added = self.entries.try_update(|entries| {
            // Held already if not newer than the last one of its partition.
            if entries
                .iter()
                .rev()
                .take(2000)
                .find(|e| e.partition == entry.partition)
                .is_some_and(|last| !id_less(&last.id, &entry.id))
            {
                return false;
            }
            entries.push(entry);
            if entries.len() > MAX_ENTRIES {
                entries.drain(..entries.len() - MAX_ENTRIES);
                self.more_history.set(true);
            }
            true
        });
        if added == Some(true) {
            self.fresh.update_value(|f| {
                f.push_back(id);
                if f.len() > FRESH {
                    f.pop_front();
                }
            });
            self.changed.update(|(n, c)| {
                *n += 1;
                *c = claim;
            });
        }
    }

    /// Takes the projection's state; a rebuild that finished since the last one held means
    /// a new read model, so whatever reads it refreshes.
    pub fn set_projection(&self, projection: ProjectionsResponse) {
        let swapped = self.projection.with_untracked(|old| {
            old.as_ref().is_some_and(|old| {
                projection.rebuild.state == "done"
                    && old.rebuild.finished_at != projection.rebuild.finished_at
            })
        });
        self.projection.set(Some(projection));
        if swapped {
            self.changed.update(|(n, c)| {
                *n += 1;
                *c = None;
            });
        }
    }

    pub fn is_fresh(&self, id: &str) -> bool {
        self.fresh.with_value(|f| f.iter().any(|x| x == id))
    }

    /// Puts older entries (oldest first) in front of those held.
    pub fn prepend_history(&self, older: Vec<StreamEntry>, more: bool) {
        self.entries.update(|entries| {
            let first = entries.first().map(|e| e.id.clone());
            let older = older
                .into_iter()
                .filter(|e| first.as_ref().is_none_or(|f| id_less(&e.id, f)));
            let mut joined: Vec<StreamEntry> = older.collect();
            joined.append(entries);
            *entries = joined;
        });
        self.more_history.set(more);
    }

    pub fn record(&self, title: impl Into<String>, commands: Vec<String>) {
        self.record_scripts(title, commands, Vec::new());
    }

    /// Like [`Store::record`], for an answer whose commands include scripts.
    pub fn record_scripts(
        &self,
        title: impl Into<String>,
        commands: Vec<String>,
        scripts: Vec<ScriptRun>,
    ) {
        let title = title.into();
        self.redis_log.update(|log| {
            let seq = log.last().map_or(1, |a| a.seq + 1);
            log.push(RedisAction {
                seq,
                title,
                commands,
                scripts,
            });
            if log.len() > 50 {
                log.remove(0);
            }
        });
    }
}

/// A raw field's value.
pub fn field(entry: &StreamEntry, name: &str) -> Option<String> {
    entry
        .fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
}

fn parse_id(id: &str) -> (u64, u64) {
    let (ms, seq) = id.split_once('-').unwrap_or((id, "0"));
    (ms.parse().unwrap_or(0), seq.parse().unwrap_or(0))
}

/// The millisecond part of an entry id: when it was appended.
pub fn id_millis(id: &str) -> u64 {
    parse_id(id).0
}

/// Stream order of two entry ids.
pub fn id_less(a: &str, b: &str) -> bool {
    parse_id(a) < parse_id(b)
}

/// The wall-clock time in an entry id's millisecond part, e.g. `08:43:40.780`.
pub fn id_time(id: &str) -> String {
    let ms = parse_id(id).0;
    shared::Timestamp::from_unix_millis(ms as i64)
        .map(|t| t.to_string()[11..23].to_owned())
        .unwrap_or_default()
}
