//! Faults injected while claims are being written: the embedded Redis killed, the relay
//! killed, Redis down when the relay starts, Redis out of memory. Every claim the relay
//! acknowledged with 201 must be in the stream with its index agreeing; nothing half-written.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use backend::Application;
use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::helpers::{
    assert_every_entry_indexed, config, error_of, field, run, spawn_app, spawn_app_with,
};

/// What a write load saw: the claims acknowledged with 201, and the other answers.
#[derive(Default)]
struct Load {
    acked: Mutex<Vec<String>>,
    refused: AtomicUsize,
    stop: AtomicBool,
}

/// Submits claims from `lanes` tasks until `stop` is set or each lane made `max` attempts.
fn write_load(base: String, lanes: usize, max: usize) -> (Arc<Load>, tokio::task::JoinSet<()>) {
    let load = Arc::new(Load::default());
    let mut tasks = tokio::task::JoinSet::new();
    for lane in 0..lanes {
        let (load, base) = (load.clone(), base.clone());
        tasks.spawn(async move {
            let http = reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .unwrap();
            for i in 0..max {
                if load.stop.load(Ordering::Relaxed) {
                    return;
                }
                let body = json!({"customer_id": format!("CUST-{lane}"), "amount": "12.00",
                    "description": format!("load {i}")});
                let sent = http
                    .post(format!("{base}/api/claims"))
                    .json(&body)
                    .send()
                    .await;
                match sent {
                    Ok(r) if r.status() == 201 => {
                        let v: Value = r.json().await.unwrap();
                        let id = v["claim_id"].as_str().unwrap().to_owned();
                        load.acked.lock().await.push(id);
                    }
                    Ok(r) => {
                        assert_ne!(r.status(), 500, "{}", r.text().await.unwrap());
                        load.refused.fetch_add(1, Ordering::Relaxed);
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                    Err(_) => {
                        load.refused.fetch_add(1, Ordering::Relaxed);
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                }
            }
        });
    }
    (load, tasks)
}

impl Load {
    async fn acked_at_least(&self, n: usize, limit: Duration) {
        let deadline = Instant::now() + limit;
        while self.acked.lock().await.len() < n {
            assert!(
                Instant::now() < deadline,
                "fewer than {n} claims acknowledged"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// Checks every acknowledged claim against Redis: its entry is in `claims:events` and its
/// index agrees. Returns how many were found.
async fn verify(redis: &mut redis::aio::MultiplexedConnection, acked: &[String]) -> usize {
    let in_stream = assert_every_entry_indexed(redis).await;
    let unique: HashSet<&String> = acked.iter().collect();
    assert_eq!(
        unique.len(),
        acked.len(),
        "a claim id was acknowledged twice"
    );
    acked.iter().filter(|c| in_stream.contains_key(*c)).count()
}

async fn health(http: &reqwest::Client, base: &str) -> (u16, Value) {
    match http.get(format!("{base}/api/health")).send().await {
        Ok(r) => (r.status().as_u16(), r.json().await.unwrap_or(Value::Null)),
        Err(_) => (0, Value::Null),
    }
}

fn no_process(pid: u32) -> bool {
    // A reaped process has no /proc entry; a defunct one still has, in state Z.
    !std::path::Path::new(&format!("/proc/{pid}")).exists()
}

#[tokio::test]
async fn the_embedded_redis_killed_during_a_write_load_comes_back_and_loses_nothing() {
    let data = tempfile::tempdir().unwrap();
    let mut relay_config = config(None, Some(data.path().to_owned()));
    relay_config.write_rate_per_second = 1_000_000;
    relay_config.write_burst = 1_000_000;
    let app = Application::build(relay_config).await.unwrap();
    let (address, stop, relay) = run(app);
    let base = format!("http://{address}");
    let http = reqwest::Client::new();
    let (_, h) = health(&http, &base).await;
    let port = h["embedded"]["port"].as_u64().expect("an embedded Redis");
    let mut redis = redis::Client::open(format!("redis://127.0.0.1:{port}"))
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let info: String = redis::cmd("INFO")
        .arg("server")
        .query_async(&mut redis)
        .await
        .unwrap();
    let pid: u32 = info
        .lines()
        .find_map(|l| l.strip_prefix("process_id:"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();

    let (load, mut writers) = write_load(base.clone(), 4, 5_000);
    load.acked_at_least(200, Duration::from_secs(20)).await;
    let killed = Instant::now();
    assert!(
        std::process::Command::new("kill")
            .args(["-9", &pid.to_string()])
            .status()
            .unwrap()
            .success()
    );
    let recovered = loop {
        let (status, h) = health(&http, &base).await;
        if status == 200 && h["embedded"]["restarts"] == 1 {
            break killed.elapsed();
        }
        assert!(killed.elapsed() < Duration::from_secs(20), "not back: {h}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let after = load.acked.lock().await.len();
    load.acked_at_least(after + 100, Duration::from_secs(20))
        .await;
    load.stop.store(true, Ordering::Relaxed);
    while writers.join_next().await.is_some() {}
    assert!(no_process(pid), "the killed redis-server was not reaped");

    let mut redis = redis::Client::open(format!("redis://127.0.0.1:{port}"))
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let acked = load.acked.lock().await.clone();
    let found = verify(&mut redis, &acked).await;
    println!(
        "embedded Redis killed: {} acknowledged, {found} found, {} refused or failed, back in {} ms",
        acked.len(),
        load.refused.load(Ordering::Relaxed),
        recovered.as_millis()
    );
    assert_eq!(found, acked.len());
    stop.send(()).unwrap();
    relay.await.unwrap().unwrap();
}

#[tokio::test]
async fn the_relay_killed_during_a_write_load_loses_no_acknowledged_claim() {
    let app = spawn_app().await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut relay = tokio::process::Command::new(env!("CARGO_BIN_EXE_backend"))
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .args(["--redis-url", &app.redis_url(), "--workers", "false"])
        .args(["--static-dir", "does-not-exist"])
        .args([
            "--write-rate-per-second",
            "1000000",
            "--write-burst",
            "1000000",
        ])
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let started = Instant::now();
    while health(&http, &base).await.0 != 200 {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "relay did not start"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (load, mut writers) = write_load(base, 4, 5_000);
    load.acked_at_least(300, Duration::from_secs(20)).await;
    relay.start_kill().unwrap();
    relay.wait().await.unwrap();
    load.stop.store(true, Ordering::Relaxed);
    while writers.join_next().await.is_some() {}

    let acked = load.acked.lock().await.clone();
    let found = verify(&mut app.redis().await, &acked).await;
    println!(
        "relay SIGKILLed: {} acknowledged, {found} found, {} entries in the stream",
        acked.len(),
        app.xlen().await
    );
    assert_eq!(found, acked.len());
}

#[tokio::test]
async fn the_live_feed_misses_nothing_when_redis_was_down_as_the_relay_started() {
    let mut app = spawn_app().await;
    app.stop_redis().await;
    app.restart_relay().await;
    // Let the feed fail a few times, so its retries are far apart when Redis returns.
    let down = Instant::now();
    while down.elapsed() < Duration::from_millis(1_500) {
        assert_eq!(app.get("/api/health").await.status(), 503);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    app.restart_redis().await;
    let mut ws = app.ws(Some("0")).await;
    let mut written = Vec::new();
    for i in 0..50 {
        written.push(app.raw_xadd(&[("n", &i.to_string())]).await);
    }
    let got: Vec<String> = ws.entries(50).await.into_iter().map(|e| e.id).collect();
    assert_eq!(got, written);
}

#[tokio::test]
async fn redis_out_of_memory_answers_503_and_the_relay_recovers_once_memory_is_freed() {
    let app = spawn_app_with(|c| {
        c.write_rate_per_second = 1_000_000;
        c.write_burst = 1_000_000;
    })
    .await;
    let mut redis = app.redis().await;
    let used: String = redis::cmd("INFO")
        .arg("memory")
        .query_async(&mut redis)
        .await
        .unwrap();
    let used: u64 = used
        .lines()
        .find_map(|l| l.strip_prefix("used_memory:"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("maxmemory-policy")
        .arg("noeviction")
        .query_async(&mut redis)
        .await
        .unwrap();
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("maxmemory")
        .arg(used + 256 * 1024)
        .query_async(&mut redis)
        .await
        .unwrap();
    let body = json!({"customer_id": "CUST-1", "amount": "1.00",
        "description": "x".repeat(400)});
    let mut acked = 0;
    let refused = loop {
        let r = app.post("/api/claims", &body).await;
        if r.status() != 201 {
            break r;
        }
        acked += 1;
        assert!(acked < 20_000, "maxmemory was never reached");
    };
    let (status, code, message) = error_of(refused).await;
    assert_eq!(
        (status, code.as_str()),
        (503, "redis_out_of_memory"),
        "{message}"
    );
    assert!(message.contains("maxmemory"), "{message}");
    assert_eq!(app.xlen().await, acked, "the refused submit left an entry");

    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("maxmemory")
        .arg(0)
        .query_async(&mut redis)
        .await
        .unwrap();
    assert_eq!(app.post("/api/claims", &body).await.status(), 201);
}

/// A TCP proxy on loopback between the relay and Redis that a test can cut or slow down.
struct Link {
    port: u16,
    cut: Arc<AtomicBool>,
    delay_ms: Arc<AtomicUsize>,
    /// Bumped on every cut, so connections opened before it close.
    generation: Arc<AtomicUsize>,
}

impl Link {
    async fn to(target: u16) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let link = Link {
            port,
            cut: Arc::default(),
            delay_ms: Arc::default(),
            generation: Arc::default(),
        };
        let (cut, delay, generation) = (
            link.cut.clone(),
            link.delay_ms.clone(),
            link.generation.clone(),
        );
        tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    return;
                };
                if cut.load(Ordering::SeqCst) {
                    continue; // dropped: the connection is refused as good as
                }
                let Ok(server) = tokio::net::TcpStream::connect(("127.0.0.1", target)).await else {
                    continue;
                };
                let born = generation.load(Ordering::SeqCst);
                let (cr, cw) = client.into_split();
                let (sr, sw) = server.into_split();
                for (mut from, mut to) in [(cr, sw), (sr, cw)] {
                    let (delay, generation) = (delay.clone(), generation.clone());
                    tokio::spawn(async move {
                        use tokio::io::{AsyncReadExt, AsyncWriteExt};
                        let mut buf = vec![0u8; 16 * 1024];
                        loop {
                            let read = tokio::time::timeout(
                                Duration::from_millis(50),
                                from.read(&mut buf),
                            )
                            .await;
                            if generation.load(Ordering::SeqCst) != born {
                                return; // cut: both halves drop
                            }
                            let n = match read {
                                Err(_) => continue,
                                Ok(Ok(0) | Err(_)) => return,
                                Ok(Ok(n)) => n,
                            };
                            let ms = delay.load(Ordering::SeqCst) as u64;
                            if ms > 0 {
                                tokio::time::sleep(Duration::from_millis(ms)).await;
                            }
                            if to.write_all(&buf[..n]).await.is_err() {
                                return;
                            }
                        }
                    });
                }
            }
        });
        link
    }

    fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    fn restore(&self) {
        self.cut.store(false, Ordering::SeqCst);
    }

    fn delay(&self, ms: usize) {
        self.delay_ms.store(ms, Ordering::SeqCst);
    }
}

#[tokio::test]
async fn a_cut_and_a_slow_link_to_redis_lose_and_duplicate_nothing() {
    let redis_dir = tempfile::tempdir().unwrap();
    let redis = backend::store::embedded::EmbeddedRedis::start(
        redis_dir.path(),
        backend::store::embedded::Persistence::None,
    )
    .await
    .unwrap();
    let link = Link::to(redis.port()).await;
    let mut relay_config = config(Some(format!("redis://127.0.0.1:{}", link.port)), None);
    relay_config.workers = true;
    relay_config.auto_review = false;
    relay_config.claim_idle_ms = 1_000;
    relay_config.write_rate_per_second = 1_000_000;
    relay_config.write_burst = 1_000_000;
    let app = Application::build(relay_config).await.unwrap();
    let (address, stop, relay) = run(app);
    let base = format!("http://{address}");

    let (load, mut writers) = write_load(base.clone(), 4, 20_000);
    load.acked_at_least(100, Duration::from_secs(20)).await;

    // Cut: requests fail with 503 (or time out), none with 500.
    link.cut();
    let refused_before = load.refused.load(Ordering::Relaxed);
    let cut_at = Instant::now();
    while load.refused.load(Ordering::Relaxed) < refused_before + 20 {
        assert!(
            cut_at.elapsed() < Duration::from_secs(20),
            "no request failed while cut"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    link.restore();
    let acked = load.acked.lock().await.len();
    load.acked_at_least(acked + 100, Duration::from_secs(20))
        .await;
    let recovered = cut_at.elapsed();

    // Slow: 100 ms each way, still answered.
    link.delay(100);
    let acked = load.acked.lock().await.len();
    load.acked_at_least(acked + 20, Duration::from_secs(30))
        .await;
    link.delay(0);
    load.stop.store(true, Ordering::Relaxed);
    while writers.join_next().await.is_some() {}

    let mut direct = redis::Client::open(redis.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let acked = load.acked.lock().await.clone();
    let found = verify(&mut direct, &acked).await;
    assert_eq!(found, acked.len());

    // Every entry notified exactly once, through the cut.
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    let events: u64 = loop {
        let groups: Value = http
            .get(format!("{base}/api/groups"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let n = groups["groups"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["name"] == "claims-notifications")
            .cloned()
            .unwrap();
        if n["lag"] == 0 && n["pending"] == 0 {
            break groups["length"].as_u64().unwrap();
        }
        assert!(
            Instant::now() < deadline,
            "notifications did not settle: {n}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let notes: redis::Value = redis::cmd("XRANGE")
        .arg("claims:notifications")
        .arg("-")
        .arg("+")
        .query_async(&mut direct)
        .await
        .unwrap();
    let notes = backend::store::reply::entries(notes);
    let distinct: HashSet<&str> = notes.iter().map(|(_, f)| field(f, "entry_id")).collect();
    assert_eq!(distinct.len(), notes.len(), "an entry was notified twice");
    assert_eq!(notes.len() as u64, events, "every submit notified");
    println!(
        "link cut and slowed: {} acknowledged, {found} found, {} refused, recovered {} ms after the cut",
        acked.len(),
        load.refused.load(Ordering::Relaxed),
        recovered.as_millis()
    );
    stop.send(()).unwrap();
    relay.await.unwrap().unwrap();
    redis.stop().await.unwrap();
}

#[tokio::test]
async fn redis_killed_and_restarted_from_its_append_only_file_under_load_loses_nothing() {
    let mut app = spawn_app_with(|c| {
        c.write_rate_per_second = 1_000_000;
        c.write_burst = 1_000_000;
    })
    .await;
    let info: String = redis::cmd("INFO")
        .arg("server")
        .query_async(&mut app.redis().await)
        .await
        .unwrap();
    let pid = info
        .lines()
        .find_map(|l| l.strip_prefix("process_id:"))
        .unwrap()
        .trim()
        .to_owned();
    let (load, mut writers) = write_load(app.url(""), 4, 20_000);
    load.acked_at_least(200, Duration::from_secs(20)).await;
    assert!(
        std::process::Command::new("kill")
            .args(["-9", &pid])
            .status()
            .unwrap()
            .success()
    );
    let refused = load.refused.load(Ordering::Relaxed);
    let killed = Instant::now();
    while load.refused.load(Ordering::Relaxed) < refused + 10 {
        assert!(
            killed.elapsed() < Duration::from_secs(20),
            "nothing failed while down"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    app.restart_redis().await;
    let acked = load.acked.lock().await.len();
    load.acked_at_least(acked + 100, Duration::from_secs(20))
        .await;
    let recovered = killed.elapsed();
    load.stop.store(true, Ordering::Relaxed);
    while writers.join_next().await.is_some() {}

    let acked = load.acked.lock().await.clone();
    let found = verify(&mut app.redis().await, &acked).await;
    println!(
        "Redis SIGKILLed and restarted from its AOF: {} acknowledged, {found} found, {} refused, writes again {} ms after the kill",
        acked.len(),
        load.refused.load(Ordering::Relaxed),
        recovered.as_millis()
    );
    assert_eq!(found, acked.len());
}
