//! A hostile learner at the console: each attack of the review, refused or bounded before Redis
//! builds anything, while other learners (other workspaces, other addresses) are still served.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use serde_json::json;
use shared::api::{ConsoleResponse, WorkspaceResponse};

use test_support::{TestApp, error_of, spawn_app, spawn_app_with, until};

/// A learner's browser at a loopback address of its own (the relay limits per address).
struct Browser<'a> {
    app: &'a TestApp,
    http: reqwest::Client,
}

impl<'a> Browser<'a> {
    fn at(app: &'a TestApp, address: &str) -> Self {
        let http = reqwest::Client::builder()
            .local_address(address.parse::<IpAddr>().unwrap())
            .build()
            .unwrap();
        Self { app, http }
    }

    async fn create(&self) -> reqwest::Response {
        self.http
            .post(self.app.url("/api/workspaces"))
            .json(&json!({}))
            .send()
            .await
            .unwrap()
    }

    async fn workspace(&self) -> String {
        let r = self.create().await;
        assert_eq!(r.status(), 201);
        r.json::<WorkspaceResponse>().await.unwrap().id
    }

    async fn send(&self, workspace: &str, line: &str) -> reqwest::Response {
        self.http
            .post(self.app.url("/api/console"))
            .header("X-Workspace", workspace)
            .json(&json!({ "line": line }))
            .send()
            .await
            .unwrap()
    }

    async fn run(&self, workspace: &str, line: &str) -> ConsoleResponse {
        let r = self.send(workspace, line).await;
        assert_eq!(r.status(), 200, "{line}");
        r.json().await.unwrap()
    }
}

/// Stream ids in a reply as `redis-cli` prints it: one per entry.
fn entries_in(reply: &str) -> usize {
    reply
        .split('"')
        .filter(|word| {
            word.split_once('-').is_some_and(|(ms, seq)| {
                ms.len() >= 10
                    && ms.bytes().all(|b| b.is_ascii_digit())
                    && !seq.is_empty()
                    && seq.bytes().all(|b| b.is_ascii_digit())
            })
        })
        .count()
}

