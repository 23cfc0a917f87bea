//! The page's shared state, provided as context to every panel. Live entries are taken in as
//! they arrive and applied together once per animation frame, so a burst costs the page one
//! update and one render a frame, not one per entry.

use std::collections::{HashSet, VecDeque};
use std::ops::{Deref, Range};

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

/// The entries the page holds, oldest first, in a ring: new ones at the back, the oldest
/// dropped from the front past [`MAX_ENTRIES`]. Each has a sequence number that stays its own
/// while it is held, so a view can follow what was added and dropped since it last looked.
#[derive(Debug, Clone, Default)]
pub struct Held {
    entries: VecDeque<StreamEntry>,
    /// The sequence number of the oldest entry held.
    first: u64,
    /// Bumped when older entries are put in front: their numbers may have been used before.
    prepends: u64,
}

impl Held {
    /// The sequence numbers of the entries held, oldest first.
    pub fn seqs(&self) -> Range<u64> {
        self.first..self.first + self.entries.len() as u64
    }

    /// How many times older entries were put in front.
    pub fn prepends(&self) -> u64 {
        self.prepends
    }

    /// The entry with this sequence number, if held.
    pub fn by_seq(&self, seq: u64) -> Option<&StreamEntry> {
        let i = usize::try_from(seq.checked_sub(self.first)?).ok()?;
        self.entries.get(i)
    }

    /// Adds a live entry unless it is held already (ids only grow along a partition's
    /// stream); drops the oldest past [`MAX_ENTRIES`]. Whether it was added, and whether
    /// any was dropped.
    pub fn push(&mut self, entry: StreamEntry) -> (bool, bool) {
        // Held already if not newer than the last one of its partition.
        if self
            .entries
            .iter()
            .rev()
            .take(2000)
            .find(|e| e.partition == entry.partition)
            .is_some_and(|last| !id_less(&last.id, &entry.id))
        {
            return (false, false);
        }
        self.entries.push_back(entry);
        let mut dropped = false;
        while self.entries.len() > MAX_ENTRIES {
            self.entries.pop_front();
            self.first += 1;
            dropped = true;
        }
        (true, dropped)
    }

    /// Puts older entries (oldest first) in front of those held.
    pub fn prepend(&mut self, older: Vec<StreamEntry>) {
        let first = self.entries.front().map(|e| e.id.clone());
        let older = older
            .into_iter()
            .filter(|e| first.as_ref().is_none_or(|f| id_less(&e.id, f)));
        let mut put = 0;
        for entry in older.rev() {
            self.entries.push_front(entry);
            put += 1;
        }
        // Numbers below the first may have been those of entries dropped since: number them
        // afresh, and say so (views that followed the numbers look again).
        if put > 0 {
            self.prepends += 1;
            self.first = 0;
        }
    }
}

impl Deref for Held {
    type Target = VecDeque<StreamEntry>;

    fn deref(&self) -> &Self::Target {
        &self.entries
    }
}

#[derive(Clone, Copy)]
pub struct Store {
    /// `claims:events` entries, oldest first.
    pub entries: RwSignal<Held>,
    /// Whether older entries than the first held exist in the stream.
    pub more_history: RwSignal<bool>,
    pub connection: RwSignal<Connection>,
    /// The claim the detail panel shows.
    pub selected: RwSignal<Option<String>>,
    /// Bumped for every batch of live entries applied, with the claims they touched, and
    /// (with none) when a rebuilt read model is swapped in, so panels can refresh.
    pub changed: RwSignal<(u64, Vec<String>)>,
    pub redis_log: RwSignal<Vec<RedisAction>>,
    /// The consumer groups as last pushed by the relay.
    pub groups: RwSignal<Option<GroupsResponse>>,
    /// The read model's projection as last read or pushed by the relay.
    pub projection: RwSignal<Option<ProjectionsResponse>>,
    /// Who the relay says this browser is; instructor controls show only to the instructor.
    pub role: RwSignal<Role>,
    /// The latest entries that arrived live, to highlight when their rows appear.
    fresh: StoredValue<VecDeque<String>>,
    /// Live entries received and not applied yet: applied together at the next animation
    /// frame. At most [`MAX_ENTRIES`] (a hidden tab has no frames; older ones would be dropped
    /// when applied anyway).
    incoming: StoredValue<VecDeque<StreamEntry>>,
    /// Whether an animation frame is asked for to apply `incoming`.
    frame_asked: StoredValue<bool>,
    /// When `incoming` was last applied (`Date.now()`).
    applied_at: StoredValue<f64>,
}

/// How many recent live entries count as fresh.
const FRESH: usize = 50;
/// Entries applied together that still flash as fresh; more are a burst.
const FLASH_AT_MOST: usize = 10;

/// Live entries are applied at most this often (ms), at an animation frame: a burst renders
/// ten times a second, each time everything that arrived meanwhile, and a lone entry shows
/// within this plus a frame.
const APPLY_EVERY_MS: f64 = 100.0;

impl Store {
    pub fn new() -> Self {
        Self {
            entries: RwSignal::new(Held::default()),
            more_history: RwSignal::new(false),
            connection: RwSignal::new(Connection::Connecting),
            selected: RwSignal::new(None),
            changed: RwSignal::new((0, Vec::new())),
            redis_log: RwSignal::new(Vec::new()),
            groups: RwSignal::new(None),
            projection: RwSignal::new(None),
            role: RwSignal::new(Role::Learner),
            fresh: StoredValue::new(VecDeque::new()),
            incoming: StoredValue::new(VecDeque::new()),
            frame_asked: StoredValue::new(false),
            applied_at: StoredValue::new(0.0),
        }
    }

    pub fn is_instructor(&self) -> bool {
        self.role.get() == Role::Instructor
    }

