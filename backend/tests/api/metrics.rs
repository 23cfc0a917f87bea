//! `GET /metrics`: the Prometheus text format, its Redis figures against what Redis itself
//! says, and the counters recorded where things happen. The counters are the process's (one
//! recorder for every relay the tests start), so tests compare what they add with `>=`; the
//! Redis figures and the WebSocket clients are each relay's own and compared exactly.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::json;
use test_support::{TestApp, spawn_app, spawn_app_with};

use crate::console::Learner;

/// One sample: the metric's name, its labels, its value.
#[derive(Debug, Clone, PartialEq)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// The samples of a text in the Prometheus format (`name{k="v",...} value`); panics on a line
/// that is neither a sample, a comment nor blank.
fn parse(text: &str) -> Vec<Sample> {
    let mut samples = Vec::new();
    for line in text.lines() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (series, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("no value: {line}"));
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v.parse().unwrap_or_else(|_| panic!("bad value: {line}")),
        };
        let (name, labels) = match series.split_once('{') {
            None => (series, BTreeMap::new()),
            Some((name, rest)) => {
                let rest = rest
                    .strip_suffix('}')
                    .unwrap_or_else(|| panic!("labels not closed: {line}"));
                (name, labels_of(rest, line))
            }
        };
        assert!(
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
            "bad name: {line}"
        );
        samples.push(Sample {
            name: name.to_owned(),
            labels,
            value,
        });
    }
    samples
}

/// `k="v",k2="v2"` with `\\`, `\"` and `\n` escaped in values.
fn labels_of(text: &str, line: &str) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    let mut chars = text.chars().peekable();
    while chars.peek().is_some() {
        let key: String = chars.by_ref().take_while(|&c| c != '=').collect();
        assert_eq!(chars.next(), Some('"'), "value not quoted: {line}");
        let mut value = String::new();
        loop {
            match chars.next() {
                Some('\\') => match chars.next() {
                    Some('n') => value.push('\n'),
                    Some(c) => value.push(c),
                    None => panic!("escape at the end: {line}"),
                },
                Some('"') => break,
                Some(c) => value.push(c),
                None => panic!("value not closed: {line}"),
            }
        }
        if chars.peek() == Some(&',') {
            chars.next();
        }
        labels.insert(key, value);
    }
    labels
}

/// The relay's `/metrics`, parsed; checks the status and the content type.
async fn scrape(app: &TestApp) -> Vec<Sample> {
    parse(&scrape_text(app).await)
}

async fn scrape_text(app: &TestApp) -> String {
    let r = app.get("/metrics").await;
    assert_eq!(r.status(), 200);
    let kind = r.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(kind.starts_with("text/plain; version=0.0.4"), "{kind}");
    r.text().await.unwrap()
}

/// The value of the sample called `name` with (at least) `labels`; none if there is none.
fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    samples
        .iter()
        .find(|s| {
            s.name == name
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|s| s.value)
}

/// A counter's value, 0 before it was first recorded.
fn count(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    value(samples, name, labels).unwrap_or(0.0)
}

async fn until(what: &str, check: impl AsyncFnMut() -> bool) {
    test_support::until(Duration::from_secs(15), what, check).await;
}

/// Scrapes until `check` holds of the samples (the answer is made at most once a second), and
/// gives them.
async fn scrape_until(app: &TestApp, what: &str, check: impl Fn(&[Sample]) -> bool) -> Vec<Sample> {
    let mut seen = Vec::new();
    until(what, async || {
        seen = scrape(app).await;
        check(&seen)
    })
    .await;
    seen
}

