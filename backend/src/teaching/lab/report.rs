//! Completion verification: the lab's six success criteria, each met when the lab tasks
//! behind it are done, with their evidence (a task "show me" ran is done with help), and how
//! many of the quiz's questions were answered correctly; as JSON or as Markdown to download.

use shared::api::{CompletionReport, Criterion, LabResponse};

/// Each criterion and the tasks that show it.
const CRITERIA: [(&str, &str, &[&str]); 6] = [
    (
        "environment",
        "Environment properly configured",
        &["environment"],
    ),
    (
        "claims_tracked",
        "Claims can be submitted and tracked",
        &["append_three", "event_fields"],
    ),
    (
        "full_lifecycle",
        "Event sourcing captures the full lifecycle",
        &["lifecycle"],
    ),
    (
        "groups_process",
        "Consumer groups process events",
        &["group_created", "read_as_c1", "acknowledge"],
    ),
    ("analytics", "Analytics provide insights", &["three_groups"]),
    (
        "error_handling",
        "Error handling works correctly",
        &["claim_idle", "dead_letter"],
    ),
];

pub fn of(lab: &LabResponse, generated_at: String) -> CompletionReport {
    let tasks: Vec<_> = lab.steps.iter().flat_map(|s| &s.tasks).collect();
    let criteria: Vec<Criterion> = CRITERIA
        .iter()
        .map(|(id, title, behind)| {
            let behind: Vec<_> = tasks
                .iter()
                .filter(|t| behind.contains(&t.id.as_str()))
                .collect();
            Criterion {
                id: (*id).to_owned(),
                title: (*title).to_owned(),
                // Never met by default: a criterion needs its tasks there and done.
                met: !behind.is_empty() && behind.iter().all(|t| t.done),
                evidence: behind
                    .iter()
                    .map(|t| {
                        let mark = match (t.done, t.helped) {
                            (true, true) => "done with help",
                            (true, false) => "done",
                            (false, _) => "not yet",
                        };
                        format!("{} ({mark}): {}", t.title, t.evidence)
                    })
                    .collect(),
            }
        })
        .collect();
    CompletionReport {
        generated_at,
        met: criteria.iter().filter(|c| c.met).count(),
        total: criteria.len(),
        criteria,
        quiz: super::quiz::score(lab.steps.iter().flat_map(|s| &s.quiz)),
    }
}

/// The report as Markdown.
pub fn markdown(report: &CompletionReport) -> String {
    let mut out = format!(
        "# claimstream lab: completion report\n\n{} of {} success criteria met ({}).\n",
        report.met, report.total, report.generated_at
    );
    let quiz = &report.quiz;
    out.push_str(&format!(
        "\nQuiz: {} of {} questions answered correctly ({} answered).\n",
        quiz.correct, quiz.total, quiz.answered
    ));
    for c in &report.criteria {
        let mark = if c.met { "[x]" } else { "[ ]" };
        out.push_str(&format!("\n## {mark} {}\n\n", c.title));
        for line in &c.evidence {
            out.push_str(&format!("- {}\n", line.replace('\n', " ")));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::api::{LabStep, LabTask};

    fn task(id: &str, done: bool) -> LabTask {
        LabTask {
            id: id.into(),
            title: format!("task {id}"),
            example: String::new(),
            done,
            evidence: format!("evidence of {id}"),
            helped: false,
            hint: None,
            hint_reason: None,
        }
    }

    #[test]
    fn a_criterion_is_met_only_when_every_task_behind_it_is_done() {
        let lab = LabResponse {
            steps: vec![LabStep {
                id: "s".into(),
                title: "s".into(),
                explanation: String::new(),
                tasks: vec![
                    task("environment", true),
                    task("group_created", true),
                    task("read_as_c1", true),
                    task("acknowledge", false),
                ],
                quiz: Vec::new(),
            }],
            done: 3,
            total: 4,
        };
        let report = of(&lab, "2026-11-24T00:00:00Z".into());
        let by_id = |id: &str| report.criteria.iter().find(|c| c.id == id).unwrap();
        assert!(by_id("environment").met);
        assert!(!by_id("groups_process").met);
        assert_eq!(by_id("groups_process").evidence.len(), 3);
        assert_eq!(report.met, 1);
        let md = markdown(&report);
        assert!(
            md.contains("## [x] Environment properly configured"),
            "{md}"
        );
        assert!(
            md.contains("- task acknowledge (not yet): evidence of acknowledge"),
            "{md}"
        );
    }
}
