//! `GET /api/streams/{key}/search`: the relay's own streams filtered inside Redis, a bounded
//! scan a page at a time that continues exactly where it stopped, and downloads as CSV or
//! NDJSON.

use std::time::{Duration, Instant};

use futures_util::future::join_all;
use shared::api::{SearchPage, SearchStop, StreamEntry};
use test_support::api::json_of;
use test_support::streams::{self, NewEntry};
use test_support::{TestApp, expect_error, spawn_app, spawn_app_with};

const TYPES: [&str; 3] = ["claim_submitted", "claim_note_added", "claim_paid"];

/// Entry `i`: id `<1000 + i>-0`, its type, claim, customer and note all following from `i`.
fn numbered(i: usize) -> NewEntry {
    let fields = [
        ("type", TYPES[i % 3].to_owned()),
        ("v", "2".to_owned()),
        ("claim_id", format!("CLM-{}", i % 10)),
        ("customer_id", format!("CUST-{}", i % 4)),
        ("timestamp", "2026-11-23T10:00:00.000Z".to_owned()),
        ("note", format!("n{i}")),
    ];
    (
        format!("{}-0", 1_000 + i),
        fields.map(|(k, v)| (k.to_owned(), v)).to_vec(),
    )
}

/// `count` numbered entries appended to `key`, a thousand a round trip.
async fn append_numbered(app: &TestApp, key: &str, count: usize) {
    let mut conn = app.redis().await;
    for start in (0..count).step_by(1_000) {
        let batch = (start..(start + 1_000).min(count)).map(numbered);
        streams::xadd_pipelined(&mut conn, key, batch).await;
    }
}

fn id_of(i: usize) -> String {
    format!("{}-0", 1_000 + i)
}

fn ids(page: &SearchPage) -> Vec<&str> {
    page.matches.iter().map(|e| e.id.as_str()).collect()
}

async fn search(app: &TestApp, key: &str, query: &str) -> SearchPage {
    json_of(app.get(&format!("/api/streams/{key}/search?{query}")).await).await
}

/// Every page of a search, `after` each page's `next_after`, until the end.
async fn all_pages(app: &TestApp, key: &str, query: &str) -> (Vec<StreamEntry>, Vec<SearchPage>) {
    let (mut matches, mut pages) = (Vec::new(), Vec::new());
    let mut after: Option<String> = None;
    for _ in 0..100 {
        let query = match &after {
            Some(after) => format!("{query}&after={after}"),
            None => query.to_owned(),
        };
        let page = search(app, key, &query).await;
        matches.extend(page.matches.iter().cloned());
        after = page.next_after.clone();
        let done = page.reached_end;
        pages.push(page);
        if done {
            assert_eq!(after, None, "the end gives nothing to continue after");
            return (matches, pages);
        }
        assert!(
            after.is_some(),
            "a page that did not reach the end says where to go on"
        );
    }
    panic!("100 pages did not reach the end");
}

