//! The guided lab: five steps of tasks, each checked against the real Redis state of the
//! learner's workspace, never against a button. Progress is that state, so it survives a
//! reload, and a task turns back to undone when its state no longer holds.

pub mod class;
pub mod observed;
pub mod quiz;
pub mod report;
pub mod show;

use shared::api::{LabResponse, LabStep, LabTask, ValidationResponse};

use crate::store::workspaces::Marks;
use observed::{Observed, PROCESSORS};

/// A task: its id, title, an example command, and its check.
struct Task {
    id: &'static str,
    title: &'static str,
    example: &'static str,
    check: fn(&Seen) -> Result<String, String>,
    /// "Show me": console lines that make the check pass from any reasonable state of the
    /// workspace (`<id N>` stands for the id the show's N-th XADD got).
    show: fn(&Observed) -> Vec<String>,
}

/// What the checks see: the workspace and the environment.
pub struct Seen<'a> {
    pub workspace: &'a Observed,
    pub environment: &'a ValidationResponse,
}

struct Step {
    id: &'static str,
    title: &'static str,
    explanation: &'static str,
    tasks: &'static [Task],
}

const STEPS: &[Step] = &[
    Step {
        id: "setup",
        title: "1. Setup",
        explanation: "A stream lives in Redis. Check that Redis is there and fit for the lab: \
                      reachable, recent enough for XAUTOCLAIM and group lag, and not evicting.",
        tasks: &[Task {
            id: "environment",
            title: "the environment passes its checks",
            example: "PING",
            check: environment,
            show: show_environment,
        }],
    },
    Step {
        id: "streams",
        title: "2. Streams basics",
        explanation: "A stream is an append-only log: XADD appends an entry of field-value \
                      pairs and Redis gives it an id (milliseconds-sequence) that only grows.",
        tasks: &[
            Task {
                id: "append_three",
                title: "append three claim events with XADD to claims:events",
                example: "XADD claims:events * type claim_submitted claim_id c-1 amount 120.00",
                check: append_three,
                show: show_append_three,
            },
            Task {
                id: "event_fields",
                title: "an entry is a claim event: a type and a claim_id",
                example: "XADD claims:events * type claim_submitted claim_id c-1 amount 120.00",
                check: event_fields,
                show: show_event_fields,
            },
        ],
    },
    Step {
        id: "implementation",
        title: "3. Implementation",
        explanation: "Event sourcing: a claim's state is the fold of its events. A consumer \
                      group shares the stream's entries among consumers and remembers what \
                      each has been given.",
        tasks: &[
            Task {
                id: "lifecycle",
                title: "one claim's full lifecycle: submitted, a status update, then paid or rejected",
                example: "XADD claims:events * type claim_status_updated claim_id c-1 from submitted to under_review",
                check: lifecycle,
                show: show_lifecycle,
            },
            Task {
                id: "group_created",
                title: "create the group claims-processors from the start of the stream",
                example: "XGROUP CREATE claims:events claims-processors 0",
                check: group_created,
                show: show_group_created,
            },
            Task {
                id: "read_as_c1",
                title: "read as consumer c1 with XREADGROUP",
                example: "XREADGROUP GROUP claims-processors c1 COUNT 2 STREAMS claims:events >",
                check: read_as_c1,
                show: show_read_as_c1,
            },
        ],
    },
    Step {
        id: "advanced",
        title: "4. Advanced operations",
        explanation: "What a consumer read stays pending until it acknowledges it; a crashed \
                      consumer's entries wait until another claims them. Trimming keeps the \
                      stream bounded, and is safe only behind what groups still need.",
        tasks: &[
            Task {
                id: "acknowledge",
                title: "acknowledge an entry with XACK, leaving another pending (find them with XPENDING)",
                example: "XACK claims:events claims-processors <id-from-XPENDING>",
                check: acknowledge,
                show: show_acknowledge,
            },
            Task {
                id: "claim_idle",
                title: "claim an idle entry for consumer c2 (XCLAIM or XAUTOCLAIM)",
                example: "XAUTOCLAIM claims:events claims-processors c2 0 0",
                check: claim_idle,
                show: show_claim_idle,
            },
            Task {
                id: "trim_safely",
                title: "trim safely: remove old entries but none still pending",
                example: "XTRIM claims:events MINID <oldest-pending-id>",
                check: trim_safely,
                show: show_trim_safely,
            },
        ],
    },
    Step {
        id: "validation",
        title: "5. Validation",
        explanation: "Several groups read the same stream independently; entries that keep \
                      failing go to a dead-letter stream instead of blocking the rest.",
        tasks: &[
            Task {
                id: "three_groups",
                title: "claims-analytics and claims-notifications read the stream too",
                example: "XGROUP CREATE claims:events claims-analytics 0",
                check: three_groups,
                show: show_three_groups,
            },
            Task {
                id: "dead_letter",
                title: "a failed entry moved to claims:failed with the reason",
                example: "XADD claims:failed * original_id <id> group claims-processors error \"amount missing\"",
                check: dead_letter,
                show: show_dead_letter,
            },
        ],
    },
];

