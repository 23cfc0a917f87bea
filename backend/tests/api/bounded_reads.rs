//! Bounded reads for everyone: the expensive GETs (`/api/state`, a claim's events,
//! `/api/class`) cost Redis a bounded amount per request and run a few at a time, so no mix
//! of them makes `/api/health` slow for another client. The relay runs on two worker
//! threads here, as it does on the 2-core machines it is taught on.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use serde_json::Value;
use shared::api::{ClaimEventsResponse, ClassView};

use backend::store::keys::EVENTS;
use test_support::{TestApp, error_of, spawn_app_with, streams};

/// `/api/health` from a client of its own, as often as it answers, until stopped.
struct HealthProbe {
    stop: Arc<AtomicBool>,
    /// How long each answer took, and the statuses of those that were not 200.
    task: tokio::task::JoinHandle<(Vec<Duration>, Vec<u16>)>,
}

impl HealthProbe {
    fn start(app: &TestApp) -> Self {
        let (url, stop) = (app.url("/api/health"), Arc::new(AtomicBool::new(false)));
        let http = reqwest::Client::new();
        let stopped = stop.clone();
        let task = tokio::spawn(async move {
            let (mut took, mut failed) = (Vec::new(), Vec::new());
            while !stopped.load(Ordering::Relaxed) {
                let started = Instant::now();
                let r = http.get(&url).send().await.unwrap();
                if r.status() != 200 {
                    failed.push(r.status().as_u16());
                }
                r.bytes().await.unwrap();
                took.push(started.elapsed());
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            (took, failed)
        });
        Self { stop, task }
    }

    /// Stops, and checks that health stayed fast: median under 100 ms, none over 1.5 s.
    async fn assert_fast(self, attack: &str) {
        self.stop.store(true, Ordering::Relaxed);
        let (mut took, failed) = self.task.await.unwrap();
        assert!(!took.is_empty(), "health answered during {attack}");
        took.sort();
        let (median, max) = (took[took.len() / 2], took[took.len() - 1]);
        eprintln!(
            "{attack}: /api/health median {median:?}, max {max:?} over {} probes, failed: {failed:?}",
            took.len()
        );
        assert!(failed.is_empty(), "{attack}: health answered {failed:?}");
        assert!(
            median < Duration::from_millis(100),
            "{attack}: health median {median:?} (max {max:?})"
        );
        assert!(
            max < Duration::from_millis(1500),
            "{attack}: health max {max:?} (median {median:?})"
        );
    }
}

/// The probe's first answers, so the attack starts with health already being measured.
async fn probing(app: &TestApp) -> HealthProbe {
    let probe = HealthProbe::start(app);
    test_support::until(Duration::from_secs(10), "health answers", async || {
        app.get("/api/health").await.status() == 200
    })
    .await;
    probe
}

/// Every answer is the page asked for, or `busy` with when to retry and the limit; at least
/// one is the page. Gives how many were refused.
async fn answered(responses: Vec<reqwest::Response>) -> usize {
    let mut busy = 0;
    for r in responses {
        if r.status() == 200 {
            r.bytes().await.unwrap();
            continue;
        }
        assert!(r.headers().contains_key("retry-after"), "{r:?}");
        let (status, code, message) = error_of(r).await;
        assert_eq!((status, code.as_str()), (503, "busy"), "{message}");
        assert!(message.contains("at once"), "says the limit: {message}");
        busy += 1;
    }
    busy
}

/// Waits until the projector has applied the stream's newest entry, so what is measured
/// next is the attack, not the relay projecting what the test appended behind its back.
async fn projected(app: &TestApp) {
    let newest = app.newest_id().await;
    let r = app
        .get(&format!("/api/claims?after={newest}&wait_ms=10000"))
        .await;
    assert_eq!(r.status(), 200, "projected within 10 s");
}

/// Appends `n` claim submissions straight to `claims:events`, in one pipeline.
async fn seed_submissions(app: &TestApp, n: usize) {
    let description = "water damage in the basement ".repeat(8);
    let entries = (0..n).map(|i| {
        let claim = format!("CLM-SEED{i:06}");
        let fields = streams::submitted_fields(&claim, "CUST-9", "42.00", &description);
        ("*".to_owned(), fields)
    });
    streams::xadd_pipelined(&mut app.redis().await, EVENTS, entries).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_parallel_state_replays_leave_health_fast_and_replay_once_per_point() {
    let app = spawn_app_with(|_| {}).await;
    seed_submissions(&app, 4000).await;
    let ids: Vec<String> = app.xrange().await.into_iter().map(|(id, _)| id).collect();
    projected(&app).await;

    let probe = probing(&app).await;
    let started = Instant::now();
    // Half ask for now (one point: replayed once), half for points of their own.
    let requests = (0..50).map(|n| {
        let path = if n % 2 == 0 {
            "/api/state".to_owned()
        } else {
            format!("/api/state?at={}", ids[ids.len() - 1 - n])
        };
        app.http.get(app.url(&path)).send()
    });
    let responses: Vec<_> = join_all(requests)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let took = started.elapsed();
    probe.assert_fast("50 parallel GET /api/state").await;
    let busy = answered(responses).await;
    eprintln!("50 GET /api/state over 4000 entries: {took:?}, {busy} busy");

    // The same point again is answered from the replay already made. The burst's own points
    // may have pushed it out of the few boards kept, in whatever order they arrived, so it
    // is asked for once more first.
    let _: Value = app.get_json("/api/state").await;
    let again: Value = app.get_json("/api/state").await;
    assert_eq!(again["events_replayed"], 4000);
    let redis: Vec<&str> = again["redis"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        !redis.iter().any(|c| c.ends_with("COUNT 1000")),
        "not replayed again: {redis:?}"
    );
}

/// A claim with `notes` notes of about 3 KB each, appended straight to the stream and indexed
/// by the next command.
async fn claim_with_notes(app: &TestApp, notes: usize) -> String {
    let claim = app.submit("10.00").await.claim_id;
    let note = "the adjuster looked at the basement again and wrote it all down. ".repeat(15);
    let entries = (0..notes).map(|n| {
        let fields = streams::note_fields(&claim, "CUST-001", &format!("{n}: {}", &note[..900]));
        ("*".to_owned(), fields)
    });
    streams::xadd_pipelined(&mut app.redis().await, EVENTS, entries).await;
    let r = app
        .post(
            &format!("/api/claims/{claim}/notes"),
            &serde_json::json!({"adjuster": "Ada", "note": "last"}),
        )
        .await;
    assert_eq!(
        r.status(),
        200,
        "the claim is indexed and decided on all its events"
    );
    claim
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_parallel_reads_of_a_long_claim_history_leave_health_fast() {
    let app = spawn_app_with(|_| {}).await;
    let claim = claim_with_notes(&app, 2000).await;
    projected(&app).await;

    let probe = probing(&app).await;
    let started = Instant::now();
    let before = app.redis_output_bytes().await;
    let path = app.url(&format!("/api/claims/{claim}/events"));
    let responses: Vec<_> = join_all((0..50).map(|_| app.http.get(&path).send()))
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let sizes: Vec<usize> = responses
        .iter()
        .filter_map(|r| r.content_length().map(|n| n as usize))
        .collect();
    let (took, sent) = (started.elapsed(), app.redis_output_bytes().await - before);
    eprintln!(
        "50 GET /events of 2002 events: {took:?}, Redis sent {sent} bytes, answers of {:?} bytes at most",
        sizes.iter().max()
    );
    probe
        .assert_fast("50 parallel GET /api/claims/{id}/events")
        .await;
    let busy = answered(responses).await;
    eprintln!("50 GET /events: {busy} busy");
    assert!(
        sizes.iter().all(|&n| n < 1_000_000),
        "a page is bounded: {sizes:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claims_events_come_in_pages_that_give_every_event_once() {
    let app = spawn_app_with(|_| {}).await;
    let claim = claim_with_notes(&app, 450).await;
    let index: Vec<String> = redis::cmd("LRANGE")
        .arg(backend::store::keys::Partition::ONLY.history(&claim))
        .arg(0)
        .arg(-1)
        .query_async(&mut app.redis().await)
        .await
        .unwrap();
    assert_eq!(index.len(), 452);

    // The first page by default: at most 200, saying where the next starts.
    let first: Value = app.get_json(&format!("/api/claims/{claim}/events")).await;
    assert_eq!(first["events"].as_array().unwrap().len(), 200);
    assert_eq!(first["next_after"], 200);
    assert_eq!(first["version"], 452);

    let (status, code, message) = error_of(
        app.get(&format!("/api/claims/{claim}/events?limit=201"))
            .await,
    )
    .await;
    assert_eq!((status, code.as_str()), (400, "invalid_query"));
    assert!(message.contains("200"), "{message}");

    let mut seen = Vec::new();
    let mut after = None::<u64>;
    for _ in 0..10 {
        let query = after.map_or(String::new(), |a| format!("&after={a}"));
        let page: Value = app
            .get_json(&format!("/api/claims/{claim}/events?limit=150{query}"))
            .await;
        let next_after = page["next_after"].as_u64();
        let page: ClaimEventsResponse = serde_json::from_value(page).unwrap();
        assert!(page.events.len() <= 150);
        assert_eq!(page.states.len(), page.events.len());
        let start = after.unwrap_or(0);
        for (n, state) in page.states.iter().enumerate() {
            let version = state.as_ref().map(|s| s.version);
            assert_eq!(
                version,
                Some(start + n as u64 + 1),
                "state after each event"
            );
        }
        seen.extend(page.events.into_iter().map(|e| e.id));
        match next_after {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert_eq!(seen, index, "every event once, in order");

    // Past the snapshot (written by the last note's load), a page folds from it, not from
    // the first event (which would read the 450 in spans), and its states are the same.
    for n in 0..3 {
        let r = app
            .post(
                &format!("/api/claims/{claim}/notes"),
                &serde_json::json!({"adjuster": "Ada", "note": format!("after {n}")}),
            )
            .await;
        assert_eq!(r.status(), 200);
    }
    let tail: Value = app
        .get_json(&format!("/api/claims/{claim}/events?after=452"))
        .await;
    let tail: ClaimEventsResponse = serde_json::from_value(tail).unwrap();
    let after: Vec<(u64, u64)> = tail
        .states
        .iter()
        .flatten()
        .map(|s| (s.version, s.notes))
        .collect();
    assert_eq!(after, [(453, 452), (454, 453), (455, 454)]);
    assert!(
        !tail.redis.iter().any(|c| c.ends_with("COUNT 200")),
        "read from the snapshot on: {:?}",
        tail.redis
    );
}

/// `n` workspaces of the class, each with a stream of `entries` entries of `bytes` bytes,
/// written straight into Redis.
async fn busy_workspaces(app: &TestApp, n: usize, entries: usize, bytes: usize) {
    let mut redis = app.redis().await;
    let value = "x".repeat(bytes);
    for _ in 0..n {
        let r = app.post("/api/workspaces", &serde_json::json!({})).await;
        assert_eq!(r.status(), 201);
        let id = r.json::<Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let stream = format!("lab:{{{id}}}:claims:events");
        let mut pipe = redis::pipe();
        for i in 0..entries {
            pipe.cmd("XADD")
                .arg(&stream)
                .arg("*")
                .arg(&[
                    ("type", "claim_submitted"),
                    ("claim_id", &format!("c-{i}")),
                    ("blob", &value),
                ])
                .ignore();
        }
        let () = pipe.query_async(&mut redis).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_class_view_costs_redis_a_bounded_amount_however_often_it_is_asked() {
    let app = spawn_app_with(|c| c.write_burst = 1000).await;
    // 60 workspaces of about 800 KB each, one with a claim id cut inside a character.
    busy_workspaces(&app, 60, 200, 4000).await;
    let odd = crate::console::Learner::new(&app).await;
    odd.ok(&format!(
        "XADD claims:events * type claim_submitted claim_id x{}",
        "é".repeat(100)
    ))
    .await;

    let probe = probing(&app).await;
    let before = app.redis_output_bytes().await;
    let r = app.get("/api/class").await;
    assert_eq!(r.status(), 200);
    let view: ClassView = r.json().await.unwrap();
    let one = app.redis_output_bytes().await - before;
    eprintln!("one GET /api/class over 60 workspaces of 800 KB: Redis sent {one} bytes");
    assert_eq!(view.learners, 61);
    assert!(one < 2_000_000, "one GET made Redis send {one} bytes");

    let before = app.redis_output_bytes().await;
    let responses: Vec<_> = join_all((0..50).map(|_| app.http.get(app.url("/api/class")).send()))
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let fifty = app.redis_output_bytes().await - before;
    eprintln!("50 parallel GET /api/class: Redis sent {fifty} bytes");
    probe
        .assert_fast("GET /api/class, once then 50 in parallel")
        .await;
    answered(responses).await;
    // Counted at most once or twice in a few seconds, whoever asks; health's own replies
    // are a few hundred bytes each.
    assert!(
        fifty < 2 * one + 1_000_000,
        "50 GETs made Redis send {fifty} bytes"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_parallel_filtered_command_logs_and_traces_leave_health_fast() {
    let app = spawn_app_with(|_| {}).await;
    // A full log of applied commands: a filter for refusals reads its 1,000 entries and finds
    // none, the most a request reads.
    let claim = app.submit("10.00").await.claim_id;
    let entries = (0..5000).map(|n| {
        let logged = shared::api::LoggedCommand {
            id: String::new(),
            command: "review".into(),
            by: shared::api::CommandBy::Learner,
            claim_id: format!("CLM-LOG{n:06}"),
            outcome: shared::api::CommandOutcome::Applied,
            reason: None,
            entry_id: Some(format!("{n}-0")),
            causation_id: "req-seedseedse".into(),
        };
        let fields = logged
            .fields()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect::<Vec<_>>();
        ("*".to_owned(), fields)
    });
    streams::xadd_pipelined(
        &mut app.redis().await,
        backend::store::keys::COMMANDS,
        entries,
    )
    .await;
    let first: Value = app.get_json("/api/commands?outcome=refused").await;
    assert_eq!(first["examined"], 1000, "{first}");
    projected(&app).await;

    let probe = probing(&app).await;
    let started = Instant::now();
    let logs = app.url("/api/commands?outcome=refused&limit=200");
    let trace = app.url(&format!("/api/claims/{claim}/trace"));
    let requests = (0..100).map(|n| {
        let url = if n % 2 == 0 { &logs } else { &trace };
        app.http.get(url).send()
    });
    let responses: Vec<_> = join_all(requests)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let took = started.elapsed();
    probe
        .assert_fast("50 GET /api/commands?outcome= and 50 GET /api/claims/{id}/trace")
        .await;
    let busy = answered(responses).await;
    eprintln!("50 filtered command logs and 50 traces: {took:?}, {busy} busy");
}
