//! The live timeline: entries from the form, from the API and from Redis itself, in every
//! window, across relay restarts, by the thousand and across partitions.

use std::time::Duration;

use crate::fixture::{with_browsers, with_playground, with_playground_logging};
use crate::harness::{Browser, Stack, eventually};
use crate::page::Playground;

#[tokio::test]
async fn a_submitted_claim_appears_in_the_timeline_within_2_s_and_in_redis() {
    with_playground(Stack::start(), async |stack, page| {
        let (claim_id, entry_id) = page
            .submit_claim("CUST-001", "5000.00", "Water damage")
            .await;
        page.wait_for_entry(&entry_id, Duration::from_secs(20))
            .await;

        assert!(claim_id.starts_with("CLM-"));
        assert_eq!(stack.stream_ids().await, vec![entry_id.clone()]);
        // The append shows as the EVALSHA that was sent, its XADD inside it as one atomic step.
        let sent = page.text("redis-command").await;
        assert!(sent.starts_with("EVALSHA "), "{sent}");
        let inside = page.text("redis-atomic").await;
        assert!(inside.contains("one atomic step"), "{inside}");
        assert!(
            inside.contains("XADD claims:events * type claim_submitted"),
            "{inside}"
        );
        // The script's text is fetched by its sha when opened.
        page.click_css("[data-testid=redis-atomic] summary").await;
        let source = eventually(Duration::from_secs(10), "the script's text", || async {
            let text = page.text("redis-script-source").await;
            text.contains("redis.call").then_some(text)
        })
        .await;
        assert!(source.contains("'XADD'"), "{source}");
        page.screenshot_at("redis-panel", "01-submitted-redis")
            .await;
        page.screenshot("01-submitted").await;
    })
    .await;
}

#[tokio::test]
async fn an_entry_added_straight_to_redis_appears_live() {
    with_playground(Stack::start(), async |stack, page| {
        let id = stack
            .raw_xadd(&[
                ("type", "claim_submitted"),
                ("v", "1"),
                ("claim_id", "CLM-FROM-CLI"),
                ("customer_id", "CUST-9"),
                ("timestamp", "2026-11-23T10:00:00.000Z"),
                ("amount", "42.00"),
                ("description", "typed in redis-cli"),
            ])
            .await;
        let junk = stack.raw_xadd(&[("hello", "world")]).await;
        page.wait_for_entry(&id, Duration::from_secs(20)).await;
        page.wait_for_entry(&junk, Duration::from_secs(20)).await;
        let timeline = page.text("timeline").await;
        assert!(timeline.contains("CLM-FROM-CLI"), "{timeline}");
        let raw = page.inspect(&junk).await;
        assert!(
            raw.contains("Not a claim event: missing field `type`"),
            "{raw}"
        );
        assert!(raw.contains("hello") && raw.contains("world"), "{raw}");
        page.screenshot("02-raw-xadd").await;
    })
    .await;
}

#[tokio::test]
async fn two_browser_windows_see_each_others_claims_live() {
    with_browsers(
        Stack::start(),
        async |stack, [first, second]: &[Browser; 2]| {
            let a = Playground::open(first, &stack.url()).await;
            let b = Playground::open(second, &stack.url()).await;

            let (_, from_a) = a.submit_claim("CUST-A", "10.00", "from window A").await;
            let (_, from_b) = b.submit_claim("CUST-B", "20.00", "from window B").await;

            b.wait_for_entry(&from_a, Duration::from_secs(20)).await;
            a.wait_for_entry(&from_b, Duration::from_secs(20)).await;
            assert_eq!(a.timeline_ids().await, b.timeline_ids().await);
            a.assert_no_console_errors().await;
            b.assert_no_console_errors().await;
        },
    )
    .await;
}

#[tokio::test]
async fn after_a_relay_restart_the_timeline_shows_what_was_added_meanwhile_exactly_once() {
    // Chromium logs each request the page made while the relay was down: the feed's
    // reconnects (the first after 0.5 s) and any refresh that was on its way, such as the
    // board's read of the claim just submitted (how long the relay stays down, and what was
    // in flight, depends on how busy the machine is).
    let refused = "net::ERR_CONNECTION_REFUSED";
    with_playground_logging(&[refused], Stack::start(), async |stack, page| {
        let (_, before) = page
            .submit_claim("CUST-003", "30.00", "before the restart")
            .await;
        page.wait_for_entry(&before, Duration::from_secs(20)).await;

        stack.stop_relay().await;
        eventually(Duration::from_secs(15), "the page to notice", || async {
            let state = page.text("connection-status").await;
            state.contains("Disconnected").then_some(())
        })
        .await;
        page.screenshot("06-disconnected").await;
        let mut meanwhile = Vec::new();
        for n in 0..3 {
            meanwhile.push(
                stack
                    .raw_xadd(&[("note", &format!("added while the relay was down #{n}"))])
                    .await,
            );
        }
        stack.start_relay().await;

        page.wait_connected().await;
        for id in &meanwhile {
            page.wait_for_entry(id, Duration::from_secs(20)).await;
        }
        let mut expected = stack.stream_ids().await;
        expected.reverse();
        assert_eq!(
            page.timeline_ids().await,
            expected,
            "each entry exactly once, newest first"
        );
        page.screenshot("07-reconnected").await;
    })
    .await;
}

