//! `cargo xtask bench page [--hold N] [--burst N]`: how fast the page takes in the live feed.
//!
//! The built app (`dist/`) in headless Chromium against a relay and Redis of its own, as the
//! browser tests run it. The page first fills its timeline to `--hold` entries (20,000, what
//! it keeps), then `--burst` entries (10,000) are appended with pipelined XADDs as fast as
//! Redis takes them. Prints the intake (entries a second, from the first XADD to the last
//! entry in the DOM), the time from the last XADD's reply to its row in the DOM, the longest
//! main-thread task meanwhile (PerformanceObserver `longtask`, which reports tasks over 50 ms;
//! the longest gap between animation frames, and how the longest animation frame split between
//! scripts and rendering: the Long Animation Frames API) and the JS heap.

// The browser tests' harness, shared as it stands: the stack and the browser launch.
#[allow(dead_code)]
#[path = "../tests/browser/harness.rs"]
mod harness;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use backend::store::keys::EVENTS;
use fantoccini::wd::WebDriverCompatibleCommand;
use harness::{Browser, Stack};
use serde_json::{Value, json};
use test_support::streams;

/// Watches the page: long tasks, gaps between frames, and when the row of `__bench.waitFor`
/// enters the DOM (a MutationObserver, so to the millisecond, in `Date.now()` time).
const PROBE: &str = r#"
const b = window.__bench = { long: [], frames: [], maxGap: 0, waitFor: null, shownAt: null };
new PerformanceObserver(list => {
  for (const e of list.getEntries()) b.long.push(e.duration);
}).observe({ type: 'longtask' });
new PerformanceObserver(list => {
  for (const e of list.getEntries()) b.frames.push({
    duration: e.duration,
    render: e.renderStart ? e.startTime + e.duration - e.renderStart : 0,
    styleAndLayout: e.styleAndLayoutStart ? e.startTime + e.duration - e.styleAndLayoutStart : 0,
    scripts: e.scripts.map(s => ({ invoker: s.invoker, duration: s.duration,
      forcedLayout: s.forcedStyleAndLayoutDuration })),
  });
}).observe({ type: 'long-animation-frame' });
let prev = performance.now();
const frame = t => { b.maxGap = Math.max(b.maxGap, t - prev); prev = t; requestAnimationFrame(frame); };
requestAnimationFrame(frame);
b.check = () => {
  if (b.waitFor && b.shownAt === null
      && document.querySelector(`[data-entry-id="${b.waitFor}"]`)) b.shownAt = Date.now();
};
new MutationObserver(b.check).observe(document.body, { childList: true, subtree: true });
"#;

/// Starts a measurement: waits for `id`, forgets earlier long tasks and frame gaps.
const ARM: &str = r#"
const b = window.__bench;
b.long = []; b.frames = []; b.maxGap = 0; b.shownAt = null; b.waitFor = arguments[0];
b.check();
"#;

const READ: &str = r#"
const b = window.__bench;
return {
  shownAt: b.shownAt,
  longest: b.long.length ? Math.max(...b.long) : null,
  longTasks: b.long.length,
  longestFrame: b.frames.reduce((a, f) => (a && a.duration >= f.duration ? a : f), null),
  maxGap: b.maxGap,
  heap: performance.memory ? performance.memory.usedJSHeapSize : null,
  count: document.querySelector('[data-testid=timeline-count]')?.textContent,
};
"#;

struct Args {
    hold: usize,
    burst: usize,
    /// Where to write a CPU profile of the page during the burst (Chrome's `.cpuprofile`).
    profile: Option<String>,
}

