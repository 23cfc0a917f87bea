//! The projection debugger (`GET /api/projections/debug`): its steps are the live projection's,
//! it never writes the live model, and it is bounded.

use std::collections::BTreeMap;
use std::time::Duration;

use backend::store::keys::{Model, Partition};
use serde_json::{Value, json};
use shared::api::{ProjectionDebugResponse, ProjectionsResponse};
use test_support::{TestApp, error_of, spawn_app, spawn_app_with, until};

/// Waits until the projection has applied the stream's newest entry.
async fn caught_up(app: &TestApp) {
    let last = app.newest_id().await;
    until(
        Duration::from_secs(20),
        "the projection to catch up",
        async || {
            let p: ProjectionsResponse = app.get_json("/api/projections").await;
            p.position.as_deref() == Some(last.as_str())
        },
    )
    .await;
}

/// The live model field by field: `(key, field)` to its value (JSON parsed; a sorted set's
/// member to its score), the activity list apart, newest first, and the position.
async fn live(
    app: &TestApp,
) -> (
    BTreeMap<(String, String), Value>,
    Vec<Value>,
    Option<String>,
) {
    let model = Partition::ONLY.model(Model::Live);
    let mut conn = app.redis().await;
    let mut fields = BTreeMap::new();
    for hash in [model.views(), model.customers()] {
        let all: BTreeMap<String, String> = redis::cmd("HGETALL")
            .arg(&hash)
            .query_async(&mut conn)
            .await
            .unwrap();
        for (field, value) in all {
            fields.insert((hash.clone(), field), serde_json::from_str(&value).unwrap());
        }
    }
    let mut sets = vec![model.all_claims()];
    sets.extend(shared::ClaimStatus::ALL.map(|s| model.by_status(s)));
    for set in sets {
        let members: Vec<(String, String)> = redis::cmd("ZRANGE")
            .arg(&set)
            .arg(0)
            .arg(-1)
            .arg("WITHSCORES")
            .query_async(&mut conn)
            .await
            .unwrap();
        for (member, score) in members {
            fields.insert((set.clone(), member), json!(score));
        }
    }
    let activity: Vec<String> = redis::cmd("LRANGE")
        .arg(model.activity())
        .arg(0)
        .arg(-1)
        .query_async(&mut conn)
        .await
        .unwrap();
    let position: Option<String> = redis::cmd("HGET")
        .arg(Partition::ONLY.projection())
        .arg("position")
        .query_async(&mut conn)
        .await
        .unwrap();
    (
        fields,
        activity
            .iter()
            .map(|i| serde_json::from_str(i).unwrap())
            .collect(),
        position,
    )
}

/// Every key the debugger's scratch models have left.
async fn scratch_keys(app: &TestApp) -> Vec<String> {
    app.query(&["KEYS", "claims:*:debug:*"]).await
}

