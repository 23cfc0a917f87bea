//! The guided lab: each task turns done only when the workspace's Redis state holds it, and
//! undone again when that state goes.

use shared::api::{ClassView, CompletionReport, LabResponse};

use crate::console::{Learner, id_of};
use test_support::spawn_app;

async fn lab(me: &Learner<'_>) -> LabResponse {
    me.get("/api/lab").await
}

/// The ids of the tasks done, in the lab's order.
fn done(lab: &LabResponse) -> Vec<&str> {
    lab.steps
        .iter()
        .flat_map(|s| &s.tasks)
        .filter(|t| t.done)
        .map(|t| t.id.as_str())
        .collect()
}

fn evidence<'a>(lab: &'a LabResponse, id: &str) -> &'a str {
    let task = lab.steps.iter().flat_map(|s| &s.tasks).find(|t| t.id == id);
    &task.unwrap().evidence
}

#[tokio::test]
async fn each_task_turns_done_from_the_workspaces_state_and_back_when_it_goes() {
    let app = spawn_app().await;
    let me = Learner::new(&app).await;
    let start = lab(&me).await;
    assert_eq!(start.steps.len(), 5);
    assert_eq!(start.total, 11);
    assert_eq!(done(&start), ["environment"]);

    let first = id_of(
        &me.ok("XADD claims:events * type claim_submitted claim_id c-1 amount 120.00")
            .await,
    );
    let now = lab(&me).await;
    assert_eq!(done(&now), ["environment", "event_fields"]);
    assert_eq!(
        evidence(&now, "append_three"),
        "claims:events has had 1 of 3"
    );
    me.ok("XADD claims:events * type claim_status_updated claim_id c-1 from submitted to approved")
        .await;
    let third = id_of(
        &me.ok("XADD claims:events * type claim_paid claim_id c-1")
            .await,
    );
    assert_eq!(
        done(&lab(&me).await),
        ["environment", "append_three", "event_fields", "lifecycle"]
    );

    // Created with $, the group misses what is there; SETID 0 puts it at the start.
    me.ok("XGROUP CREATE claims:events claims-processors $")
        .await;
    let late = lab(&me).await;
    assert!(!done(&late).contains(&"group_created"));
    assert!(evidence(&late, "group_created").contains("XGROUP SETID"));
    me.ok("XGROUP SETID claims:events claims-processors 0")
        .await;
    assert!(done(&lab(&me).await).contains(&"group_created"));

    me.ok("XREADGROUP GROUP claims-processors c1 COUNT 2 STREAMS claims:events >")
        .await;
    let read = lab(&me).await;
    assert!(done(&read).contains(&"read_as_c1"));
    assert!(!done(&read).contains(&"acknowledge"));
    me.ok(&format!("XACK claims:events claims-processors {first}"))
        .await;
    let acked = lab(&me).await;
    assert!(done(&acked).contains(&"acknowledge"));
    assert_eq!(evidence(&acked, "acknowledge"), "1 acknowledged, 1 pending");
    assert!(!done(&acked).contains(&"claim_idle"));
    me.ok("XAUTOCLAIM claims:events claims-processors c2 0 0")
        .await;
    assert!(done(&lab(&me).await).contains(&"claim_idle"));

    // Trimming the acknowledged entry is safe; trimming the pending one is not.
    let second_id = {
        let pending = me
            .ok("XPENDING claims:events claims-processors - + 10")
            .await;
        pending.split('"').nth(1).unwrap().to_owned()
    };
    me.ok(&format!("XTRIM claims:events MINID {second_id}"))
        .await;
    assert!(done(&lab(&me).await).contains(&"trim_safely"));
    me.ok(&format!("XTRIM claims:events MINID {third}")).await;
    let unsafe_trim = lab(&me).await;
    assert!(!done(&unsafe_trim).contains(&"trim_safely"));
    assert!(evidence(&unsafe_trim, "trim_safely").contains("pending entries were trimmed away"));
    // The claim's first events are gone with it: its lifecycle no longer shows.
    assert!(!done(&unsafe_trim).contains(&"lifecycle"));

    me.ok("XGROUP CREATE claims:events claims-analytics 0")
        .await;
    me.ok("XGROUP CREATE claims:events claims-notifications 0")
        .await;
    me.ok(&format!(
        "XADD claims:failed * original_id {first} group claims-processors error \"amount missing\""
    ))
    .await;
    let later = lab(&me).await;
    assert!(done(&later).contains(&"three_groups"));
    assert!(done(&later).contains(&"dead_letter"));
    me.ok("DEL claims:failed").await;
    assert!(!done(&lab(&me).await).contains(&"dead_letter"));

    // The completion report: each criterion with the evidence behind it.
    let get = |query: &'static str| {
        app.http
            .get(app.url(&format!("/api/lab/report{query}")))
            .header("X-Workspace", &me.id)
            .send()
    };
    let json = get("").await.unwrap();
    assert_eq!(json.status(), 200);
    assert!(
        json.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("claimstream-lab-report.json")
    );
    let report: CompletionReport = json.json().await.unwrap();
    let met: Vec<&str> = report
        .criteria
        .iter()
        .filter(|c| c.met)
        .map(|c| c.id.as_str())
        .collect();
    assert_eq!(
        met,
        [
            "environment",
            "claims_tracked",
            "groups_process",
            "analytics"
        ]
    );
    let handling = report
        .criteria
        .iter()
        .find(|c| c.id == "error_handling")
        .unwrap();
    assert!(
        handling
            .evidence
            .iter()
            .any(|e| e.contains("claims:failed is empty"))
    );
    let md = get("?format=md").await.unwrap();
    assert!(
        md.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/markdown")
    );
    let md = md.text().await.unwrap();
    assert!(
        md.starts_with("# claimstream lab: completion report\n\n4 of 6 success criteria met"),
        "{md}"
    );
    assert!(
        md.contains("## [ ] Event sourcing captures the full lifecycle"),
        "{md}"
    );
    assert_eq!(get("?format=pdf").await.unwrap().status(), 400);

    // Another learner's lab starts from nothing: the checks read only their own workspace.
    let other = Learner::new(&app).await;
    assert_eq!(done(&lab(&other).await), ["environment"]);
}

