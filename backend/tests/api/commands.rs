//! The command log: every claim command, applied or refused with its reason, who asked, its
//! claim and its event, in `claims:commands`; `GET /api/commands` lists it newest first.

use std::time::Duration;

use serde_json::json;
use shared::api::{CommandBy, CommandLogResponse, CommandOutcome, LoggedCommand};
use test_support::{expect_error, spawn_app_with};

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