#[tokio::test]
async fn the_timeline_keeps_the_dom_small_with_thousands_of_entries_and_pages_back_on_scroll() {
    let stack = Stack::start_then(async |stack| {
        stack.xadd_many(12_000).await;
    });
    with_playground(stack, async |stack, page| {
    assert_eq!(page.text("timeline-count").await, "100 entries");

    // Ten thousand more arrive live while the page is open, at 10,000 a second (1,000 every
    // 100 ms): the rate the page is specified to take in. The newest shows at the top.
    let newest = stack
        .xadd_paced(10_000, 1_000, Duration::from_millis(100))
        .await;
    page.wait_for_entry(&newest, Duration::from_secs(30)).await;
    assert_eq!(page.text("timeline-count").await, "10100 entries");
    let rows = page.timeline_ids().await.len();
    assert!(rows <= 40, "{rows} rows in the DOM");

    // Scrolling to the end pages older entries in from the stream.
    let count: usize = eventually(Duration::from_secs(20), "older entries", || async {
        page.browser
            .client
            .execute(
                "const t = document.querySelector('[data-testid=timeline]'); t.scrollTop = t.scrollHeight;",
                vec![],
            )
            .await
            .unwrap();
        let text = page.text("timeline-count").await;
        let n: usize = text.split(' ').next()?.parse().ok()?;
        (n > 10_100).then_some(n)
    })
    .await;
    assert_eq!((count - 10_100) % 200, 0, "whole pages of 200: {count}");
    assert!(page.timeline_ids().await.len() <= 40);
    page.screenshot("08-many-entries").await;
    })
    .await;
}

#[tokio::test]
async fn partitioned_claims_say_their_partition_and_every_entry_arrives() {
    with_playground(
        Stack::start_with(|c| c.partitions = 3),
        async |stack, page| {
            let partitions = backend::store::keys::Partitions::new(3).unwrap();
            let mut claims = Vec::new();
            for n in 0..9 {
                claims.push(stack.submit_for(&format!("CUST-PART{n}"), "42.00").await);
            }
            let used: std::collections::HashSet<u32> = claims
                .iter()
                .map(|(c, _)| partitions.of(c).index())
                .collect();
            assert!(
                used.len() > 1,
                "the claims all fell in one partition: {claims:?}"
            );
            // Every entry arrives live, though ids of different partitions do not order, and each
            // row says its claim's partition.
            for (claim, entry) in &claims {
                page.wait_for_entry(entry, Duration::from_secs(20)).await;
                let expected = format!("p{}", partitions.of(claim).index());
                let badges = page
                    .browser
                    .client
                    .find_all(fantoccini::Locator::Css(&format!(
                        r#"[data-entry-id="{entry}"] .part"#
                    )))
                    .await
                    .unwrap();
                let mut said = Vec::new();
                for badge in badges {
                    said.push(badge.text().await.unwrap());
                }
                assert!(
                    said.contains(&expected),
                    "{claim}: {said:?}, expected {expected}"
                );
            }
            // An entry of one partition with an id older than another partition's newest, appended
            // after it (as a busy partition's entries can be): it arrives too, ids order nothing
            // across partitions.
            let mut newest = Vec::new();
            for p in partitions.all() {
                let last: Vec<(String, Vec<(String, String)>)> = redis::cmd("XREVRANGE")
                    .arg(p.events())
                    .arg("+")
                    .arg("-")
                    .arg("COUNT")
                    .arg(1)
                    .query_async(&mut stack.redis().await)
                    .await
                    .unwrap();
                let ms: u64 = last
                    .first()
                    .and_then(|(id, _)| id.split('-').next()?.parse().ok())
                    .unwrap_or(0);
                newest.push((ms, p));
            }
            newest.sort();
            let ((behind_ms, behind), (ahead_ms, _)) = (newest[0], newest[2]);
            assert!(ahead_ms > behind_ms + 1, "{newest:?}");
            let late = format!("{}-0", behind_ms + 1);
            let _: String = redis::cmd("XADD")
                .arg(behind.events())
                .arg(&late)
                .arg("note")
                .arg("appended late by hand")
                .query_async(&mut stack.redis().await)
                .await
                .unwrap();
            page.wait_for_entry(&late, Duration::from_secs(20)).await;
            // The partition view: a row per partition, each with its length.
            eventually(Duration::from_secs(10), "the partition view", || async {
                let mut rows = 0;
                for p in 0..3 {
                    rows += page.count(&format!("partition-{p}")).await;
                }
                (rows == 3).then_some(())
            })
            .await;
            page.screenshot_at("partitions", "25-partition-view").await;
            // A trim names a partition's stream: `claims:events` is not one to trim any more.
            let offered = eventually(
                Duration::from_secs(5),
                "the partitions' streams to trim",
                || async {
                    let options = page
                        .browser
                        .client
                        .find_all(fantoccini::Locator::Css(
                            r#"[data-testid="trim-stream"] option"#,
                        ))
                        .await
                        .ok()?;
                    let mut values = Vec::new();
                    for option in options {
                        values.push(option.attr("value").await.ok()??);
                    }
                    values
                        .contains(&"claims:events:{2}".to_owned())
                        .then_some(values)
                },
            )
            .await;
            assert!(
                !offered.contains(&"claims:events".to_owned()),
                "{offered:?}"
            );
            assert_eq!(
                page.value("trim-stream").await.as_deref(),
                Some("claims:events:{0}")
            );
            let (claim, entry) = &claims[0];
            page.open_claim_from_timeline(entry, claim).await;
            let shown = eventually(Duration::from_secs(10), "the claim's partition", || async {
                page.exists("claim-partition").await.then_some(())?;
                Some(page.text("claim-partition").await)
            })
            .await;
            assert!(
                shown.starts_with(&format!("{} ", partitions.of(claim).index())),
                "{shown}"
            );
            page.screenshot("24-partitions").await;
        },
    )
    .await;
}

