use std::collections::HashSet;
use std::time::Duration;

use shared::api::ServerMessage;

use test_support::streams::xadd_numbered;
use test_support::{spawn_app, spawn_app_with};

#[tokio::test]
async fn catch_up_and_live_meet_without_gap_or_duplicate_while_appends_race_the_connect() {
    let app = spawn_app().await;
    for _ in 0..20 {
        app.submit("1.00").await;
    }
    // A fast writer, so entries land while each client is between subscribing to the live
    // feed and reading the stream: the seam where gaps and duplicates happen.
    const RAW: usize = 3_000;
    let mut conn = app.redis().await;
    let writer = tokio::spawn(async move {
        xadd_numbered(&mut conn, "claims:events", RAW, 10).await;
    });
    let mut clients = Vec::new();
    for _ in 0..10 {
        tokio::time::sleep(Duration::from_millis(3)).await;
        clients.push(app.ws(Some("0")).await);
    }
    writer.await.unwrap();
    // A last entry after everything: a repeat would come before it, a gap would shift it.
    app.raw_xadd(&[("marker", "last")]).await;
    let stream: Vec<String> = app.xrange().await.into_iter().map(|(id, _)| id).collect();
    assert_eq!(stream.len(), 20 + RAW + 1);
    for ws in &mut clients {
        let ids: Vec<String> = ws
            .entries(stream.len())
            .await
            .into_iter()
            .map(|e| e.id)
            .collect();
        assert_eq!(
            ids, stream,
            "the socket must deliver exactly the stream, in order"
        );
    }
}

#[tokio::test]
async fn entries_appended_at_the_seam_reach_the_client_once_each() {
    let app = spawn_app().await;
    for _ in 0..5 {
        app.submit("1.00").await;
    }
    // Hold the client after it subscribed to the live feed and before it reads the stream:
    // what is appended now arrives both live and in the catch-up.
    let hold = app.feed.hold_next_subscriber();
    let connecting = tokio::spawn({
        let address = app.address.clone();
        async move {
            tokio_tungstenite::connect_async(format!("ws://{address}/api/ws?since=0"))
                .await
                .expect("websocket connects")
                .0
        }
    });
    hold.subscribed.await.unwrap();
    for i in 0..50 {
        app.raw_xadd(&[("n", &i.to_string())]).await;
    }
    hold.proceed.send(()).unwrap();
    let mut ws = test_support::WsClient::from(connecting.await.unwrap());
    // Then one more, live only: it must come right after the 55, with nothing repeated.
    let marker = app.raw_xadd(&[("marker", "last")]).await;
    let stream: Vec<String> = app.xrange().await.into_iter().map(|(id, _)| id).collect();
    assert_eq!(stream.len(), 56);
    let ids: Vec<String> = ws.entries(56).await.into_iter().map(|e| e.id).collect();
    assert_eq!(ids, stream, "exactly the stream, in order");
    assert_eq!(ids.last(), Some(&marker));
}

#[tokio::test]
async fn since_resumes_after_the_given_id() {
    let app = spawn_app().await;
    let first = app.submit("1").await.entry_id;
    let second = app.submit("2").await.entry_id;
    let mut ws = app.ws(Some(&first)).await;
    let got = ws.entries(1).await;
    assert_eq!(got[0].id, second);
    assert_eq!(ws.expect_caught_up().await, second);
}

#[tokio::test]
async fn without_since_only_new_entries_are_sent() {
    let app = spawn_app().await;
    app.submit("1").await;
    let mut ws = app.ws(None).await;
    ws.expect_caught_up().await;
    let fresh = app.submit("2").await.entry_id;
    let got = ws.entries(1).await;
    assert_eq!(got[0].id, fresh);
}

#[tokio::test]
async fn a_raw_xadd_from_redis_cli_appears_live_and_decoded() {
    let app = spawn_app().await;
    let mut ws = app.ws(None).await;
    ws.expect_caught_up().await;
    let id = app.raw_submitted("CLM-CLI").await;
    let got = ws.entries(1).await;
    assert_eq!(got[0].id, id);
    let event = got[0].event.as_ref().expect("decoded");
    assert_eq!(event.claim_id.as_str(), "CLM-CLI");
    assert!(got[0].error.is_none());
}

#[tokio::test]
async fn a_malformed_entry_is_pushed_raw_with_its_decode_error() {
    let app = spawn_app().await;
    let mut ws = app.ws(None).await;
    ws.expect_caught_up().await;
    let bad = app
        .raw_xadd(&[("type", "claim_submitted"), ("v", "1"), ("amount", "lots")])
        .await;
    let foreign = app.raw_xadd(&[("hello", "world")]).await;
    let after = app.submit("3").await.entry_id;
    let got = ws.entries(3).await;
    assert_eq!(
        got.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
        [bad.as_str(), foreign.as_str(), after.as_str()]
    );
    assert!(got[0].event.is_none());
    assert_eq!(
        got[0].error.as_deref(),
        Some("field `amount`: \"lots\" is not a decimal number like 5000.00")
    );
    assert_eq!(
        got[1].fields,
        vec![("hello".to_owned(), "world".to_owned())]
    );
    assert_eq!(got[1].error.as_deref(), Some("missing field `type`"));
    assert!(got[2].event.is_some());
}

