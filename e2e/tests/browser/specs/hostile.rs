//! Hostile names: anything that can write to Redis (a lab script, `backend worker`, a learner's
//! console) or to the API can put markup into names and text every learner's page shows. The
//! pages must show it as text, never as elements or script.

use std::time::Duration;

use crate::fixture::with_browser;
use crate::harness::{Stack, eventually};
use crate::page::Playground;

/// Breaks out of a quoted attribute (either quote) into an element with a handler, and a
/// script element besides.
const HTML: &str = r#""'><img src=x onerror=window.__pwned=1><script>window.__pwned=1</script>"#;
/// Breaks out of SVG text into HTML, then an SVG element with a handler.
const SVG: &str =
    r#"</title></text></svg><svg onload=window.__pwned=1><img src=x onerror=window.__pwned=1>"#;
/// The hostile text as a document name (which refuses `/`).
const FILE: &str = r#""'><img src=x onerror=window.__pwned=1>.pdf"#;

/// What any hostile text did to the page: set the flag, or left an element it brought.
async fn injected(page: &Playground<'_>) -> (bool, u64) {
    let found = page
        .browser
        .client
        .execute(
            r#"
            const brought = document.querySelectorAll('img[src="x"], [onerror], [onload]').length
                + [...document.scripts].filter(s => s.textContent.includes('__pwned')).length;
            return [window.__pwned !== undefined, brought];
            "#,
            vec![],
        )
        .await
        .unwrap();
    (found[0].as_bool().unwrap(), found[1].as_u64().unwrap())
}

async fn assert_clean(page: &Playground<'_>, view: &str) {
    assert_eq!(
        injected(page).await,
        (false, 0),
        "{view}: hostile text ran or became elements (pwned, elements)"
    );
}

/// Waits until the element with this test id shows `text` as text.
async fn shows(page: &Playground<'_>, id: &str, text: &str) {
    eventually(
        Duration::from_secs(10),
        &format!("{id} to show the hostile text"),
        || async { page.text(id).await.contains(text).then_some(()) },
    )
    .await;
}

#[tokio::test]
async fn hostile_names_in_redis_and_claims_show_as_text_on_every_view_and_never_as_markup() {
    with_browser(Stack::start(), async |stack, browser| {
    let mut redis = stack.redis().await;
    // A group and a consumer on claims:events, named by someone else's program, with an
    // entry pending on the consumer; a second group breaking out of the SVG charts.
    stack.submit("10.00").await;
    for group in [HTML, SVG] {
        let _: () = redis::cmd("XGROUP")
            .arg(&["CREATE", "claims:events", group, "0"])
            .query_async(&mut redis)
            .await
            .unwrap();
    }
    let _: redis::Value = redis::cmd("XREADGROUP")
        .arg(&[
            "GROUP",
            HTML,
            SVG,
            "COUNT",
            "1",
            "STREAMS",
            "claims:events",
            ">",
        ])
        .query_async(&mut redis)
        .await
        .unwrap();
    let _: i64 = redis::cmd("XGROUP")
        .arg(&["CREATECONSUMER", "claims:events", SVG, HTML])
        .query_async(&mut redis)
        .await
        .unwrap();
    // A foreign entry whose type, field names and values are markup.
    let foreign = stack
        .raw_xadd(&[("type", HTML), (HTML, SVG), (SVG, HTML), ("to", HTML)])
        .await;
    // A dead letter whose every field is markup.
    let _: String = redis::cmd("XADD")
        .arg(&["claims:failed", "*", "original_id", HTML, "group", SVG])
        .arg(&["attempts", HTML, "error", SVG])
        .query_async(&mut redis)
        .await
        .unwrap();
    // A claim through the API: its description, a note (adjuster, text, document) and the
    // reason it was rejected.
    let body =
        serde_json::json!({"customer_id": "CUST-XSS", "amount": "12.00", "description": HTML});
    let claim = stack.post("api/claims", &body.to_string()).await["claim_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let note = serde_json::json!({"adjuster": SVG, "note": HTML, "document": FILE});
    stack
        .post(&format!("api/claims/{claim}/notes"), &note.to_string())
        .await;
    stack.transition(&claim, "review").await;
    let reason = serde_json::json!({"reason": SVG});
    let rejected = stack
        .post(&format!("api/claims/{claim}/reject"), &reason.to_string())
        .await["entry_id"]
        .as_str()
        .unwrap()
        .to_owned();

    let page = Playground::open(browser, &stack.url()).await;

    // The playground: timeline, inspector, groups, dead letters, claim detail and history.
    page.wait_for_entry(&rejected, Duration::from_secs(20))
        .await;
    page.wait_for_entry(&foreign, Duration::from_secs(20)).await;
    shows(&page, "groups", HTML).await;
    shows(&page, "groups", SVG).await;
    shows(&page, "dead-letters", SVG).await;
    let inspected = page.inspect(&foreign).await;
    assert!(
        inspected.contains(HTML) && inspected.contains(SVG),
        "{inspected}"
    );
    page.open_claim_from_timeline(&rejected, &claim).await;
    shows(&page, "claim-detail", HTML).await;
    shows(&page, "claim-detail", SVG).await;
    page.wait_history_len(4).await;
    shows(&page, "claim-history", FILE).await;
    assert_clean(&page, "playground").await;

    // The analytics view: each group's row and its lag chart.
    page.click("nav-analytics").await;
    shows(&page, "group-trends", HTML).await;
    shows(&page, "group-trends", SVG).await;
    assert_clean(&page, "analytics").await;
    assert!(
        !page.exists("analytics-alerts").await,
        "no alert box while nothing is alerting"
    );

    // The console and the lab: a workspace key and a group of the learner's own.
    page.click("nav-console").await;
    let line = r#"XADD "\"'><img src=x onerror=window.__pwned=1>" * type "<script>window.__pwned=1</script>""#;
    page.fill("console-input", line).await;
    page.click("console-run").await;
    shows(&page, "console-output", r#"> XADD "\"'><img"#).await;
    let line = r#"XGROUP CREATE claims:events "<svg onload=window.__pwned=1>" 0 MKSTREAM"#;
    page.fill("console-input", line).await;
    page.click("console-run").await;
    eventually(Duration::from_secs(10), "both console replies", || async {
        (page.count("console-entry").await == 2).then_some(())
    })
    .await;
    assert_clean(&page, "console").await;
    page.click("nav-lab").await;
    page.find("lab-step-streams").await;
    assert_clean(&page, "lab").await;

    // The instructor's view.
    page.click("nav-instructor").await;
    page.find("check-redis_reachable").await;
    assert_clean(&page, "instructor").await;

    // An image that was injected fails to load some time later; by now it would have.
    page.click("nav-analytics").await;
    shows(&page, "group-trends", SVG).await;
    assert_clean(&page, "all views").await;
    page.screenshot_at("group-trends", "30-hostile-names").await;
    page.assert_console_errors_only(&[]).await;
    })
    .await;
}