#[tokio::test]
async fn a_search_finds_entries_by_type_claim_customer_and_any_field() {
    let app = spawn_app().await;
    append_numbered(&app, "claims:events", 300).await;
    // Another producer's style: a dotted `event_type`.
    streams::xadd_pipelined(
        &mut app.redis().await,
        "claims:events",
        [(
            "5000-0".to_owned(),
            vec![
                ("event_type".to_owned(), "claim.paid".to_owned()),
                ("claim_id".to_owned(), "CLM-3".to_owned()),
            ],
        )],
    )
    .await;
    let expect = |keep: &dyn Fn(usize) -> bool| -> Vec<String> {
        (0..300).filter(|i| keep(*i)).map(id_of).collect()
    };

    let paid = search(&app, "claims:events", "type=claim_paid&limit=1000").await;
    let mut wanted = expect(&|i| i % 3 == 2);
    wanted.push("5000-0".into());
    assert_eq!(ids(&paid), wanted);
    assert_eq!(paid.stopped, SearchStop::End);
    assert!(paid.reached_end);
    assert_eq!(paid.examined, 301);
    assert_eq!(paid.last_examined.as_deref(), Some("5000-0"));
    assert_eq!(paid.next_after, None);
    // The filtering ran in Redis, as one script call.
    assert_eq!(paid.redis.len(), 1, "{:?}", paid.redis);
    assert!(paid.redis[0].starts_with("EVALSHA "), "{:?}", paid.redis);

    let claim = search(&app, "claims:events", "claim=CLM-3&limit=1000").await;
    let mut wanted = expect(&|i| i % 10 == 3);
    wanted.push("5000-0".into());
    assert_eq!(ids(&claim), wanted);

    let both = search(
        &app,
        "claims:events",
        "customer=CUST-1&type=claim_note_added&limit=1000",
    )
    .await;
    assert_eq!(ids(&both), expect(&|i| i % 4 == 1 && i % 3 == 1));

    let note = search(&app, "claims:events", "field=note:n42").await;
    assert_eq!(ids(&note), [id_of(42)]);
    // `field` again: each must hold; a value may hold colons.
    let fields = search(
        &app,
        "claims:events",
        "field=claim_id:CLM-3&field=customer_id:CUST-1&limit=1000",
    )
    .await;
    assert_eq!(ids(&fields), expect(&|i| i % 10 == 3 && i % 4 == 1));
    let timestamp = search(
        &app,
        "claims:events",
        "field=timestamp:2026-11-23T10:00:00.000Z&limit=1",
    )
    .await;
    assert_eq!(ids(&timestamp), [id_of(0)]);
    assert_eq!(timestamp.stopped, SearchStop::Limit);
    assert_eq!(timestamp.examined, 1, "a page stops at its last match");
    assert_eq!(timestamp.next_after.as_deref(), Some(id_of(0).as_str()));

    let none = search(&app, "claims:events", "field=note:nowhere").await;
    assert!(none.matches.is_empty() && none.reached_end);
}

#[tokio::test]
async fn from_and_to_bound_the_scan_by_id_or_by_time() {
    let app = spawn_app().await;
    append_numbered(&app, "claims:events", 300).await;

    let ids_page = search(&app, "claims:events", "from=1100-0&to=1199-0&limit=1000").await;
    assert_eq!(ids(&ids_page), (100..200).map(id_of).collect::<Vec<_>>());
    assert_eq!(ids_page.examined, 100, "only the range is scanned");
    assert!(ids_page.reached_end);

    // Entry i was appended at millisecond 1000 + i: times bound it the same.
    let times = search(
        &app,
        "claims:events",
        "from=1970-01-01T00:00:01.100Z&to=1970-01-01T00:00:01.199Z&type=claim_paid&limit=1000",
    )
    .await;
    let paid: Vec<String> = (100..200).filter(|i| i % 3 == 2).map(id_of).collect();
    assert_eq!(ids(&times), paid);
    let exclusive = search(&app, "claims:events", "from=(1100-0&to=(1105-0").await;
    assert_eq!(ids(&exclusive), (101..105).map(id_of).collect::<Vec<_>>());
}

#[tokio::test]
async fn pages_continue_exactly_where_the_last_stopped_and_the_scan_bound_is_said() {
    let app = spawn_app().await;
    let total = 23_000;
    append_numbered(&app, "claims:events", total).await;

    // Stopping at the limit: pages of 50 of claim CLM-3, every match once, in order.
    let (found, pages) = all_pages(&app, "claims:events", "claim=CLM-3&limit=50").await;
    let wanted: Vec<String> = (0..total).filter(|i| i % 10 == 3).map(id_of).collect();
    let got: Vec<&str> = found.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(got, wanted, "no gap and no duplicate");
    let first = &pages[0];
    assert_eq!(
        (first.stopped, first.matches.len()),
        (SearchStop::Limit, 50)
    );
    assert_eq!(
        first.examined,
        50 * 10 - 6,
        "it stops at the 50th match, entry 493"
    );

    // Stopping at the scan bound: one entry near the end.
    let started = Instant::now();
    let (found, pages) = all_pages(&app, "claims:events", "field=note:n22500").await;
    eprintln!(
        "3 pages over {total} entries, one match: {:?}",
        started.elapsed()
    );
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id, id_of(22_500));
    let first = &pages[0];
    assert_eq!(first.stopped, SearchStop::ScanBound);
    assert!(!first.reached_end);
    assert_eq!((first.examined, first.scan_bound), (10_000, 10_000));
    assert_eq!(first.last_examined.as_deref(), Some(id_of(9_999).as_str()));
    assert_eq!(first.next_after, first.last_examined);
    assert!(first.matches.is_empty());
    // Each call examines a bounded chunk, so other clients' commands pass between them.
    assert_eq!(first.redis.len(), 5, "{:?}", first.redis);
    assert_eq!(
        pages[1].last_examined.as_deref(),
        Some(id_of(19_999).as_str())
    );
    let last = pages.last().unwrap();
    assert_eq!((last.examined, last.stopped), (3_000, SearchStop::End));
    assert_eq!(pages.len(), 3);
}

