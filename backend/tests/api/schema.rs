//! Schema evolution: entries of every version, and of other programs, read as today's events.

use std::time::Duration;

use serde_json::json;
use shared::api::{ClaimEventsResponse, ClaimListResponse, ClaimResponse, CommandResponse};

use backend::events::commands::{self, CommandError};
use backend::store::clock::Clock;
use backend::store::trace::Trace;
use shared::{ClaimCommand, ClaimId, ClaimStatus};
use test_support::streams::{self, assert_every_entry_indexed};

use crate::fixtures::submit_directly;
use test_support::{TestApp, error_of, spawn_app, until};

/// What the lab's own Node.js code appends: no `v`, `submitted_at`, whole units, extra fields.
async fn lab_submitted(app: &TestApp, claim_id: &str, amount: &str) -> String {
    app.raw_xadd(&[
        ("type", "claim_submitted"),
        ("claim_id", claim_id),
        ("customer_id", "CUST-LAB"),
        ("amount", amount),
        ("description", "Bumper"),
        ("policy_number", "POL-2024-7"),
        ("incident_date", "2026-11-20"),
        ("submitted_at", "2026-11-21T09:00:00.000Z"),
    ])
    .await
}

async fn lab_status(app: &TestApp, claim_id: &str, status: &str) -> String {
    app.raw_xadd(&[
        ("type", "claim_status_updated"),
        ("claim_id", claim_id),
        ("customer_id", "CUST-LAB"),
        ("status", status),
        ("updated_at", "2026-11-21T09:05:00.000Z"),
    ])
    .await
}

async fn history_len(app: &TestApp, claim_id: &str) -> usize {
    let ids: Vec<String> = redis::cmd("LRANGE")
        .arg(backend::store::keys::Partition::ONLY.history(claim_id))
        .arg(0)
        .arg(-1)
        .query_async(&mut app.redis().await)
        .await
        .unwrap();
    ids.len()
}

async fn claim(app: &TestApp, claim_id: &str) -> ClaimResponse {
    let r = app.get(&format!("/api/claims/{claim_id}")).await;
    assert_eq!(r.status(), 200, "{claim_id}");
    r.json().await.unwrap()
}

#[tokio::test]
async fn a_stream_mixing_v0_v1_and_v2_loads_folds_lists_and_moves_on() {
    let app = spawn_app().await;
    // v0 from the lab's code, v1 as relays before v2 wrote it, v2 through the API.
    lab_submitted(&app, "claim_lab_1", "1500").await;
    lab_status(&app, "claim_lab_1", "under_review").await;
    app.raw_submitted("CLM-V1").await;
    let v2: CommandResponse = app
        .post_json(
            "/api/claims",
            &json!({"customer_id": "CUST-2", "amount": "10.00", "description": "Hail",
                    "currency": "EUR", "policy_number": "POL-9"}),
        )
        .await;

    // The indexer picks the foreign entries up as they arrive: no request needed.
    until(
        Duration::from_secs(5),
        "the lab's entries indexed",
        async || {
            history_len(&app, "claim_lab_1").await == 2 && history_len(&app, "CLM-V1").await == 1
        },
    )
    .await;
    let lab = claim(&app, "claim_lab_1").await.claim;
    assert_eq!(lab.amount, "1500.00", "whole units");
    assert_eq!(lab.currency, "USD");
    assert_eq!(lab.policy_number.as_deref(), Some("POL-2024-7"));
    assert_eq!(lab.status, shared::ClaimStatus::UnderReview);
    assert_eq!(lab.version, 2);
    assert_eq!(lab.submitted_at, "2026-11-21T09:00:00.000Z");
    let v1 = claim(&app, "CLM-V1").await.claim;
    assert_eq!((v1.currency.as_str(), v1.policy_number), ("USD", None));
    let shown = claim(&app, &v2.claim_id).await.claim;
    assert_eq!(shown.currency, "EUR");
    assert_eq!(shown.policy_number.as_deref(), Some("POL-9"));

    // Each event in today's shape with the version it was written in; the v0 status update
    // takes `from` from the state before it; the state after each event comes along.
    let events: ClaimEventsResponse = app.get_json("/api/claims/claim_lab_1/events").await;
    let written: Vec<u32> = events
        .events
        .iter()
        .map(|e| e.event.as_ref().unwrap().v)
        .collect();
    assert_eq!(written, [0, 0]);
    assert!(matches!(
        events.events[1].event.as_ref().unwrap().payload,
        shared::EventPayload::ClaimStatusUpdated {
            from: Some(shared::ClaimStatus::Submitted),
            to: shared::ClaimStatus::UnderReview,
            ..
        }
    ));
    let statuses: Vec<_> = events
        .states
        .iter()
        .map(|s| s.as_ref().map(|s| (s.status, s.version)))
        .collect();
    assert_eq!(
        statuses,
        [
            Some((shared::ClaimStatus::Submitted, 1)),
            Some((shared::ClaimStatus::UnderReview, 2))
        ]
    );

    // The board lists all three, whoever wrote them.
    until(
        Duration::from_secs(5),
        "the board to list all three",
        async || {
            let list: ClaimListResponse = app.get_json("/api/claims").await;
            list.total == 3
                && list.claims.iter().any(|c| {
                    c.claim_id == "claim_lab_1" && c.status == shared::ClaimStatus::UnderReview
                })
        },
    )
    .await;

    // And the lab's claim moves on through the API like any other, without a second copy of
    // any event in its index.
    let approved = app.act("claim_lab_1", "approve").await;
    assert_eq!(approved.status(), 200);
    let approved: CommandResponse = approved.json().await.unwrap();
    assert_eq!(approved.claim.version, 3);
    assert_eq!(approved.claim.amount, "1500.00");
    let by_claim = assert_every_entry_indexed(&mut app.redis().await).await;
    assert_eq!(by_claim["claim_lab_1"].len(), 3);
}

