//! The learner's own mistakes: one detector per known misconception of the lab, each a pure
//! function over the learner's recent console lines (and, for a few, a bounded glance at the
//! stream the line named), with its explanation, its fix and the lab task it concerns; and the
//! hints they give, in the console when the line is typed and at the lab's tasks. Keeping the
//! lines is `store::workspaces::lines`'. Knows nothing of HTTP.

use std::time::Duration;

use shared::Timestamp;
use shared::api::{ConsoleHistory, HistoryLine, LabResponse, LabTask};
use shared::console::tokenize;

use crate::store::db::{Db, DbError};
use crate::store::workspaces::glance::{self, Glance};
pub use crate::store::workspaces::lines::{KEPT, Line};

use super::Workspace;

/// A known misconception: what it is, how to put it right, and the lab task it concerns.
pub struct Mistake {
    /// Stable, e.g. `xread_on_group`.
    pub id: &'static str,
    /// The lab task it concerns; `None`: whichever task the learner is on.
    pub task: Option<&'static str>,
    pub explanation: &'static str,
    pub fix: &'static str,
    /// Whether `line` shows it; what about the line shows it, if so.
    detect: fn(&Context) -> Option<String>,
}

impl Mistake {
    /// The hint a learner reads: the explanation and the fix.
    pub fn hint(&self) -> String {
        format!("{} Fix: {}", self.explanation, self.fix)
    }
}

/// What a detector sees of a line.
pub struct Context<'a> {
    /// The learner's earlier lines, oldest first (for the detectors that need them).
    pub before: &'a [Line],
    /// The line just run, with what Redis answered.
    pub line: &'a Line,
    /// The stream the line named, if its detectors need to look ([`needs_glance`]).
    pub glance: Option<&'a Glance>,
}

/// Every detector, in the order they are tried (the first that fires names the line).
pub const MISTAKES: &[Mistake] = &[
    Mistake {
        id: "id_not_greater",
        task: Some("append_three"),
        explanation: "Stream ids only grow: every entry's id (milliseconds-sequence) must be \
                      greater than the last one's, so Redis refuses an explicit id that is \
                      equal to or smaller than the stream's newest.",
        fix: "give * and Redis picks the next id; an explicit id must be above the newest \
              (XINFO STREAM <key> shows it as last-generated-id).",
        detect: id_not_greater,
    },
    Mistake {
        id: "wrong_type",
        task: None,
        explanation: "Every Redis key holds one type, and stream commands work only on \
                      streams: this key already holds another type (a string, a list, a \
                      hash ...), made by another command or under a name you meant for \
                      something else.",
        fix: "TYPE <key> tells which type it holds; give the stream another name, or DEL the \
              key if you no longer need it.",
        detect: wrong_type,
    },
    Mistake {
        id: "xread_on_group",
        task: Some("read_as_c1"),
        explanation: "XREAD reads a stream as a plain reader: it sees every entry, remembers \
                      nothing and shares nothing with the stream's consumer groups. Only \
                      XREADGROUP reads through a group, which hands each entry to one of its \
                      consumers and keeps it pending until it is acknowledged.",
        fix: "read through the group: XREADGROUP GROUP <group> <consumer> COUNT 10 STREAMS \
              <key> >",
        detect: xread_on_group,
    },
    Mistake {
        id: "zero_for_new",
        task: Some("read_as_c1"),
        explanation: "In XREADGROUP the id says which entries: > asks for entries the group \
                      has given no consumer yet, while 0 (or any id) asks for this consumer's \
                      own pending history, the entries it was given before and has not \
                      acknowledged. Reading with 0 never brings a new entry.",
        fix: "read new entries with >: XREADGROUP GROUP <group> <consumer> COUNT 10 STREAMS \
              <key> >; use 0 only to read again what this consumer holds, e.g. after a \
              restart.",
        detect: zero_for_new,
    },
    Mistake {
        id: "never_acked",
        task: Some("acknowledge"),
        explanation: "An entry read with XREADGROUP stays in the group's pending list until \
                      the consumer acknowledges it: the group takes it for work in progress, \
                      and if the consumer crashed another would claim it. Reading on without \
                      acknowledging makes the pending list grow with every read.",
        fix: "acknowledge each entry once it is processed: XACK <key> <group> <id> (XPENDING \
              <key> <group> lists the ids waiting).",
        detect: never_acked,
    },
    Mistake {
        id: "ack_wrong_group",
        task: Some("acknowledge"),
        explanation: "Each consumer group keeps a pending list of its own: XACK removes the \
                      ids from the list of the group it names and answers how many it \
                      removed. An id another group delivered stays pending there; \
                      acknowledging it in this group does nothing.",
        fix: "acknowledge in the group that delivered the entry: XPENDING <key> <group> \
              shows which ids each group holds.",
        detect: ack_wrong_group,
    },
    Mistake {
        id: "setid_without_entriesread",
        task: Some("group_created"),
        explanation: "XGROUP SETID moves the group's last-delivered id, but Redis cannot tell \
                      how many entries lie before that id: the group's entries-read becomes \
                      unknown, and its lag (XINFO GROUPS) shows nil until it has read to the \
                      end of the stream.",
        fix: "say how many entries lie before the id: XGROUP SETID <key> <group> 0 \
              ENTRIESREAD 0 (or XLEN <key> with $).",
        detect: setid_without_entriesread,
    },
    Mistake {
        id: "trim_pending",
        task: Some("trim_safely"),
        explanation: "Trimming (XTRIM, or XADD with MAXLEN or MINID) removes the oldest \
                      entries without looking at the consumer groups: an entry a consumer read \
                      but has not acknowledged stays in the pending list as an id whose data \
                      is gone, and claiming it or reading it again gives nothing to process.",
        fix: "trim behind the oldest pending entry: XPENDING <key> <group> - + 1 gives it, \
              then XTRIM <key> MINID <that id>.",
        detect: trim_pending,
    },
];