#[tokio::test]
async fn stream_and_group_figures_are_what_redis_reports() {
    let app = spawn_app().await;
    for n in 0..5 {
        app.submit(&format!("{}.00", 100 + n)).await;
    }
    // A group of another program's that stopped after taking two entries: two pending, the
    // rest its lag.
    let _: () = app
        .query(&["XGROUP", "CREATE", "claims:events", "stopped", "0"])
        .await;
    let _: redis::Value = app
        .query(&[
            "XREADGROUP",
            "GROUP",
            "stopped",
            "gone",
            "COUNT",
            "2",
            "STREAMS",
            "claims:events",
            ">",
        ])
        .await;
    // Two dead letters, as a consumer would have left them.
    for id in ["1-0", "2-0"] {
        let _: String = app
            .query(&[
                "XADD",
                "claims:failed",
                "*",
                "entry_id",
                id,
                "group",
                "stopped",
            ])
            .await;
    }
    let xlen: u64 = app.query(&["XLEN", "claims:events"]).await;
    let dead: u64 = app.query(&["XLEN", "claims:failed"]).await;
    let pending: (u64, redis::Value, redis::Value, redis::Value) =
        app.query(&["XPENDING", "claims:events", "stopped"]).await;
    assert_eq!((xlen, dead, pending.0), (5, 2, 2));
    let stream = [("stream", "claims:events"), ("partition", "0")];
    let group = [("group", "stopped"), ("partition", "0")];
    // The figures are at most a second old.
    let mut seen = Vec::new();
    until("the figures to show the dead letters", async || {
        seen = scrape(&app).await;
        value(
            &seen,
            "claimstream_dead_letters",
            &[("stream", "claims:failed")],
        ) == Some(2.0)
    })
    .await;
    assert_eq!(
        value(&seen, "claimstream_stream_length", &stream),
        Some(5.0)
    );
    assert_eq!(value(&seen, "claimstream_group_pending", &group), Some(2.0));
    assert_eq!(value(&seen, "claimstream_group_lag", &group), Some(3.0));
    assert_eq!(
        value(
            &seen,
            "claimstream_group_consumers",
            &[("group", "stopped")]
        ),
        Some(1.0)
    );
    assert_eq!(value(&seen, "claimstream_redis_up", &[]), Some(1.0));
    // The third entry has waited since it was appended.
    let third: Vec<(String, redis::Value)> = app
        .query(&["XRANGE", "claims:events", "-", "+", "COUNT", "3"])
        .await;
    let appended_ms: u64 = third[2].0.split('-').next().unwrap().parse().unwrap();
    let lag_ms = value(&seen, "claimstream_group_lag_ms", &group).unwrap();
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as f64;
    assert!(
        lag_ms > 0.0 && lag_ms <= now_ms - appended_ms as f64 + 10.0,
        "lag_ms {lag_ms}, appended at {appended_ms}, now {now_ms}"
    );
    // The projector has had everything.
    let projections = [("group", "claims-projections"), ("partition", "0")];
    until("the projector to catch up", async || {
        let s = scrape(&app).await;
        value(&s, "claimstream_group_lag", &projections) == Some(0.0)
            && value(&s, "claimstream_group_pending", &projections) == Some(0.0)
    })
    .await;
    app.shutdown().await;
}

#[tokio::test]
async fn each_partition_has_its_own_length() {
    let app = spawn_app_with(|c| c.partitions = 2).await;
    for n in 0..6 {
        app.submit(&format!("{}.00", 100 + n)).await;
    }
    let a: u64 = app.query(&["XLEN", "claims:events:{0}"]).await;
    let b: u64 = app.query(&["XLEN", "claims:events:{1}"]).await;
    assert_eq!(a + b, 6);
    until("each partition's length", async || {
        let s = scrape(&app).await;
        value(
            &s,
            "claimstream_stream_length",
            &[("stream", "claims:events:{0}"), ("partition", "0")],
        ) == Some(a as f64)
            && value(
                &s,
                "claimstream_stream_length",
                &[("stream", "claims:events:{1}"), ("partition", "1")],
            ) == Some(b as f64)
    })
    .await;
    app.shutdown().await;
}

#[tokio::test]
async fn requests_are_counted_by_route_template_never_by_path() {
    let app = spawn_app().await;
    let claim = app.submit("100.00").await.claim_id;
    let labels = [
        ("method", "GET"),
        ("route", "/api/claims/{id}"),
        ("status", "200"),
    ];
    let unmatched = [("route", "unmatched"), ("status", "404")];
    let before = scrape(&app).await;
    for _ in 0..3 {
        assert_eq!(app.get(&format!("/api/claims/{claim}")).await.status(), 200);
    }
    assert_eq!(
        app.get(&format!("/api/no-such/{claim}")).await.status(),
        404
    );
    let counted = |s: &[Sample], l: &[(&str, &str)]| count(s, "claimstream_http_requests_total", l);
    let timed = [("method", "GET"), ("route", "/api/claims/{id}")];
    let histogram =
        |s: &[Sample]| count(s, "claimstream_http_request_duration_seconds_count", &timed);
    let after = scrape_until(&app, "the requests counted by their templates", |after| {
        counted(after, &labels) >= counted(&before, &labels) + 3.0
            && counted(after, &unmatched) >= counted(&before, &unmatched) + 1.0
            && histogram(after) >= histogram(&before) + 3.0
    })
    .await;
    let routes: Vec<&str> = after
        .iter()
        .filter(|s| s.name == "claimstream_http_requests_total")
        .map(|s| s.labels["route"].as_str())
        .collect();
    assert!(routes.iter().all(|r| !r.contains("CLM-")), "{routes:?}");
    app.shutdown().await;
}