#[tokio::test]
async fn a_status_update_appended_by_hand_is_counted_before_the_next_command_decides() {
    let app = spawn_app().await;
    let created = app.submit("20.00").await;
    lab_status(&app, &created.claim_id, "under_review").await;
    until(
        Duration::from_secs(5),
        "the hand-written update indexed",
        async || history_len(&app, &created.claim_id).await == 2,
    )
    .await;
    // Reviewing again is refused: the claim is under review, as the other program said.
    let (status, code, _) = error_of(app.act(&created.claim_id, "review").await).await;
    assert_eq!((status, code.as_str()), (409, "invalid_transition"));
    let approved: CommandResponse = app.act_json(&created.claim_id, "approve").await;
    assert_eq!(approved.claim.version, 3);
}

/// Without any indexer running, the append script indexes the backlog itself before it checks
/// the version: a command decided on a claim whose foreign events were not counted conflicts.
#[tokio::test]
async fn the_append_script_indexes_foreign_entries_before_its_version_check() {
    let (_redis, db, mut conn) = crate::fixtures::bare_redis().await;
    let foreign = test_support::streams::xadd_v0_submitted(&mut conn, "CLM-TWICE", "5").await;
    let result = submit_directly(&db, "CLM-TWICE", "C", 500, "again", None).await;
    assert!(
        matches!(
            result,
            Err(backend::events::commands::CommandError::VersionConflict(_))
        ),
        "the claim already existed in the stream"
    );
    let index: Vec<String> = redis::cmd("LRANGE")
        .arg(backend::store::keys::Partition::ONLY.history("CLM-TWICE"))
        .arg(0)
        .arg(-1)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(index, [foreign]);
    let len: u64 = redis::cmd("XLEN")
        .arg("claims:events")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(len, 1, "nothing appended");
}

/// Without any indexer running, a command on a claim other programs appended to reads the
/// claim short and the append script finds it grown; the relay indexes the claim and decides
/// again, so the caller sees no conflict that is not theirs, and still sees the real ones.
#[tokio::test]
async fn a_command_on_a_claim_other_programs_grew_is_decided_on_all_its_events() {
    let (_redis, db, mut conn) = crate::fixtures::bare_redis().await;
    submit_directly(&db, "CLM-GROWN", "CUST-001", 500, "grown", None)
        .await
        .unwrap();
    let mut grow = async |from: usize, count: usize| {
        let notes = (from..from + count).map(|n| {
            let fields = streams::note_fields("CLM-GROWN", "CUST-001", &format!("note {n}"));
            ("*".to_owned(), fields)
        });
        streams::xadd_pipelined(&mut conn, "claims:events", notes).await;
    };
    let claim_id = ClaimId::parse("CLM-GROWN").unwrap();
    let claims = crate::fixtures::claims(&db);
    let decide = async |expected, command: ClaimCommand| {
        let mut trace = Trace::off();
        commands::transition(
            &claims,
            &mut trace,
            &claim_id,
            &command,
            commands::Cause {
                id: "req-TEST",
                by: shared::api::CommandBy::Learner,
            },
            expected,
            None,
        )
        .await
    };

    grow(0, 250).await;
    // With the version the caller saw in the stream: 251 events.
    let reviewed = decide(
        Some(251),
        ClaimCommand::ReviewClaim {
            at: Clock::system().now(),
        },
    )
    .await
    .expect("decided on all 251 events");
    assert_eq!(reviewed.state.version, 252);
    assert_eq!(reviewed.claim.status, ClaimStatus::UnderReview);
    // A version the claim has left behind is the caller's conflict.
    let stale = decide(
        Some(251),
        ClaimCommand::ApproveClaim {
            at: Clock::system().now(),
        },
    )
    .await;
    assert!(
        matches!(stale, Err(CommandError::VersionConflict(_))),
        "the claim is at 252 now"
    );

    grow(250, 10).await;
    // With no version given: decided on the claim as it is.
    let approved = decide(
        None,
        ClaimCommand::ApproveClaim {
            at: Clock::system().now(),
        },
    )
    .await
    .expect("decided on all 262 events");
    assert_eq!(approved.state.version, 263);
}

