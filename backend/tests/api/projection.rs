//! The read model's projection: read-your-writes, and a rebuild that equals the live model.

use std::collections::BTreeMap;
use std::time::Duration;

use backend::store::clock::Clock;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use shared::api::{ClaimListResponse, CommandResponse, ProjectionsResponse, ServerMessage};

use test_support::{TestApp, error_of, spawn_app, until};

use crate::fixtures::{second_relay, workers_without_review};

#[tokio::test]
async fn the_list_answers_once_the_projection_has_applied_the_entry_asked_for() {
    let app = spawn_app().await;
    let created = app.submit("12.00").await;
    let list = list_after(&app, &created.entry_id).await;
    assert_eq!(list.claims[0].claim_id, created.claim_id);
    assert_eq!(
        list.projection.position.as_deref(),
        Some(created.entry_id.as_str())
    );

    // An entry the projection cannot have reached: 503 with where it is.
    let far = "99999999999999-0";
    let r = app
        .get(&format!("/api/claims?after={far}&wait_ms=50"))
        .await;
    assert_eq!(
        r.headers()["x-projection-position"].to_str().unwrap(),
        created.entry_id
    );
    let (status, code, message) = error_of(r).await;
    assert_eq!((status, code.as_str()), (503, "projection_behind"));
    assert!(message.contains(&created.entry_id), "{message}");

    // Or, asked to, what the projection has, saying how far behind it is.
    let stale: ClaimListResponse = app
        .get_json(&format!("/api/claims?after={far}&wait_ms=50&stale_ok=true"))
        .await;
    assert_eq!(stale.total, 1);
    assert_eq!(
        stale.projection.position.as_deref(),
        Some(created.entry_id.as_str())
    );

    for bad in ["after=soon", "after=1-0&wait_ms=60000"] {
        let (status, code, _) = error_of(app.get(&format!("/api/claims?{bad}")).await).await;
        assert_eq!((status, code.as_str()), (400, "invalid_query"), "{bad}");
    }
}

/// The live model's keys as data: views and totals parsed (the projector's Lua writes JSON
/// with its own key order), sets and lists as they are.
async fn model(app: &TestApp) -> BTreeMap<String, Value> {
    let mut conn = app.redis().await;
    let mut out = BTreeMap::new();
    for key in backend::store::keys::Partition::ONLY
        .model(backend::store::keys::Model::Live)
        .all_keys()
    {
        let kind: String = redis::cmd("TYPE")
            .arg(&key)
            .query_async(&mut conn)
            .await
            .unwrap();
        let value = match kind.as_str() {
            "hash" => {
                let all: BTreeMap<String, String> = redis::cmd("HGETALL")
                    .arg(&key)
                    .query_async(&mut conn)
                    .await
                    .unwrap();
                let parsed: BTreeMap<String, Value> = all
                    .into_iter()
                    .map(|(k, v)| (k, serde_json::from_str(&v).unwrap()))
                    .collect();
                json!(parsed)
            }
            "zset" => {
                let members: Vec<(String, f64)> = redis::cmd("ZRANGE")
                    .arg(&key)
                    .arg(0)
                    .arg(-1)
                    .arg("WITHSCORES")
                    .query_async(&mut conn)
                    .await
                    .unwrap();
                json!(members)
            }
            "list" => {
                let items: Vec<String> = redis::cmd("LRANGE")
                    .arg(&key)
                    .arg(0)
                    .arg(-1)
                    .query_async(&mut conn)
                    .await
                    .unwrap();
                let parsed: Vec<Value> = items
                    .iter()
                    .map(|i| serde_json::from_str(i).unwrap())
                    .collect();
                json!(parsed)
            }
            _ => Value::Null,
        };
        out.insert(key, value);
    }
    out
}

async fn projection(app: &TestApp) -> ProjectionsResponse {
    app.get_json("/api/projections").await
}