#[tokio::test]
async fn a_request_never_answered_counts_as_dropped() {
    let app = spawn_app_with(|c| c.request_timeout_ms = 300).await;
    let dropped = [
        ("method", "GET"),
        ("route", "/api/claims"),
        ("status", "dropped"),
    ];
    let before = scrape(&app).await;
    // Waits for an entry the projection will not reach before the relay gives up on it.
    let r = app
        .get("/api/claims?after=9999999999999-0&wait_ms=5000")
        .await;
    assert_eq!(r.status(), 503);
    scrape_until(&app, "the request counted as dropped", |after| {
        count(after, "claimstream_http_requests_total", &dropped)
            >= count(&before, "claimstream_http_requests_total", &dropped) + 1.0
    })
    .await;
    app.shutdown().await;
}

#[tokio::test]
async fn console_lines_and_refusals_are_counted() {
    let app = spawn_app().await;
    let me = Learner::new(&app).await;
    let before = scrape(&app).await;
    me.ok("XADD orders * n 1").await;
    me.ok("XLEN orders").await;
    let refused = me.run("FLUSHALL").await;
    assert!(refused.error.is_some(), "{refused:?}");
    let refused = me.run("XADD demo:claims:events * n 1").await;
    assert!(refused.error.is_some(), "{refused:?}");
    let lines = |s: &[Sample], l: &[(&str, &str)]| count(s, "claimstream_console_lines_total", l);
    let refusals = |s: &[Sample], reason: &str| {
        count(
            s,
            "claimstream_console_refusals_total",
            &[("reason", reason)],
        )
    };
    let ok = [("command", "XLEN"), ("outcome", "ok")];
    let unread = [("command", "(unread)"), ("outcome", "refused")];
    let demo = [("command", "XADD"), ("outcome", "refused")];
    scrape_until(&app, "the lines and refusals counted", |after| {
        lines(after, &ok) >= lines(&before, &ok) + 1.0
            && lines(after, &unread) >= lines(&before, &unread) + 1.0
            && lines(after, &demo) >= lines(&before, &demo) + 1.0
            && refusals(after, "syntax") >= refusals(&before, "syntax") + 1.0
            && refusals(after, "key") >= refusals(&before, "key") + 1.0
    })
    .await;
    app.shutdown().await;
}

#[tokio::test]
async fn no_label_carries_a_claim_or_a_workspace() {
    let app = spawn_app_with(|c| {
        c.workers = true;
        c.auto_review = true;
    })
    .await;
    let me = Learner::new(&app).await;
    me.ok("XADD orders * n 1").await;
    let claim = app.submit("100.00").await.claim_id;
    app.get(&format!("/api/claims/{claim}")).await;
    let text = scrape_text(&app).await;
    assert!(!text.contains(&claim), "{text}");
    assert!(!text.contains(&me.id), "{text}");
    for sample in parse(&text) {
        for (k, v) in &sample.labels {
            assert!(
                !v.contains("CLM-") && !v.contains("CUST-") && !v.contains("lab:"),
                "{} {k}={v}",
                sample.name
            );
        }
    }
    app.shutdown().await;
}

/// An entry moved to the dead letters counts there, by its group.
#[tokio::test]
async fn dead_lettered_entries_are_counted_by_group() {
    let app = crate::fixtures::letter_every_notification().await;
    let group = [("group", "claims-notifications")];
    let lettered = |s: &[Sample]| count(s, "claimstream_group_dead_lettered_total", &group);
    let before = lettered(&scrape(&app).await);
    app.submit("12.00").await;
    scrape_until(&app, "a dead-lettered entry", |s| {
        lettered(s) >= before + 1.0
    })
    .await;
    app.shutdown().await;
}