#[tokio::test]
async fn stepping_from_the_first_event_ends_where_the_live_model_is_and_never_writes_it() {
    let app = spawn_app().await;
    let mut claims = Vec::new();
    for i in 0..60 {
        let currency = ["USD", "EUR"][i % 2];
        let r = app
            .post(
                "/api/claims",
                &json!({"customer_id": format!("CUST-{}", i % 4), "amount": format!("{}.50", i + 1),
                        "description": "debugged", "currency": currency}),
            )
            .await;
        assert_eq!(r.status(), 201);
        let id = r.json::<Value>().await.unwrap()["claim_id"]
            .as_str()
            .unwrap()
            .to_owned();
        claims.push(id);
    }
    for (i, claim) in claims.iter().enumerate() {
        match i % 4 {
            0 => {
                app.act(claim, "review").await;
                app.act(claim, "approve").await;
                app.act(claim, "pay").await;
            }
            1 => {
                app.act(claim, "reject").await;
            }
            2 => {
                app.post(
                    &format!("/api/claims/{claim}/notes"),
                    &json!({"adjuster": "Ada", "note": "looked"}),
                )
                .await;
            }
            _ => {}
        }
    }
    // Another program's claim, in its own dialect.
    app.raw_xadd(&[
        ("type", "claim_submitted"),
        ("claim_id", "lab_1"),
        ("customer_id", "CUST-LAB"),
        ("amount", "700"),
        ("submitted_at", "2026-11-21T09:00:00.000Z"),
    ])
    .await;
    caught_up(&app).await;
    let total = app.xlen().await;
    assert!(total > 100, "only {total} entries");
    let (live_fields, live_activity, live_position) = live(&app).await;

    // Through every event from the first, a page of 100 at a time, each page starting from a
    // scratch model folded up to just before it.
    let mut fields: BTreeMap<(String, String), Value> = BTreeMap::new();
    let mut pushed: Vec<Value> = Vec::new();
    let mut position = None;
    let mut stepped = 0;
    let mut from = String::from("-");
    loop {
        let page: ProjectionDebugResponse = app
            .get_json(&format!("/api/projections/debug?from={from}&steps=100"))
            .await;
        assert_eq!(page.folded_before, stepped);
        assert!(scratch_keys(&app).await.is_empty(), "scratch keys left");
        for step in &page.steps {
            stepped += 1;
            for change in &step.changes {
                let key = change.key.clone();
                if key.ends_with(":activity") {
                    if change.field == "newest" {
                        pushed
                            .push(serde_json::from_str(change.after.as_deref().unwrap()).unwrap());
                    }
                    continue;
                }
                if key == Partition::ONLY.projection() {
                    assert_eq!(change.after.as_deref(), Some(step.entry.id.as_str()));
                    position = change.after.clone();
                    continue;
                }
                let value = change.after.as_deref().map(|a| {
                    if key.ends_with(":views") || key.ends_with(":customers") {
                        serde_json::from_str(a).unwrap()
                    } else {
                        json!(a)
                    }
                });
                match value {
                    Some(v) => fields.insert((key, change.field.clone()), v),
                    None => fields.remove(&(key, change.field.clone())),
                };
            }
        }
        match page.next {
            Some(next) => from = next,
            None => break,
        }
    }
    assert_eq!(stepped, total);
    pushed.reverse();
    pushed.truncate(backend::store::keys::ACTIVITY_KEPT);
    assert_eq!(
        fields, live_fields,
        "the steps end elsewhere than the live model"
    );
    assert_eq!(pushed, live_activity);
    assert_eq!(position, live_position);

    // One step, one event: a submission shows its view, its place in the list and in
    // `submitted`, its customer's totals, the activity and the position, from nothing.
    let first: ProjectionDebugResponse = app.get_json("/api/projections/debug?steps=1").await;
    let model = Partition::ONLY.model(Model::Live);
    let changed: Vec<(&str, Option<&str>)> = first.steps[0]
        .changes
        .iter()
        .map(|c| (c.key.as_str(), c.before.as_deref()))
        .collect();
    for key in [
        model.views(),
        model.all_claims(),
        model.by_status(shared::ClaimStatus::Submitted),
        model.customers(),
        model.activity(),
        Partition::ONLY.projection(),
    ] {
        assert!(
            changed.contains(&(key.as_str(), None)),
            "{key} in {changed:?}"
        );
    }
    assert_eq!(
        first.next.as_deref(),
        Some(app.xrange().await[1].0.as_str())
    );

    // The live model is as it was, and no scratch key is left.
    assert_eq!(
        live(&app).await,
        (live_fields, live_activity, live_position)
    );
    assert!(scratch_keys(&app).await.is_empty());
}

#[tokio::test]
async fn a_step_shows_what_an_event_changed_before_and_after() {
    let app = spawn_app().await;
    let claim = app.submit("12.00").await;
    for action in ["review", "approve", "pay"] {
        app.act_json(&claim.claim_id, action).await;
    }
    // From the approval: the submission and review are folded first.
    let entries = app.xrange().await;
    let page: ProjectionDebugResponse = app
        .get_json(&format!(
            "/api/projections/debug?from={}&steps=5",
            entries[2].0
        ))
        .await;
    assert_eq!(page.folded_before, 2);
    assert_eq!(page.steps.len(), 2);
    assert_eq!(page.next, None);
    let pay = &page.steps[1];
    assert_eq!(
        pay.entry.event.as_ref().unwrap().event_type().to_string(),
        "claim_paid"
    );
    let model = Partition::ONLY.model(Model::Live);
    let change = |key: String| {
        pay.changes
            .iter()
            .find(|c| c.key == key)
            .unwrap_or_else(|| panic!("{key} unchanged"))
    };
    // Out of `approved`, into `paid`, both scored by the submission time.
    let out = change(model.by_status(shared::ClaimStatus::Approved));
    assert!(out.before.is_some() && out.after.is_none());
    let into = change(model.by_status(shared::ClaimStatus::Paid));
    assert_eq!(
        (into.before.as_ref(), into.after.as_ref()),
        (None, out.before.as_ref())
    );
    let totals = change(model.customers());
    let before: Value = serde_json::from_str(totals.before.as_deref().unwrap()).unwrap();
    let after: Value = serde_json::from_str(totals.after.as_deref().unwrap()).unwrap();
    assert!(
        before["paid"].as_object().is_none_or(|o| o.is_empty()),
        "{before}"
    );
    let paid: Vec<&Value> = after["paid"].as_object().unwrap().values().collect();
    assert_eq!(paid, [&json!(1200)], "{after}");
    let view = change(model.views());
    assert!(view.before.as_deref().unwrap().contains("\"approved\""));
    assert!(view.after.as_deref().unwrap().contains("\"paid\""));
    // ... and names the view's members the payment changed, each before and after.
    let member = |name: &str| view.members.iter().find(|m| m.name == name);
    let status = member("status").expect("the status member");
    assert_eq!(
        (status.before.as_deref(), status.after.as_deref()),
        (Some("approved"), Some("paid"))
    );
    assert_eq!(member("version").unwrap().after.as_deref(), Some("4"));
    assert!(member("customer_id").is_none(), "{:?}", view.members);
    // The claim list's score did not change, so it is not listed.
    assert!(pay.changes.iter().all(|c| c.key != model.all_claims()));
}