#[tokio::test]
async fn many_clients_each_receive_every_entry_once() {
    let app = spawn_app().await;
    let mut clients = Vec::new();
    for _ in 0..20 {
        let mut ws = app.ws(None).await;
        ws.expect_caught_up().await;
        clients.push(ws);
    }
    let mut sent = Vec::new();
    for _ in 0..30 {
        sent.push(app.submit("5").await.entry_id);
    }
    for ws in &mut clients {
        let ids: Vec<String> = ws.entries(30).await.into_iter().map(|e| e.id).collect();
        assert_eq!(ids, sent);
        assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 30);
    }
}

#[tokio::test]
async fn shutting_down_closes_open_websockets_instead_of_waiting_for_them() {
    let app = spawn_app().await;
    let mut ws = app.ws(None).await;
    ws.expect_caught_up().await;
    tokio::time::timeout(Duration::from_secs(5), app.shutdown())
        .await
        .expect("shutdown finishes with a client connected");
    assert!(
        ws.closes_within(Duration::from_secs(2)).await,
        "the socket is closed"
    );
}

#[tokio::test]
async fn a_client_that_falls_behind_is_told_and_resumed_without_gap_or_duplicate() {
    let app = spawn_app_with(|c| c.ws_client_buffer = 16).await;
    let mut slow = app.ws(None).await;
    slow.expect_caught_up().await;
    // The client reads nothing while far more than its buffer (and the socket buffers) is
    // appended.
    const N: usize = 60_000;
    let mut conn = app.redis().await;
    xadd_numbered(&mut conn, "claims:events", N, 1_000).await;
    let stream: Vec<String> = app.xrange().await.into_iter().map(|(id, _)| id).collect();
    let mut ids = Vec::new();
    let mut lagged = 0;
    while ids.len() < N {
        match slow.next(Duration::from_secs(10)).await {
            Some(ServerMessage::Entry { entry }) => ids.push(entry.id),
            Some(ServerMessage::Lagged { resume_from }) => {
                assert_eq!(
                    Some(&resume_from),
                    ids.last(),
                    "resumes from the last id it sent"
                );
                lagged += 1;
            }
            Some(_) => {}
            None => panic!("only {} of {N} entries arrived", ids.len()),
        }
    }
    assert!(lagged >= 1, "the client was never told it fell behind");
    assert_eq!(ids, stream);
}

/// The entries of each frame the client receives until `n` entries have come (other
/// messages skipped); panics if they do not within 10 s a frame.
async fn frames_of_entries(ws: &mut test_support::WsClient, n: usize) -> Vec<Vec<String>> {
    let mut frames = Vec::new();
    let mut got = 0;
    while got < n {
        let ids: Vec<String> = match ws.next_frame(Duration::from_secs(10)).await {
            Some(ServerMessage::Entry { entry }) => vec![entry.id],
            Some(ServerMessage::Entries { entries }) => entries.into_iter().map(|e| e.id).collect(),
            Some(_) => continue,
            None => panic!("only {got} of {n} entries arrived"),
        };
        got += ids.len();
        frames.push(ids);
    }
    frames
}

#[tokio::test]
async fn a_live_burst_arrives_in_a_few_bounded_frames_exactly_as_the_stream() {
    let app = spawn_app().await;
    let mut ws = app.ws(None).await;
    ws.expect_caught_up().await;
    const N: usize = 3_000;
    let mut conn = app.redis().await;
    xadd_numbered(&mut conn, "claims:events", N, 1_000).await;
    let stream: Vec<String> = app.xrange().await.into_iter().map(|(id, _)| id).collect();
    let frames = frames_of_entries(&mut ws, N).await;
    assert_eq!(frames.concat(), stream, "exactly the stream, in order");
    // What is ready together shares a frame: on average at least 10 entries a frame, however
    // busy the machine (a busier one only leaves more ready at once).
    assert!(
        frames.len() <= N / 10,
        "{} frames for {N} entries",
        frames.len()
    );
    let largest = frames.iter().map(Vec::len).max().unwrap_or(0);
    assert!(largest <= 500, "a frame of {largest} entries");
}

#[tokio::test]
async fn a_catch_up_sends_a_page_a_frame() {
    let app = spawn_app().await;
    let mut conn = app.redis().await;
    xadd_numbered(&mut conn, "claims:events", 1_200, 1_000).await;
    let mut ws = app.ws(Some("0")).await;
    let frames = frames_of_entries(&mut ws, 1_200).await;
    let sizes: Vec<usize> = frames.iter().map(Vec::len).collect();
    assert_eq!(sizes, [500, 500, 200], "pages of 500, each one frame");
    assert!(matches!(
        ws.next_frame(Duration::from_secs(10)).await,
        Some(ServerMessage::CaughtUp { .. })
    ));
}