/// The steps' ids and titles, in order.
pub fn steps() -> impl Iterator<Item = (&'static str, &'static str)> {
    STEPS.iter().map(|s| (s.id, s.title))
}

/// Every task as (step id, task id, title), in the lab's order.
pub fn tasks() -> impl Iterator<Item = (&'static str, &'static str, &'static str)> {
    STEPS
        .iter()
        .flat_map(|s| s.tasks.iter().map(move |t| (s.id, t.id, t.title)))
}

/// Every step, each task checked.
pub fn evaluate(seen: &Seen) -> LabResponse {
    let steps: Vec<LabStep> = STEPS
        .iter()
        .map(|step| LabStep {
            id: step.id.to_owned(),
            title: step.title.to_owned(),
            explanation: step.explanation.to_owned(),
            quiz: quiz::of_step(step.id),
            tasks: step
                .tasks
                .iter()
                .map(|task| {
                    let (done, evidence) = match (task.check)(seen) {
                        Ok(evidence) => (true, evidence),
                        Err(missing) => (false, missing),
                    };
                    LabTask {
                        id: task.id.to_owned(),
                        title: task.title.to_owned(),
                        example: task.example.to_owned(),
                        done,
                        evidence,
                        helped: false,
                        hint: None,
                        hint_reason: None,
                    }
                })
                .collect(),
        })
        .collect();
    let tasks = steps.iter().flat_map(|s| &s.tasks);
    LabResponse {
        done: tasks.clone().filter(|t| t.done).count(),
        total: tasks.count(),
        steps,
    }
}

/// The lab as this workspace left it: its quiz answers and the tasks "show me" ran.
pub fn annotate(lab: &mut LabResponse, marks: &Marks) {
    for step in &mut lab.steps {
        for task in &mut step.tasks {
            task.helped = marks.helped.contains(&task.id);
        }
        for question in &mut step.quiz {
            if let Some(&choice) = marks.answers.get(&question.id) {
                quiz::answered(question, choice);
            }
        }
    }
}

/// Every task's id, in the lab's order.
pub fn task_ids() -> impl Iterator<Item = &'static str> {
    STEPS.iter().flat_map(|s| s.tasks).map(|t| t.id)
}

/// The task's reference lines for the workspace as it is (`None`: no such task).
pub fn reference(task: &str, workspace: &Observed) -> Option<Vec<String>> {
    let task = STEPS.iter().flat_map(|s| s.tasks).find(|t| t.id == task)?;
    Some((task.show)(workspace))
}

fn environment(seen: &Seen) -> Result<String, String> {
    let failed: Vec<&str> = seen
        .environment
        .checks
        .iter()
        .filter(|c| c.status == shared::api::CheckStatus::Fail)
        .map(|c| c.title.as_str())
        .collect();
    if failed.is_empty() {
        Ok(format!(
            "{} checks pass ({})",
            seen.environment.checks.len(),
            seen.environment
                .checks
                .iter()
                .find(|c| c.id == "redis_version_lag")
                .map_or("", |c| c.detail.as_str())
        ))
    } else {
        Err(format!("failing: {}", failed.join(", ")))
    }
}