#[tokio::test]
async fn a_rebuild_from_the_first_event_equals_the_live_model_after_a_random_workload() {
    let app = spawn_app().await;
    let mut rng = rand::rngs::StdRng::seed_from_u64(9);
    let mut claims: Vec<String> = Vec::new();
    for i in 0..150 {
        match rng.random_range(0..10) {
            0..=3 => {
                let amount = format!(
                    "{}.{:02}",
                    rng.random_range(1..5000),
                    rng.random_range(0..100)
                );
                let currency = ["USD", "EUR", "GBP"][rng.random_range(0..3)];
                let r: CommandResponse = app
                    .post(
                        "/api/claims",
                        &json!({"customer_id": format!("CUST-{}", rng.random_range(1..6)),
                                "amount": amount, "description": "random", "currency": currency}),
                    )
                    .await
                    .json()
                    .await
                    .unwrap();
                claims.push(r.claim_id);
            }
            // Another program's claims, in its own dialect.
            4 => {
                let id = format!("lab_{i}");
                app.raw_xadd(&[
                    ("type", "claim_submitted"),
                    ("claim_id", &id),
                    ("customer_id", "CUST-LAB"),
                    ("amount", "700"),
                    ("submitted_at", "2026-11-21T09:00:00.000Z"),
                ])
                .await;
                claims.push(id);
            }
            _ if claims.is_empty() => {}
            n => {
                let claim = &claims[rng.random_range(0..claims.len())];
                let _ = match n {
                    5 | 6 => {
                        app.act(claim, ["review", "approve", "pay"][rng.random_range(0..3)])
                            .await
                    }
                    7 => app.act(claim, "reject").await,
                    _ => {
                        app.post(
                            &format!("/api/claims/{claim}/notes"),
                            &json!({"adjuster": "Ada", "note": format!("note {i}")}),
                        )
                        .await
                    }
                };
            }
        }
    }
    let last = app.xrange().await.last().unwrap().0.clone();
    until(
        Duration::from_secs(10),
        "the projection to catch up",
        async || projection(&app).await.position.as_deref() == Some(last.as_str()),
    )
    .await;
    let live = model(&app).await;
    let views = live[&backend::store::keys::Partition::ONLY
        .model(backend::store::keys::Model::Live)
        .views()]
        .as_object()
        .unwrap()
        .len();
    assert!(views > 40, "only {views} claims in the model");

    let mut ws = app.ws(None).await;
    ws.expect_caught_up().await;
    // A push made before the request may still say how an earlier rebuild ended.
    let before = projection(&app).await.rebuild.finished_at;
    let started = app.post("/api/projections/rebuild", &json!({})).await;
    assert_eq!(started.status(), 202);
    // Progress is pushed to every browser; the last push says this rebuild is done.
    let mut states = Vec::new();
    loop {
        match ws.next(Duration::from_secs(10)).await {
            Some(ServerMessage::Projection { projection }) => {
                let rebuild = projection.rebuild;
                let finished = rebuild.state == "done" && rebuild.finished_at != before;
                states.push(rebuild.state);
                if finished {
                    break;
                }
            }
            Some(_) => {}
            None => panic!("no rebuild progress pushed; saw {states:?}"),
        }
    }
    let done = projection(&app).await;
    assert_eq!(done.rebuild.replayed, app.xlen().await);
    assert_eq!(done.position.as_deref(), Some(last.as_str()));
    assert_eq!(
        model(&app).await,
        live,
        "the rebuilt model differs from the live one"
    );

    // And the projector goes on from where the rebuild stopped.
    let after = app.submit("3.00").await;
    let list = list_after(&app, &after.entry_id).await;
    assert_eq!(list.total as usize, views + 1);
}

#[tokio::test]
async fn only_an_instructor_rebuilds_and_one_at_a_time() {
    let app = test_support::spawn_app_with(|c| c.instructor_token = Some("s3cret".into())).await;
    let r = app.post("/api/projections/rebuild", &json!({})).await;
    assert_eq!(r.status(), 401);
    // A new projection group builds its model from the first event once, at the start.
    first_build_done(&app, Duration::from_secs(5)).await;
    let rebuild = || {
        app.http
            .post(app.url("/api/projections/rebuild"))
            .bearer_auth("s3cret")
            .json(&json!({}))
            .send()
    };
    assert_eq!(rebuild().await.unwrap().status(), 202);
    until(
        Duration::from_secs(5),
        "the rebuild to finish",
        async || projection(&app).await.rebuild.state == "done",
    )
    .await;
    // While one runs (as another relay's projector may be doing), another is refused.
    let () = redis::cmd("HSET")
        .arg(backend::store::keys::Partition::ONLY.projection())
        .arg("rebuild_state")
        .arg("running")
        .query_async(&mut app.redis().await)
        .await
        .unwrap();
    let (status, code, _) = error_of(rebuild().await.unwrap()).await;
    assert_eq!((status, code.as_str()), (409, "rebuild_running"));
}

