use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use backend::store::db::Db;
use backend::store::groups;
use backend::workers::handler::Injection;
use backend::workers::notifications::Notify;
use backend::workers::{Consumer, ConsumerConfig, Handler};
use serde_json::{Value, json};
use shared::api::StreamEntry;
use tokio::sync::RwLock;

use crate::fixtures::group_named;
use test_support::streams::pending;
use test_support::{TestApp, field, poll, spawn_app, spawn_app_with};

use crate::fixtures::{second_relay, strings_at, submit_directly, workers_without_review};

async fn status_of(app: &TestApp, id: &str) -> (String, u64) {
    let body: Value = app.get_json(&format!("/api/claims/{id}")).await;
    (
        body["claim"]["status"].as_str().unwrap().to_owned(),
        body["claim"]["version"].as_u64().unwrap(),
    )
}

async fn eventually_status(app: &TestApp, id: &str, status: &str) -> u64 {
    poll(Duration::from_secs(10), status, async || {
        let (now, version) = status_of(app, id).await;
        if now == status {
            Ok(version)
        } else {
            Err(format!("{id} stayed {now}"))
        }
    })
    .await
}

#[tokio::test]
async fn processors_approve_small_claims_and_leave_large_ones_under_review() {
    let app = spawn_app_with(|c| c.workers = true).await;
    let small = app.submit("999.99").await.claim_id;
    let large = app.submit("1000.01").await.claim_id;

    assert_eq!(eventually_status(&app, &small, "approved").await, 3);
    assert_eq!(eventually_status(&app, &large, "under_review").await, 2);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        status_of(&app, &large).await,
        ("under_review".to_owned(), 2),
        "a person decides"
    );
}

#[tokio::test]
async fn with_auto_review_off_claims_wait_for_a_person() {
    let app = spawn_app_with(workers_without_review).await;
    let id = app.submit("10.00").await.claim_id;
    // The groups that do run have read and acknowledged the entry; no processors group exists
    // to act on it, so it is still as submitted.
    settled(&app, &["claims-analytics", "claims-notifications"]).await;
    let groups: Value = app.get_json("/api/groups").await;
    let names = strings_at(&groups["groups"], "name");
    assert_eq!(
        names,
        [
            "claims-analytics",
            "claims-notifications",
            "claims-projections"
        ]
    );
    assert_eq!(status_of(&app, &id).await, ("submitted".to_owned(), 1));
}

/// Waits until each group has read every entry and acknowledged it (lag 0, nothing pending).
async fn settled(app: &TestApp, names: &[&str]) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let groups: Value = app.get_json("/api/groups").await;
        let done = names.iter().all(|name| {
            groups["groups"]
                .as_array()
                .unwrap()
                .iter()
                .any(|g| g["name"] == *name && g["lag"] == 0 && g["pending"] == 0)
        });
        if done {
            return;
        }
        assert!(Instant::now() < deadline, "groups not settled: {groups}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn notifications_are_sent_once_per_relevant_event() {
    let app = spawn_app_with(|c| c.workers = true).await;
    let id = app.submit("50.00").await.claim_id;
    eventually_status(&app, &id, "approved").await;
    assert_eq!(app.act(&id, "pay").await.status(), 200);

    // Every entry, the pay included, read and acknowledged: all notifications are out.
    let pay_entry = app.xrange().await.last().unwrap().0.clone();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let groups: Value = app.get_json("/api/groups").await;
        let n = group_named(&groups, "claims-notifications");
        if n["last_delivered_id"] == pay_entry.as_str() && n["pending"] == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "pay not acknowledged: {n}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let notes = app.stream("claims:notifications").await;
    let messages: Vec<&str> = notes.iter().map(|(_, f)| field(f, "message")).collect();
    assert_eq!(
        messages.len(),
        3,
        "submitted, approved, paid (not under_review): {messages:?}"
    );
    assert!(messages[0].starts_with(&format!("We received your claim {id}")));
    assert_eq!(messages[1], format!("Your claim {id} was approved."));
    assert!(messages[2].starts_with(&format!("Your claim {id} was paid: 50.00")));
}