/// RFC 4180, as a spreadsheet reads it: quoted values may hold commas, quotes and newlines.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let (mut rows, mut row, mut value) = (Vec::new(), Vec::new(), String::new());
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                value.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => value.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut value)),
            (false, '\r') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut value));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => value.push(c),
        }
    }
    assert!(
        !quoted && value.is_empty() && row.is_empty(),
        "ends with a row"
    );
    rows
}

#[tokio::test]
async fn a_download_is_csv_with_a_header_row_or_ndjson_an_entry_a_line() {
    let app = spawn_app().await;
    let tricky = [
        ("1-0", "CLM-1", "water, then fire"),
        ("2-0", "CLM-2", "he said \"no\""),
        ("3-0", "CLM-1", "line one\nline two\r\nline three"),
        ("4-0", "CLM-1", "plain"),
    ];
    let entries = tricky.map(|(id, claim, note)| {
        (
            id.to_owned(),
            vec![
                ("type".to_owned(), "claim_note_added".to_owned()),
                ("claim_id".to_owned(), claim.to_owned()),
                ("note".to_owned(), note.to_owned()),
            ],
        )
    });
    streams::xadd_pipelined(&mut app.redis().await, "claims:events", entries).await;
    // A field only some entries have gets a column, empty in the others.
    streams::xadd(
        &mut app.redis().await,
        "claims:events",
        &[("claim_id", "CLM-1"), ("extra", "x")],
    )
    .await;

    let r = app
        .get("/api/streams/claims:events/search?claim=CLM-1&format=csv")
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/csv; charset=utf-8");
    assert_eq!(
        r.headers()["content-disposition"],
        "attachment; filename=\"claims-events-search.csv\""
    );
    assert_eq!(r.headers()["x-search-stopped"], "end");
    assert_eq!(r.headers()["x-search-examined"], "5");
    let rows = parse_csv(&r.text().await.unwrap());
    assert_eq!(rows[0], ["id", "type", "claim_id", "note", "extra"]);
    assert_eq!(rows.len(), 5, "a header and four entries: {rows:?}");
    assert_eq!(
        rows[1],
        ["1-0", "claim_note_added", "CLM-1", "water, then fire", ""]
    );
    assert_eq!(
        rows[2],
        [
            "3-0",
            "claim_note_added",
            "CLM-1",
            "line one\nline two\r\nline three",
            ""
        ]
    );
    assert_eq!(rows[4][2..], ["CLM-1", "", "x"]);
    let quotes = app
        .get("/api/streams/claims:events/search?claim=CLM-2&format=csv")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(parse_csv(&quotes)[1][3], "he said \"no\"");

    let r = app
        .get("/api/streams/claims:events/search?claim=CLM-1&format=ndjson")
        .await;
    assert_eq!(r.headers()["content-type"], "application/x-ndjson");
    assert_eq!(
        r.headers()["content-disposition"],
        "attachment; filename=\"claims-events-search.ndjson\""
    );
    let text = r.text().await.unwrap();
    let lines: Vec<StreamEntry> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(lines.len(), 4);
    assert_eq!(lines[1].id, "3-0");
    assert_eq!(lines[1].fields[2].1, "line one\nline two\r\nline three");
}