    /// Where the timeline is: the newest id, or with partitioned claims the newest id of
    /// each partition in view, `<partition>:<id>,...` (ids order entries within a partition
    /// only). Entries received and not applied yet do not count: a reconnect applies them
    /// first ([`Store::apply_incoming`]).
    pub fn last_id(&self) -> Option<String> {
        self.entries.with_untracked(|entries| {
            let last = entries.back()?;
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

    /// Takes in live entries (in stream order), to be applied at the next animation frame
    /// with whatever else arrives until then.
    pub fn receive(&self, entries: impl IntoIterator<Item = StreamEntry>) {
        let mut dropped = false;
        self.incoming.update_value(|incoming| {
            incoming.extend(entries);
            while incoming.len() > MAX_ENTRIES {
                incoming.pop_front();
                dropped = true;
            }
        });
        if dropped && !self.more_history.get_untracked() {
            self.more_history.set(true);
        }
        if !self.frame_asked.get_value() {
            self.frame_asked.set_value(true);
            let store = *self;
            let apply = move || request_animation_frame(move || store.apply_incoming());
            let wait = self.applied_at.get_value() + APPLY_EVERY_MS - js_sys::Date::now();
            if wait > 0.0 {
                set_timeout(apply, std::time::Duration::from_millis(wait as u64));
            } else {
                apply();
            }
        }
    }

    /// Applies the entries received since the last frame in one update of the timeline.
    pub fn apply_incoming(&self) {
        self.frame_asked.set_value(false);
        self.applied_at.set_value(js_sys::Date::now());
        let batch = self
            .incoming
            .try_update_value(std::mem::take)
            .unwrap_or_default();
        if batch.is_empty() {
            return;
        }
        let mut added_ids = Vec::new();
        let mut claims = Vec::new();
        let mut seen = HashSet::new();
        let mut dropped = false;
        self.entries.maybe_update(|held| {
            for entry in batch {
                let id = entry.id.clone();
                let claim = entry
                    .event
                    .as_ref()
                    .map(|e| e.claim_id.to_string())
                    .or_else(|| field(&entry, "claim_id"));
                let (added, dropped_some) = held.push(entry);
                dropped |= dropped_some;
                if added {
                    added_ids.push(id);
                    if let Some(claim) = claim.filter(|c| seen.insert(c.clone())) {
                        claims.push(claim);
                    }
                }
            }
            !added_ids.is_empty() || dropped
        });
        if dropped && !self.more_history.get_untracked() {
            self.more_history.set(true);
        }
        if added_ids.is_empty() {
            return;
        }
        // A few new entries flash as they come; a burst is shown as it stands (every row in
        // view flashing at once says nothing, and costs the page a repaint a frame).
        self.fresh.update_value(|f| {
            if added_ids.len() > FLASH_AT_MOST {
                f.clear();
                return;
            }
            f.extend(added_ids);
            while f.len() > FRESH {
                f.pop_front();
            }
        });
        self.changed.update(|(n, c)| {
            *n += 1;
            *c = claims;
        });
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
                c.clear();
            });
        }
    }

    pub fn is_fresh(&self, id: &str) -> bool {
        self.fresh.with_value(|f| f.iter().any(|x| x == id))
    }

    /// Puts older entries (oldest first) in front of those held.
    pub fn prepend_history(&self, older: Vec<StreamEntry>, more: bool) {
        self.entries.update(|held| held.prepend(older));
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

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str) -> StreamEntry {
        StreamEntry::decode(
            id.to_owned(),
            vec![("claim_id".into(), format!("CLM-{id}"))],
        )
    }

    fn ids(held: &Held) -> Vec<&str> {
        held.iter().map(|e| e.id.as_str()).collect()
    }

    #[test]
    fn the_ring_drops_its_oldest_past_what_it_holds_and_numbers_stay_with_entries() {
        let mut held = Held::default();
        for n in 1..=MAX_ENTRIES as u64 + 3 {
            let (added, dropped) = held.push(entry(&format!("{n}-0")));
            assert!(added);
            assert_eq!(dropped, n > MAX_ENTRIES as u64);
        }
        assert_eq!(held.len(), MAX_ENTRIES);
        assert_eq!(held.front().map(|e| e.id.as_str()), Some("4-0"));
        let seqs = held.seqs();
        assert_eq!(seqs.end - seqs.start, MAX_ENTRIES as u64);
        assert_eq!(held.by_seq(seqs.start).unwrap().id, "4-0");
        assert_eq!(
            held.by_seq(seqs.end - 1).unwrap().id,
            format!("{}-0", MAX_ENTRIES + 3)
        );
        assert!(held.by_seq(seqs.start - 1).is_none(), "dropped");
    }

    #[test]
    fn an_entry_not_newer_than_the_last_of_its_partition_is_not_added_again() {
        let mut held = Held::default();
        held.push(entry("5-0"));
        assert_eq!(held.push(entry("5-0")), (false, false));
        assert_eq!(held.push(entry("4-0")), (false, false));
        let mut other = entry("3-0");
        other.partition = Some(1);
        assert_eq!(held.push(other), (true, false), "another partition");
        assert_eq!(ids(&held), ["5-0", "3-0"]);
    }

    #[test]
    fn older_entries_go_in_front_and_renumber_the_ring() {
        let mut held = Held::default();
        held.push(entry("5-0"));
        held.prepend(vec![entry("2-0"), entry("3-0"), entry("5-0")]);
        assert_eq!(ids(&held), ["2-0", "3-0", "5-0"]);
        assert_eq!(held.prepends(), 1);
        assert_eq!(held.by_seq(held.seqs().start).unwrap().id, "2-0");
        held.prepend(vec![entry("2-0")]);
        assert_eq!(held.prepends(), 1, "nothing older: nothing put in front");
    }
}