#[tokio::test]
async fn consumers_count_deliveries_and_time_their_work() {
    let app = spawn_app_with(|c| {
        c.workers = true;
        c.auto_review = false;
    })
    .await;
    let group = [("group", "claims-notifications")];
    let before = scrape(&app).await;
    for n in 0..3 {
        app.submit(&format!("{}.00", 100 + n)).await;
    }
    until("three deliveries and their times", async || {
        let s = scrape(&app).await;
        count(&s, "claimstream_group_deliveries_total", &group)
            >= count(&before, "claimstream_group_deliveries_total", &group) + 3.0
            && count(&s, "claimstream_group_processing_seconds_count", &group)
                >= count(
                    &before,
                    "claimstream_group_processing_seconds_count",
                    &group,
                ) + 3.0
    })
    .await;
    // Made to fail, an entry counts as an error on each delivery.
    let r = app
        .post(
            "/api/groups/claims-notifications/inject",
            &json!({ "fail_ratio": 1.0 }),
        )
        .await;
    assert_eq!(r.status(), 200);
    let errors = |s: &[Sample]| count(s, "claimstream_group_errors_total", &group);
    let failed_before = errors(&scrape(&app).await);
    app.submit("200.00").await;
    scrape_until(&app, "a failed delivery", |s| {
        errors(s) >= failed_before + 1.0
    })
    .await;
    app.shutdown().await;
}

#[tokio::test]
async fn websocket_clients_are_this_relays_open_feeds() {
    let app = spawn_app().await;
    let clients = |s: &[Sample]| value(s, "claimstream_ws_clients", &[]);
    let opened = |s: &[Sample]| count(s, "claimstream_ws_connections_total", &[]);
    let before = scrape(&app).await;
    assert_eq!(clients(&before), Some(0.0));
    let ws = app.ws(None).await;
    scrape_until(&app, "one open feed, counted", |s| {
        clients(s) == Some(1.0) && opened(s) >= opened(&before) + 1.0
    })
    .await;
    drop(ws);
    until("no open feed", async || {
        clients(&scrape(&app).await) == Some(0.0)
    })
    .await;
    app.shutdown().await;
}

#[tokio::test]
async fn scrapes_in_a_loop_share_one_answer_a_second() {
    let app = spawn_app().await;
    let xinfo_calls = async || -> u64 {
        let info: String = app.query(&["INFO", "commandstats"]).await;
        info.lines()
            .find_map(|l| l.strip_prefix("cmdstat_xinfo|groups:calls="))
            .and_then(|rest| rest.split(',').next())
            .map_or(0, |n| n.parse().unwrap())
    };
    scrape(&app).await;
    let before = xinfo_calls().await;
    let started = std::time::Instant::now();
    // 200 scrapes, 20 at a time.
    let mut answers = std::collections::HashSet::new();
    for _ in 0..10 {
        let scrapes = (0..20).map(|_| scrape_text(&app));
        for text in futures_util::future::join_all(scrapes).await {
            assert!(text.contains("claimstream_stream_length"));
            answers.insert(text);
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let calls = xinfo_calls().await - before;
    // Each answer is made once and shared for a second (the scrapes themselves are counted,
    // so an answer made anew differs from the last).
    assert!(
        answers.len() as f64 <= seconds.ceil() + 1.0,
        "{} different answers in {seconds:.2} s",
        answers.len()
    );
    // One read a second for the scrapes (one XINFO GROUPS each, one partition), one for
    // the relay's own trends sampler, and one of each at the edges.
    let most = 2.0 * (seconds.ceil() + 2.0);
    assert!(
        (calls as f64) <= most,
        "{calls} XINFO GROUPS in {seconds:.2} s for 200 scrapes"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn without_redis_a_scrape_still_answers_in_bounded_time() {
    let mut app = spawn_app().await;
    app.submit("100.00").await;
    app.stop_redis().await;
    let mut seen = Vec::new();
    until("claimstream_redis_up 0", async || {
        let started = std::time::Instant::now();
        seen = scrape(&app).await;
        // The read is given up after 2 s.
        assert!(
            started.elapsed() < Duration::from_secs(4),
            "{:?}",
            started.elapsed()
        );
        value(&seen, "claimstream_redis_up", &[]) == Some(0.0)
    })
    .await;
    // No stale figures, and the relay's own counts are still there.
    assert_eq!(value(&seen, "claimstream_stream_length", &[]), None);
    assert_eq!(value(&seen, "claimstream_ws_clients", &[]), Some(0.0));
    assert!(value(&seen, "claimstream_http_requests_total", &[]).is_some());
    app.restart_redis().await;
    until("claimstream_redis_up 1", async || {
        let s = scrape(&app).await;
        value(&s, "claimstream_redis_up", &[]) == Some(1.0)
            && value(&s, "claimstream_stream_length", &[]) == Some(1.0)
    })
    .await;
    app.shutdown().await;
}