#[tokio::test]
async fn bad_searches_are_refused_saying_what_is_wrong_and_the_limit() {
    let app = spawn_app().await;
    let cases = [
        ("secrets/search", "key_not_allowed", "claims:notifications"),
        (
            "claims:{claims:events}:all/search",
            "key_not_allowed",
            "cannot be searched",
        ),
        (
            "claims:failed:log/search",
            "key_not_allowed",
            "cannot be searched",
        ),
        (
            "claims:events/search?field=nocolon",
            "invalid_query",
            "name:value",
        ),
        (
            "claims:events/search?field=:x",
            "invalid_query",
            "name:value",
        ),
        (
            "claims:events/search?from=yesterday",
            "invalid_query",
            "RFC 3339",
        ),
        ("claims:events/search?to=soon", "invalid_query", "RFC 3339"),
        (
            "claims:events/search?from=2000-0&to=1000-0",
            "invalid_query",
            "is after to",
        ),
        (
            "claims:events/search?limit=1001",
            "invalid_query",
            "between 1 and 1000",
        ),
        (
            "claims:events/search?limit=0",
            "invalid_query",
            "between 1 and 1000",
        ),
        (
            "claims:events/search?limit=10001&format=csv",
            "invalid_query",
            "10000",
        ),
        (
            "claims:events/search?format=xml",
            "invalid_query",
            "json, csv or ndjson",
        ),
        (
            "claims:events/search?type=claim_exploded",
            "invalid_query",
            "claim_paid",
        ),
        (
            "claims:events/search?colour=red",
            "invalid_query",
            "limit, after, format",
        ),
        (
            "claims:events/search?claim=a&claim=b",
            "invalid_query",
            "once",
        ),
        ("claims:events/search?after=1:5-0", "invalid_query", "after"),
        (
            "claims:events/search?after=abc",
            "invalid_query",
            "stream id",
        ),
    ];
    for (path, code, says) in cases {
        let message = expect_error(app.get(&format!("/api/streams/{path}")).await, 400, code).await;
        assert!(message.contains(says), "{path}: {message}");
    }
    let nine = "field=a:1&".repeat(9);
    let message = expect_error(
        app.get(&format!("/api/streams/claims:events/search?{nine}"))
            .await,
        400,
        "invalid_query",
    )
    .await;
    assert!(message.contains("at most 8"), "{message}");
}

#[tokio::test]
async fn with_several_partitions_claims_events_is_searched_in_all_merged_by_id() {
    let app = spawn_app_with(|c| c.partitions = 3).await;
    // The same ids in every partition, and some of one partition only.
    let mut conn = app.redis().await;
    let mut everything = Vec::new();
    for p in 0..3_u32 {
        let key = format!("claims:events:{{{p}}}");
        let entries: Vec<NewEntry> = (0..40)
            .filter(|i| i % 3 == p as usize || i % 5 == 0)
            .map(numbered)
            .collect();
        everything.extend(
            entries
                .iter()
                .map(|(id, fields)| (id.clone(), p, fields.clone())),
        );
        streams::xadd_pipelined(&mut conn, &key, entries).await;
    }
    everything.sort_by(|a, b| {
        let id = |s: &str| s.trim_end_matches("-0").parse::<u64>().unwrap();
        (id(&a.0), a.1).cmp(&(id(&b.0), b.1))
    });
    let wanted: Vec<(String, u32)> = everything
        .iter()
        .filter(|(_, _, f)| f.iter().any(|(k, v)| k == "customer_id" && v == "CUST-0"))
        .map(|(id, p, _)| (id.clone(), *p))
        .collect();
    assert!(wanted.len() > 10, "{wanted:?}");

    let (found, pages) = all_pages(&app, "claims:events", "customer=CUST-0&limit=3").await;
    let got: Vec<(String, u32)> = found
        .iter()
        .map(|e| (e.id.clone(), e.partition.unwrap()))
        .collect();
    assert_eq!(
        got, wanted,
        "merged by id, then partition: no gap, no duplicate"
    );
    // Where a page ended names its partition.
    let after = pages[0].next_after.clone().unwrap();
    assert_eq!(after, format!("{}:{}", wanted[2].1, wanted[2].0));

    // One partition's own stream.
    let one = search(&app, "claims:events:{1}", "customer=CUST-0&limit=1000").await;
    let mine: Vec<&str> = wanted
        .iter()
        .filter(|(_, p)| *p == 1)
        .map(|(id, _)| id.as_str())
        .collect();
    assert_eq!(ids(&one), mine);
    assert!(one.matches.iter().all(|e| e.partition == Some(1)));
    let message = expect_error(
        app.get("/api/streams/claims:events/search?after=7:1000-0")
            .await,
        400,
        "invalid_query",
    )
    .await;
    assert!(message.contains("there are 3"), "{message}");
}