/// The generic hint's id: a learner on one task for minutes, typing, without it turning done.
pub const STUCK: &str = "stuck";

/// The mistake with this id.
pub fn by_id(id: &str) -> Option<&'static Mistake> {
    MISTAKES.iter().find(|m| m.id == id)
}

/// The first detector that fires on the context's line, and what showed it.
pub fn detect(context: &Context) -> Option<(&'static Mistake, String)> {
    MISTAKES
        .iter()
        .find_map(|m| (m.detect)(context).map(|why| (m, why)))
}

/// The line's words, its command's name in capitals (`XGROUP SETID` for two-word ones).
fn words(line: &Line) -> (String, Vec<String>) {
    let words = tokenize(&line.line).unwrap_or_default();
    let first = words.first().map(|w| w.to_ascii_uppercase());
    let name = match first.as_deref() {
        Some(two @ ("XGROUP" | "XINFO")) => match words.get(1) {
            Some(sub) => format!("{two} {}", sub.to_ascii_uppercase()),
            None => two.to_owned(),
        },
        Some(one) => one.to_owned(),
        None => String::new(),
    };
    (name, words)
}

/// A stream read's keys and ids (the words after `STREAMS`).
fn streams(words: &[String], from: usize) -> (Vec<&str>, Vec<&str>) {
    let Some(at) = words
        .iter()
        .skip(from)
        .position(|w| w.eq_ignore_ascii_case("STREAMS"))
    else {
        return (Vec::new(), Vec::new());
    };
    let rest: Vec<&str> = words[from + at + 1..].iter().map(String::as_str).collect();
    let (keys, ids) = rest.split_at(rest.len() / 2);
    (keys.to_vec(), ids.to_vec())
}

/// An XREADGROUP line's group, consumer and ids.
struct GroupRead<'a> {
    group: &'a str,
    consumer: &'a str,
    ids: Vec<&'a str>,
}

fn group_read<'a>(name: &str, words: &'a [String]) -> Option<GroupRead<'a>> {
    if name != "XREADGROUP" || words.len() < 4 {
        return None;
    }
    Some(GroupRead {
        group: &words[2],
        consumer: &words[3],
        ids: streams(words, 4).1,
    })
}

fn id_not_greater(c: &Context) -> Option<String> {
    let (name, _) = words(c.line);
    let error = c.line.error.as_deref()?;
    (name == "XADD" && error.contains("equal or smaller"))
        .then(|| "Redis refused the id as equal to or smaller than the stream's newest".into())
}

fn wrong_type(c: &Context) -> Option<String> {
    let (_, words) = words(c.line);
    (c.line.outcome == "WRONGTYPE").then(|| {
        format!(
            "Redis answered WRONGTYPE: {} is not a stream",
            words.get(1).map_or("the key", String::as_str)
        )
    })
}