#[tokio::test]
async fn the_class_view_counts_learners_at_each_step_without_names() {
    let app = spawn_app().await;
    let empty = class(&app).await;
    assert_eq!(empty.learners, 0);
    assert_eq!(empty.at_step.len(), 5);

    let new = Learner::new(&app).await;
    let busy = Learner::new(&app).await;
    for n in 0..3 {
        busy.ok(&format!(
            "XADD claims:events * type claim_submitted claim_id c-{n}"
        ))
        .await;
    }
    // The view is counted at most once every few seconds, for everyone.
    let mut view = class(&app).await;
    let counted = std::time::Instant::now();
    while view.learners != 2 {
        assert!(
            counted.elapsed() < std::time::Duration::from_secs(15),
            "the class view still counts {} learners",
            view.learners
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        view = class(&app).await;
    }
    let at = |v: &ClassView| v.at_step.iter().map(|s| s.learners).collect::<Vec<_>>();
    // Both passed setup; the busy one finished the streams basics too.
    assert_eq!(at(&view), [0, 1, 1, 0, 0]);
    assert_eq!(view.finished, 0);
    let text = serde_json::to_string(&view).unwrap();
    assert!(
        !text.contains(&new.id) && !text.contains(&busy.id),
        "{text}"
    );
}

/// The heatmap: per task, the learners on it, how long (median) and how many are stuck; the
/// class's mistakes by detector, counted, never named by learner.
#[tokio::test]
async fn the_class_heatmap_counts_learners_per_task_their_minutes_and_their_mistakes() {
    // Minutes are 0 s here: a learner the lab page has seen on a task is stuck at once.
    let app = test_support::spawn_app_with(|c| c.hint_stuck_after_secs = 0).await;
    let seen = Learner::new(&app).await;
    let unseen = Learner::new(&app).await;
    seen.ok("XADD s 5-1 a 1").await;
    unseen.ok("XADD s 5-1 a 1").await;
    for learner in [&seen, &unseen, &unseen] {
        let refused = learner.run("XADD s 5-1 a 1").await;
        assert!(refused.error.is_some(), "{refused:?}");
    }
    // Only `seen` has the lab open: the page tells when they came to their task.
    let on = lab(&seen).await;
    let current = on
        .steps
        .iter()
        .flat_map(|s| &s.tasks)
        .find(|t| !t.done)
        .unwrap()
        .id
        .clone();

    let view = test_support::poll(
        std::time::Duration::from_secs(15),
        "the class view to count both learners' mistakes",
        async || {
            let view = class(&app).await;
            if view.learners == 2 && !view.mistakes.is_empty() {
                Ok(view)
            } else {
                Err(format!("{} learners, {:?}", view.learners, view.mistakes))
            }
        },
    )
    .await;
    assert_eq!(view.tasks.len(), on.total);
    assert_eq!(view.tasks.iter().map(|t| t.learners).sum::<usize>(), 2);
    let heat = view.tasks.iter().find(|t| t.task == current).unwrap();
    assert_eq!((heat.learners, heat.stuck), (2, 1), "{heat:?}");
    let minutes = heat.median_minutes.expect("the seen learner's minutes");
    assert!((0.0..1.0).contains(&minutes), "{minutes}");
    assert!(
        view.tasks
            .iter()
            .filter(|t| t.task != current)
            .all(|t| t.learners == 0 && t.median_minutes.is_none() && t.stuck == 0)
    );
    assert_eq!(
        view.mistakes,
        [shared::api::MistakeCount {
            id: "id_not_greater".into(),
            learners: 2,
            lines: 3
        }]
    );
    let text = serde_json::to_string(&view).unwrap();
    assert!(
        !text.contains(&seen.id) && !text.contains(&unseen.id),
        "{text}"
    );
}

async fn class(app: &test_support::TestApp) -> ClassView {
    let r = app.get("/api/class").await;
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}
