//! Connections that never finish a request: closed by the header-read timeout, capped per
//! address, while other clients keep being served; and the request timeout.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use crate::helpers::{error_of, spawn_app_with, until};

/// The start of a request head, never finished.
const HALF_REQUEST: &[u8] = b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n";

/// A connection from `source` (a loopback address) to the relay.
async fn connect_from(source: &str, relay: &str) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket
        .bind(format!("{source}:0").parse::<SocketAddr>().unwrap())
        .unwrap();
    socket
        .connect(relay.parse::<SocketAddr>().unwrap())
        .await
        .unwrap()
}

/// A whole `GET /api/health` on a new connection from `source`: its status line's code and
/// how long it took, or `None` if the connection was closed without an answer.
async fn health_from(source: &str, relay: &str) -> (Option<u16>, Duration) {
    let started = Instant::now();
    let mut stream = connect_from(source, relay).await;
    let answer = async {
        stream
            .write_all(
                format!("GET /api/health HTTP/1.1\r\nHost: {relay}\r\nConnection: close\r\n\r\n")
                    .as_bytes(),
            )
            .await
            .ok()?;
        let mut bytes = Vec::new();
        stream.read_to_end(&mut bytes).await.ok()?;
        let text = String::from_utf8_lossy(&bytes);
        text.split(' ').nth(1)?.parse().ok()
    };
    let code = tokio::time::timeout(Duration::from_secs(10), answer)
        .await
        .ok()
        .flatten();
    (code, started.elapsed())
}