fn xread_on_group(c: &Context) -> Option<String> {
    let (name, words) = words(c.line);
    if name != "XREAD" || !c.line.ok() {
        return None;
    }
    let (keys, _) = streams(&words, 1);
    let groups: Vec<&str> = c.glance?.groups.iter().map(|g| g.name.as_str()).collect();
    (!groups.is_empty()).then(|| {
        format!(
            "{} has the consumer group {}, and XREAD reads past it",
            keys.first().unwrap_or(&"the stream"),
            groups.join(", ")
        )
    })
}

fn zero_for_new(c: &Context) -> Option<String> {
    let (name, words) = words(c.line);
    let read = group_read(&name, &words)?;
    if !c.line.ok() || read.ids.is_empty() || read.ids.contains(&">") {
        return None;
    }
    let returned = c.line.returned?;
    let id = read.ids.join(" ");
    if returned == 0 {
        return Some(format!(
            "read with {id}, {} got nothing: it holds nothing pending",
            read.consumer
        ));
    }
    let same = c.before.iter().rev().any(|l| {
        l.ok() && l.returned == Some(returned) && l.line.eq_ignore_ascii_case(&c.line.line)
    });
    same.then(|| {
        format!(
            "read with {id} again, {} got the same {returned} entries as before",
            read.consumer
        )
    })
}

/// Reads in a row (this one the last) that got new entries of the same group, and how many
/// entries they got, since that group last acknowledged something.
fn unacknowledged_reads(c: &Context, group: &str) -> (usize, u64) {
    let mut reads = 0;
    let mut entries = 0;
    for line in c.before.iter().chain([c.line]).rev() {
        if !line.ok() {
            continue;
        }
        let (name, words) = words(line);
        if name == "XACK" && words.get(2).is_some_and(|g| g == group) && line.returned > Some(0) {
            break;
        }
        let Some(read) = group_read(&name, &words) else {
            continue;
        };
        if read.group == group && read.ids.iter().all(|id| *id == ">") {
            let got = line.returned.unwrap_or(0);
            if got > 0 {
                reads += 1;
                entries += got;
            }
        }
    }
    (reads, entries)
}

/// Reads of new entries without an acknowledgement between them before the hint shows.
const READS_WITHOUT_ACK: usize = 3;

fn never_acked(c: &Context) -> Option<String> {
    let (name, words) = words(c.line);
    let read = group_read(&name, &words)?;
    if !c.line.ok() || c.line.returned.unwrap_or(0) == 0 || read.ids.iter().any(|id| *id != ">") {
        return None;
    }
    let (reads, entries) = unacknowledged_reads(c, read.group);
    (reads >= READS_WITHOUT_ACK).then(|| {
        format!(
            "{reads} reads through {} gave {entries} entries and none was acknowledged: all \
             of them wait in its pending list",
            read.group
        )
    })
}

fn ack_wrong_group(c: &Context) -> Option<String> {
    let (name, words) = words(c.line);
    if name != "XACK" || !c.line.ok() || words.len() < 4 {
        return None;
    }
    let asked = words.len() as u64 - 3;
    if c.line.returned? >= asked {
        return None;
    }
    let group = &words[2];
    let (other, id) = c.glance?.groups.iter().find_map(|g| {
        (g.name != *group)
            .then(|| g.holds.first().map(|id| (g.name.as_str(), id)))
            .flatten()
    })?;
    Some(format!(
        "XACK in {group} acknowledged {} of {asked}, while {id} is pending in {other}",
        c.line.returned.unwrap_or(0)
    ))
}

fn setid_without_entriesread(c: &Context) -> Option<String> {
    let (name, words) = words(c.line);
    let plain = !words.iter().any(|w| w.eq_ignore_ascii_case("ENTRIESREAD"));
    (name == "XGROUP SETID" && c.line.ok() && plain).then(|| {
        format!(
            "{} was moved without ENTRIESREAD, so its lag is unknown now",
            words.get(3).map_or("the group", String::as_str)
        )
    })
}

/// An id as (milliseconds, sequence), for comparing.
fn id_order(id: &str) -> (u64, u64) {
    let (ms, seq) = id.split_once('-').unwrap_or((id, "0"));
    (ms.parse().unwrap_or(0), seq.parse().unwrap_or(0))
}