#[tokio::test]
async fn an_unknown_future_version_is_a_clear_decode_error_never_a_crash() {
    let app = spawn_app().await;
    let mut ws = app.ws(None).await;
    ws.expect_caught_up().await;
    app.raw_xadd(&[
        ("type", "claim_submitted"),
        ("v", "3"),
        ("claim_id", "CLM-FUTURE"),
        ("customer_id", "C"),
        ("timestamp", "2026-11-21T09:00:00.000Z"),
        ("amount", "1.00"),
        ("description", "from tomorrow"),
    ])
    .await;
    let pushed = ws.entries(1).await;
    assert_eq!(
        pushed[0].error.as_deref(),
        Some("unsupported schema version \"3\" (this relay reads v0 to v2)")
    );
    assert_eq!(pushed[0].fields.len(), 7, "the raw fields come along");
    // Indexed (it names its claim), but no claim comes of it; the events page shows it raw.
    until(Duration::from_secs(5), "the entry indexed", async || {
        history_len(&app, "CLM-FUTURE").await == 1
    })
    .await;
    assert_eq!(app.get("/api/claims/CLM-FUTURE").await.status(), 404);
    let submitted = app.submit("3.00").await;
    assert_eq!(claim(&app, &submitted.claim_id).await.claim.version, 1);
}