fn args() -> Result<Args> {
    let mut args = Args {
        hold: 20_000,
        burst: 10_000,
        profile: None,
    };
    let mut given = std::env::args().skip(1);
    while let Some(flag) = given.next() {
        if flag == "--profile" {
            args.profile = Some(given.next().context("--profile needs a file")?);
            continue;
        }
        let value: usize = given
            .next()
            .with_context(|| format!("{flag} needs a number"))?
            .parse()
            .with_context(|| format!("{flag} needs a number"))?;
        match flag.as_str() {
            "--hold" => args.hold = value,
            "--burst" => args.burst = value,
            other => bail!("unknown flag {other}: use --hold N, --burst N, --profile FILE"),
        }
    }
    Ok(args)
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_millis() as u64
}

/// Appends `n` claim submissions with ids `<ms>-1` to `<ms>-<n>`, 1,000 to a pipeline, the
/// pipelines built first; returns when the first pipeline was sent and when the last one was
/// answered (ms since the epoch).
async fn burst(stack: &Stack, ms: u64, n: usize) -> (u64, u64) {
    let mut conn = stack.redis().await;
    let ids: Vec<usize> = (1..=n).collect();
    let pipelines: Vec<redis::Pipeline> = ids
        .chunks(1_000)
        .map(|chunk| {
            let mut pipe = redis::pipe();
            for i in chunk {
                let claim = format!("CLM-BENCH{ms}-{i}");
                let fields = streams::submitted_fields(&claim, "CUST-BENCH", "1.00", "bench");
                pipe.cmd("XADD")
                    .arg(EVENTS)
                    .arg(format!("{ms}-{i}"))
                    .arg(&fields)
                    .ignore();
            }
            pipe
        })
        .collect();
    let started = now_ms();
    for pipe in pipelines {
        let () = pipe.query_async(&mut conn).await.expect("XADD");
    }
    (started, now_ms())
}

/// Arms the probe for the last entry of a burst of `n` at `ms`; returns its id.
async fn arm(browser: &Browser, ms: u64, n: usize) -> Result<String> {
    let last = format!("{ms}-{n}");
    browser
        .client
        .execute(ARM, vec![last.clone().into()])
        .await?;
    Ok(last)
}