fn trim_pending(c: &Context) -> Option<String> {
    let (name, words) = words(c.line);
    let trims = match name.as_str() {
        "XTRIM" => c.line.returned > Some(0),
        "XADD" => words
            .iter()
            .any(|w| w.eq_ignore_ascii_case("MAXLEN") || w.eq_ignore_ascii_case("MINID")),
        _ => false,
    };
    if !trims || !c.line.ok() {
        return None;
    }
    let glance = c.glance?;
    glance.groups.iter().find_map(|g| {
        let oldest = g.oldest_pending.as_deref()?;
        let gone = match glance.first_id.as_deref() {
            Some(first) => id_order(oldest) < id_order(first),
            None => true,
        };
        gone.then(|| {
            format!(
                "{} still holds {oldest} pending, and the stream now starts at {}",
                g.name,
                glance
                    .first_id
                    .as_deref()
                    .unwrap_or("nothing (it is empty)")
            )
        })
    })
}

/// The stream a line's detectors need to look at (the name it was typed as), and the ids to
/// look up in its groups' pending lists; `None`: none needed.
pub fn needs_glance(line: &Line) -> Option<(String, Vec<String>)> {
    if !line.ok() {
        return None;
    }
    let (name, words) = words(line);
    let key = || words.get(1).cloned();
    match name.as_str() {
        "XREAD" => streams(&words, 1)
            .0
            .first()
            .map(|k| ((*k).to_owned(), Vec::new())),
        "XTRIM" if line.returned > Some(0) => Some((key()?, Vec::new())),
        "XADD"
            if words
                .iter()
                .any(|w| w.eq_ignore_ascii_case("MAXLEN") || w.eq_ignore_ascii_case("MINID")) =>
        {
            Some((key()?, Vec::new()))
        }
        "XACK" if line.returned < Some(words.len().saturating_sub(3) as u64) => Some((
            key()?,
            words.iter().skip(3).take(glance::IDS).cloned().collect(),
        )),
        _ => None,
    }
}

/// Whether a line's detectors need the lines before it.
fn needs_before(line: &Line) -> bool {
    words(line).0 == "XREADGROUP"
}

/// Runs the detectors on a line just run and keeps it among the workspace's recent lines,
/// with the mistake it showed; that mistake's hint, if any.
pub async fn after_line(db: &Db, workspace: &Workspace, mut line: Line) -> Option<String> {
    let before = if needs_before(&line) {
        workspace
            .recent_lines(db, KEPT)
            .await
            .inspect_err(|e| tracing::warn!(error = %e, "recent lines not read"))
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    let mut seen = None;
    if let Some((typed, ids)) = needs_glance(&line)
        && let Ok(place) = workspace.place(&typed)
    {
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        seen = glance::glance(db, place.real(), &ids)
            .await
            .inspect_err(|e| tracing::warn!(error = %e, "stream not glanced at"))
            .ok();
    }
    let found = detect(&Context {
        before: &before,
        line: &line,
        glance: seen.as_ref(),
    });
    line.mistake = found.as_ref().map(|(m, _)| m.id.to_owned());
    if let Err(e) = workspace.record_line(db, &line).await {
        tracing::warn!(error = %e, "console line not recorded");
    }
    found.map(|(m, _)| m.hint())
}

/// The workspace's recent lines, oldest first, as `GET /api/console/history` gives them.
pub async fn history(db: &Db, workspace: &Workspace) -> Result<ConsoleHistory, DbError> {
    let lines = workspace.recent_lines(db, KEPT).await?;
    Ok(ConsoleHistory {
        lines: lines
            .into_iter()
            .map(|l| HistoryLine {
                time: Timestamp::from_unix_millis(l.at_ms)
                    .map(|t| t.to_string())
                    .unwrap_or_default(),
                line: l.line,
                outcome: l.outcome,
                returned: l.returned,
                mistake: l.mistake,
            })
            .collect(),
    })
}

/// The detectors that fired on the workspace's recent lines (at most [`KEPT`]), each once, in
/// the order they first fired: what the class view counts per learner.
pub async fn fired(db: &Db, workspace: &Workspace) -> Result<Vec<&'static str>, DbError> {
    let lines = workspace.recent_lines(db, KEPT).await?;
    Ok(fired_in(&lines))
}