/// Median and largest `/api/health` time from another address while `attack` runs.
async fn health_during(app: &TestApp, attack: impl Future<Output = ()>) -> (Duration, Duration) {
    let other = Browser::at(app, "127.0.0.9");
    let done = std::sync::atomic::AtomicBool::new(false);
    let probe = async {
        let mut times = Vec::new();
        while !done.load(std::sync::atomic::Ordering::Relaxed) || times.len() < 5 {
            let start = Instant::now();
            let r = other.http.get(app.url("/api/health")).send().await.unwrap();
            assert_eq!(r.status(), 200);
            times.push(start.elapsed());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        times.sort();
        (times[times.len() / 2], *times.last().unwrap())
    };
    let attack = async {
        attack.await;
        done.store(true, std::sync::atomic::Ordering::Relaxed);
    };
    let (times, ()) = tokio::join!(probe, attack);
    times
}

#[tokio::test]
async fn count_0_negative_or_repeated_never_reads_past_the_cap() {
    let app = spawn_app().await;
    let mut redis = app.redis().await;
    let mut pipe = redis::pipe();
    for n in 0..300 {
        pipe.cmd("XADD")
            .arg("claims:events")
            .arg("*")
            .arg("type")
            .arg("demo")
            .arg("n")
            .arg(n);
    }
    let _: Vec<String> = pipe.query_async(&mut redis).await.unwrap();
    let me = Browser::at(&app, "127.0.0.2");
    let id = me.workspace().await;
    for line in [
        "XREAD COUNT 0 STREAMS demo:claims:events 0",
        "XREAD COUNT -1 STREAMS demo:claims:events 0",
        "XREAD COUNT 1 COUNT 100000 STREAMS demo:claims:events 0",
        "XREAD STREAMS demo:claims:events 0",
        "XRANGE demo:claims:events - + COUNT 100000",
    ] {
        let answer = me.run(&id, line).await;
        assert_eq!(answer.error, None, "{line}: {answer:?}");
        let read = entries_in(&answer.reply);
        assert!((1..=100).contains(&read), "{line}: {read} entries");
        // What was sent says one COUNT, within the cap.
        let sent = &answer.redis[0];
        assert_eq!(sent.matches("COUNT").count(), 1, "{sent}");
        assert!(answer.hint.is_some(), "{line}: the learner is told why");
    }
}

#[tokio::test]
async fn an_amplified_read_is_refused_or_lowered_before_redis_builds_it() {
    let app = spawn_app_with(|config| config.write_burst = 1000).await;
    let me = Browser::at(&app, "127.0.0.2");
    let id = me.workspace().await;
    let pad = "p".repeat(1000);
    for key in ["a", "b", "c", "d"] {
        for n in 0..60 {
            let answer = me.run(&id, &format!("XADD {key} * n {n} pad {pad}")).await;
            assert_eq!(answer.error, None, "{answer:?}");
        }
    }

    // One key named over and over: Redis would answer it once per name.
    let repeated = format!(
        "XREAD COUNT 100 STREAMS {} {}",
        ["a"; 3].join(" "),
        ["0"; 3].join(" ")
    );
    let before = app.redis_output_bytes().await;
    let answer = me.run(&id, &repeated).await;
    assert!(
        answer.error.as_deref().unwrap().contains("names a twice"),
        "{answer:?}"
    );
    assert!(answer.redis.is_empty(), "nothing sent: {:?}", answer.redis);

    // Four streams of 1 KB entries: COUNT is lowered so the worst case fits 64 KB.
    let line = "XREAD COUNT 100 STREAMS a b c d 0 0 0 0";
    let (median, max) = health_during(&app, async {
        let lines = (0..3).map(|_| me.run(&id, line));
        for answer in futures_util::future::join_all(lines).await {
            assert_eq!(answer.error, None, "{answer:?}");
            let hint = answer.hint.unwrap();
            assert!(hint.starts_with("COUNT 100 is "), "{hint}");
            assert!(entries_in(&answer.reply) < 4 * 100);
        }
    })
    .await;
    let sent = app.redis_output_bytes().await - before;
    assert!(
        sent < 3 * 70 * 1024 + 64 * 1024,
        "Redis sent {sent} bytes for three lines"
    );
    assert!(
        median < Duration::from_millis(100),
        "health took {median:?} (max {max:?})"
    );
}

#[tokio::test]
async fn blocking_reads_are_shared_per_workspace() {
    let app = spawn_app_with(|config| {
        (
            config.console_blocking,
            config.console_blocking_per_workspace,
        ) = (4, 2)
    })
    .await;
    let hostile = Browser::at(&app, "127.0.0.2");
    let other = Browser::at(&app, "127.0.0.3");
    let greedy = hostile.workspace().await;
    let learner = other.workspace().await;
    let last = other.run(&learner, "XADD s * n 0").await.reply;
    let last = last.trim_matches('"');

    // Ten blocking reads at once: two wait, the others are refused at once.
    let reads = (0..10).map(|_| hostile.run(&greedy, "XREAD BLOCK 5000 STREAMS s $"));
    let hostile_reads = futures_util::future::join_all(reads);
    let learner_read = async {
        // The learner's own blocking read still gets a place, and an entry ends it (read
        // after the last id it knows, so it answers whether the entry comes first or not).
        let line = format!("XREAD BLOCK 5000 STREAMS s {last}");
        let waiting = other.run(&learner, &line);
        let adding = other.run(&learner, "XADD s * n fresh");
        let (answer, added) = tokio::join!(waiting, adding);
        assert_eq!(answer.error, None, "{answer:?}");
        assert!(
            answer.reply.contains(added.reply.trim_matches('"')),
            "{answer:?}"
        );
    };
    let (answers, ()) = tokio::join!(hostile_reads, learner_read);
    let refused: Vec<&ConsoleResponse> = answers.iter().filter(|a| a.error.is_some()).collect();
    assert_eq!(refused.len(), 8, "{answers:?}");
    assert!(
        refused[0]
            .error
            .as_deref()
            .unwrap()
            .contains("2 blocking reads waiting already"),
        "{:?}",
        refused[0]
    );
}

#[tokio::test]
async fn group_and_consumer_names_are_short_and_counted() {
    let app = spawn_app().await;
    let me = Browser::at(&app, "127.0.0.2");
    let id = me.workspace().await;
    me.run(&id, "XADD s * n 0").await;
    let long = "g".repeat(4000);
    let answer = me.run(&id, &format!("XGROUP CREATE s {long} $")).await;
    assert!(
        answer.error.as_deref().unwrap().contains("4000 bytes"),
        "{answer:?}"
    );
    for n in 0..8 {
        let answer = me.run(&id, &format!("XGROUP CREATE s group-{n} $")).await;
        assert_eq!(answer.error, None, "{answer:?}");
    }
    let answer = me.run(&id, "XGROUP CREATE s group-8 $").await;
    assert!(
        answer
            .error
            .as_deref()
            .unwrap()
            .contains("8 consumer groups"),
        "{answer:?}"
    );
    for n in 0..16 {
        let line = format!("XGROUP CREATECONSUMER s group-0 c{n}");
        assert_eq!(me.run(&id, &line).await.error, None);
    }
    let answer = me
        .run(&id, "XREADGROUP GROUP group-0 c16 STREAMS s >")
        .await;
    assert!(
        answer.error.as_deref().unwrap().contains("16 consumers"),
        "{answer:?}"
    );
    // A consumer the group has still reads.
    let answer = me.run(&id, "XREADGROUP GROUP group-0 c3 STREAMS s 0").await;
    assert_eq!(answer.error, None, "{answer:?}");
}

#[tokio::test]
async fn parallel_writes_to_new_keys_keep_the_key_cap() {
    let app = spawn_app().await;
    let me = Browser::at(&app, "127.0.0.2");
    let id = me.workspace().await;
    let lines: Vec<String> = (0..120).map(|n| format!("XADD k{n} * n {n}")).collect();
    let writes = lines.iter().map(|line| me.send(&id, line));
    let answers = futures_util::future::join_all(writes).await;
    let mut written = 0;
    for r in answers {
        assert_eq!(r.status(), 200);
        let answer: ConsoleResponse = r.json().await.unwrap();
        match answer.error {
            None => written += 1,
            Some(error) => assert!(error.contains("its most is 32"), "{error}"),
        }
    }
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("lab:{{{id}}}:*"))
        .query_async(&mut app.redis().await)
        .await
        .unwrap();
    assert_eq!(keys.len(), 32, "{written} written: {keys:?}");
    assert_eq!(written, 32);
}

