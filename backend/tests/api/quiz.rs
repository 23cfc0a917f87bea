//! The lab as a tutor: each step's quiz answered, checked and kept; "show me" running a task's
//! reference commands so the task is done with help; a workspace emptied. Each learner sees
//! only their own answers, marks and keys.

use serde_json::{Value, json};
use shared::api::{
    CompletionReport, LabResponse, LabTask, QuizAnswer, QuizQuestion, ShowResponse, WorkspaceReset,
};

use crate::console::Learner;
use test_support::api::json_of;
use test_support::{TestApp, expect_error, spawn_app};

async fn lab(app: &TestApp, me: &Learner<'_>) -> LabResponse {
    json_of(
        app.http
            .get(app.url("/api/lab"))
            .header("X-Workspace", &me.id)
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn post_as(app: &TestApp, me: &Learner<'_>, path: &str, body: &Value) -> reqwest::Response {
    app.http
        .post(app.url(path))
        .header("X-Workspace", &me.id)
        .json(body)
        .send()
        .await
        .unwrap()
}

async fn answer(app: &TestApp, me: &Learner<'_>, question: &str, choice: i64) -> QuizAnswer {
    let path = format!("/api/lab/quiz/{question}");
    json_of(post_as(app, me, &path, &json!({ "choice": choice })).await).await
}

async fn show(app: &TestApp, me: &Learner<'_>, task: &str) -> ShowResponse {
    let path = format!("/api/lab/tasks/{task}/show");
    json_of(post_as(app, me, &path, &json!({})).await).await
}

async fn report(app: &TestApp, me: &Learner<'_>, format: &str) -> reqwest::Response {
    app.http
        .get(app.url(&format!("/api/lab/report?format={format}")))
        .header("X-Workspace", &me.id)
        .send()
        .await
        .unwrap()
}

fn questions(lab: &LabResponse) -> Vec<&QuizQuestion> {
    lab.steps.iter().flat_map(|s| &s.quiz).collect()
}

fn question<'a>(lab: &'a LabResponse, id: &str) -> &'a QuizQuestion {
    questions(lab).into_iter().find(|q| q.id == id).unwrap()
}

fn task<'a>(lab: &'a LabResponse, id: &str) -> &'a LabTask {
    lab.steps
        .iter()
        .flat_map(|s| &s.tasks)
        .find(|t| t.id == id)
        .unwrap()
}

/// The index of the right choice, found by answering each in turn; the right one is answered
/// last, so it is the answer kept.
async fn right_choice(app: &TestApp, me: &Learner<'_>, q: &QuizQuestion) -> i64 {
    let mut right = Vec::new();
    for choice in 0..q.choices.len() as i64 {
        if answer(app, me, &q.id, choice).await.correct {
            right.push(choice);
        }
    }
    assert_eq!(right.len(), 1, "{}: exactly one right choice", q.id);
    assert!(answer(app, me, &q.id, right[0]).await.correct);
    right[0]
}

#[tokio::test]
async fn a_quiz_answer_is_checked_explained_and_kept_after_a_reload_never_given_before() {
    let app = spawn_app().await;
    let me = Learner::new(&app).await;
    let fresh = lab(&app, &me).await;
    for step in &fresh.steps {
        assert!((2..=3).contains(&step.quiz.len()), "{}", step.id);
    }
    // The page gets questions and choices, never the answer or its explanation.
    let raw: Value = me.get("/api/lab").await;
    let first = &raw["steps"][0]["quiz"][0];
    let mut keys: Vec<&str> = first
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    keys.sort();
    assert_eq!(keys, ["answered", "choices", "correct", "id", "question"]);

    let q = question(&fresh, "streams_ids_grow").clone();
    assert!(!q.answered);
    let right = right_choice(&app, &me, &q).await;
    let wrong = (right + 1) % q.choices.len() as i64;
    let answered = answer(&app, &me, &q.id, wrong).await;
    assert!(!answered.correct);
    assert!(answered.explanation.contains("append-only"), "{answered:?}");
    let answered = answer(&app, &me, &q.id, right).await;
    assert!(answered.correct);

    let other = question(&fresh, "implementation_new_or_pending").clone();
    let other_right = right_choice(&app, &me, &other).await;
    let other_wrong = (other_right + 1) % other.choices.len() as i64;
    answer(&app, &me, &other.id, other_wrong).await;

    // A reload keeps each answer: the last one given.
    let reloaded = lab(&app, &me).await;
    let kept = question(&reloaded, &q.id);
    assert!(kept.answered && kept.correct, "{kept:?}");
    assert_eq!(kept.choice, Some(right as usize));
    assert_eq!(
        kept.explanation.as_deref(),
        Some(answered.explanation.as_str())
    );
    let kept = question(&reloaded, &other.id);
    assert!(kept.answered && !kept.correct, "{kept:?}");
    assert_eq!(kept.choice, Some(other_wrong as usize));
    let unanswered = question(&reloaded, "setup_version");
    assert!(!unanswered.answered && unanswered.explanation.is_none());

    // Another learner's quiz is their own.
    let you = Learner::new(&app).await;
    assert!(
        questions(&lab(&app, &you).await)
            .iter()
            .all(|q| !q.answered)
    );
}