fn fired_in(lines: &[Line]) -> Vec<&'static str> {
    let mut ids: Vec<&'static str> = Vec::new();
    for mistake in lines.iter().filter_map(|l| by_id(l.mistake.as_deref()?)) {
        if !ids.contains(&mistake.id) {
            ids.push(mistake.id);
        }
    }
    ids
}

/// The lines a task's hint is drawn from: the newest few, so a hint fades as the learner
/// moves on.
pub const HINT_WINDOW: usize = 20;
/// Lines typed on a task before the learner can be stuck on it.
const STUCK_LINES: usize = 2;

/// Each task's hint: the newest mistake among the learner's last [`HINT_WINDOW`] lines that
/// concerns it, and on the task the learner is on (the first not done), the generic hint
/// when they have spent `stuck_after` on it and typed without it turning done.
pub async fn annotate(
    db: &Db,
    workspace: &Workspace,
    lab: &mut LabResponse,
    now: Timestamp,
    stuck_after: Duration,
) -> Result<(), DbError> {
    let lines = workspace.recent_lines(db, HINT_WINDOW).await?;
    let current = lab
        .steps
        .iter()
        .flat_map(|s| &s.tasks)
        .find(|t| !t.done)
        .map(|t| t.id.clone());
    let since = match &current {
        Some(task) => Some(workspace.on_task(db, task, now.unix_millis()).await?),
        None => None,
    };
    hint_tasks(lab, &lines, current.as_deref(), since, now, stuck_after);
    Ok(())
}

/// [`annotate`]'s rule, without Redis: `since` is when the learner came to `current`.
fn hint_tasks(
    lab: &mut LabResponse,
    lines: &[Line],
    current: Option<&str>,
    since: Option<i64>,
    now: Timestamp,
    stuck_after: Duration,
) {
    for line in lines.iter().rev() {
        let Some(mistake) = line.mistake.as_deref().and_then(by_id) else {
            continue;
        };
        let Some(task) = mistake.task.or(current) else {
            continue;
        };
        if let Some(t) = task_mut(lab, task).filter(|t| t.hint.is_none()) {
            t.hint = Some(mistake.hint());
            t.hint_reason = Some(format!(
                "you typed `{}` at {} UTC ({})",
                line.line,
                at(line.at_ms),
                mistake.id
            ));
        }
    }
    let (Some(current), Some(since)) = (current, since) else {
        return;
    };
    if let Some(t) = task_mut(lab, current).filter(|t| t.hint.is_none())
        && let Some(reason) = stuck(lines, since, now.unix_millis(), stuck_after)
    {
        t.hint = Some(stuck_hint(t));
        t.hint_reason = Some(reason);
    }
}

fn task_mut<'a>(lab: &'a mut LabResponse, id: &str) -> Option<&'a mut LabTask> {
    lab.steps
        .iter_mut()
        .flat_map(|s| s.tasks.iter_mut())
        .find(|t| t.id == id)
}

/// Why the learner seems stuck on the task they came to at `since`, if they do: on it for
/// `after` or longer, and typed lines meanwhile.
pub fn stuck(lines: &[Line], since: i64, now: i64, after: Duration) -> Option<String> {
    let on_it = now.saturating_sub(since);
    // A line in the very millisecond the lab found the task counts as before it.
    let typed = lines.iter().filter(|l| l.at_ms > since).count();
    (on_it >= after.as_millis() as i64 && typed >= STUCK_LINES).then(|| {
        format!(
            "{STUCK}: {} min on this task and {typed} lines typed since, none of which finished it",
            on_it / 60_000
        )
    })
}

fn stuck_hint(task: &LabTask) -> String {
    format!(
        "This task has not turned done for a while. Its evidence says what Redis does not \
         show yet: \"{}\". Fix: try its example, `{}`, then compare it with what you typed \
         (HELP <command> gives the usage).",
        task.evidence, task.example
    )
}

