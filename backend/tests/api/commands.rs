//! The command log: every claim command, applied or refused with its reason, who asked, its
//! claim and its event, in `claims:commands`; `GET /api/commands` lists it newest first.

use std::time::Duration;

use serde_json::json;
use shared::api::{CommandBy, CommandLogResponse, CommandOutcome, LoggedCommand};
use test_support::{expect_error, spawn_app, spawn_app_with, until};

use crate::fixtures::spawn_workers;

const TOKEN: &str = "a-token-for-the-command-log";

/// What a log entry says, for comparing: command, who, outcome.
fn said(c: &LoggedCommand) -> (&str, CommandBy, CommandOutcome) {
    (c.command.as_str(), c.by, c.outcome)
}

#[tokio::test]
async fn commands_applied_and_refused_are_logged_with_who_asked_and_why() {
    let app = spawn_app_with(|c| c.instructor_token = Some(TOKEN.into())).await;
    let submitted = app.submit("120.00").await;
    let claim = submitted.claim_id.as_str();
    // A learner approves a claim nobody reviewed: the aggregate refuses.
    let refused = app.act(claim, "approve").await;
    let refusal = expect_error(refused, 409, "invalid_transition").await;
    // The instructor reviews it.
    let reviewed = app
        .http
        .post(app.url(&format!("/api/claims/{claim}/review")))
        .bearer_auth(TOKEN)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(reviewed.status(), 200);
    let reviewed: shared::api::CommandResponse = reviewed.json().await.unwrap();
    // A learner's stale version conflicts; a claim nobody submitted is not found.
    let stale = app
        .post(
            &format!("/api/claims/{claim}/review"),
            &json!({"expected_version": 1}),
        )
        .await;
    assert_eq!(stale.status(), 409);
    assert_eq!(app.act("CLM-NOBODY", "review").await.status(), 404);

    let log: CommandLogResponse = app.get_json("/api/commands").await;
    let said: Vec<_> = log.commands.iter().map(said).collect();
    assert_eq!(
        said,
        [
            ("review", CommandBy::Learner, CommandOutcome::NotFound),
            ("review", CommandBy::Learner, CommandOutcome::Conflict),
            ("review", CommandBy::Instructor, CommandOutcome::Applied),
            ("approve", CommandBy::Learner, CommandOutcome::Refused),
            ("submit", CommandBy::Learner, CommandOutcome::Applied),
        ]
    );
    let [not_found, conflict, review, approve, submit] = log.commands.as_slice() else {
        unreachable!()
    };
    assert_eq!(not_found.claim_id, "CLM-NOBODY");
    assert!(
        conflict.reason.as_deref().unwrap().contains("not 1"),
        "{conflict:?}"
    );
    assert_eq!(approve.reason.as_deref(), Some(refusal.as_str()));
    assert_eq!(approve.entry_id, None);
    assert_eq!(review.entry_id.as_deref(), Some(reviewed.entry_id.as_str()));
    assert_eq!(
        submit.entry_id.as_deref(),
        Some(submitted.entry_id.as_str())
    );
    // Each names the request it was done for, as its event does.
    let events = app.xrange().await;
    let causation = |id: &str| {
        let entry = events.iter().find(|e| e.0 == id).unwrap();
        test_support::field(&entry.1, "causation_id").to_owned()
    };
    assert_eq!(submit.causation_id, causation(&submitted.entry_id));
    assert_eq!(review.causation_id, causation(&reviewed.entry_id));
    assert!(approve.causation_id.starts_with("req-"));
    assert!(
        log.commands
            .iter()
            .all(|c| c.claim_id == claim || c.claim_id == "CLM-NOBODY")
    );
    assert_eq!((log.examined, log.next_before), (5, None));

    // Filters, and pages that go on where the last stopped.
    let refusals: CommandLogResponse = app.get_json("/api/commands?outcome=refused").await;
    assert_eq!(refusals.commands, std::slice::from_ref(approve));
    let by_instructor: CommandLogResponse = app.get_json("/api/commands?by=instructor").await;
    assert_eq!(by_instructor.commands, std::slice::from_ref(review));
    let of_claim: CommandLogResponse = app
        .get_json(&format!("/api/commands?claim={claim}&limit=2"))
        .await;
    assert_eq!(of_claim.commands, [conflict.clone(), review.clone()]);
    let next = of_claim.next_before.unwrap();
    let rest: CommandLogResponse = app
        .get_json(&format!("/api/commands?claim={claim}&before={next}"))
        .await;
    assert_eq!(rest.commands, [approve.clone(), submit.clone()]);

    for (query, code, says) in [
        ("by=robot", "invalid_query", "none of learner"),
        ("outcome=maybe", "invalid_query", "none of applied"),
        ("limit=0", "invalid_query", "between 1 and 200"),
        ("limit=201", "invalid_query", "between 1 and 200"),
        ("before=yesterday", "invalid_stream_id", "before:"),
    ] {
        let message =
            expect_error(app.get(&format!("/api/commands?{query}")).await, 400, code).await;
        assert!(message.contains(says), "{query}: {message}");
    }
}