#[tokio::test]
async fn a_quiz_answer_to_no_question_is_404_and_a_choice_out_of_range_400_saying_the_range() {
    let app = spawn_app().await;
    let me = Learner::new(&app).await;
    let message = expect_error(
        post_as(
            &app,
            &me,
            "/api/lab/quiz/no_such_question",
            &json!({ "choice": 0 }),
        )
        .await,
        404,
        "not_found",
    )
    .await;
    assert!(message.contains("no_such_question"), "{message}");
    for choice in [4, 99, -1] {
        let r = post_as(
            &app,
            &me,
            "/api/lab/quiz/setup_version",
            &json!({ "choice": choice }),
        )
        .await;
        let message = expect_error(r, 400, "invalid_choice").await;
        assert!(message.contains("0 to 3"), "{message}");
        assert!(message.contains(&choice.to_string()), "{message}");
    }
    let r = post_as(
        &app,
        &me,
        "/api/lab/quiz/setup_version",
        &json!({ "pick": 1 }),
    )
    .await;
    expect_error(r, 400, "invalid_json").await;
    let r = app
        .post("/api/lab/quiz/setup_version", &json!({ "choice": 1 }))
        .await;
    expect_error(r, 400, "missing_workspace").await;
    // Nothing refused was recorded.
    assert!(questions(&lab(&app, &me).await).iter().all(|q| !q.answered));
}

#[tokio::test]
async fn quiz_answers_count_in_the_completion_report() {
    let app = spawn_app().await;
    let me = Learner::new(&app).await;
    let fresh = lab(&app, &me).await;
    let total = questions(&fresh).len();
    let none: CompletionReport = json_of(report(&app, &me, "json").await).await;
    assert_eq!((none.quiz.answered, none.quiz.correct), (0, 0));
    assert_eq!(none.quiz.total, total);

    let ids = ["setup_eviction", "advanced_pending", "validation_lag"];
    for id in &ids[..2] {
        right_choice(&app, &me, question(&fresh, id)).await;
    }
    let lag = question(&fresh, "validation_lag");
    let right = right_choice(&app, &me, lag).await;
    answer(&app, &me, &lag.id, (right + 1) % lag.choices.len() as i64).await;

    let report_now: CompletionReport = json_of(report(&app, &me, "json").await).await;
    assert_eq!(
        (
            report_now.quiz.answered,
            report_now.quiz.correct,
            report_now.quiz.total
        ),
        (3, 2, total)
    );
    let md = report(&app, &me, "md").await.text().await.unwrap();
    assert!(
        md.contains(&format!(
            "Quiz: 2 of {total} questions answered correctly (3 answered)."
        )),
        "{md}"
    );
}

