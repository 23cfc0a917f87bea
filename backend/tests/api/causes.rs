//! Causation and correlation: every entry the relay and its groups append names what caused
//! it and where its story began, and `GET /api/claims/{id}/trace` draws the chain.

use std::time::Duration;

use serde_json::json;
use shared::api::{ClaimTrace, TraceKind};
use test_support::TestApp;
use test_support::streams::RawEntry;

use crate::fixtures::{inject, letter_every_notification, spawn_workers};

const WAIT: Duration = Duration::from_secs(15);

fn field<'a>(entry: &'a RawEntry, name: &str) -> Option<&'a str> {
    entry
        .1
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// The entries of `stream` whose `name` field is `value`.
async fn entries_with(app: &TestApp, stream: &str, name: &str, value: &str) -> Vec<RawEntry> {
    app.stream(stream)
        .await
        .into_iter()
        .filter(|e| field(e, name) == Some(value))
        .collect()
}

/// The kind and id of each node of `trace` that caused one of kind `kind`, with the effect's.
fn edges(trace: &ClaimTrace) -> Vec<(TraceKind, &str, TraceKind, &str)> {
    trace
        .edges
        .iter()
        .map(|e| {
            let (cause, effect) = (&trace.nodes[e.cause], &trace.nodes[e.effect]);
            (
                cause.kind,
                cause.id.as_str(),
                effect.kind,
                effect.id.as_str(),
            )
        })
        .collect()
}

#[tokio::test]
async fn each_entry_names_its_cause_through_every_group_and_the_trace_draws_the_chain() {
    let app = spawn_workers(1, true, |_| {}).await;
    let submitted = app.submit("40.00").await;
    let claim = submitted.claim_id.as_str();
    test_support::until(WAIT, "the claim approved and both notified", async || {
        entries_with(&app, "claims:notifications", "claim_id", claim)
            .await
            .len()
            == 2
    })
    .await;

    // Submitted by a request, reviewed because it was submitted, approved because reviewed:
    // all one story, the request's.
    let events = entries_with(&app, "claims:events", "claim_id", claim).await;
    let types: Vec<_> = events.iter().map(|e| field(e, "type").unwrap()).collect();
    assert_eq!(
        types,
        [
            "claim_submitted",
            "claim_status_updated",
            "claim_status_updated"
        ]
    );
    let request = field(&events[0], "causation_id").unwrap();
    assert!(request.starts_with("req-"), "{request}");
    assert_eq!(events[0].0, submitted.entry_id);
    assert_eq!(
        field(&events[1], "causation_id"),
        Some(events[0].0.as_str())
    );
    assert_eq!(
        field(&events[2], "causation_id"),
        Some(events[1].0.as_str())
    );
    for event in &events {
        assert_eq!(field(event, "correlation_id"), Some(request), "{event:?}");
    }

    // Each notification names the event it tells of, in the same story.
    let notifications = entries_with(&app, "claims:notifications", "claim_id", claim).await;
    for (notification, event) in notifications.iter().zip([&events[0], &events[2]]) {
        assert_eq!(field(notification, "causation_id"), Some(event.0.as_str()));
        assert_eq!(field(notification, "correlation_id"), Some(request));
    }

    // A summary names the newest entry counted before it: with nothing else appended, the
    // approval, once all three are counted.
    let approval = events[2].0.clone();
    test_support::until(WAIT, "a summary after the approval", async || {
        !entries_with(&app, "claims:analytics", "causation_id", &approval)
            .await
            .is_empty()
    })
    .await;

    let trace: ClaimTrace = app.get_json(&format!("/api/claims/{claim}/trace")).await;
    assert_eq!(trace.correlation_id.as_deref(), Some(request));
    let drawn = edges(&trace);
    let expected = [
        (
            TraceKind::Request,
            request,
            TraceKind::Event,
            events[0].0.as_str(),
        ),
        (
            TraceKind::Event,
            &events[0].0,
            TraceKind::Event,
            &events[1].0,
        ),
        (
            TraceKind::Event,
            &events[1].0,
            TraceKind::Event,
            &events[2].0,
        ),
        (
            TraceKind::Event,
            &events[0].0,
            TraceKind::Notification,
            &notifications[0].0,
        ),
        (
            TraceKind::Event,
            &events[2].0,
            TraceKind::Notification,
            &notifications[1].0,
        ),
    ];
    for edge in expected {
        assert!(drawn.contains(&edge), "no edge {edge:?} in {drawn:?}");
    }
    assert!(
        drawn.iter().any(|(cause, id, effect, _)| {
            (*cause, *effect, *id) == (TraceKind::Event, TraceKind::Analytics, approval.as_str())
        }),
        "no summary after the approval in {drawn:?}"
    );
    assert!(
        trace.searched.iter().all(|s| s.complete),
        "{:?}",
        trace.searched
    );
    assert_eq!(
        trace
            .searched
            .iter()
            .map(|s| s.stream.as_str())
            .collect::<Vec<_>>(),
        ["claims:notifications", "claims:failed", "claims:analytics"]
    );
}

