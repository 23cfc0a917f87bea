use std::time::Duration;

use backend::Config;
use serde_json::{Value, json};

use test_support::{TestApp, error_of, spawn_app, spawn_app_with};

use crate::fixtures::{group_named as group, inject, spawn_workers};

async fn groups(app: &TestApp) -> Value {
    let response = app.get("/api/groups").await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

async fn until(what: &str, check: impl AsyncFnMut() -> bool) {
    test_support::until(Duration::from_secs(15), what, check).await;
}

/// [`spawn_workers`], returned once its workers run.
async fn running(consumers: usize, auto_review: bool, adjust: impl FnOnce(&mut Config)) -> TestApp {
    let app = spawn_workers(consumers, auto_review, adjust).await;
    started(&app).await;
    app
}

/// Pauses or resumes `group`; panics unless the relay says done.
async fn pause(app: &TestApp, group: &str, paused: bool) {
    let r = app
        .post(
            &format!("/api/groups/{group}/pause"),
            &json!({ "paused": paused }),
        )
        .await;
    assert_eq!(r.status(), 200, "pause {group}: {paused}");
}

/// Waits until the relay's consumers run, so controls reach them.
async fn started(app: &TestApp) {
    until("the workers to start", async || {
        let g = groups(app).await;
        g["groups"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["name"] == "claims-notifications" && g["in_relay"] == true)
    })
    .await;
}

async fn notifications(app: &TestApp) -> u64 {
    redis::cmd("XLEN")
        .arg("claims:notifications")
        .query_async(&mut app.redis().await)
        .await
        .unwrap()
}

/// A flat field list from XINFO, as a JSON object, for comparing with the API.
fn flat(v: &redis::Value) -> serde_json::Map<String, Value> {
    let redis::Value::Array(items) = v else {
        panic!("not a flat list: {v:?}")
    };
    items
        .chunks(2)
        .map(|kv| {
            let value = match &kv[1] {
                redis::Value::Int(n) => json!(n),
                redis::Value::Nil => Value::Null,
                other => json!(backend::store::reply::text(other).unwrap()),
            };
            (backend::store::reply::text(&kv[0]).unwrap(), value)
        })
        .collect()
}

#[tokio::test]
async fn the_group_figures_match_what_xinfo_and_xpending_say() {
    let app = running(1, true, |c| {
        // The poisoned entry stays pending instead of going to claims:failed.
        c.max_deliveries = 1_000;
    })
    .await;
    // Paused while the claim is submitted and poisoned, so no consumer handles its entry
    // before the poison is in place.
    pause(&app, "claims-notifications", true).await;
    let poisoned = app.submit("5.00").await.claim_id;
    inject(
        &app,
        "claims-notifications",
        json!({"poison_claim": poisoned}),
    )
    .await;
    pause(&app, "claims-notifications", false).await;
    app.submit("6.00").await;
    until(
        "the processors to finish and the poisoned entry to wait",
        async || {
            let g = groups(&app).await;
            let p = group(&g, "claims-processors");
            let n = group(&g, "claims-notifications");
            let projections = group(&g, "claims-projections");
            p["lag"] == 0
                && p["pending"] == 0
                && n["pending"].as_u64() >= Some(1)
                && projections["lag"] == 0
                && projections["pending"] == 0
        },
    )
    .await;
    for name in [
        "claims-processors",
        "claims-analytics",
        "claims-notifications",
    ] {
        pause(&app, name, true).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;

    let api = groups(&app).await;
    let mut conn = app.redis().await;
    let redis::Value::Array(infos) = redis::cmd("XINFO")
        .arg("GROUPS")
        .arg("claims:events")
        .query_async(&mut conn)
        .await
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(api["groups"].as_array().unwrap().len(), infos.len());
    for info in &infos {
        let info = flat(info);
        let name = info["name"].as_str().unwrap();
        let shown = group(&api, name);
        assert_eq!(shown["consumers"], info["consumers"], "{name}");
        assert_eq!(shown["pending"], info["pending"], "{name}");
        assert_eq!(
            shown["last_delivered_id"], info["last-delivered-id"],
            "{name}"
        );
        assert_eq!(shown["entries_read"], info["entries-read"], "{name}");
        assert_eq!(shown["lag"], info["lag"], "{name}");
        // The projection has no pause of its own (it is not a worker group).
        assert_eq!(shown["paused"], name != "claims-projections", "{name}");

        let pending: redis::Value = redis::cmd("XPENDING")
            .arg("claims:events")
            .arg(name)
            .arg("-")
            .arg("+")
            .arg(50)
            .query_async(&mut conn)
            .await
            .unwrap();
        let rows = backend::store::groups::PendingEntry::all_in(&pending);
        let listed = shown["pending_entries"].as_array().unwrap();
        assert_eq!(listed.len(), rows.len(), "{name}");
        for (row, listed) in rows.iter().zip(listed) {
            assert_eq!(listed["id"], row.id.as_str());
            assert_eq!(listed["consumer"], row.consumer.as_str());
            assert_eq!(listed["deliveries"], row.deliveries);
        }
    }
    let notifications = group(&api, "claims-notifications");
    assert!(
        notifications["pending"].as_u64().unwrap() >= 1,
        "the poisoned entry is pending"
    );
    assert_eq!(notifications["poison_claim"], poisoned.as_str());
    assert!(
        api["redis"][0]
            .as_str()
            .unwrap()
            .starts_with("XLEN claims:events")
    );
}

#[tokio::test]
async fn a_crashed_consumers_entries_move_to_another_when_claimed() {
    let app = running(1, false, |_| {}).await;
    let path = "/api/groups/claims-notifications";
    inject(&app, "claims-notifications", json!({"fail_ratio": 1.0})).await;
    for n in 0..3 {
        app.submit(&format!("{}.00", n + 1)).await;
    }
    until("three pending entries on notifier-1", async || {
        let g = groups(&app).await;
        let n = group(&g, "claims-notifications");
        n["pending"] == 3 && n["members"][0]["pending"] == 3
    })
    .await;
    let crashed = app
        .post(&format!("{path}/consumers/notifier-1/crash"), &json!({}))
        .await;
    assert_eq!(crashed.status(), 200);
    let g = groups(&app).await;
    assert_eq!(
        group(&g, "claims-notifications")["members"][0]["running"],
        false
    );

    inject(&app, "claims-notifications", json!({})).await;
    let added: Value = app
        .post_json(&format!("{path}/consumers"), &json!({}))
        .await;
    assert!(added["done"].as_str().unwrap().contains("notifier-2"));
    let claimed: Value = app
        .post_json(&format!("{path}/claim"), &json!({"min_idle_ms": 0}))
        .await;
    assert_eq!(claimed["done"], "3 idle entries moved to notifier-2");
    assert!(
        claimed["redis"][0]
            .as_str()
            .unwrap()
            .starts_with("XAUTOCLAIM claims:events claims-notifications notifier-2 0")
    );

    until("the moved entries to be processed", async || {
        let g = groups(&app).await;
        group(&g, "claims-notifications")["pending"] == 0
    })
    .await;
    assert_eq!(notifications(&app).await, 3, "each entry notified once");
}

#[tokio::test]
async fn the_breaker_opens_on_repeated_failures_and_closes_once_they_stop() {
    let app = running(1, false, |_| {}).await;
    inject(&app, "claims-notifications", json!({"fail_ratio": 1.0})).await;
    for _ in 0..6 {
        app.submit("1.00").await;
    }
    until("the breaker to open", async || {
        group(&groups(&app).await, "claims-notifications")["breaker"] == "open"
    })
    .await;
    inject(&app, "claims-notifications", json!({})).await;
    until(
        "the breaker to close and the backlog to drain",
        async || {
            let g = groups(&app).await;
            let n = group(&g, "claims-notifications");
            n["breaker"] == "closed" && n["pending"] == 0 && n["lag"] == 0
        },
    )
    .await;
    assert_eq!(notifications(&app).await, 6);
}

#[tokio::test]
async fn group_controls_refuse_what_does_not_exist_and_say_so() {
    let app = spawn_app_with(|c| c.workers = true).await;
    started(&app).await;
    let (status, _, message) = error_of(
        app.post("/api/groups/claims-nope/consumers", &json!({}))
            .await,
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(message, "no consumer group claims-nope runs in this relay");
    let (status, _, message) = error_of(
        app.post(
            "/api/groups/claims-notifications/consumers/ghost/crash",
            &json!({}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, message.as_str()),
        (
            404,
            "group claims-notifications has no running consumer ghost"
        )
    );
    let (status, code, _) = error_of(
        app.post(
            "/api/groups/claims-notifications/inject",
            &json!({"fail_ratio": 2}),
        )
        .await,
    )
    .await;
    assert_eq!((status, code.as_str()), (400, "invalid_body"));

    let without = spawn_app().await;
    let (status, _, message) = error_of(
        without
            .post("/api/groups/claims-notifications/consumers", &json!({}))
            .await,
    )
    .await;
    assert_eq!(status, 503);
    assert!(message.contains("--workers false"), "{message}");
}

#[tokio::test]
async fn a_poisoned_claim_is_dead_lettered_without_opening_the_breaker() {
    let app = running(1, false, |c| c.max_deliveries = 7).await;
    let poisoned = "CLM-POISON0001";
    inject(
        &app,
        "claims-notifications",
        json!({"poison_claim": poisoned}),
    )
    .await;
    app.raw_submitted(poisoned).await;
    // Redelivered 7 times, past the breaker's 5 failures in a row, yet it stays closed.
    until("the poisoned entry in claims:failed", async || {
        app.stream("claims:failed").await.len() == 1
    })
    .await;
    let g = groups(&app).await;
    assert_eq!(group(&g, "claims-notifications")["breaker"], "closed");
    app.submit("6.00").await;
    until("the next claim notified", async || {
        notifications(&app).await == 1
    })
    .await;
}

#[tokio::test]
async fn a_claim_another_program_submitted_is_reviewed_like_any_other() {
    let app = running(1, true, |_| {}).await;
    app.raw_submitted("CLM-BYHAND0001").await;
    until("the processors to approve it", async || {
        let r = app.get("/api/claims/CLM-BYHAND0001").await;
        r.status() == 200 && r.json::<Value>().await.unwrap()["claim"]["status"] == "approved"
    })
    .await;
    let g = groups(&app).await;
    assert_eq!(group(&g, "claims-processors")["refused"], 0);
}

#[tokio::test]
async fn an_entry_whose_claim_is_gone_from_the_index_is_refused_for_good_and_counted() {
    let app = running(1, true, |_| {}).await;
    pause(&app, "claims-processors", true).await;
    app.raw_submitted("CLM-BYHAND0002").await;
    let history = backend::store::keys::Partition::ONLY.history("CLM-BYHAND0002");
    until("the submission indexed", async || {
        let n: u64 = redis::cmd("LLEN")
            .arg(&history)
            .query_async(&mut app.redis().await)
            .await
            .unwrap();
        n == 1
    })
    .await;
    // Someone removes the claim's index by hand: no command can apply to it any more.
    let () = redis::cmd("DEL")
        .arg(&history)
        .query_async(&mut app.redis().await)
        .await
        .unwrap();
    pause(&app, "claims-processors", false).await;
    until("the processors to refuse it", async || {
        let g = groups(&app).await;
        let p = group(&g, "claims-processors");
        p["refused"] == 1 && p["pending"] == 0
    })
    .await;
    assert!(app.stream("claims:failed").await.is_empty());
}

#[tokio::test]
async fn a_paused_group_is_handed_nothing_after_the_pause_answered() {
    let app = running(3, false, |_| {}).await;
    pause(&app, "claims-notifications", true).await;
    for _ in 0..20 {
        app.submit("1.00").await;
    }
    // Every one of the 20 waits in the stream: the group's lag counts them.
    let g = groups(&app).await;
    let n = group(&g, "claims-notifications");
    assert_eq!(
        (n["lag"].as_u64(), n["pending"].as_u64()),
        (Some(20), Some(0))
    );
    assert_eq!(notifications(&app).await, 0);

    pause(&app, "claims-notifications", false).await;
    until("the 20 notified", async || notifications(&app).await == 20).await;
}

#[tokio::test]
async fn claim_now_moves_every_idle_entry_past_the_first_page() {
    let app = running(1, false, |_| {}).await;
    let path = "/api/groups/claims-notifications";
    pause(&app, "claims-notifications", true).await;
    for _ in 0..250 {
        app.raw_xadd(&[("note", "for a consumer that vanishes")])
            .await;
    }
    // A consumer elsewhere reads all 250 and is never heard of again.
    let _: redis::Value = redis::cmd("XREADGROUP")
        .arg(&["GROUP", "claims-notifications", "vanished", "COUNT", "250"])
        .arg(&["STREAMS", "claims:events", ">"])
        .query_async(&mut app.redis().await)
        .await
        .unwrap();
    let claimed: Value = app
        .post_json(&format!("{path}/claim"), &json!({"min_idle_ms": 0}))
        .await;
    assert_eq!(claimed["done"], "250 idle entries moved to notifier-1");
    let xautoclaims = claimed["redis"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c.as_str().unwrap().starts_with("XAUTOCLAIM"))
        .count();
    assert_eq!(xautoclaims, 3, "pages of 100");
}

#[tokio::test]
async fn the_workers_own_commands_are_shown_sampled() {
    let app = running(1, false, |c| c.max_deliveries = 1).await;
    app.submit("1.00").await;
    until(
        "a sampled step with the read and the acknowledgement",
        async || {
            let g = groups(&app).await;
            let commands = &group(&g, "claims-notifications")["sampled"]["commands"];
            let has = |prefix: &str| {
                commands
                    .as_array()
                    .is_some_and(|c| c.iter().any(|c| c.as_str().unwrap().starts_with(prefix)))
            };
            has("XREADGROUP GROUP claims-notifications notifier-1 COUNT 50")
                && has("XACK claims:events claims-notifications ")
        },
    )
    .await;
    // A dead letter shows as the transaction it is.
    inject(&app, "claims-notifications", json!({"fail_ratio": 1.0})).await;
    app.submit("2.00").await;
    until("the dead-lettering in a sample", async || {
        let g = groups(&app).await;
        let commands = group(&g, "claims-notifications")["sampled"]["commands"].clone();
        let lines: Vec<String> = commands
            .as_array()
            .map(|c| c.iter().map(|c| c.as_str().unwrap().to_owned()).collect())
            .unwrap_or_default();
        let at = lines.iter().position(|c| c == "MULTI");
        at.is_some_and(|i| {
            lines
                .get(i + 1)
                .is_some_and(|c| c.starts_with("XADD claims:failed "))
                && lines.get(i + 2).is_some_and(|c| c.starts_with("XACK "))
                && lines.get(i + 3).is_some_and(|c| c == "EXEC")
        })
    })
    .await;
}

/// A group's last-delivered id, entries read and lag, as `XINFO GROUPS` says.
async fn position_of(app: &TestApp, name: &str) -> (String, Option<i64>, Option<i64>) {
    let groups: Vec<std::collections::HashMap<String, redis::Value>> =
        app.query(&["XINFO", "GROUPS", "claims:events"]).await;
    let g = groups
        .into_iter()
        .find(|g| redis::from_redis_value::<String>(g["name"].clone()).unwrap() == name)
        .unwrap();
    let number = |v: &redis::Value| redis::from_redis_value::<Option<i64>>(v.clone()).unwrap();
    (
        redis::from_redis_value(g["last-delivered-id"].clone()).unwrap(),
        number(&g["entries-read"]),
        number(&g["lag"]),
    )
}

async fn move_to(app: &TestApp, body: Value) -> shared::api::PositionResponse {
    let r = app.post("/api/groups/replayer/position", &body).await;
    assert_eq!(r.status(), 200, "{body}");
    r.json().await.unwrap()
}

/// `POST /api/groups/{group}/position`: each way of choosing a point moves the group with
/// `ENTRIESREAD`, so Redis keeps knowing its lag; a dry run only says what would come again.
#[tokio::test]
async fn a_group_moves_to_a_point_with_its_lag_known_and_a_dry_run_moves_nothing() {
    let app = spawn_app().await;
    // Ten entries with ids of known times: 1000-0 ... 1009-0.
    for ms in 1000..1010 {
        let _: String = app
            .query(&[
                "XADD",
                "claims:events",
                &format!("{ms}-0"),
                "type",
                "stream_created",
            ])
            .await;
    }
    for (name, at) in [("replayer", "$"), ("other", "1005-0")] {
        let _: () = app
            .query(&["XGROUP", "CREATE", "claims:events", name, at])
            .await;
    }
    assert_eq!(
        position_of(&app, "replayer").await,
        ("1009-0".into(), None, Some(0))
    );

    let dry = move_to(&app, json!({"rewind": 3, "dry_run": true})).await;
    assert_eq!(
        (dry.redelivered, dry.first_redelivered.as_deref()),
        (3, Some("1007-0"))
    );
    assert_eq!(dry.streams[0].from, "1009-0");
    assert_eq!(
        position_of(&app, "replayer").await.0,
        "1009-0",
        "a dry run moves nothing"
    );

    let moved = move_to(&app, json!({"rewind": 3})).await;
    assert_eq!(moved.redelivered, 3);
    assert!(moved.redis[0].starts_with("EVALSHA "), "{:?}", moved.redis);
    assert_eq!(
        position_of(&app, "replayer").await,
        ("1006-0".into(), Some(7), Some(3))
    );
    let again: redis::streams::StreamReadReply = app
        .query(&[
            "XREADGROUP",
            "GROUP",
            "replayer",
            "c",
            "STREAMS",
            "claims:events",
            ">",
        ])
        .await;
    let ids: Vec<&str> = again.keys[0].ids.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, ["1007-0", "1008-0", "1009-0"]);

    // SETID without ENTRIESREAD leaves the lag unknown; a move puts it back.
    let _: () = app
        .query(&["XGROUP", "SETID", "claims:events", "replayer", "1002-0"])
        .await;
    assert_eq!(position_of(&app, "replayer").await.2, None);
    for (body, expected) in [
        (json!({"to": "start"}), ("0-0", 0, 10)),
        (
            json!({"to_time": "1970-01-01T00:00:01.004Z"}),
            ("1004-0", 5, 5),
        ),
        (json!({"to_id": "1002-0"}), ("1002-0", 3, 7)),
        (json!({"copy_from": "other"}), ("1005-0", 6, 4)),
        (json!({"to": "end"}), ("1009-0", 10, 0)),
    ] {
        let moved = move_to(&app, body.clone()).await;
        assert_eq!(moved.redelivered, expected.2 as u64, "{body}");
        assert_eq!(
            position_of(&app, "replayer").await,
            (expected.0.into(), Some(expected.1), Some(expected.2)),
            "{body}"
        );
    }

    for (body, status, code) in [
        (json!({}), 400, "invalid_position"),
        (json!({"to": "start", "rewind": 2}), 400, "invalid_position"),
        (json!({"to": "middle"}), 400, "invalid_position"),
        (json!({"rewind": 0}), 400, "invalid_position"),
        (json!({"to_id": "soon"}), 400, "invalid_position"),
        (json!({"to_time": "yesterday"}), 400, "invalid_position"),
        (json!({"to_id": "2000-0"}), 422, "position_ahead"),
        (json!({"copy_from": "nobody"}), 404, "not_found"),
    ] {
        let r = app.post("/api/groups/replayer/position", &body).await;
        let (got, got_code, message) = error_of(r).await;
        assert_eq!(
            (got, got_code.as_str()),
            (status, code),
            "{body}: {message}"
        );
    }
    let r = app
        .post("/api/groups/nobody/position", &json!({"to": "start"}))
        .await;
    assert_eq!(error_of(r).await.0, 404);
    assert_eq!(
        position_of(&app, "replayer").await.0,
        "1009-0",
        "refusals move nothing"
    );
}

async fn pending_page(app: &TestApp, query: &str) -> shared::api::PendingPage {
    let r = app
        .get(&format!("/api/groups/readers/pending{query}"))
        .await;
    assert_eq!(r.status(), 200, "{query}");
    r.json().await.unwrap()
}

fn ids(page: &shared::api::PendingPage) -> Vec<&str> {
    page.entries.iter().map(|e| e.id.as_str()).collect()
}

/// Single pending entries: listed a page at a time (by consumer too), acknowledged one by
/// one, and claimed one by one, with min idle and force as `XCLAIM` takes them.
#[tokio::test]
async fn single_pending_entries_are_listed_in_pages_and_acknowledged_or_claimed_one_by_one() {
    let app = spawn_app().await;
    for ms in 1000..1005 {
        let _: String = app
            .query(&[
                "XADD",
                "claims:events",
                &format!("{ms}-0"),
                "type",
                "stream_created",
            ])
            .await;
    }
    let _: () = app
        .query(&["XGROUP", "CREATE", "claims:events", "readers", "0"])
        .await;
    for (consumer, count) in [("c1", "3"), ("c2", "1")] {
        let _: redis::Value = app
            .query(&[
                "XREADGROUP",
                "GROUP",
                "readers",
                consumer,
                "COUNT",
                count,
                "STREAMS",
                "claims:events",
                ">",
            ])
            .await;
    }

    let all = pending_page(&app, "").await;
    assert_eq!(ids(&all), ["1000-0", "1001-0", "1002-0", "1003-0"]);
    assert!(
        all.entries
            .iter()
            .all(|e| e.deliveries == 1 && e.stream == "claims:events")
    );
    assert_eq!(all.next_after, None);
    let first = pending_page(&app, "?limit=2").await;
    assert_eq!(ids(&first), ["1000-0", "1001-0"]);
    let next = first.next_after.expect("a next page");
    let second = pending_page(&app, &format!("?limit=2&after={next}")).await;
    assert_eq!(ids(&second), ["1002-0", "1003-0"]);
    assert_eq!(second.next_after, None);
    assert_eq!(ids(&pending_page(&app, "?consumer=c2").await), ["1003-0"]);

    let path = |id: &str, what: &str| format!("/api/groups/readers/pending/{id}/{what}");
    assert_eq!(
        app.post(&path("1000-0", "ack"), &json!({})).await.status(),
        200
    );
    assert_eq!(
        ids(&pending_page(&app, "?consumer=c1").await),
        ["1001-0", "1002-0"]
    );
    let again = app.post(&path("1000-0", "ack"), &json!({})).await;
    assert_eq!(error_of(again).await.0, 404);

    let claimed = app
        .post(&path("1001-0", "claim"), &json!({"consumer": "c3"}))
        .await;
    assert_eq!(claimed.status(), 200);
    let c3 = pending_page(&app, "?consumer=c3").await;
    assert_eq!(
        (ids(&c3), c3.entries[0].deliveries),
        (vec!["1001-0"], 2),
        "a claim is a delivery"
    );
    let too_soon = app
        .post(
            &path("1002-0", "claim"),
            &json!({"consumer": "c3", "min_idle_ms": 600_000}),
        )
        .await;
    let (status, code, message) = error_of(too_soon).await;
    assert_eq!(
        (status, code.as_str()),
        (409, "not_idle_enough"),
        "{message}"
    );
    assert!(message.contains("it stays with c1"), "{message}");

    // 1004-0 was never delivered: only force claims it.
    let unforced = app
        .post(&path("1004-0", "claim"), &json!({"consumer": "c3"}))
        .await;
    assert_eq!(error_of(unforced).await.0, 404);
    let forced = app
        .post(
            &path("1004-0", "claim"),
            &json!({"consumer": "c3", "force": true}),
        )
        .await;
    assert_eq!(forced.status(), 200);
    assert_eq!(
        ids(&pending_page(&app, "?consumer=c3").await),
        ["1001-0", "1004-0"]
    );

    for (request, status, code) in [
        (
            app.get("/api/groups/readers/pending?limit=0").await,
            400,
            "invalid_limit",
        ),
        (
            app.get("/api/groups/readers/pending?limit=201").await,
            400,
            "invalid_limit",
        ),
        (
            app.get("/api/groups/readers/pending?after=soon").await,
            400,
            "invalid_id",
        ),
        (
            app.get("/api/groups/nobody/pending").await,
            404,
            "not_found",
        ),
        (
            app.post(&path("soon", "ack"), &json!({})).await,
            400,
            "invalid_id",
        ),
        (
            app.post(&path("1002-0", "claim"), &json!({})).await,
            400,
            "no_consumer",
        ),
        (
            app.post(&path("1002-0", "claim"), &json!({"consumer": ""}))
                .await,
            400,
            "invalid_consumer",
        ),
    ] {
        let (got, got_code, message) = error_of(request).await;
        assert_eq!((got, got_code.as_str()), (status, code), "{message}");
    }
}