#[tokio::test]
async fn show_me_completes_each_task_from_an_empty_workspace_and_the_report_says_with_help() {
    let app = spawn_app().await;
    let ids: Vec<String> = {
        let me = Learner::new(&app).await;
        lab(&app, &me)
            .await
            .steps
            .iter()
            .flat_map(|s| &s.tasks)
            .map(|t| t.id.clone())
            .collect()
    };
    assert_eq!(ids.len(), 11);
    for id in &ids {
        let me = Learner::new(&app).await;
        let shown = show(&app, &me, id).await;
        assert!(!shown.lines.is_empty(), "{id}");
        for line in &shown.lines {
            assert_eq!(line.error, None, "{id}: {line:?}");
            // The reference shows no misconception (no hint from the mistake detectors).
            assert_eq!(line.hint, None, "{id}: {line:?}");
            assert!(!line.redis.is_empty(), "{id}: the commands sent: {line:?}");
            assert!(!line.line.contains("<id"), "{id}: {line:?}");
            assert_eq!(
                line.snippets.cli.to_lowercase().split(' ').next(),
                line.line.to_lowercase().split(' ').next(),
                "{line:?}"
            );
            assert!(!line.snippets.node.is_empty() && !line.snippets.python.is_empty());
        }
        assert_eq!(shown.task.id, *id);
        assert!(
            shown.task.done,
            "{id}: {:?} after {:?}",
            shown.task, shown.lines
        );
        assert!(shown.task.helped, "{id}");
        let after = lab(&app, &me).await;
        assert!(task(&after, id).helped && task(&after, id).done, "{id}");
        let others: Vec<&str> = after
            .steps
            .iter()
            .flat_map(|s| &s.tasks)
            .filter(|t| t.helped)
            .map(|t| t.id.as_str())
            .collect();
        assert_eq!(others, [id.as_str()], "only the task shown is marked");

        let report: CompletionReport = json_of(report(&app, &me, "json").await).await;
        let title = &task(&after, id).title;
        let evidence: Vec<&String> = report
            .criteria
            .iter()
            .flat_map(|c| &c.evidence)
            .filter(|e| e.starts_with(title.as_str()))
            .collect();
        // Every task but one (trimming safely) stands behind a criterion.
        if id != "trim_safely" {
            assert!(
                evidence.iter().any(|e| e.contains("(done with help)")),
                "{id}: {evidence:?}"
            );
        }
    }
}

#[tokio::test]
async fn show_me_in_the_labs_order_in_one_workspace_leaves_every_task_done() {
    let app = spawn_app().await;
    let me = Learner::new(&app).await;
    let ids: Vec<String> = lab(&app, &me)
        .await
        .steps
        .iter()
        .flat_map(|s| &s.tasks)
        .map(|t| t.id.clone())
        .collect();
    for id in &ids {
        let shown = show(&app, &me, id).await;
        assert!(
            shown.task.done,
            "{id}: {:?} after {:?}",
            shown.task, shown.lines
        );
        for line in &shown.lines {
            assert_eq!((&line.error, &line.hint), (&None, &None), "{id}: {line:?}");
        }
        assert_eq!(shown.task.hint, None, "{id}");
    }
    let end = lab(&app, &me).await;
    let undone: Vec<&LabTask> = end
        .steps
        .iter()
        .flat_map(|s| &s.tasks)
        .filter(|t| !t.done || !t.helped)
        .collect();
    assert!(undone.is_empty(), "{undone:?}");
    assert_eq!(end.done, 11);
}

#[tokio::test]
async fn show_me_picks_up_from_the_learners_own_mistakes() {
    let app = spawn_app().await;
    let me = Learner::new(&app).await;
    // The group made with $ after the entries, so it would miss them.
    for n in 1..=3 {
        me.ok(&format!(
            "XADD claims:events * type claim_submitted claim_id c-{n}"
        ))
        .await;
    }
    me.ok("XGROUP CREATE claims:events claims-processors $")
        .await;
    assert!(!task(&lab(&app, &me).await, "group_created").done);
    let shown = show(&app, &me, "group_created").await;
    assert!(
        shown.lines[0].line.contains("ENTRIESREAD 0"),
        "{:?}",
        shown.lines
    );
    assert!(shown.task.done, "{:?}", shown.task);

    // Everything read and left pending: trimming first acknowledges the oldest entry.
    me.ok("XREADGROUP GROUP claims-processors c1 COUNT 10 STREAMS claims:events >")
        .await;
    let shown = show(&app, &me, "trim_safely").await;
    assert!(shown.lines[0].line.starts_with("XACK"), "{:?}", shown.lines);
    assert!(shown.task.done, "{:?} after {:?}", shown.task, shown.lines);
}

#[tokio::test]
async fn show_me_for_no_such_task_is_404_and_needs_a_workspace() {
    let app = spawn_app().await;
    let me = Learner::new(&app).await;
    let r = post_as(&app, &me, "/api/lab/tasks/fly/show", &json!({})).await;
    let message = expect_error(r, 404, "not_found").await;
    assert!(message.contains("append_three"), "{message}");
    let r = app
        .post("/api/lab/tasks/append_three/show", &json!({}))
        .await;
    expect_error(r, 400, "missing_workspace").await;
    assert!(
        lab(&app, &me)
            .await
            .steps
            .iter()
            .flat_map(|s| &s.tasks)
            .all(|t| !t.helped)
    );
}