#[tokio::test]
async fn a_dead_letter_names_the_entry_it_gave_up_on_and_its_story() {
    let app = letter_every_notification().await;
    let submitted = app.submit("4.00").await;
    let letters = test_support::eventually(WAIT, "the letter", async || {
        let letters = app.stream("claims:failed").await;
        (!letters.is_empty()).then_some(letters)
    })
    .await;
    let letter = &letters[0];
    let event = &app.xrange().await[0];
    assert_eq!(
        field(letter, "original_id"),
        Some(submitted.entry_id.as_str())
    );
    assert_eq!(
        field(letter, "causation_id"),
        Some(submitted.entry_id.as_str())
    );
    assert_eq!(
        field(letter, "correlation_id"),
        field(event, "correlation_id")
    );

    let trace: ClaimTrace = app
        .get_json(&format!("/api/claims/{}/trace", submitted.claim_id))
        .await;
    let drawn = edges(&trace);
    assert!(
        drawn.contains(&(
            TraceKind::Event,
            &submitted.entry_id,
            TraceKind::DeadLetter,
            &letter.0
        )),
        "{drawn:?}"
    );
    let node = trace.nodes.iter().find(|n| n.id == letter.0).unwrap();
    assert!(node.label.starts_with("claims-notifications: "), "{node:?}");
    inject(&app, "claims-notifications", json!({"fail_ratio": 0.0})).await;
}

/// A claim another program submitted has no causes; the relay's next event joins the story
/// at that first entry.
#[tokio::test]
async fn a_story_another_program_began_is_named_by_its_first_entry() {
    let app = test_support::spawn_app().await;
    let first = app.raw_submitted("CLM-FOREIGN").await;
    test_support::until(WAIT, "the claim indexed", async || {
        app.status_of("CLM-FOREIGN").await.is_some()
    })
    .await;
    let reviewed = app.act_json("CLM-FOREIGN", "review").await;
    let events = app.xrange().await;
    let review = events.iter().find(|e| e.0 == reviewed.entry_id).unwrap();
    assert_eq!(field(review, "correlation_id"), Some(first.as_str()));
    assert!(field(review, "causation_id").unwrap().starts_with("req-"));

    let trace: ClaimTrace = app.get_json("/api/claims/CLM-FOREIGN/trace").await;
    assert_eq!(trace.correlation_id.as_deref(), Some(first.as_str()));
    let roots: Vec<_> = trace
        .nodes
        .iter()
        .enumerate()
        .filter(|(i, _)| trace.edges.iter().all(|e| e.effect != *i))
        .map(|(_, n)| (n.kind, n.id.as_str()))
        .collect();
    assert!(
        roots.contains(&(TraceKind::Event, first.as_str())),
        "{roots:?}"
    );

    let missing = app.get("/api/claims/CLM-NOBODY/trace").await;
    assert_eq!(missing.status(), 404);
    let invalid = app.get("/api/claims/not%20an%20id/trace").await;
    assert_eq!(invalid.status(), 400);
}