/// The projection hash's counters: rebuilds started and rebuilds swapped in.
async fn rebuild_counts(app: &TestApp) -> (u64, u64) {
    let (runs, swaps): (Option<u64>, Option<u64>) = redis::cmd("HMGET")
        .arg(backend::store::keys::Partition::ONLY.projection())
        .arg("rebuild_runs")
        .arg("rebuild_swaps")
        .query_async(&mut app.redis().await)
        .await
        .unwrap();
    (runs.unwrap_or(0), swaps.unwrap_or(0))
}

/// Waits until the projection has applied the stream's newest entry.
/// `GET /api/claims?after=<entry>&wait_ms=5000`: the list once the projection has applied
/// `entry_id`.
async fn list_after(app: &TestApp, entry_id: &str) -> ClaimListResponse {
    app.get_json(&format!("/api/claims?after={entry_id}&wait_ms=5000"))
        .await
}

/// Waits up to `within` for the projection's first build (from the first event) to finish.
async fn first_build_done(app: &TestApp, within: Duration) {
    until(within, "the first build to finish", async || {
        projection(app).await.rebuild.state == "done"
    })
    .await;
}

/// Takes the projector lease as `holder` for `seconds`, as a projector elsewhere would.
async fn take_lease(conn: &mut redis::aio::MultiplexedConnection, holder: &str, seconds: u64) {
    let () = redis::cmd("SET")
        .arg(backend::store::keys::Partition::ONLY.projector_lease())
        .arg(holder)
        .arg("EX")
        .arg(seconds)
        .query_async(conn)
        .await
        .unwrap();
}

async fn caught_up(app: &TestApp) -> String {
    let last = app.newest_id().await;
    until(
        Duration::from_secs(30),
        "the projection to catch up",
        async || projection(app).await.position.as_deref() == Some(last.as_str()),
    )
    .await;
    last
}

