//! Hints from the learner's own mistakes: each detector turns on only after its mistake was
//! typed in the console (and a correct run through the lab gives none), the hint shows in the
//! console's answer and at the lab task it concerns; the console's recent lines are exported,
//! bounded, kept per workspace and expiring with it.

use backend::store::db::Db;
use backend::store::workspaces::Workspace;
use backend::teaching::console::mistakes;
use shared::api::{ConsoleHistory, LabResponse, LabTask};

use crate::console::{Learner, id_of};
use test_support::{TestApp, spawn_app, spawn_app_with};

async fn history_of(app: &TestApp, workspace: &str) -> reqwest::Response {
    app.http
        .get(app.url("/api/console/history"))
        .header("X-Workspace", workspace)
        .send()
        .await
        .unwrap()
}

async fn history(me: &Learner<'_>, app: &TestApp) -> ConsoleHistory {
    let r = history_of(app, &me.id).await;
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

/// Runs `line` and gives the mistake it showed, if any: the line kept last in the history
/// names it, and the console's hint is that mistake's explanation and fix.
async fn mistake(me: &Learner<'_>, app: &TestApp, line: &str) -> Option<String> {
    let answer = me.run(line).await;
    let kept = history(me, app)
        .await
        .lines
        .pop()
        .expect("the line is kept");
    assert_eq!(kept.line, line);
    if let Some(id) = &kept.mistake {
        let hint = answer.hint.as_deref().unwrap_or_default();
        let explained = mistakes::by_id(id).unwrap().explanation;
        assert!(hint.contains(explained), "{line}: {hint}");
    }
    kept.mistake
}

async fn lab(me: &Learner<'_>) -> LabResponse {
    me.get("/api/lab").await
}

fn task(lab: &LabResponse, id: &str) -> LabTask {
    let all = lab.steps.iter().flat_map(|s| &s.tasks);
    all.clone().find(|t| t.id == id).unwrap().clone()
}

/// The tasks that show a hint.
fn hinted(lab: &LabResponse) -> Vec<&str> {
    let all = lab.steps.iter().flat_map(|s| &s.tasks);
    all.filter(|t| t.hint.is_some())
        .map(|t| t.id.as_str())
        .collect()
}

/// The lab's hint at `id` names the line that showed the mistake and gives its fix.
async fn lab_hint_at(me: &Learner<'_>, id: &str, line: &str, mistake: &str) {
    let lab = lab(me).await;
    let t = task(&lab, id);
    let reason = t.hint_reason.unwrap_or_default();
    assert!(
        reason.contains(line) && reason.contains(mistake),
        "{reason}"
    );
    let fix = mistakes::by_id(mistake).unwrap().fix;
    assert!(t.hint.unwrap().contains(fix));
}

/// The pending ids a reply of XREADGROUP or XPENDING names (`"1700000000000-0"`).
fn ids_in(reply: &str) -> Vec<String> {
    reply
        .split('"')
        .filter(|s| {
            s.split_once('-').is_some_and(|(a, b)| {
                !a.is_empty() && a.bytes().chain(b.bytes()).all(|c| c.is_ascii_digit())
            })
        })
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn a_correct_run_through_the_lab_gives_no_hint() {
    let app = spawn_app().await;
    let me = Learner::new(&app).await;
    let lines = [
        "XADD claims:events * type claim_submitted claim_id c-1 amount 120.00",
        "XADD claims:events * type claim_status_updated claim_id c-1 from submitted to approved",
        "XADD claims:events * type claim_paid claim_id c-1",
        "XADD claims:events * type claim_submitted claim_id c-2 amount 80.00",
        "XGROUP CREATE claims:events claims-processors 0",
        "XREAD COUNT 10 STREAMS claims:failed 0",
        "XREADGROUP GROUP claims-processors c1 COUNT 2 STREAMS claims:events >",
        "XREADGROUP GROUP claims-processors c1 COUNT 1 STREAMS claims:events 0",
        "XGROUP CREATE claims:events claims-analytics 0",
        "XGROUP SETID claims:events claims-analytics 0 ENTRIESREAD 0",
        "XGROUP CREATE claims:events claims-notifications 0",
    ];
    for line in lines {
        assert_eq!(mistake(&me, &app, line).await, None, "{line}");
    }
    let pending = me
        .ok("XPENDING claims:events claims-processors - + 10")
        .await;
    let ids = ids_in(&pending);
    assert_eq!(ids.len(), 2, "{pending}");
    let ack = format!("XACK claims:events claims-processors {}", ids[0]);
    assert_eq!(mistake(&me, &app, &ack).await, None);
    let claim = "XAUTOCLAIM claims:events claims-processors c2 0 0";
    assert_eq!(mistake(&me, &app, claim).await, None);
    // Trimming behind the oldest pending entry is safe.
    let trim = format!("XTRIM claims:events MINID {}", ids[1]);
    assert_eq!(mistake(&me, &app, &trim).await, None);
    assert!(
        history(&me, &app)
            .await
            .lines
            .iter()
            .all(|l| l.mistake.is_none())
    );

    let now = lab(&me).await;
    assert!(task(&now, "trim_safely").done);
    assert_eq!(hinted(&now), Vec::<&str>::new());
    // Minutes have not passed: typing on the current task is not being stuck.
    me.ok("XLEN claims:failed").await;
    me.ok("XLEN claims:failed").await;
    assert_eq!(hinted(&lab(&me).await), Vec::<&str>::new());
}

#[tokio::test]
async fn an_explicit_id_not_above_the_newest_and_a_key_of_another_type_are_explained() {
    let app = spawn_app().await;
    let me = Learner::new(&app).await;
    assert_eq!(
        mistake(&me, &app, "XADD claims:events 5-1 type a").await,
        None
    );
    assert_eq!(
        mistake(&me, &app, "XADD claims:events 5-2 type b").await,
        None
    );
    let again = "XADD claims:events 5-2 type c";
    assert_eq!(
        mistake(&me, &app, again).await.as_deref(),
        Some("id_not_greater")
    );
    lab_hint_at(&me, "append_three", again, "id_not_greater").await;

    let _: () = app
        .query(&["SET", &format!("lab:{{{}}}:text", me.id), "not a stream"])
        .await;
    assert_eq!(mistake(&me, &app, "XLEN claims:events").await, None);
    let wrong = "XLEN text";
    assert_eq!(
        mistake(&me, &app, wrong).await.as_deref(),
        Some("wrong_type")
    );
    // A key of the wrong type concerns the task the learner is on.
    let lab = lab(&me).await;
    let on = task(&lab, "append_three");
    assert!(on.hint.unwrap().contains("TYPE <key>"));
    assert!(on.hint_reason.unwrap().contains(wrong));
}

#[tokio::test]
async fn xread_on_a_stream_with_a_group_is_explained_only_once_it_has_one() {
    let app = spawn_app().await;
    let me = Learner::new(&app).await;
    me.ok("XADD claims:events * type claim_submitted claim_id c-1")
        .await;
    let read = "XREAD COUNT 5 STREAMS claims:events 0";
    assert_eq!(mistake(&me, &app, read).await, None);
    assert_eq!(hinted(&lab(&me).await), Vec::<&str>::new());
    me.ok("XGROUP CREATE claims:events claims-processors 0")
        .await;
    assert_eq!(
        mistake(&me, &app, read).await.as_deref(),
        Some("xread_on_group")
    );
    lab_hint_at(&me, "read_as_c1", read, "xread_on_group").await;
}

#[tokio::test]
async fn reading_with_zero_for_new_entries_is_explained_when_it_brings_nothing_new() {
    let app = spawn_app().await;
    let me = Learner::new(&app).await;
    me.ok("XADD claims:events * type a").await;
    me.ok("XGROUP CREATE claims:events claims-processors 0")
        .await;
    let zero = "XREADGROUP GROUP claims-processors c1 COUNT 5 STREAMS claims:events 0";
    let new = "XREADGROUP GROUP claims-processors c1 COUNT 5 STREAMS claims:events >";
    assert_eq!(mistake(&me, &app, new).await, None);
    // c1's history, read once: what 0 is for.
    assert_eq!(mistake(&me, &app, zero).await, None);
    me.ok("XADD claims:events * type b").await;
    // The new entry does not come with 0: the same history again.
    assert_eq!(
        mistake(&me, &app, zero).await.as_deref(),
        Some("zero_for_new")
    );
    lab_hint_at(&me, "read_as_c1", zero, "zero_for_new").await;
    assert_eq!(mistake(&me, &app, new).await, None);
}

#[tokio::test]
async fn reading_on_without_acknowledging_is_explained_at_the_third_read() {
    let app = spawn_app().await;
    let me = Learner::new(&app).await;
    for n in 0..6 {
        me.ok(&format!("XADD claims:events * type a n {n}")).await;
    }
    me.ok("XGROUP CREATE claims:events claims-processors 0")
        .await;
    let read = "XREADGROUP GROUP claims-processors c1 COUNT 1 STREAMS claims:events >";
    let first = ids_in(&me.ok(read).await);
    assert_eq!(mistake(&me, &app, read).await, None);
    let ack = format!("XACK claims:events claims-processors {}", first[0]);
    assert_eq!(mistake(&me, &app, &ack).await, None);
    // Two reads since the acknowledgement are fine, the third is not.
    assert_eq!(mistake(&me, &app, read).await, None);
    assert_eq!(mistake(&me, &app, read).await, None);
    assert_eq!(
        mistake(&me, &app, read).await.as_deref(),
        Some("never_acked")
    );
    lab_hint_at(&me, "acknowledge", read, "never_acked").await;
}

#[tokio::test]
async fn acknowledging_in_the_wrong_group_is_explained_and_which_mistakes_fired_is_known() {
    let app = spawn_app().await;
    let me = Learner::new(&app).await;
    me.ok("XADD claims:events * type a").await;
    me.ok("XGROUP CREATE claims:events claims-processors 0")
        .await;
    me.ok("XGROUP CREATE claims:events claims-analytics 0")
        .await;
    let read = "XREADGROUP GROUP claims-processors c1 STREAMS claims:events >";
    let id = ids_in(&me.ok(read).await).remove(0);
    let wrong = format!("XACK claims:events claims-analytics {id}");
    assert_eq!(
        mistake(&me, &app, &wrong).await.as_deref(),
        Some("ack_wrong_group")
    );
    lab_hint_at(&me, "acknowledge", &wrong, "ack_wrong_group").await;
    let right = format!("XACK claims:events claims-processors {id}");
    assert_eq!(mistake(&me, &app, &right).await, None);
    // Acknowledged already: acknowledging again is no mistake of group.
    assert_eq!(mistake(&me, &app, &wrong).await, None);

    // What the class view will count: the detectors that fired for a workspace.
    let db = Db::new(&app.redis_url()).unwrap();
    let workspace = Workspace::open(&db, &me.id).await.unwrap().unwrap();
    assert_eq!(
        mistakes::fired(&db, &workspace).await.unwrap(),
        ["ack_wrong_group"]
    );
    let other = Learner::new(&app).await;
    let theirs = Workspace::open(&db, &other.id).await.unwrap().unwrap();
    assert!(mistakes::fired(&db, &theirs).await.unwrap().is_empty());
}

#[tokio::test]
async fn moving_a_group_without_entriesread_is_explained() {
    let app = spawn_app().await;
    let me = Learner::new(&app).await;
    me.ok("XADD claims:events * type a").await;
    me.ok("XGROUP CREATE claims:events claims-processors $")
        .await;
    let counted = "XGROUP SETID claims:events claims-processors 0 ENTRIESREAD 0";
    assert_eq!(mistake(&me, &app, counted).await, None);
    let plain = "XGROUP SETID claims:events claims-processors 0";
    assert_eq!(
        mistake(&me, &app, plain).await.as_deref(),
        Some("setid_without_entriesread")
    );
    lab_hint_at(&me, "group_created", plain, "setid_without_entriesread").await;
}

#[tokio::test]
async fn trimming_away_pending_entries_is_explained_and_a_safe_trim_is_not() {
    let app = spawn_app().await;
    let me = Learner::new(&app).await;
    for n in 0..4 {
        me.ok(&format!("XADD claims:events * type a n {n}")).await;
    }
    me.ok("XGROUP CREATE claims:events claims-processors 0")
        .await;
    let read = "XREADGROUP GROUP claims-processors c1 COUNT 2 STREAMS claims:events >";
    let ids = ids_in(&me.ok(read).await);
    me.ok(&format!("XACK claims:events claims-processors {}", ids[0]))
        .await;
    let safe = format!("XTRIM claims:events MINID {}", ids[1]);
    assert_eq!(mistake(&me, &app, &safe).await, None);
    let nothing = "XTRIM claims:events MAXLEN 10";
    assert_eq!(mistake(&me, &app, nothing).await, None);
    let lossy = "XTRIM claims:events MAXLEN 1";
    assert_eq!(
        mistake(&me, &app, lossy).await.as_deref(),
        Some("trim_pending")
    );
    lab_hint_at(&me, "trim_safely", lossy, "trim_pending").await;
}

#[tokio::test]
async fn a_learner_typing_on_a_task_for_minutes_without_progress_gets_the_generic_hint() {
    // Minutes are 0 s here, so the test need not wait for them.
    let app = spawn_app_with(|c| c.hint_stuck_after_secs = 0).await;
    let me = Learner::new(&app).await;
    // Just arrived at append_three, nothing typed: not stuck.
    assert_eq!(hinted(&lab(&me).await), Vec::<&str>::new());
    me.ok("XLEN claims:events").await;
    me.ok("XRANGE claims:events - +").await;
    me.ok("XLEN claims:events").await;
    let lab_now = lab(&me).await;
    assert_eq!(hinted(&lab_now), ["append_three"]);
    let t = task(&lab_now, "append_three");
    assert!(t.hint_reason.unwrap().starts_with("stuck: "));
    assert!(t.hint.unwrap().contains(&t.example));

    // Progress: on the next task, the clock starts again.
    for n in 0..3 {
        me.ok(&format!(
            "XADD claims:events * type claim_submitted claim_id c-{n}"
        ))
        .await;
    }
    let moved = lab(&me).await;
    assert!(task(&moved, "append_three").done);
    assert_eq!(hinted(&moved), Vec::<&str>::new());
}

#[tokio::test]
async fn the_history_is_exported_oldest_first_bounded_and_kept_per_workspace() {
    let app = spawn_app().await;
    let me = Learner::new(&app).await;
    let other = Learner::new(&app).await;
    assert_eq!(history(&me, &app).await.lines, []);

    let first = id_of(&me.ok("XADD s * n 0").await);
    me.run("XREADGROUP GROUP nobody c STREAMS s >").await;
    me.run("FLUSHALL").await;
    me.run("HELP XADD").await;
    let lines = history(&me, &app).await.lines;
    let shown: Vec<(&str, &str, Option<u64>)> = lines
        .iter()
        .map(|l| (l.line.as_str(), l.outcome.as_str(), l.returned))
        .collect();
    assert_eq!(
        shown,
        [
            ("XADD s * n 0", "ok", None),
            ("XREADGROUP GROUP nobody c STREAMS s >", "NOGROUP", None),
            ("FLUSHALL", "refused", None),
        ]
    );
    let ms: i64 = first.split('-').next().unwrap().parse().unwrap();
    let at = lines[0]
        .time
        .parse::<shared::Timestamp>()
        .unwrap()
        .unix_millis();
    assert!((ms - 5_000..ms + 5_000).contains(&at), "{}", lines[0].time);
    // One workspace never sees another's lines.
    assert_eq!(history(&other, &app).await.lines, []);

    // The last 50 lines are kept, each cut at 256 bytes.
    for n in 1..=60 {
        me.ok(&format!("XADD s * n {n}")).await;
    }
    me.ok(&format!("XADD s * long {}", "x".repeat(2000))).await;
    let r = history_of(&app, &me.id).await;
    let body = r.bytes().await.unwrap();
    assert!(body.len() < 50 * 400, "{} bytes", body.len());
    let kept: ConsoleHistory = serde_json::from_slice(&body).unwrap();
    assert_eq!(kept.lines.len(), 50);
    assert_eq!(kept.lines[0].line, "XADD s * n 12");
    assert_eq!(kept.lines[48].line, "XADD s * n 60");
    let long = &kept.lines[49].line;
    assert!(long.len() <= 256 && long.ends_with('…'), "{}", long.len());
    assert_eq!(kept.lines[49].returned, None);

    let key = format!("lab:lines:{{{}}}", me.id);
    let stored: i64 = app.query(&["LLEN", &key]).await;
    assert_eq!(stored, 50, "what Redis holds is bounded too");
    // The lines expire with the workspace.
    let ttl: i64 = app.query(&["TTL", &key]).await;
    assert!((23 * 3600..=24 * 3600).contains(&ttl), "{ttl}");
    assert_eq!(history(&other, &app).await.lines, []);
    // Asked without a workspace, or for one that is not there.
    let r = app
        .http
        .get(app.url("/api/console/history"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let gone = history_of(&app, &"0".repeat(32)).await;
    assert_eq!(gone.status(), 404);
}