#[tokio::test]
async fn one_address_searching_in_a_loop_is_held_to_a_few_at_once_and_health_stays_fast() {
    let app = spawn_app().await;
    // A stream no projector reads, so only the searches keep Redis busy.
    append_numbered(&app, "claims:notifications", 30_000).await;
    let started = Instant::now();
    let one = app
        .get("/api/streams/claims:notifications/search?field=note:none&format=ndjson")
        .await;
    assert_eq!(one.headers()["x-search-stopped"], "end");
    assert_eq!(one.headers()["x-search-examined"], "30000");
    eprintln!(
        "a download scanning 30,000 entries: {:?}",
        started.elapsed()
    );

    let searching = async {
        let all = (0..16).map(|_| async {
            let r = app
                .get("/api/streams/claims:notifications/search?field=note:none&format=csv")
                .await;
            let status = r.status().as_u16();
            if status == 429 {
                let message = expect_error(r, 429, "too_many_requests").await;
                assert!(message.contains("4 stream searches"), "{message}");
            }
            status
        });
        join_all(all).await
    };
    let probing = async {
        let mut took = Vec::new();
        for _ in 0..20 {
            let started = Instant::now();
            let r = app.get("/api/health").await;
            let status = r.status();
            assert_eq!(status, 200, "{}", r.text().await.unwrap());
            took.push(started.elapsed());
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        took
    };
    let (statuses, mut took) = tokio::join!(searching, probing);
    let refused = statuses.iter().filter(|s| **s == 429).count();
    eprintln!("16 searches at once from one address: {statuses:?}");
    assert!(refused >= 8, "at most 4 under way at once: {statuses:?}");
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 429 || *s == 503),
        "{statuses:?}"
    );
    took.sort();
    let median = took[took.len() / 2];
    eprintln!(
        "/api/health meanwhile: median {median:?}, max {:?}",
        took.last()
    );
    assert!(
        median < Duration::from_millis(100),
        "health median {median:?}"
    );
}

#[tokio::test]
async fn a_search_out_of_time_stops_after_its_first_call_and_says_where() {
    let (_redis, db, mut conn) = crate::fixtures::bare_redis().await;
    let batch = (0..5_000).map(numbered);
    streams::xadd_pipelined(&mut conn, "claims:events", batch).await;
    let conditions = [backend::store::search::Condition {
        fields: vec!["note".into()],
        value: "nowhere".into(),
        event_type: false,
    }];
    let search = backend::store::search::Search {
        from: backend::store::entry_id::EntryId::ZERO,
        to: "99999-0".parse().unwrap(),
        after: None,
        scan_bound: 10_000,
        limit: 100,
        // Already past: the first call still runs, so every page moves on.
        deadline: Instant::now(),
        conditions: &conditions,
    };
    let streams = [(None, "claims:events".to_owned())];
    let mut trace = backend::store::trace::Trace::default();
    let found = backend::store::search::search(&db, &mut trace, &streams, &search)
        .await
        .unwrap();
    assert_eq!(found.stopped, backend::store::search::Stopped::Deadline);
    assert_eq!(found.examined, backend::store::search::CHUNK);
    let through = found.through.unwrap();
    assert_eq!(through.id.to_string(), id_of(1_999));
    assert_eq!(found.next(), Some(through));
    assert_eq!(trace.into_commands().len(), 1);
}