#[tokio::test]
async fn a_reset_empties_the_workspace_its_answers_and_marks_and_only_its_own() {
    let app = spawn_app().await;
    let me = Learner::new(&app).await;
    let you = Learner::new(&app).await;
    for learner in [&me, &you] {
        show(&app, learner, "three_groups").await;
        learner.ok("XADD notes * text hello").await;
        right_choice(
            &app,
            learner,
            question(&lab(&app, learner).await, "setup_version"),
        )
        .await;
    }
    let before = lab(&app, &me).await;
    assert!(task(&before, "three_groups").done && task(&before, "three_groups").helped);

    let reset: WorkspaceReset =
        json_of(post_as(&app, &me, "/api/workspaces/reset", &json!({})).await).await;
    // Three lines "show me" ran (a group each) and one typed.
    assert_eq!(
        reset,
        WorkspaceReset {
            keys_removed: 2,
            answers_removed: 1,
            helped_removed: 1,
            lines_removed: 4,
        }
    );
    let history: Value = json_of(
        app.http
            .get(app.url("/api/console/history"))
            .header("X-Workspace", &me.id)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(history["lines"], json!([]), "{history}");
    // The same workspace, empty.
    let after = lab(&app, &me).await;
    assert!(!task(&after, "three_groups").done && !task(&after, "three_groups").helped);
    assert!(questions(&after).iter().all(|q| !q.answered));
    assert_eq!(me.ok("XLEN claims:events").await, "(integer) 0");
    assert_eq!(me.ok("XLEN notes").await, "(integer) 0");
    let help: Value = json_of(
        app.http
            .get(app.url("/api/console/help"))
            .header("X-Workspace", &me.id)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(
        help["keys"]
            .as_array()
            .unwrap()
            .iter()
            .all(|k| k.as_str().unwrap().starts_with("demo:")),
        "{help}"
    );
    // It works as before, and emptying it again removes nothing.
    me.ok("XADD claims:events * type claim_submitted claim_id c-1")
        .await;
    let again: WorkspaceReset =
        json_of(post_as(&app, &me, "/api/workspaces/reset", &json!({})).await).await;
    assert_eq!(
        (
            again.keys_removed,
            again.answers_removed,
            again.helped_removed
        ),
        (1, 0, 0)
    );

    // The other learner keeps everything.
    let yours = lab(&app, &you).await;
    assert!(task(&yours, "three_groups").done && task(&yours, "three_groups").helped);
    assert!(question(&yours, "setup_version").correct);
    assert_eq!(you.ok("XLEN notes").await, "(integer) 1");

    let r = app.post("/api/workspaces/reset", &json!({})).await;
    expect_error(r, 400, "missing_workspace").await;
    let r = app
        .http
        .post(app.url("/api/workspaces/reset"))
        .header("X-Workspace", "0123456789abcdef0123456789abcdef")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    expect_error(r, 404, "not_found").await;
}

#[tokio::test]
async fn answers_shown_lines_and_resets_count_against_the_workspaces_line_rate() {
    let app = test_support::spawn_app_with(|c| {
        c.console_lines_per_second = 1;
        c.console_line_burst = 8;
    })
    .await;
    let me = Learner::new(&app).await;
    // From an empty workspace, acknowledging takes six lines of the 8; again, it would take
    // five, more than are left (even with a few seconds' worth back).
    let shown = show(&app, &me, "acknowledge").await;
    assert_eq!(shown.lines.len(), 6);
    let again = post_as(&app, &me, "/api/lab/tasks/acknowledge/show", &json!({})).await;
    assert!(again.headers().contains_key("retry-after"));
    let message = expect_error(again, 429, "rate_limited").await;
    assert!(message.contains("8 lines"), "{message}");
    // Each of the others is refused too once the share is used (20 tries at most, while the
    // rate gives back one a second).
    let requests: [(&str, Value); 3] = [
        ("/api/lab/quiz/setup_version", json!({ "choice": 0 })),
        ("/api/lab/tasks/environment/show", json!({})),
        ("/api/workspaces/reset", json!({})),
    ];
    for (path, body) in requests {
        let mut refused = None;
        for _ in 0..20 {
            let r = post_as(&app, &me, path, &body).await;
            if r.status() == 429 {
                refused = Some(r);
                break;
            }
            assert_eq!(r.status(), 200, "{path}");
        }
        let refused = refused.unwrap_or_else(|| panic!("{path} never refused"));
        expect_error(refused, 429, "rate_limited").await;
    }
    // Another learner's share is their own.
    let you = Learner::new(&app).await;
    answer(&app, &you, "setup_version", 1).await;
}