/// `HH:MM:SS` of a line's time.
fn at(ms: i64) -> String {
    Timestamp::from_unix_millis(ms)
        .map(|t| t.to_string())
        .and_then(|t| t.get(11..19).map(str::to_owned))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::workspaces::glance::GroupGlance;

    fn ok(line: &str, returned: Option<u64>) -> Line {
        Line {
            returned,
            ..Line::new(line, 0, "ok")
        }
    }

    fn failed(line: &str, code: &str, error: &str) -> Line {
        Line::new(line, 0, code).with_error(error)
    }

    /// The detector that fires on `line` after `before`, seeing `glance`.
    fn on(before: &[Line], line: &Line, glance: Option<&Glance>) -> Option<&'static str> {
        detect(&Context {
            before,
            line,
            glance,
        })
        .map(|(m, _)| m.id)
    }

    fn group(name: &str, pending: u64, oldest: Option<&str>, holds: &[&str]) -> GroupGlance {
        GroupGlance {
            name: name.into(),
            pending,
            oldest_pending: oldest.map(Into::into),
            holds: holds.iter().map(|&s| s.into()).collect(),
        }
    }

    #[test]
    fn every_mistake_has_an_explanation_a_fix_and_a_task_of_the_lab() {
        let tasks: Vec<String> = crate::teaching::lab::evaluate(&crate::teaching::lab::Seen {
            workspace: &Default::default(),
            environment: &shared::api::ValidationResponse {
                ok: true,
                checks: Vec::new(),
            },
        })
        .steps
        .into_iter()
        .flat_map(|s| s.tasks)
        .map(|t| t.id)
        .collect();
        for m in MISTAKES {
            assert!(m.explanation.len() > 100 && m.fix.len() > 20, "{}", m.id);
            if let Some(task) = m.task {
                assert!(tasks.iter().any(|t| t == task), "{} names {task}", m.id);
            }
        }
    }

    #[test]
    fn an_explicit_id_not_above_the_newest_and_a_wrong_type_are_recognised() {
        let refused = failed(
            "XADD s 1-1 a 1",
            "ERR",
            "The ID specified in XADD is equal or smaller than the target stream top item",
        );
        assert_eq!(on(&[], &refused, None), Some("id_not_greater"));
        assert_eq!(on(&[], &ok("XADD s 2-1 a 1", None), None), None);
        let typed = failed("XADD name * a 1", "WRONGTYPE", "Operation against a key");
        assert_eq!(on(&[], &typed, None), Some("wrong_type"));
        let other = failed("XADD s 1-1 a 1", "ERR", "Invalid stream ID");
        assert_eq!(on(&[], &other, None), None);
    }

    #[test]
    fn xread_is_a_mistake_only_on_a_stream_with_a_group() {
        let line = ok("XREAD COUNT 2 STREAMS claims:events 0", Some(2));
        let grouped = Glance {
            first_id: Some("1-0".into()),
            groups: vec![group("claims-processors", 0, None, &[])],
        };
        assert_eq!(on(&[], &line, Some(&grouped)), Some("xread_on_group"));
        assert_eq!(on(&[], &line, Some(&Glance::default())), None);
        assert_eq!(needs_glance(&line).unwrap().0, "claims:events");
    }

    #[test]
    fn reading_with_zero_for_new_entries_is_recognised_when_it_brings_nothing_new() {
        let zero = "XREADGROUP GROUP g c1 STREAMS s 0";
        assert_eq!(on(&[], &ok(zero, Some(0)), None), Some("zero_for_new"));
        // The first read of a consumer's history is fine; the same answer again is not.
        assert_eq!(on(&[], &ok(zero, Some(2)), None), None);
        assert_eq!(
            on(&[ok(zero, Some(2))], &ok(zero, Some(2)), None),
            Some("zero_for_new")
        );
        let new = "XREADGROUP GROUP g c1 STREAMS s >";
        assert_eq!(on(&[ok(new, Some(0))], &ok(new, Some(0)), None), None);
    }

    #[test]
    fn reading_on_without_acknowledging_is_recognised_at_the_third_read() {
        let read = || ok("XREADGROUP GROUP g c1 COUNT 1 STREAMS s >", Some(1));
        assert_eq!(on(&[read()], &read(), None), None);
        assert_eq!(on(&[read(), read()], &read(), None), Some("never_acked"));
        let acked = ok("XACK s g 1-0", Some(1));
        assert_eq!(on(&[read(), read(), acked.clone()], &read(), None), None);
        // An acknowledgement in another group does not count.
        let elsewhere = ok("XACK s other 1-0", Some(1));
        assert_eq!(
            on(&[read(), elsewhere, read()], &read(), None),
            Some("never_acked")
        );
        // Empty reads do not grow the pending list.
        let empty = ok("XREADGROUP GROUP g c1 COUNT 1 STREAMS s >", Some(0));
        assert_eq!(on(&[read(), read()], &empty, None), None);
    }

    #[test]
    fn acknowledging_in_a_group_that_does_not_hold_the_id_is_recognised() {
        let line = ok("XACK s analytics 5-0", Some(0));
        assert_eq!(needs_glance(&line).unwrap().1, ["5-0"]);
        let elsewhere = Glance {
            first_id: Some("1-0".into()),
            groups: vec![
                group("analytics", 0, None, &[]),
                group("processors", 1, Some("5-0"), &["5-0"]),
            ],
        };
        assert_eq!(on(&[], &line, Some(&elsewhere)), Some("ack_wrong_group"));
        // Acknowledged twice: nowhere pending, no mistake of group.
        let nowhere = Glance {
            groups: vec![group("analytics", 0, None, &[])],
            ..elsewhere.clone()
        };
        assert_eq!(on(&[], &line, Some(&nowhere)), None);
        assert_eq!(needs_glance(&ok("XACK s analytics 5-0", Some(1))), None);
    }

    #[test]
    fn setid_is_a_mistake_only_without_entriesread() {
        let plain = ok("XGROUP SETID s g 0", None);
        assert_eq!(on(&[], &plain, None), Some("setid_without_entriesread"));
        let counted = ok("xgroup setid s g 0 entriesread 0", None);
        assert_eq!(on(&[], &counted, None), None);
    }

    #[test]
    fn trimming_is_a_mistake_only_when_a_pending_entry_went() {
        let trim = ok("XTRIM s MAXLEN 1", Some(2));
        let lost = Glance {
            first_id: Some("3-0".into()),
            groups: vec![group("g", 1, Some("2-0"), &[])],
        };
        assert_eq!(on(&[], &trim, Some(&lost)), Some("trim_pending"));
        let kept = Glance {
            first_id: Some("2-0".into()),
            ..lost.clone()
        };
        assert_eq!(on(&[], &trim, Some(&kept)), None);
        let capped = ok("XADD s MAXLEN 1 * a 1", None);
        assert_eq!(on(&[], &capped, Some(&lost)), Some("trim_pending"));
        assert!(needs_glance(&capped).is_some());
        assert_eq!(needs_glance(&ok("XTRIM s MAXLEN 1", Some(0))), None);
    }

    #[test]
    fn a_learner_is_stuck_after_minutes_on_a_task_with_lines_typed() {
        let five = Duration::from_secs(300);
        let at = |ms| Line::new("XLEN s", ms, "ok");
        let lines = [at(1), at(1_000), at(200_000)];
        assert!(stuck(&lines, 0, 299_999, five).is_none());
        assert!(stuck(&lines, 0, 300_000, five).unwrap().contains("5 min"));
        // Minutes away from the console, no lines typed: not stuck, just away.
        assert!(stuck(&lines, 250_000, 900_000, five).is_none());
    }

    #[test]
    fn a_task_shows_its_newest_mistake_and_mistakes_are_counted_once() {
        let mut lab = crate::teaching::lab::evaluate(&crate::teaching::lab::Seen {
            workspace: &Default::default(),
            environment: &shared::api::ValidationResponse {
                ok: true,
                checks: Vec::new(),
            },
        });
        let marked = |line: &str, id: &str| Line {
            mistake: Some(id.into()),
            ..Line::new(line, 0, "WRONGTYPE")
        };
        let lines = [
            marked("XADD s 1-1 a 1", "id_not_greater"),
            marked("XADD name * a 1", "wrong_type"),
            marked("XADD name * a 1", "wrong_type"),
        ];
        let now = Timestamp::from_unix_millis(0).unwrap();
        hint_tasks(
            &mut lab,
            &lines,
            Some("lifecycle"),
            Some(0),
            now,
            Duration::from_secs(300),
        );
        let task = |id: &str| {
            lab.steps
                .iter()
                .flat_map(|s| &s.tasks)
                .find(|t| t.id == id)
                .unwrap()
                .clone()
        };
        assert!(task("append_three").hint.unwrap().contains("give *"));
        assert!(task("lifecycle").hint.unwrap().contains("TYPE <key>"));
        assert!(
            task("lifecycle")
                .hint_reason
                .unwrap()
                .contains("wrong_type")
        );
        assert_eq!(task("acknowledge").hint, None);
        assert_eq!(fired_in(&lines), ["id_not_greater", "wrong_type"]);
    }
}