/// A consumer with a quick retry and a short idle time, driven step by step.
fn consumer<H: Handler>(
    db: &Db,
    group: &'static str,
    name: &str,
    handler: H,
    injection: Injection,
) -> Consumer<H> {
    Consumer::new(
        db.clone(),
        group,
        name,
        Arc::new(handler),
        ConsumerConfig {
            batch: 10,
            block: Duration::from_millis(50),
            max_deliveries: 3,
            claim_idle: Duration::from_millis(100),
            retry_base: Duration::from_millis(1),
        },
        Arc::new(RwLock::new(injection)),
    )
}

fn db(app: &TestApp) -> Db {
    Db::new(&app.redis_url()).unwrap()
}

/// A relay without workers, and `claims-notifications` created on its Redis for the test's
/// own consumers.
async fn with_notifications_group() -> (TestApp, Db) {
    let app = spawn_app().await;
    let db = db(&app);
    groups::ensure(&db, "claims-notifications").await.unwrap();
    (app, db)
}

#[tokio::test]
async fn a_poisoned_claim_goes_to_claims_failed_after_exactly_n_deliveries_while_others_flow() {
    let (app, db) = with_notifications_group().await;
    let poisoned = app.submit("1.00").await;
    let healthy = app.submit("2.00").await;
    // Injected failures live in Redis, where every process's consumers read them.
    let injection = Injection {
        poison_claim: Some(poisoned.claim_id.clone()),
        fail_ratio: 0.0,
    };
    backend::store::group_state::set_injection(
        &db,
        &mut backend::store::trace::Trace::off(),
        "claims-notifications",
        &injection,
    )
    .await
    .unwrap();
    let mut worker = consumer(
        &db,
        "claims-notifications",
        "notifier-1",
        Notify::default(),
        Injection::default(),
    );

    let mut dead = 0;
    for _ in 0..50 {
        dead += worker.process_once().await.unwrap().dead_lettered;
        if dead > 0 {
            break;
        }
    }
    assert_eq!(dead, 1);
    let failed = app.stream("claims:failed").await;
    assert_eq!(failed.len(), 1);
    let letter = &failed[0].1;
    assert_eq!(field(letter, "original_id"), poisoned.entry_id);
    assert_eq!(field(letter, "stream"), "claims:events");
    assert_eq!(field(letter, "group"), "claims-notifications");
    assert_eq!(field(letter, "consumer"), "notifier-1");
    assert_eq!(field(letter, "attempts"), "3");
    assert!(field(letter, "error").contains("poisoned"));
    assert_eq!(field(letter, "entry.claim_id"), poisoned.claim_id);

    let notes = app.stream("claims:notifications").await;
    assert_eq!(notes.len(), 1, "the healthy claim was notified");
    assert_eq!(field(&notes[0].1, "claim_id"), healthy.claim_id);
    let mut redis = app.redis().await;
    let pending = pending(&mut redis, "claims:events", "claims-notifications").await;
    assert_eq!(pending, 0, "nothing left pending");
}

#[tokio::test]
async fn entries_a_crashed_consumer_left_pending_are_taken_over_and_notified_once() {
    let (app, db) = with_notifications_group().await;
    let submitted = app.submit("3.00").await;

    // A consumer reads the entry, does the work, and dies before XACK.
    let mut conn = app.redis().await;
    let _: redis::Value = redis::cmd("XREADGROUP")
        .arg("GROUP")
        .arg("claims-notifications")
        .arg("ghost")
        .arg("COUNT")
        .arg(10)
        .arg("STREAMS")
        .arg("claims:events")
        .arg(">")
        .query_async(&mut conn)
        .await
        .unwrap();
    let entry = StreamEntry::decode(
        submitted.entry_id.clone(),
        app.stream("claims:events").await.remove(0).1,
    );
    Notify::default().handle(&db, &entry).await.unwrap();

    tokio::time::sleep(Duration::from_millis(150)).await;
    let mut survivor = consumer(
        &db,
        "claims-notifications",
        "notifier-2",
        Notify::default(),
        Injection::default(),
    );
    let mut claimed = 0;
    let mut acked = 0;
    for _ in 0..10 {
        let outcome = survivor.process_once().await.unwrap();
        claimed += outcome.claimed;
        acked += outcome.acked;
    }
    assert_eq!((claimed, acked), (1, 1));
    assert_eq!(
        app.stream("claims:notifications").await.len(),
        1,
        "not notified twice"
    );
}