#[tokio::test]
async fn bad_steps_and_starts_are_refused_saying_the_limit() {
    let app = spawn_app().await;
    app.submit("1.00").await;
    for (query, says) in [
        ("steps=0", "between 1 and 100"),
        ("steps=101", "between 1 and 100"),
        ("steps=many", "steps"),
        ("from=yesterday", "from"),
        ("from=1:1-0", "no partition"),
        ("from=1-0&step=3", "step"),
    ] {
        let (status, code, message) =
            error_of(app.get(&format!("/api/projections/debug?{query}")).await).await;
        assert_eq!((status, code.as_str()), (400, "invalid_query"), "{query}");
        assert!(message.contains(says), "{query}: {message}");
    }
    // Past the end: no steps, nothing next.
    let past: ProjectionDebugResponse = app
        .get_json("/api/projections/debug?from=99999999999999-0")
        .await;
    assert_eq!((past.steps.len(), past.next), (0, None));
    assert_eq!(past.folded_before, 1);
}

#[tokio::test]
async fn more_entries_before_the_start_than_the_bound_are_refused() {
    let app = spawn_app().await;
    let bound = backend::events::projection::debug::MAX_BEFORE as usize;
    let mut conn = app.redis().await;
    let mut ids: Vec<String> = Vec::new();
    for chunk in 0..=(bound / 1000) {
        let mut pipe = redis::pipe();
        for i in chunk * 1000..((chunk + 1) * 1000).min(bound + 1) {
            pipe.cmd("XADD")
                .arg("claims:events")
                .arg("*")
                .arg("type")
                .arg("stream_created")
                .arg("n")
                .arg(i);
        }
        let added: Vec<String> = pipe.query_async(&mut conn).await.unwrap();
        ids.extend(added);
    }
    assert_eq!(ids.len(), bound + 1);
    // Exactly the bound before the start: folded.
    let ok: ProjectionDebugResponse = app
        .get_json(&format!(
            "/api/projections/debug?from={}&steps=1",
            ids[bound]
        ))
        .await;
    assert_eq!(ok.folded_before, bound as u64);
    // One more: refused, naming the bound.
    let next = app.raw_xadd(&[("type", "stream_created")]).await;
    let (status, code, message) = error_of(
        app.get(&format!("/api/projections/debug?from={next}"))
            .await,
    )
    .await;
    assert_eq!((status, code.as_str()), (422, "history_too_long"));
    assert!(message.contains(&bound.to_string()), "{message}");
    assert!(scratch_keys(&app).await.is_empty());
}

#[tokio::test]
async fn with_partitions_the_start_names_its_partition() {
    let app = spawn_app_with(|c| c.partitions = 2).await;
    let mut claims = Vec::new();
    for _ in 0..6 {
        claims.push(app.submit("3.00").await.claim_id);
    }
    let (status, code, message) = error_of(app.get("/api/projections/debug").await).await;
    assert_eq!((status, code.as_str()), (400, "invalid_query"));
    assert!(message.contains("<partition>:<entry id>"), "{message}");
    let mut stepped = 0;
    for p in 0..2u32 {
        let page: ProjectionDebugResponse = app
            .get_json(&format!("/api/projections/debug?from={p}:-&steps=100"))
            .await;
        assert_eq!(page.partition, Some(p));
        for step in &page.steps {
            assert_eq!(step.entry.partition, Some(p));
            let key = &step.changes[0].key;
            assert!(key.starts_with(&format!("claims:{{{p}}}:")), "{key}");
        }
        stepped += page.steps.len();
        if let Some(second) = page.steps.get(1) {
            // From the second entry, the first is folded before it.
            let again: ProjectionDebugResponse = app
                .get_json(&format!(
                    "/api/projections/debug?from={p}:{}&steps=1",
                    second.entry.id
                ))
                .await;
            assert_eq!(again.folded_before, 1);
            assert_eq!(again.steps[0], *second);
        }
    }
    assert_eq!(stepped, claims.len());
    assert!(scratch_keys(&app).await.is_empty());
}

#[tokio::test]
async fn a_start_given_as_a_bare_millisecond_folds_nothing_twice() {
    let app = spawn_app().await;
    for id in ["5-0", "5-1", "6-0"] {
        let _: String = app
            .query(&["XADD", "claims:events", id, "type", "stream_created"])
            .await;
    }
    let stepped = |from: &'static str| {
        let app = &app;
        async move {
            let page: ProjectionDebugResponse = app
                .get_json(&format!("/api/projections/debug?from={from}"))
                .await;
            let ids: Vec<String> = page.steps.iter().map(|s| s.entry.id.clone()).collect();
            (page.folded_before, ids)
        }
    };
    assert_eq!(
        stepped("5").await,
        (0, vec!["5-0".into(), "5-1".into(), "6-0".into()])
    );
    assert_eq!(stepped("5-1").await, (1, vec!["5-1".into(), "6-0".into()]));
    assert_eq!(stepped("6").await, (2, vec!["6-0".into()]));
}