#[tokio::test]
async fn two_relays_asked_to_rebuild_at_once_run_one_rebuild_equal_to_the_live_fold() {
    let app = test_support::spawn_app_with(workers_without_review).await;
    let second = second_relay(&app, workers_without_review).await;
    let address = second.address.clone();
    first_build_done(&app, Duration::from_secs(10)).await;
    for i in 0..300 {
        let currency = ["USD", "EUR"][i % 2];
        let base = if i % 2 == 0 {
            app.url("")
        } else {
            format!("http://{address}")
        };
        let r = app
            .http
            .post(format!("{base}/api/claims"))
            .json(
                &json!({"customer_id": format!("CUST-{}", i % 7), "amount": format!("{}.25", i + 1),
                          "description": "two relays", "currency": currency}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
    }
    let last = caught_up(&app).await;
    let live = model(&app).await;
    let (runs, swaps) = rebuild_counts(&app).await;

    // Both relays asked at the same moment: one request is taken, the other told it runs.
    let ask = |base: String| {
        app.http
            .post(format!("{base}/api/projections/rebuild"))
            .json(&json!({}))
            .send()
    };
    let (a, b) = tokio::join!(ask(app.url("")), ask(format!("http://{address}")));
    let mut statuses = [a.unwrap().status().as_u16(), b.unwrap().status().as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [202, 409]);
    until(
        Duration::from_secs(20),
        "the rebuild to be swapped in",
        async || rebuild_counts(&app).await.1 > swaps,
    )
    .await;
    let done = projection(&app).await;
    assert_eq!(done.rebuild.state, "done");
    assert_eq!(done.rebuild.replayed, app.xlen().await);
    assert_eq!(done.position.as_deref(), Some(last.as_str()));
    assert_eq!(
        rebuild_counts(&app).await,
        (runs + 1, swaps + 1),
        "exactly one rebuild ran"
    );
    assert_eq!(
        model(&app).await,
        live,
        "the rebuilt model differs from the live fold"
    );
    second.shutdown().await;
}

#[tokio::test]
async fn a_projector_without_the_lease_can_neither_start_nor_swap_a_rebuild() {
    let app = spawn_app().await;
    for amount in ["1.00", "2.00", "3.00"] {
        app.submit(amount).await;
    }
    caught_up(&app).await;
    first_build_done(&app, Duration::from_secs(10)).await;
    let partition = backend::store::keys::Partition::ONLY;
    let mut conn = app.redis().await;
    // What the lease holder's own rebuild has written so far.
    let () = redis::cmd("HSET")
        .arg(
            partition
                .model(backend::store::keys::Model::Rebuild)
                .views(),
        )
        .arg("holder")
        .arg("{}")
        .query_async(&mut conn)
        .await
        .unwrap();
    let live = model(&app).await;
    let state = |mut conn: redis::aio::MultiplexedConnection| async move {
        let all: BTreeMap<String, String> = redis::cmd("HGETALL")
            .arg(partition.projection())
            .query_async(&mut conn)
            .await
            .unwrap();
        all
    };
    let before = state(conn.clone()).await;

    let db = backend::store::db::Db::new(&app.redis_url()).unwrap();
    let rebuilt = backend::events::projection::rebuild(
        &db,
        &Clock::system(),
        partition,
        "a-relay-whose-lease-lapsed",
        Duration::from_secs(10),
    )
    .await
    .unwrap();
    assert!(!rebuilt, "a rebuild ran without the lease");
    let rebuild_views = partition
        .model(backend::store::keys::Model::Rebuild)
        .views();
    let holder: Option<String> = app.query(&["HGET", &rebuild_views, "holder"]).await;
    assert_eq!(
        holder.as_deref(),
        Some("{}"),
        "the holder's keys were unlinked"
    );
    assert_eq!(model(&app).await, live);
    assert_eq!(state(conn).await, before);
}

#[tokio::test]
async fn a_projector_that_loses_its_lease_mid_rebuild_writes_and_swaps_nothing_more() {
    let app = spawn_app().await;
    let partition = backend::store::keys::Partition::ONLY;
    let mut conn = app.redis().await;
    // Enough entries that the replay takes many pages, as another program appends them.
    lab_entries(&mut conn, 10_000).await;
    caught_up(&app).await;
    first_build_done(&app, Duration::from_secs(10)).await;
    // This test is the projector now: the relay's own finds the lease taken and stands by
    // (with nothing new in the stream it writes nothing meanwhile).
    take_lease(&mut conn, "stalled", 60).await;
    let views = partition.model(backend::store::keys::Model::Live).views();
    let () = redis::cmd("HSET")
        .arg(&views)
        .arg("live-marker")
        .arg("{}")
        .query_async(&mut conn)
        .await
        .unwrap();
    let (_, swaps) = rebuild_counts(&app).await;

    let db = backend::store::db::Db::new(&app.redis_url()).unwrap();
    let clock = Clock::system();
    let rebuild = backend::events::projection::rebuild(
        &db,
        &clock,
        partition,
        "stalled",
        Duration::from_secs(60),
    );
    // Once the rebuild has started, another relay takes the lease (as if this one had stalled
    // past it) and starts writing its own rebuild; in one script, and only if no swap came first.
    let take_over = async {
        let mut conn = app.redis().await;
        until(
            Duration::from_secs(10),
            "the rebuild to start",
            async || {
                let owner: Option<String> = redis::cmd("HGET")
                    .arg(partition.projection())
                    .arg("rebuild_owner")
                    .query_async(&mut conn)
                    .await
                    .unwrap();
                owner.as_deref() == Some("stalled")
            },
        )
        .await;
        let took: i64 = redis::Script::new(
            r"
if tonumber(redis.call('HGET', KEYS[1], 'rebuild_swaps') or '0') ~= tonumber(ARGV[1]) then
  return 0
end
redis.call('SET', KEYS[2], 'successor', 'EX', 60)
redis.call('HSET', KEYS[3], 'successor', '{}')
return 1
",
        )
        .key(partition.projection())
        .key(partition.projector_lease())
        .key(
            partition
                .model(backend::store::keys::Model::Rebuild)
                .views(),
        )
        .arg(swaps)
        .invoke_async(&mut conn)
        .await
        .unwrap();
        assert_eq!(
            took, 1,
            "the rebuild was swapped in before it could be cut off"
        );
    };
    let (rebuilt, ()) = tokio::join!(rebuild, take_over);
    assert!(
        !rebuilt.unwrap(),
        "a rebuild swapped in after its lease was lost"
    );
    assert_eq!(rebuild_counts(&app).await.1, swaps, "nothing swapped");
    let marker: Option<String> = app.query(&["HGET", &views, "live-marker"]).await;
    assert_eq!(marker.as_deref(), Some("{}"), "the live model was replaced");
    let rebuild_views = partition
        .model(backend::store::keys::Model::Rebuild)
        .views();
    let successor: Option<String> = app.query(&["HGET", &rebuild_views, "successor"]).await;
    assert_eq!(
        successor.as_deref(),
        Some("{}"),
        "the successor's rebuild keys were unlinked"
    );
    let lease: String = redis::cmd("GET")
        .arg(partition.projector_lease())
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(lease, "successor", "the lease was taken back");
}

/// Appends `n` claims' submissions straight to the stream, as another program would: enough of
/// them and a rebuild takes many pages (10,000 take about 0.5 s in a debug build now).
async fn lab_entries(conn: &mut redis::aio::MultiplexedConnection, n: usize) {
    let mut pipe = redis::pipe();
    for i in 0..n {
        pipe.cmd("XADD")
            .arg("claims:events")
            .arg("*")
            .arg("type")
            .arg("claim_submitted")
            .arg("claim_id")
            .arg(format!("lab_{i}"))
            .arg("customer_id")
            .arg("CUST-LAB")
            .arg("amount")
            .arg("700")
            .arg("submitted_at")
            .arg("2026-11-21T09:00:00.000Z")
            .ignore();
    }
    let () = pipe.query_async(conn).await.unwrap();
}

#[tokio::test]
async fn a_rebuild_renews_the_projector_lease_while_it_runs() {
    let app = spawn_app().await;
    let partition = backend::store::keys::Partition::ONLY;
    let lease = partition.projector_lease();
    let mut conn = app.redis().await;
    // Enough for a rebuild of about 1.5 s here, three renewals' time: one of 10,000 took
    // about 510 ms, as long as one renewal's, and was seen without any.
    lab_entries(&mut conn, 30_000).await;
    caught_up(&app).await;
    first_build_done(&app, Duration::from_secs(30)).await;
    // This test is the projector now, on a lease of 2 s (renewed every 500 ms): the relay's
    // own stands by.
    take_lease(&mut conn, "slow", 2).await;
    let db = backend::store::db::Db::new(&app.redis_url()).unwrap();
    let finished = std::sync::atomic::AtomicBool::new(false);
    let started = std::time::Instant::now();
    let rebuild = async {
        let r = backend::events::projection::rebuild(
            &db,
            &Clock::system(),
            partition,
            "slow",
            Duration::from_secs(2),
        )
        .await;
        finished.store(true, std::sync::atomic::Ordering::SeqCst);
        r
    };
    // Meanwhile another relay tries to take the lease every 20 ms, and the lease's time to
    // live is watched for a renewal.
    let contend = async {
        let mut conn = app.redis().await;
        let (mut renewed, mut last_ttl, mut taken) = (0, i64::MAX, false);
        while !finished.load(std::sync::atomic::Ordering::SeqCst) {
            let took: Option<String> = redis::cmd("SET")
                .arg(&lease)
                .arg("successor")
                .arg("NX")
                .arg("EX")
                .arg(60)
                .query_async(&mut conn)
                .await
                .unwrap();
            taken |= took.is_some();
            let ttl: i64 = redis::cmd("PTTL")
                .arg(&lease)
                .query_async(&mut conn)
                .await
                .unwrap();
            if ttl > last_ttl.saturating_add(50) {
                renewed += 1;
            }
            last_ttl = ttl;
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        (renewed, taken)
    };
    let (rebuilt, (renewed, taken)) = tokio::join!(rebuild, contend);
    let took = started.elapsed();
    assert!(!taken, "the lease lapsed during a rebuild of {took:?}");
    assert!(rebuilt.unwrap(), "the rebuild lost its lease");
    assert!(renewed > 0, "no renewal seen during a rebuild of {took:?}");
    eprintln!("rebuild of 30,000 entries: {took:?}, {renewed} renewals seen");
}