#[tokio::test]
async fn a_greedy_address_cannot_lock_the_class_out_of_workspaces() {
    // A full relay whose workspaces were all used just now refuses, saying which limit.
    let app = spawn_app_with(|config| {
        config.max_workspaces = 3;
        config.workspace_burst = 2;
        config.workspaces_per_minute = 1;
    })
    .await;
    let greedy = Browser::at(&app, "127.0.0.2");
    greedy.workspace().await;
    greedy.workspace().await;
    let (status, code, message) = error_of(greedy.create().await).await;
    assert_eq!((status, code.as_str()), (429, "too_many_workspaces"));
    assert!(message.contains("made 2 workspaces"), "{message}");
    Browser::at(&app, "127.0.0.3").workspace().await;
    let (status, code, message) = error_of(Browser::at(&app, "127.0.0.4").create().await).await;
    assert_eq!(
        (status, code.as_str()),
        (503, "workspaces_full"),
        "{message}"
    );
    assert!(message.contains("holds 3 workspaces"), "{message}");

    // With a short idle time, the least recently used makes room; one in use stays.
    let app = spawn_app_with(|config| {
        config.max_workspaces = 3;
        config.workspace_burst = 2;
        // The newcomer asks again and again: that is not what this part is about.
        config.workspaces_per_minute = 6000;
        config.workspace_evict_idle_secs = 1;
    })
    .await;
    let greedy = Browser::at(&app, "127.0.0.2");
    let first = greedy.workspace().await;
    let second = greedy.workspace().await;
    let learner = Browser::at(&app, "127.0.0.3");
    let mine = learner.workspace().await;
    let newcomer = Browser::at(&app, "127.0.0.4");
    let mut made = None;
    until(
        Duration::from_secs(10),
        "room for the newcomer",
        async || {
            // The learner keeps working meanwhile.
            assert_eq!(learner.run(&mine, "XADD s * n 1").await.error, None);
            let r = newcomer.create().await;
            if r.status() == 201 {
                made = Some(r.json::<WorkspaceResponse>().await.unwrap().id);
                return true;
            }
            assert_eq!(error_of(r).await.1, "workspaces_full");
            false
        },
    )
    .await;
    let gone = newcomer.send(&first, "PING").await;
    assert_eq!(gone.status(), 404, "the least recently used went");
    assert_eq!(learner.send(&mine, "PING").await.status(), 200);
    assert_eq!(greedy.send(&second, "PING").await.status(), 200);
    assert!(made.is_some());
}

