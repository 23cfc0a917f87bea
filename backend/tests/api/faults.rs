//! Faults injected while claims are being written: the embedded Redis killed, the relay
//! killed, Redis down when the relay starts, Redis out of memory. Every claim the relay
//! acknowledged with 201 must be in the stream with its index agreeing; nothing half-written.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::fixtures::group_named;
use test_support::Relay;
use test_support::relay::{config, unthrottled};
use test_support::streams::{assert_every_entry_indexed, info_field};
use test_support::{expect_error, field, spawn_app, spawn_app_with};

/// What a write load saw: the claims acknowledged with 201, and the other answers.
#[derive(Default)]
struct Load {
    acked: Mutex<Vec<String>>,
    refused: AtomicUsize,
    stop: AtomicBool,
}

impl Load {
    /// Stops the load and waits for its `writers` to finish.
    async fn finish(&self, writers: &mut tokio::task::JoinSet<()>) {
        self.stop.store(true, Ordering::Relaxed);
        while writers.join_next().await.is_some() {}
    }
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
    /// Waits up to 20 s for `n` more requests refused than now; panics with `otherwise`.
    async fn refused_again(&self, n: usize, otherwise: &str) {
        let target = self.refused.load(Ordering::Relaxed) + n;
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.refused.load(Ordering::Relaxed) < target {
            assert!(Instant::now() < deadline, "{otherwise}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

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

/// Checks every claim the load saw acknowledged against Redis: its entry is in
/// `claims:events` and its index agrees. Returns them, and how many were found.
async fn verify(
    redis: &mut redis::aio::MultiplexedConnection,
    load: &Load,
) -> (Vec<String>, usize) {
    let acked = load.acked.lock().await.clone();
    let in_stream = assert_every_entry_indexed(redis).await;
    let unique: HashSet<&String> = acked.iter().collect();
    assert_eq!(
        unique.len(),
        acked.len(),
        "a claim id was acknowledged twice"
    );
    let found = acked.iter().filter(|c| in_stream.contains_key(*c)).count();
    (acked, found)
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
    unthrottled(&mut relay_config);
    let relay = Relay::start(relay_config).await;
    let address = relay.address.clone();
    let base = format!("http://{address}");
    let http = reqwest::Client::new();
    let (_, h) = health(&http, &base).await;
    let port = h["embedded"]["port"].as_u64().expect("an embedded Redis");
    let mut redis = redis::Client::open(format!("redis://127.0.0.1:{port}"))
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let pid: u32 = info_field(&mut redis, "server", "process_id")
        .await
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
    load.finish(&mut writers).await;
    assert!(no_process(pid), "the killed redis-server was not reaped");

    let mut redis = redis::Client::open(format!("redis://127.0.0.1:{port}"))
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let (acked, found) = verify(&mut redis, &load).await;
    println!(
        "embedded Redis killed: {} acknowledged, {found} found, {} refused or failed, back in {} ms",
        acked.len(),
        load.refused.load(Ordering::Relaxed),
        recovered.as_millis()
    );
    assert_eq!(found, acked.len());
    relay.shutdown().await;
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
    load.finish(&mut writers).await;

    let (acked, found) = verify(&mut app.redis().await, &load).await;
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
    let app = spawn_app_with(unthrottled).await;
    let mut redis = app.redis().await;
    let used: u64 = info_field(&mut redis, "memory", "used_memory")
        .await
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
    let message = expect_error(refused, 503, "redis_out_of_memory").await;
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
    unthrottled(&mut relay_config);
    let relay = Relay::start(relay_config).await;
    let address = relay.address.clone();
    let base = format!("http://{address}");

    let (load, mut writers) = write_load(base.clone(), 4, 20_000);
    load.acked_at_least(100, Duration::from_secs(20)).await;

    // Cut: requests fail with 503 (or time out), none with 500.
    link.cut();
    let cut_at = Instant::now();
    load.refused_again(20, "no request failed while cut").await;
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
    load.finish(&mut writers).await;

    let mut direct = redis::Client::open(redis.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let (acked, found) = verify(&mut direct, &load).await;
    assert_eq!(found, acked.len());

    // Every entry notified exactly once, through the cut.
    let deadline = Instant::now() + Duration::from_secs(60);
    let events: u64 = loop {
        let groups: Value = relay.get_json("/api/groups").await;
        let n = group_named(&groups, "claims-notifications");
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
    relay.shutdown().await;
    redis.stop().await.unwrap();
}

#[tokio::test]
async fn redis_killed_and_restarted_from_its_append_only_file_under_load_loses_nothing() {
    let mut app = spawn_app_with(unthrottled).await;
    let pid = info_field(&mut app.redis().await, "server", "process_id").await;
    let (load, mut writers) = write_load(app.url(""), 4, 20_000);
    load.acked_at_least(200, Duration::from_secs(20)).await;
    assert!(
        std::process::Command::new("kill")
            .args(["-9", &pid])
            .status()
            .unwrap()
            .success()
    );
    let killed = Instant::now();
    load.refused_again(10, "nothing failed while down").await;
    app.restart_redis().await;
    let acked = load.acked.lock().await.len();
    load.acked_at_least(acked + 100, Duration::from_secs(20))
        .await;
    let recovered = killed.elapsed();
    load.finish(&mut writers).await;

    let (acked, found) = verify(&mut app.redis().await, &load).await;
    println!(
        "Redis SIGKILLed and restarted from its AOF: {} acknowledged, {found} found, {} refused, writes again {} ms after the kill",
        acked.len(),
        load.refused.load(Ordering::Relaxed),
        recovered.as_millis()
    );
    assert_eq!(found, acked.len());
}