fn append_three(seen: &Seen) -> Result<String, String> {
    let w = seen.workspace;
    if w.entries_added >= 3 {
        Ok(format!(
            "claims:events has had {} entries appended",
            w.entries_added
        ))
    } else {
        Err(format!("claims:events has had {} of 3", w.entries_added))
    }
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn event_fields(seen: &Seen) -> Result<String, String> {
    seen.workspace
        .entries
        .iter()
        .find(|(_, f)| field(f, "type").is_some() && field(f, "claim_id").is_some())
        .map(|(id, f)| {
            format!(
                "entry {id} is a {} of claim {}",
                field(f, "type").unwrap_or_default(),
                field(f, "claim_id").unwrap_or_default()
            )
        })
        .ok_or_else(|| "no entry of claims:events has both a type and a claim_id field".into())
}

fn lifecycle(seen: &Seen) -> Result<String, String> {
    let entries = &seen.workspace.entries;
    let of = |claim: &str, kind: &str| {
        entries
            .iter()
            .any(|(_, f)| field(f, "claim_id") == Some(claim) && field(f, "type") == Some(kind))
    };
    let claims = entries.iter().filter_map(|(_, f)| field(f, "claim_id"));
    for claim in claims {
        let ended = of(claim, "claim_paid") || of(claim, "claim_rejected");
        if of(claim, "claim_submitted") && of(claim, "claim_status_updated") && ended {
            return Ok(format!("claim {claim} was submitted, updated and closed"));
        }
    }
    Err(
        "no claim has claim_submitted, claim_status_updated and claim_paid or claim_rejected"
            .into(),
    )
}

fn group(seen: &Seen, name: &str) -> Option<observed::Group> {
    seen.workspace
        .groups
        .iter()
        .find(|g| g.name == name)
        .cloned()
}

fn group_created(seen: &Seen) -> Result<String, String> {
    let g = group(seen, PROCESSORS).ok_or("claims:events has no group claims-processors")?;
    // From the start: nothing delivered yet and positioned before every entry, or reading.
    if g.last_delivered == "0-0" {
        return Ok("claims-processors starts before the first entry".into());
    }
    if !seen.workspace.consumers.is_empty() {
        return Ok(format!(
            "claims-processors has delivered up to {}",
            g.last_delivered
        ));
    }
    Err(format!(
        "claims-processors starts after {}: created with $, it sees only new entries \
         (XGROUP SETID claims:events claims-processors 0 moves it to the start)",
        g.last_delivered
    ))
}

fn read_as_c1(seen: &Seen) -> Result<String, String> {
    let g = group(seen, PROCESSORS).ok_or("claims:events has no group claims-processors")?;
    let read = g.entries_read.unwrap_or(0);
    if seen.workspace.consumers.iter().any(|c| c == "c1") && read > 0 {
        Ok(format!(
            "c1 is a consumer of claims-processors, which has delivered {read}"
        ))
    } else {
        Err("claims-processors has no consumer c1 that has read an entry".into())
    }
}

fn acknowledge(seen: &Seen) -> Result<String, String> {
    let g = group(seen, PROCESSORS).ok_or("claims:events has no group claims-processors")?;
    let read = g.entries_read.unwrap_or(0);
    let acked = read.saturating_sub(g.pending);
    match (acked, g.pending) {
        (0, _) => Err("claims-processors has acknowledged nothing yet".into()),
        (_, 0) => Err("nothing is pending: read another entry and leave it unacknowledged".into()),
        (acked, pending) => Ok(format!("{acked} acknowledged, {pending} pending")),
    }
}

fn claim_idle(seen: &Seen) -> Result<String, String> {
    seen.workspace
        .pending
        .iter()
        .find(|(_, consumer, deliveries)| consumer == "c2" && *deliveries >= 2)
        .map(|(id, _, deliveries)| format!("entry {id} is c2's now, delivered {deliveries} times"))
        .ok_or_else(|| {
            "no pending entry was claimed by c2 (it would show 2 deliveries or more)".into()
        })
}

fn trim_safely(seen: &Seen) -> Result<String, String> {
    let w = seen.workspace;
    let removed = w.entries_added.saturating_sub(w.length);
    if removed == 0 {
        return Err("nothing has been trimmed from claims:events yet".into());
    }
    let first = w.first_id.clone().unwrap_or_default();
    let lost = w
        .pending
        .iter()
        .filter(|(id, _, _)| parse(id) < parse(&first))
        .count();
    if lost > 0 {
        return Err(format!(
            "{lost} pending entries were trimmed away: trim with MINID at the oldest pending id"
        ));
    }
    Ok(format!(
        "{removed} entries trimmed; every pending entry is still in the stream"
    ))
}

fn parse(id: &str) -> (u64, u64) {
    let (ms, seq) = id.split_once('-').unwrap_or((id, "0"));
    (ms.parse().unwrap_or(0), seq.parse().unwrap_or(0))
}

fn three_groups(seen: &Seen) -> Result<String, String> {
    let missing: Vec<&str> = [
        "claims-processors",
        "claims-analytics",
        "claims-notifications",
    ]
    .into_iter()
    .filter(|name| group(seen, name).is_none())
    .collect();
    if missing.is_empty() {
        Ok(
            "claims-processors, claims-analytics and claims-notifications all read claims:events"
                .into(),
        )
    } else {
        Err(format!("missing: {}", missing.join(", ")))
    }
}

fn dead_letter(seen: &Seen) -> Result<String, String> {
    match seen.workspace.dead_letters {
        0 => Err("claims:failed is empty".into()),
        n => Ok(format!("claims:failed holds {n}")),
    }
}

// "Show me": each task's reference lines. Each makes its task's check pass whatever the
// workspace held before, as long as it is a lab's workspace (its stream under a few hundred
// entries, at most 100 of them undelivered to claims-processors); lines that would fail on
// what is there (a group made twice) are left out, as a learner would leave them out.

fn show_environment(_: &Observed) -> Vec<String> {
    vec!["PING".into()]
}

fn show_append_three(_: &Observed) -> Vec<String> {
    (1..=3)
        .map(|n| {
            format!(
                "XADD claims:events * type claim_submitted claim_id c-10{n} customer_id cu-1 \
                 amount {n}00.00"
            )
        })
        .collect()
}

fn show_event_fields(_: &Observed) -> Vec<String> {
    vec!["XADD claims:events * type claim_submitted claim_id c-201 amount 120.00".into()]
}

fn show_lifecycle(_: &Observed) -> Vec<String> {
    vec![
        "XADD claims:events * type claim_submitted claim_id c-301 amount 250.00".into(),
        "XADD claims:events * type claim_status_updated claim_id c-301 from submitted to approved"
            .into(),
        "XADD claims:events * type claim_paid claim_id c-301 amount 250.00".into(),
    ]
}

/// Makes claims-processors if it is not there.
fn processors(w: &Observed) -> Option<String> {
    w.groups
        .iter()
        .all(|g| g.name != PROCESSORS)
        .then(|| format!("XGROUP CREATE claims:events {PROCESSORS} 0 MKSTREAM"))
}

fn show_group_created(w: &Observed) -> Vec<String> {
    let Some(g) = w.groups.iter().find(|g| g.name == PROCESSORS) else {
        return processors(w).into_iter().collect();
    };
    if g.last_delivered == "0-0" || !w.consumers.is_empty() {
        return vec!["XINFO GROUPS claims:events".into()];
    }
    // Back to the start, saying how many it has read (none), so its lag stays known.
    vec![format!(
        "XGROUP SETID claims:events {PROCESSORS} 0 ENTRIESREAD 0"
    )]
}

/// Reads as c1 everything not yet delivered (up to 100), so the entries just added are c1's.
const READ_ALL: &str = "XREADGROUP GROUP claims-processors c1 COUNT 100 STREAMS claims:events >";

fn show_read_as_c1(w: &Observed) -> Vec<String> {
    let mut lines: Vec<String> = processors(w).into_iter().collect();
    lines.push("XADD claims:events * type claim_submitted claim_id c-401 amount 80.00".into());
    lines.push(READ_ALL.into());
    lines
}

fn show_acknowledge(w: &Observed) -> Vec<String> {
    let mut lines: Vec<String> = processors(w).into_iter().collect();
    lines.extend([
        "XADD claims:events * type claim_submitted claim_id c-501 amount 90.00".into(),
        "XADD claims:events * type claim_submitted claim_id c-502 amount 95.00".into(),
        READ_ALL.into(),
        format!("XACK claims:events {PROCESSORS} <id 1>"),
        format!("XPENDING claims:events {PROCESSORS}"),
    ]);
    lines
}

fn show_claim_idle(w: &Observed) -> Vec<String> {
    let mut lines: Vec<String> = processors(w).into_iter().collect();
    lines.extend([
        "XADD claims:events * type claim_submitted claim_id c-601 amount 70.00".into(),
        READ_ALL.into(),
        // Idle for 0 ms or more: c1 has not crashed, but this shows the hand-over.
        format!("XAUTOCLAIM claims:events {PROCESSORS} c2 0 <id 1> COUNT 1"),
    ]);
    lines
}

fn show_trim_safely(w: &Observed) -> Vec<String> {
    let added = [
        "XADD claims:events * type claim_submitted claim_id c-701 amount 60.00".to_owned(),
        "XADD claims:events * type claim_submitted claim_id c-702 amount 65.00".to_owned(),
    ];
    let first = w.first_id.as_deref().map_or((u64::MAX, u64::MAX), parse);
    let (lost, mut kept): (Vec<&str>, Vec<&str>) = w
        .pending
        .iter()
        .map(|(id, _, _)| id.as_str())
        .partition(|id| parse(id) < first);
    kept.sort_by_key(|id| parse(id));
    let mut lines = Vec::new();
    // Pending entries already trimmed away cannot be processed: acknowledge them.
    if !lost.is_empty() {
        lines.push(format!(
            "XACK claims:events {PROCESSORS} {}",
            lost.join(" ")
        ));
    }
    let ack = |id: &str| format!("XACK claims:events {PROCESSORS} {id}");
    let trim = |id: &str| format!("XTRIM claims:events MINID {id}");
    match kept.as_slice() {
        // Nothing pending: everything before the last entry added may go.
        [] => {
            lines.extend(added);
            lines.push(trim("<id 2>"));
        }
        // Everything before the oldest pending entry may go.
        [oldest, ..] if parse(oldest) > first => lines.push(trim(oldest)),
        // The first entry is pending: c1 finishes it first, then it may go.
        [oldest, next, ..] => lines.extend([ack(oldest), trim(next)]),
        [oldest] => {
            lines.push(ack(oldest));
            lines.extend(added);
            lines.push(trim("<id 2>"));
        }
    }
    lines
}

fn show_three_groups(w: &Observed) -> Vec<String> {
    let lines: Vec<String> = [PROCESSORS, "claims-analytics", "claims-notifications"]
        .into_iter()
        .filter(|name| w.groups.iter().all(|g| g.name != *name))
        .map(|name| format!("XGROUP CREATE claims:events {name} 0 MKSTREAM"))
        .collect();
    if lines.is_empty() {
        return vec!["XINFO GROUPS claims:events".into()];
    }
    lines
}

fn show_dead_letter(_: &Observed) -> Vec<String> {
    vec![
        "XADD claims:events * type claim_submitted claim_id c-801".into(),
        format!(
            "XADD claims:failed * original_id <id 1> group {PROCESSORS} error \"amount missing\""
        ),
    ]
}