/// What the lab's Node.js code writes after a submission: status updates and payments that
/// leave the customer to the claim, `pending` and `auto_approved`, a `payment_method` for a
/// reference, and a second producer style with dotted `event_type` names. Interleaved with the
/// relay's own entries, each claim folds from exactly its entries, none of them an error.
#[tokio::test]
async fn the_labs_own_entries_fold_like_any_other_with_the_claims_customer() {
    let app = spawn_app().await;
    let created = app
        .raw_xadd(&[("type", "stream_created"), ("timestamp", "1795000000000")])
        .await;
    lab_submitted(&app, "claim_lab_9", "1500").await;
    let ours: CommandResponse = app
        .post_json(
            "/api/claims",
            &json!({"customer_id": "CUST-2", "amount": "10.00", "description": "Hail"}),
        )
        .await;
    let straight = app
        .raw_xadd(&[
            ("type", "claim_status_updated"),
            ("claim_id", "claim_lab_9"),
            ("status", "auto_approved"),
            ("approved_amount", "1500"),
            ("reviewer", "auto_system"),
            ("approved_at", "2026-11-21T09:06:00.000Z"),
            ("updated_at", "2026-11-21T09:06:00.000Z"),
        ])
        .await;
    app.raw_xadd(&[
        ("event_type", "claim.submitted"),
        ("claim_id", "claim_dotted_1"),
        ("customer_id", "CUST-DOT"),
        ("amount", "250"),
        ("timestamp", "1795000000000"),
    ])
    .await;
    app.raw_xadd(&[
        ("type", "claim_paid"),
        ("claim_id", "claim_lab_9"),
        ("amount", "1500"),
        ("payment_method", "bank_transfer"),
        ("paid_at", "2026-11-22T10:00:00.000Z"),
        ("status", "paid"),
    ])
    .await;
    app.raw_xadd(&[
        ("event_type", "claim.status_updated"),
        ("claim_id", "claim_dotted_1"),
        ("status", "under_review"),
        ("timestamp", "1795000001000"),
    ])
    .await;
    until(
        Duration::from_secs(5),
        "the lab's entries indexed",
        async || {
            history_len(&app, "claim_lab_9").await == 3
                && history_len(&app, "claim_dotted_1").await == 2
        },
    )
    .await;

    let lab = claim(&app, "claim_lab_9").await.claim;
    assert_eq!(lab.status, ClaimStatus::Paid);
    assert_eq!(lab.customer_id, "CUST-LAB");
    assert_eq!(lab.version, 3);
    assert_eq!(lab.updated_at, "2026-11-22T10:00:00.000Z");
    let events: ClaimEventsResponse = app.get_json("/api/claims/claim_lab_9/events").await;
    // Approved straight from submitted: a fact, folded, and marked; the payment after it is
    // what the lifecycle allows from approved.
    assert_eq!(events.outside_lifecycle, [straight]);
    for shown in &events.events {
        let event = shown
            .event
            .as_ref()
            .unwrap_or_else(|| panic!("{:?} did not decode: {:?}", shown.id, shown.error));
        assert_eq!(
            event.customer_id.as_ref().map(|c| c.as_str()),
            Some("CUST-LAB"),
            "{event:?}"
        );
    }
    assert!(matches!(
        events.events[1].event.as_ref().unwrap().payload,
        shared::EventPayload::ClaimStatusUpdated {
            from: Some(ClaimStatus::Submitted),
            to: ClaimStatus::Approved,
            ..
        }
    ));

    let dotted = claim(&app, "claim_dotted_1").await.claim;
    assert_eq!(
        (
            dotted.status,
            dotted.customer_id.as_str(),
            dotted.amount.as_str()
        ),
        (ClaimStatus::UnderReview, "CUST-DOT", "250.00")
    );
    let ours = claim(&app, &ours.claim_id).await.claim;
    assert_eq!((ours.status, ours.version), (ClaimStatus::Submitted, 1));

    // The lab's `stream_created` names no claim: a marker in the stream, not an error.
    let first: shared::api::EntriesPage = app
        .get_json("/api/streams/claims:events/entries?count=1")
        .await;
    let marker = &first.entries[0];
    assert_eq!(marker.id, created);
    assert_eq!(marker.marker.as_deref(), Some("stream_created"));
    assert_eq!(marker.error, None);
}

/// The lab's own Node.js code, run with node-redis v4 against the relay's Redis: its claim
/// folds to paid for its customer with the leap marked, the second producer's claim loads,
/// its marker is no error, and its dead letter lists with its reason.
#[tokio::test]
async fn what_the_labs_node_code_writes_folds_beside_the_relays_own() {
    let app = spawn_app().await;
    let ours = app.submit("10.00").await;
    let ids = test_support::node::lab(&app.redis_url(), "claim_node_1").await;
    let id = |name: &str| ids[name].as_str().unwrap().to_owned();
    until(
        Duration::from_secs(5),
        "the node code's entries indexed",
        async || history_len(&app, "claim_node_1").await == 3,
    )
    .await;

    let lab = claim(&app, "claim_node_1").await.claim;
    assert_eq!(
        (lab.status, lab.customer_id.as_str(), lab.version),
        (ClaimStatus::Paid, "CUST-NODE", 3)
    );
    assert_eq!(lab.payment_reference.as_deref(), Some("bank_transfer"));
    let events: ClaimEventsResponse = app.get_json("/api/claims/claim_node_1/events").await;
    assert!(
        events.events.iter().all(|e| e.error.is_none()),
        "{events:?}"
    );
    assert_eq!(events.outside_lifecycle, [id("approved")]);
    let dotted = claim(&app, "claim_node_1_b").await.claim;
    assert_eq!(
        (dotted.customer_id.as_str(), dotted.amount.as_str()),
        ("CUST-DOT", "250.00")
    );
    assert_eq!(claim(&app, &ours.claim_id).await.claim.version, 1);

    let page: shared::api::EntriesPage = app
        .get_json("/api/streams/claims:events/entries?count=10")
        .await;
    let created = page.entries.iter().find(|e| e.id == id("created")).unwrap();
    assert_eq!(
        (created.marker.as_deref(), created.error.as_deref()),
        (Some("stream_created"), None)
    );
    let letters: shared::api::EntriesPage =
        app.get_json("/api/streams/claims:failed/entries").await;
    assert_eq!(letters.entries[0].id, id("letter"));
    assert_eq!(
        test_support::field(&letters.entries[0].fields, "error_message"),
        "notification service unavailable"
    );
}