#[tokio::test]
async fn filters_and_pause_follow_entries_as_they_arrive() {
    with_playground(Stack::start(), async |stack, page| {
        // Claims CLM-BULK0 to CLM-BULK299: "bulk1" matches 1, 10 to 19 and 100 to 199.
        page.fill("timeline-filter-claim", "bulk1").await;
        let newest = stack.xadd_paced(300, 100, Duration::from_millis(10)).await;
        page.wait_text("timeline-count", "111 entries", Duration::from_secs(20))
            .await;
        // Typed away, as a person would: each key an `input` event.
        let backspaces = fantoccini::key::Key::Backspace.to_string().repeat(5);
        page.find("timeline-filter-claim")
            .await
            .send_keys(&backspaces)
            .await
            .unwrap();
        page.wait_for_entry(&newest, Duration::from_secs(20)).await;
        assert_eq!(page.text("timeline-count").await, "300 entries");

        // Paused, new entries are counted and held back; resumed, they show.
        page.click("timeline-pause").await;
        let more = stack.xadd_paced(5, 5, Duration::ZERO).await;
        page.wait_text("timeline-pause", "Resume (5 new)", Duration::from_secs(20))
            .await;
        assert_eq!(page.text("timeline-count").await, "300 entries");
        page.click("timeline-pause").await;
        page.wait_for_entry(&more, Duration::from_secs(20)).await;
        assert_eq!(page.text("timeline-count").await, "305 entries");
    })
    .await;
}

#[tokio::test]
async fn a_filter_searches_the_history_older_than_the_page_holds_and_offers_it_as_a_download() {
    let stack = Stack::start_then(async |stack| {
        // An old claim's notes, then 500 newer entries: the page holds the newest 100 only.
        let notes: Vec<String> = (1..=3).map(|n| format!("note {n}, long ago")).collect();
        stack.xadd_notes("CLM-LONGAGO", "CUST-OLD", &notes).await;
        stack.xadd_many(500).await;
    });
    with_playground(stack, async |stack, page| {
        page.wait_text("timeline-count", "100 entries", Duration::from_secs(20))
            .await;
        page.fill("timeline-filter-claim", "CLM-LONGAGO").await;
        page.wait_text("timeline-count", "0 entries", Duration::from_secs(10))
            .await;

        page.click("search-older").await;
        page.wait_count("search-match", 3, Duration::from_secs(15))
            .await;
        let old: Vec<String> = stack.stream_ids().await.into_iter().take(3).collect();
        let mut shown = Vec::new();
        for id in &old {
            let row = format!(r#"[data-testid="search-match"][data-entry-id="{id}"]"#);
            let found = page
                .browser
                .client
                .find(fantoccini::Locator::Css(&row))
                .await;
            shown.push(found.is_ok());
        }
        assert_eq!(shown, [true; 3], "the three old notes: {old:?}");
        let summary = page.text("search-summary").await;
        assert!(
            summary.starts_with("3 older matches in 403 entries examined"),
            "{summary}"
        );
        assert!(summary.contains("all older history searched"), "{summary}");
        // What ran in Redis is shown as for every request.
        let sent = page.text("redis-command").await;
        assert!(sent.starts_with("EVALSHA "), "{sent}");

        // The same filter over the whole stream, as a file.
        let href = page.attribute("export-csv", "href").await.unwrap();
        assert_eq!(
            href,
            "/api/streams/claims:events/search?claim=CLM-LONGAGO&format=csv"
        );
        let csv = reqwest::get(format!("{}{}", stack.url().trim_end_matches('/'), href))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 4, "a header and three notes: {csv}");
        assert!(lines[0].starts_with("id,type,v,claim_id"), "{csv}");
        assert!(lines[1].contains("\"note 1, long ago\""), "{csv}");
        assert!(
            page.attribute("export-ndjson", "href")
                .await
                .unwrap()
                .ends_with("format=ndjson")
        );
        page.screenshot("25-search-older").await;
    })
    .await;
}