/// Reads until the server closes `stream` (end of file or a reset), at most `within`; what
/// was read, or `None` if it stayed open.
async fn closed_within(stream: &mut TcpStream, within: Duration) -> Option<Vec<u8>> {
    let mut got = Vec::new();
    let read = tokio::time::timeout(within, async {
        let mut buf = [0u8; 1024];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    read.ok().map(|()| got)
}

#[tokio::test]
async fn half_sent_requests_are_closed_by_the_header_read_timeout_while_others_are_served() {
    backend::http::connections::raise_file_limit();
    let header_timeout = Duration::from_millis(1500);
    let app = spawn_app_with(|c| {
        c.header_read_timeout_ms = header_timeout.as_millis() as u64;
        c.max_pending_connections_per_client = 10_000;
    })
    .await;
    let relay = app.address.clone();

    // The attack: a few hundred connections from 127.0.0.1, each half a request head.
    const HELD: usize = 300;
    let mut held = Vec::with_capacity(HELD);
    for _ in 0..HELD {
        // Before the connect: the relay's timeout cannot have started earlier.
        let opened = Instant::now();
        let mut stream = connect_from("127.0.0.1", &relay).await;
        stream.write_all(HALF_REQUEST).await.unwrap();
        held.push((opened, stream));
    }

    // Meanwhile another address's health checks, each on a new connection.
    let mut latencies = Vec::new();
    for _ in 0..20 {
        let (code, took) = health_from("127.0.0.2", &relay).await;
        assert_eq!(code, Some(200), "health from another address under attack");
        latencies.push(took);
    }
    latencies.sort();
    let median = latencies[latencies.len() / 2];
    let max = *latencies.last().unwrap();
    eprintln!("health under {HELD} half requests: median {median:?}, max {max:?}");
    assert!(median < Duration::from_millis(100), "median {median:?}");
    assert!(max < Duration::from_secs(2), "max {max:?}");

    // Every half request is closed by the relay, after the timeout and not long after.
    let slack = Duration::from_secs(5);
    let mut earliest = Duration::MAX;
    let mut latest = Duration::ZERO;
    for (i, (opened, stream)) in held.iter_mut().enumerate() {
        let left = (*opened + header_timeout + slack).saturating_duration_since(Instant::now());
        assert!(
            closed_within(stream, left).await.is_some(),
            "half request {i} still open {:?} after it was sent",
            opened.elapsed()
        );
        let after = opened.elapsed();
        earliest = earliest.min(after);
        latest = latest.max(after);
    }
    eprintln!("half requests closed between {earliest:?} and {latest:?} after they were sent");
    assert!(
        earliest >= header_timeout.mul_f64(0.9),
        "closed at {earliest:?}, before the {header_timeout:?} timeout"
    );
}

#[tokio::test]
async fn an_address_over_its_pending_cap_is_refused_while_another_is_served() {
    const CAP: usize = 20;
    let app = spawn_app_with(|c| {
        // Long: what is closed in this test is refused, not timed out.
        c.header_read_timeout_ms = 60_000;
        c.max_pending_connections_per_client = CAP;
    })
    .await;
    let relay = app.address.clone();

    let mut held = Vec::new();
    for _ in 0..CAP {
        let mut stream = connect_from("127.0.0.1", &relay).await;
        stream.write_all(HALF_REQUEST).await.unwrap();
        held.push(stream);
    }
    // Beyond the cap: closed at once, with a 429 when it arrives first.
    for i in 0..5 {
        let mut over = connect_from("127.0.0.1", &relay).await;
        let said = closed_within(&mut over, Duration::from_secs(5))
            .await
            .unwrap_or_else(|| panic!("connection {} over the cap of {CAP} still open", i + 1));
        let said = String::from_utf8_lossy(&said);
        assert!(
            said.is_empty()
                || (said.starts_with("HTTP/1.1 429") && said.contains("too_many_connections")),
            "{said}"
        );
    }
    // Another address is served all the while.
    let (code, _) = health_from("127.0.0.2", &relay).await;
    assert_eq!(code, Some(200));
    // The held ones were not closed by the refusals.
    for stream in &mut held[..3] {
        assert!(
            closed_within(stream, Duration::from_millis(100))
                .await
                .is_none()
        );
    }
    // Closing them frees the places.
    drop(held);
    until(
        Duration::from_secs(10),
        "127.0.0.1 served again",
        async || health_from("127.0.0.1", &relay).await.0 == Some(200),
    )
    .await;
}

#[tokio::test]
async fn a_request_over_the_request_timeout_is_answered_503_and_a_websocket_outlives_it() {
    let app = spawn_app_with(|c| c.request_timeout_ms = 300).await;
    let mut ws = app.ws(None).await;
    ws.expect_caught_up().await;

    let started = Instant::now();
    let response = app
        .get("/api/claims?after=9999999999999-0&wait_ms=5000")
        .await;
    let took = started.elapsed();
    let (status, code, message) = error_of(response).await;
    assert_eq!(
        (status, code.as_str()),
        (503, "request_timeout"),
        "{message}"
    );
    assert!(message.contains("300 ms"), "{message}");
    assert!(took < Duration::from_secs(3), "answered after {took:?}");

    // The WebSocket, open longer than the request timeout, still carries the feed.
    assert!(started.elapsed() > Duration::from_millis(300));
    app.submit("12.00").await;
    assert_eq!(ws.entries(1).await.len(), 1);
}

#[tokio::test]
async fn a_kept_alive_connection_is_closed_after_the_idle_timeout_not_the_header_one() {
    let header_timeout = Duration::from_millis(300);
    let idle_timeout = Duration::from_millis(2000);
    let app = spawn_app_with(|c| {
        c.header_read_timeout_ms = header_timeout.as_millis() as u64;
        c.idle_timeout_ms = idle_timeout.as_millis() as u64;
    })
    .await;
    let relay = app.address.clone();
    let mut stream = connect_from("127.0.0.1", &relay).await;
    stream
        .write_all(format!("GET /api/health HTTP/1.1\r\nHost: {relay}\r\n\r\n").as_bytes())
        .await
        .unwrap();
    // The whole answer (its length is in its head), then nothing more is sent.
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let answered = loop {
        let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf))
            .await
            .expect("an answer")
            .unwrap();
        assert!(n > 0, "closed before answering");
        got.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&got);
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length: usize = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length: ")
                        .map(|v| v.trim().parse().unwrap())
                })
                .expect("content-length");
            if body.len() >= length {
                assert!(head.starts_with("HTTP/1.1 200"), "{head}");
                break Instant::now();
            }
        }
    };
    let rest = closed_within(&mut stream, idle_timeout + Duration::from_secs(5))
        .await
        .expect("the idle connection is closed");
    assert!(rest.is_empty());
    let after = answered.elapsed();
    eprintln!("idle connection closed {after:?} after its answer");
    assert!(
        after >= idle_timeout.mul_f64(0.9),
        "closed {after:?} after the answer: the idle timeout is {idle_timeout:?}"
    );
}