/// One learner of a class behind one address: the live feed, a workspace, the lab polled, a
/// few console lines (a blocking read among them) and a claim submitted and seen arriving.
async fn attend(app: &TestApp, browser: &Browser<'_>, workspace: &str) -> Result<(), String> {
    let mut ws = app.ws(None).await;
    ws.expect_caught_up().await;
    for _ in 0..2 {
        let lab = browser
            .http
            .get(app.url("/api/lab"))
            .header("X-Workspace", workspace)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if lab.status() != 200 {
            return Err(format!("lab: {}", lab.status()));
        }
    }
    for line in [
        "XADD claims:events * type claim_submitted claim_id c-1 amount 100",
        "XREAD COUNT 10 BLOCK 1000 STREAMS claims:events 0",
        "XRANGE demo:claims:events - + COUNT 5",
    ] {
        let answer = browser.run(workspace, line).await;
        if let Some(error) = answer.error {
            return Err(format!("{line}: {error}"));
        }
    }
    let submitted = browser
        .http
        .post(app.url("/api/claims"))
        .json(&json!({"customer_id": "CUST-001", "amount": "120.00", "description": "Hail"}))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if submitted.status() != 201 {
        return Err(format!("submit: {}", submitted.status()));
    }
    let claim: shared::api::CommandResponse = submitted.json().await.unwrap();
    ws.entry_where(Duration::from_secs(20), |e| {
        e.fields
            .iter()
            .any(|(k, v)| k == "claim_id" && *v == claim.claim_id)
    })
    .await;
    Ok(())
}

#[tokio::test]
async fn a_class_of_60_behind_one_address_is_served_while_one_of_them_attacks() {
    // The class does in seconds what a class does in minutes: a faster write rate than the
    // default, which is for one address's sustained load.
    let app = spawn_app_with(|config| {
        config.write_rate_per_second = 200;
        let defaults = backend::Config::defaults();
        config.console_lines_per_second = defaults.console_lines_per_second;
        config.console_line_burst = defaults.console_line_burst;
    })
    .await;
    let class = Browser::at(&app, "127.0.0.1");
    let mut workspaces = Vec::new();
    for _ in 0..60 {
        workspaces.push(class.workspace().await);
    }
    let hostile = class.workspace().await;

    let attack = async {
        let mut lines: Vec<String> = vec!["XREAD BLOCK 5000 STREAMS nothing $".to_owned(); 32];
        lines.extend(
            [
                "XREAD COUNT 0 STREAMS demo:claims:events 0",
                "XREAD COUNT 1 COUNT 100000 STREAMS demo:claims:events 0",
            ]
            .map(str::to_owned),
        );
        lines.extend((0..20).map(|n| format!("XGROUP CREATECONSUMER s g {n}{}", "x".repeat(4000))));
        let sent = lines.iter().map(|line| class.send(&hostile, line));
        let creations = (0..60).map(|_| class.create());
        let (_, made) = tokio::join!(
            futures_util::future::join_all(sent),
            futures_util::future::join_all(creations)
        );
        made.iter().filter(|r| r.status() == 201).count()
    };
    let learners = workspaces.iter().map(|w| attend(&app, &class, w));
    let mut made = 0;
    let (median, max) = health_during(&app, async {
        let (outcomes, hostile_made) =
            tokio::join!(futures_util::future::join_all(learners), attack);
        made = hostile_made;
        let failed: Vec<&String> = outcomes.iter().filter_map(|o| o.as_ref().err()).collect();
        assert!(
            failed.is_empty(),
            "{} learners not served: {failed:?}",
            failed.len()
        );
    })
    .await;
    assert!(
        made < 60,
        "the address's workspace share ran out: {made} made"
    );
    assert!(
        median < Duration::from_millis(100),
        "health took {median:?} (max {max:?})"
    );
}
