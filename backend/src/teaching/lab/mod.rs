//! The guided lab: five steps of tasks, each checked against the real Redis state of the
//! learner's workspace, never against a button. Progress is that state, so it survives a
//! reload, and a task turns back to undone when its state no longer holds.

pub mod class;
pub mod observed;
pub mod report;

use shared::api::{LabResponse, LabStep, LabTask, ValidationResponse};

use observed::{Observed, PROCESSORS};

/// A task: its id, title, an example command, and its check.
struct Task {
    id: &'static str,
    title: &'static str,
    example: &'static str,
    check: fn(&Seen) -> Result<String, String>,
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
            },
            Task {
                id: "event_fields",
                title: "an entry is a claim event: a type and a claim_id",
                example: "XADD claims:events * type claim_submitted claim_id c-1 amount 120.00",
                check: event_fields,
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
            },
            Task {
                id: "group_created",
                title: "create the group claims-processors from the start of the stream",
                example: "XGROUP CREATE claims:events claims-processors 0",
                check: group_created,
            },
            Task {
                id: "read_as_c1",
                title: "read as consumer c1 with XREADGROUP",
                example: "XREADGROUP GROUP claims-processors c1 COUNT 2 STREAMS claims:events >",
                check: read_as_c1,
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
            },
            Task {
                id: "claim_idle",
                title: "claim an idle entry for consumer c2 (XCLAIM or XAUTOCLAIM)",
                example: "XAUTOCLAIM claims:events claims-processors c2 0 0",
                check: claim_idle,
            },
            Task {
                id: "trim_safely",
                title: "trim safely: remove old entries but none still pending",
                example: "XTRIM claims:events MINID <oldest-pending-id>",
                check: trim_safely,
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
            },
            Task {
                id: "dead_letter",
                title: "a failed entry moved to claims:failed with the reason",
                example: "XADD claims:failed * original_id <id> group claims-processors error \"amount missing\"",
                check: dead_letter,
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