/// Waits (up to `within`) for the row of `last` to be in the DOM; the page's figures then.
async fn shown(browser: &Browser, last: &str, within: Duration) -> Result<Value> {
    let deadline = Instant::now() + within;
    loop {
        let read = browser.client.execute(READ, vec![]).await?;
        if !read["shownAt"].is_null() {
            return Ok(read);
        }
        if Instant::now() > deadline {
            bail!("entry {last} not shown within {within:?}: {read}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn mb(bytes: &Value) -> String {
    bytes
        .as_f64()
        .map_or("unknown".into(), |b| format!("{:.1} MB", b / 1e6))
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = args()?;
    let stack = Stack::start().await;
    let browser = Browser::launch().await;
    let result = run(&stack, &browser, &args).await;
    browser.close().await;
    result
}

async fn run(stack: &Stack, browser: &Browser, args: &Args) -> Result<()> {
    browser.client.goto(&stack.url()).await?;
    harness::eventually(Duration::from_secs(30), "the live feed", || async {
        let state = browser
            .client
            .execute(
                "return document.querySelector('[data-testid=connection-status]')?.dataset.state",
                vec![],
            )
            .await
            .ok()?;
        (state == "live").then_some(())
    })
    .await;
    browser.client.execute(PROBE, vec![]).await?;

    // Fill the timeline to what it holds, at whatever pace the page takes.
    let ms = now_ms() + 1;
    let last = arm(browser, ms, args.hold).await?;
    let filled = Instant::now();
    burst(stack, ms, args.hold).await;
    let read = shown(browser, &last, Duration::from_secs(300)).await?;
    println!(
        "filled: {} entries in {:.1} s; holds {}; JS heap {}",
        args.hold,
        filled.elapsed().as_secs_f64(),
        read["count"].as_str().unwrap_or("?"),
        mb(&read["heap"]),
    );

    // Let the page settle, then the measured burst.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let n = args.burst;
    let ms = now_ms() + 1;
    let last = arm(browser, ms, n).await?;
    if args.profile.is_some() {
        cdp(browser, "Profiler.enable", json!({})).await?;
        cdp(browser, "Profiler.start", json!({})).await?;
    }
    // A client of the feed beside the page: when the last entry is on the wire.
    let address = stack.url();
    let address = address.trim_start_matches("http://").trim_end_matches('/');
    let mut ws = test_support::WsClient::connect(address, None).await;
    ws.expect_caught_up().await;
    let on_wire = tokio::spawn({
        let last = last.clone();
        async move {
            ws.entry_where(Duration::from_secs(300), |e| e.id == last)
                .await;
            now_ms()
        }
    });
    let (started, sent) = burst(stack, ms, n).await;
    let read = shown(browser, &last, Duration::from_secs(300)).await?;
    let on_wire = on_wire.await?;
    if let Some(file) = &args.profile {
        let profile = cdp(browser, "Profiler.stop", json!({})).await?;
        std::fs::write(file, profile["profile"].to_string())?;
        println!("profile: {file}");
    }
    let shown_at = read["shownAt"].as_u64().context("shownAt")?;
    let intake = n as f64 / (shown_at.saturating_sub(started).max(1) as f64 / 1000.0);
    println!("burst: {n} entries appended in {} ms", sent - started);
    println!("intake: {intake:.0} entries/s (first XADD to the last entry in the DOM)");
    println!(
        "last XADD to shown: {} ms (to a Rust client of the feed: {} ms)",
        shown_at.saturating_sub(sent),
        on_wire.saturating_sub(sent)
    );
    match read["longest"].as_f64() {
        Some(longest) => println!(
            "longest main-thread task: {longest:.0} ms ({} long tasks over 50 ms)",
            read["longTasks"]
        ),
        None => println!("longest main-thread task: none over 50 ms"),
    }
    println!(
        "longest gap between animation frames: {:.0} ms",
        read["maxGap"].as_f64().unwrap_or_default()
    );
    if let Some(frame) = read["longestFrame"].as_object() {
        println!("{}", describe_frame(frame));
    }
    // Held entries are dropped as new ones come: the page keeps what it keeps.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let read = browser.client.execute(READ, vec![]).await?;
    println!(
        "holds: {}; JS heap {}",
        read["count"].as_str().unwrap_or("?"),
        mb(&read["heap"])
    );
    Ok(())
}

/// The longest animation frame (Long Animation Frames API): how it split between scripts and
/// rendering, and its longest scripts.
fn describe_frame(frame: &serde_json::Map<String, Value>) -> String {
    let ms = |v: &Value| v.as_f64().unwrap_or_default();
    let mut scripts: Vec<&Value> = frame["scripts"].as_array().into_iter().flatten().collect();
    scripts.sort_by(|a, b| ms(&b["duration"]).total_cmp(&ms(&a["duration"])));
    let scripts: Vec<String> = scripts
        .iter()
        .take(4)
        .map(|s| {
            format!(
                "{} {:.0} ms (forced layout {:.0} ms)",
                s["invoker"].as_str().unwrap_or("?"),
                ms(&s["duration"]),
                ms(&s["forcedLayout"])
            )
        })
        .collect();
    format!(
        "longest animation frame: {:.0} ms, rendering {:.0} ms of it (style and layout {:.0} ms); \
         scripts: {}",
        ms(&frame["duration"]),
        ms(&frame["render"]),
        ms(&frame["styleAndLayout"]),
        if scripts.is_empty() {
            "none".to_owned()
        } else {
            scripts.join(", ")
        }
    )
}

/// A Chrome DevTools Protocol command, through chromedriver.
async fn cdp(browser: &Browser, cmd: &str, params: Value) -> Result<Value> {
    Ok(browser
        .client
        .issue_cmd(Cdp(json!({ "cmd": cmd, "params": params })))
        .await?)
}

#[derive(Debug)]
struct Cdp(Value);

impl WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!(
            "session/{}/goog/cdp/execute",
            session.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(self.0.to_string()))
    }
}