#[tokio::test]
async fn groups_that_already_exist_are_kept_with_their_cursor() {
    let app = spawn_app().await;
    let db = db(&app);
    groups::ensure(&db, "claims-processors").await.unwrap();
    app.submit("1.00").await;
    groups::ensure(&db, "claims-processors").await.unwrap();
    let info: redis::Value = redis::cmd("XINFO")
        .arg("GROUPS")
        .arg("claims:events")
        .query_async(&mut app.redis().await)
        .await
        .unwrap();
    let redis::Value::Array(groups) = info else {
        panic!("XINFO GROUPS answers an array")
    };
    // The projection's group, and this one (names sort).
    assert_eq!(groups.len(), 2);
    let redis::Value::Array(fields) = &groups[0] else {
        panic!("each group is a flat field list")
    };
    let value = |name: &str| {
        let at = fields
            .iter()
            .position(|f| backend::store::reply::text(f).as_deref() == Some(name))
            .unwrap();
        fields[at + 1].clone()
    };
    assert_eq!(
        backend::store::reply::text(&value("name")).unwrap(),
        "claims-processors"
    );
    assert_eq!(
        value("lag"),
        redis::Value::Int(1),
        "the entry is still unread"
    );
}

#[tokio::test]
async fn analytics_counts_each_entry_once_and_appends_summaries() {
    let app = spawn_app_with(workers_without_review).await;
    for amount in ["10.00", "20.50"] {
        app.submit(amount).await;
    }
    let deadline = Instant::now() + Duration::from_secs(15);
    let summary = loop {
        let summaries = app.stream("claims:analytics").await;
        if let Some((_, fields)) = summaries
            .iter()
            .rev()
            .find(|(_, f)| field(f, "total:claim_submitted") == "2")
        {
            break fields.clone();
        }
        assert!(
            Instant::now() < deadline,
            "no summary counted both claims: {summaries:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(field(&summary, "amount:submitted"), "30.50");
    assert_eq!(field(&summary, "claims:submitted"), "2");
    assert_eq!(field(&summary, "dead_letters"), "0");
    assert_eq!(field(&summary, "lag:claims-analytics"), "0");

    // A redelivered entry is not counted again.
    let entry = StreamEntry::decode(
        app.stream("claims:events").await[0].0.clone(),
        app.stream("claims:events").await[0].1.clone(),
    );
    backend::workers::analytics::Analytics::default()
        .handle(&db(&app), &entry)
        .await
        .unwrap();
    let counted: i64 = app
        .query(&[
            "HGET",
            "claims:{claims:analytics}:metrics",
            "events:claim_submitted",
        ])
        .await;
    assert_eq!(counted, 2);
}

#[tokio::test]
async fn a_worker_process_of_its_own_joins_the_group_and_does_the_work() {
    let app = spawn_app().await;
    let mut worker = tokio::process::Command::new(env!("CARGO_BIN_EXE_backend"))
        .args([
            "worker",
            "--group",
            "claims-notifications",
            "--consumer",
            "elsewhere-1",
        ])
        .args(["--redis-url", &app.redis_url()])
        .env("RUST_LOG", "warn")
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    // The worker creates the group at the stream's end: wait for it before appending.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let groups: Value = app.get_json("/api/groups").await;
        if groups["groups"][0]["name"] == "claims-notifications" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the worker never created its group"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let id = app.submit("12.00").await.claim_id;
    let notes = loop {
        let notes = app.stream("claims:notifications").await;
        if !notes.is_empty() {
            break notes;
        }
        assert!(Instant::now() < deadline, "the worker sent nothing");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(field(&notes[0].1, "claim_id"), id);
    let groups: Value = app.get_json("/api/groups").await;
    assert_eq!(groups["groups"][0]["members"][0]["name"], "elsewhere-1");
    assert_eq!(
        groups["groups"][0]["members"][0]["running"], false,
        "not one of the relay's own"
    );
    worker.kill().await.unwrap();
}

#[tokio::test]
async fn a_worker_without_a_redis_url_says_what_it_needs() {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_backend"))
        .args([
            "worker",
            "--group",
            "claims-notifications",
            "--consumer",
            "x",
        ])
        .env_remove("REDIS_URL")
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("a worker needs --redis-url"), "{stderr}");
}

/// The state of one group as `GET /api/groups` reports it.
async fn group_view(app: &TestApp, name: &str) -> Value {
    let groups: Value = app.get_json("/api/groups").await;
    groups["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == name)
        .cloned()
        .unwrap_or(Value::Null)
}

async fn until_view(app: &TestApp, what: &str, check: impl Fn(&Value) -> bool) -> Value {
    poll(Duration::from_secs(20), what, async || {
        let view = group_view(app, "claims-notifications").await;
        if check(&view) {
            Ok(view)
        } else {
            Err(view.to_string())
        }
    })
    .await
}

#[tokio::test]
async fn a_worker_process_obeys_the_pause_and_failures_set_through_a_relay_and_shares_its_breaker()
{
    // The relay runs no consumers: everything the worker does, it learns from Redis.
    let app = spawn_app().await;
    let mut worker = tokio::process::Command::new(env!("CARGO_BIN_EXE_backend"))
        .args(["worker", "--group", "claims-notifications"])
        .args(["--consumer", "elsewhere-1", "--redis-url", &app.redis_url()])
        .env("RUST_LOG", "warn")
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    until_view(&app, "the worker to join", |g| {
        g["members"][0]["name"] == "elsewhere-1"
    })
    .await;
    let path = "/api/groups/claims-notifications";

    // The pause answers once the worker has parked, and nothing reaches it after.
    let paused = app
        .post(&format!("{path}/pause"), &json!({"paused": true}))
        .await;
    assert_eq!(paused.status(), 200, "{}", paused.text().await.unwrap());
    for _ in 0..5 {
        app.submit("1.00").await;
    }
    let view = group_view(&app, "claims-notifications").await;
    assert_eq!(
        (view["paused"].clone(), view["lag"].clone()),
        (json!(true), json!(5))
    );
    assert_eq!(app.stream("claims:notifications").await.len(), 0);

    // Failures injected through the relay make the worker fail; its breaker opens for all.
    let inject = app
        .post(&format!("{path}/inject"), &json!({"fail_ratio": 1.0}))
        .await;
    assert_eq!(inject.status(), 200);
    let resumed = app
        .post(&format!("{path}/pause"), &json!({"paused": false}))
        .await;
    assert_eq!(resumed.status(), 200);
    until_view(&app, "the shared breaker to open", |g| {
        g["breaker"] == "open"
    })
    .await;

    // Cleared: the worker drains the backlog and the breaker closes.
    let clear = app.post(&format!("{path}/inject"), &json!({})).await;
    assert_eq!(clear.status(), 200);
    until_view(&app, "the backlog drained", |g| {
        g["breaker"] == "closed" && g["pending"] == 0 && g["lag"] == 0
    })
    .await;
    assert_eq!(app.stream("claims:notifications").await.len(), 5);
    worker.kill().await.unwrap();
}

#[tokio::test]
async fn two_relays_on_one_redis_run_consumers_of_their_own_names() {
    let app = spawn_app_with(workers_without_review).await;
    let second = second_relay(&app, workers_without_review).await;
    let view = until_view(&app, "both relays' notifiers", |g| {
        g["members"].as_array().is_some_and(|m| m.len() == 4)
    })
    .await;
    let mut names: Vec<&str> = view["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "notifier-1",
            "notifier-1@relay2",
            "notifier-2",
            "notifier-2@relay2"
        ]
    );
    for _ in 0..20 {
        app.submit("1.00").await;
    }
    until_view(&app, "the 20 notified", |g| {
        g["lag"] == 0 && g["pending"] == 0
    })
    .await;
    let notes = app.stream("claims:notifications").await;
    let entries: HashSet<&str> = notes.iter().map(|(_, f)| field(f, "entry_id")).collect();
    assert_eq!(
        (notes.len(), entries.len()),
        (20, 20),
        "each once, by either relay"
    );
    second.shutdown().await;
}

#[tokio::test]
async fn a_worker_process_refuses_a_consumer_name_in_use() {
    let app = spawn_app_with(|c| c.workers = true).await;
    until_view(&app, "the relay's notifiers", |g| {
        g["members"].as_array().is_some_and(|m| m.len() == 2)
    })
    .await;
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_backend"))
        .args(["worker", "--group", "claims-notifications"])
        .args(["--consumer", "notifier-1", "--redis-url", &app.redis_url()])
        .env("RUST_LOG", "warn")
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("consumer notifier-1 of claims-notifications is in use by another process"),
        "{stderr}"
    );
}

/// A batch's claims are loaded together and each step appended for all of them at once; a
/// claim the index does not know yet goes the one-by-one way, which indexes it first.
#[tokio::test]
async fn auto_review_works_on_a_whole_batch_and_falls_back_one_by_one() {
    let (_redis, db, mut conn) = crate::fixtures::bare_redis().await;
    let mut submitted = Vec::new();
    for (n, cents) in [(1, 500_i64), (2, 5_000_000)] {
        submit_directly(&db, &format!("CLM-B{n}"), "C", cents, "batch", None)
            .await
            .unwrap();
        submitted.push(format!("CLM-B{n}"));
    }
    // Another program's submission: not in the index, and no projector here to index it.
    test_support::streams::xadd_v0_submitted(&mut conn, "CLM-FOREIGN", "7").await;
    let reply: redis::Value = redis::cmd("XRANGE")
        .arg(&["claims:events", "-", "+"])
        .query_async(&mut conn)
        .await
        .unwrap();
    let entries: Vec<shared::api::StreamEntry> = backend::store::reply::entries(reply)
        .into_iter()
        .map(|(id, fields)| shared::api::StreamEntry::decode(id, fields))
        .collect();
    let claims = crate::fixtures::claims(&db);
    let handler = backend::workers::processors::AutoReview {
        claims: claims.clone(),
        approve_up_to: shared::Amount::from_cents(100_000),
        clock: backend::store::clock::Clock::system(),
    };
    let batch: Vec<&shared::api::StreamEntry> = entries.iter().collect();
    let results = handler.handle_batch(&db, &batch).await;
    assert_eq!(results, vec![Ok(backend::workers::Handled::Applied); 3]);
    let status = async |id: &str| {
        backend::store::claims::load(&claims, &mut backend::store::trace::Trace::off(), id)
            .await
            .unwrap()
            .claim
            .status()
    };
    assert_eq!(status("CLM-B1").await, Some(shared::ClaimStatus::Approved));
    assert_eq!(
        status("CLM-B2").await,
        Some(shared::ClaimStatus::UnderReview),
        "over the threshold"
    );
    assert_eq!(
        status("CLM-FOREIGN").await,
        Some(shared::ClaimStatus::Approved)
    );
    // Once more, as a redelivery: nothing left to do, nothing appended.
    let len_before: u64 = redis::cmd("XLEN")
        .arg("claims:events")
        .query_async(&mut conn)
        .await
        .unwrap();
    let again = handler.handle_batch(&db, &batch).await;
    assert_eq!(again, vec![Ok(backend::workers::Handled::Applied); 3]);
    let len_after: u64 = redis::cmd("XLEN")
        .arg("claims:events")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(len_before, len_after);
}