#[tokio::test]
async fn the_groups_steps_are_logged_as_the_workers_caused_by_the_entry_before() {
    let app = spawn_workers(1, true, |_| {}).await;
    let submitted = app.submit("40.00").await;
    let log: CommandLogResponse = test_support::eventually(
        Duration::from_secs(15),
        "the review and the approval logged",
        async || {
            let log: CommandLogResponse = app.get_json("/api/commands?by=worker").await;
            (log.commands.len() == 2).then_some(log)
        },
    )
    .await;
    let [approve, review] = log.commands.as_slice() else {
        unreachable!()
    };
    assert_eq!(
        (said(review), said(approve)),
        (
            ("review", CommandBy::Worker, CommandOutcome::Applied),
            ("approve", CommandBy::Worker, CommandOutcome::Applied)
        )
    );
    assert_eq!(review.causation_id, submitted.entry_id);
    assert_eq!(Some(&approve.causation_id), review.entry_id.as_ref());
    assert_eq!(review.claim_id, submitted.claim_id);
}

/// A command's answer does not wait for its log entry; a read of the log waits for every
/// entry queued before it, and entries still queued when the log is dropped are written.
#[tokio::test]
async fn queued_entries_are_read_once_written_and_written_when_the_log_is_dropped() {
    use backend::store::command_log::{CommandLog, Writer};
    use backend::store::db::Db;
    use backend::store::trace::Trace;

    let app = spawn_app().await;
    let db = Db::new(&app.redis_url()).unwrap();
    let log = CommandLog::Queued(Writer::start(db.clone()));
    let entry = |n: usize| LoggedCommand {
        id: String::new(),
        command: "submit".into(),
        by: CommandBy::Learner,
        claim_id: format!("CLM-{n}"),
        outcome: CommandOutcome::Applied,
        reason: None,
        entry_id: Some(format!("{n}-0")),
        causation_id: format!("req-{n}"),
    };
    let xlen = async || app.query::<u64>(&["XLEN", "claims:commands"]).await;
    // Redis holds every write until unpaused, and answers reads meanwhile.
    let _: () = app.query(&["CLIENT", "PAUSE", "30000", "WRITE"]).await;
    let first: Vec<_> = (0..100).map(entry).collect();
    let mut trace = Trace::default();
    log.record(&db, &mut trace, &first).await.unwrap();
    assert_eq!(
        trace.into_commands().len(),
        100,
        "each XADD is in the trace"
    );
    assert_eq!(xlen().await, 0, "queued, not written");
    assert!(
        !log.flushed(Duration::from_millis(300)).await,
        "nothing is written while Redis holds writes"
    );
    let _: () = app.query(&["CLIENT", "UNPAUSE"]).await;
    assert!(log.flushed(Duration::from_secs(10)).await);
    assert_eq!(xlen().await, 100);

    let _: () = app.query(&["CLIENT", "PAUSE", "30000", "WRITE"]).await;
    let second: Vec<_> = (100..150).map(entry).collect();
    log.record(&db, &mut Trace::off(), &second).await.unwrap();
    drop(log);
    let _: () = app.query(&["CLIENT", "UNPAUSE"]).await;
    until(
        Duration::from_secs(10),
        "the dropped log's entries written",
        async || xlen().await == 150,
    )
    .await;
}
