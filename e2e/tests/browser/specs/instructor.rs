//! The instructor: the instructor's view (checklist, traffic, failure scenarios), and the
//! controls only a browser given the instructor's token shows.

use std::time::Duration;

use crate::fixture::with_browser;
use crate::harness::{Stack, eventually};
use crate::page::{Console, Instructor, Playground};

#[tokio::test]
async fn the_instructor_starts_and_stops_traffic_and_reads_the_checklist() {
    with_browser(Stack::start(), async |stack, browser| {
        let page = Instructor::open(browser, &stack.url()).await;
        page.wait_exists("check-redis_reachable", Duration::from_secs(10))
            .await;
        page.fill("traffic-rate", "50").await;
        page.click("traffic-start").await;
        page.wait_traffic("traffic running", |state| {
            state.starts_with("running at 50/s") && !state.contains(": 0 events")
        })
        .await;
        page.click("traffic-stop").await;
        let stopped = page
            .wait_traffic("traffic stopped", |state| state.starts_with("stopped"))
            .await;
        let events: u64 = stopped
            .trim_start_matches("stopped (")
            .split(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(stack.xlen("claims:events").await, events);
        page.screenshot("21-instructor").await;
        // Back to the playground: the timeline shows what the generator appended.
        page.click("nav-playground").await;
        let last = stack.stream_ids().await.pop().expect("generated entries");
        Playground::on(&page)
            .wait_for_entry(&last, Duration::from_secs(20))
            .await;
        page.assert_no_console_errors().await;
    })
    .await;
}

#[tokio::test]
async fn a_failure_scenario_narrates_each_effect_as_redis_shows_it() {
    with_browser(
        Stack::start_with(|c| c.workers = true),
        async |stack, browser| {
            let page = Instructor::open(browser, &stack.url()).await;
            page.click("scenario-stop-group").await;
            let narration = eventually(
                Duration::from_secs(40),
                "the scenario to finish",
                || async {
                    let done = page.attribute("scenario-state", "data-finished").await;
                    (done.as_deref() == Some("true")).then_some(())?;
                    Some(page.text("narration").await)
                },
            )
            .await;
            assert!(page.text("scenario-state").await.ends_with("done"));
            // One line per effect, in order: paused, lag grown, resumed, drained.
            let lines: Vec<&str> = narration.lines().filter(|l| !l.trim().is_empty()).collect();
            assert_eq!(lines.len(), 4, "{narration}");
            for (line, says) in lines
                .iter()
                .zip(["Paused", "lag is", "Resumed", "Drained in"])
            {
                assert!(line.contains(says), "{line:?} should say {says:?}");
            }
            // What the narration claims is what Redis shows: the group has caught up.
            let lag = stack.group_lag("claims-analytics").await;
            assert_eq!(lag, Some(0));
            page.screenshot("23-scenario-narrated").await;
            page.assert_no_console_errors().await;
        },
    )
    .await;
}

#[tokio::test]
async fn instructor_controls_show_only_in_a_browser_given_the_token() {
    with_browser(
        Stack::start_with(|c| {
            c.workers = true;
            c.instructor_token = Some("e2e-token".into());
        }),
        async |stack, browser| {
            let group = "claims-notifications";
            let page = Playground::open(browser, &stack.url()).await;
            page.wait_text("role", "learner", Duration::from_secs(10))
                .await;
            // The group's figures are there for learners; its controls are not.
            page.wait_exists(
                &format!("consumer-{group}-notifier-1"),
                Duration::from_secs(10),
            )
            .await;
            assert!(!page.exists(&format!("add-consumer-{group}")).await);
            assert!(!page.exists(&format!("crash-{group}-notifier-1")).await);
            assert!(!page.exists("projection-rebuild").await);
            page.screenshot("12-learner").await;
            // Where versions before the session cookie kept the token: the app removes it.
            browser
                .client
                .execute(
                    "localStorage.setItem('claimstream.instructor_token', 'e2e-token')",
                    vec![],
                )
                .await
                .unwrap();

            browser.client.goto("about:blank").await.unwrap();
            let page = Playground::open(browser, &format!("{}#token=e2e-token", stack.url())).await;
            page.wait_text("role", "instructor", Duration::from_secs(10))
                .await;
            assert!(
                !page.current_url().await.contains("token"),
                "the token stays in the address bar"
            );
            assert!(page.exists("projection-rebuild").await);
            page.click(&format!("add-consumer-{group}")).await;
            page.wait_exists(
                &format!("consumer-{group}-notifier-3"),
                Duration::from_secs(10),
            )
            .await;
            page.screenshot("13-instructor").await;
            page.assert_no_console_errors().await;

            // The token was exchanged for an HttpOnly cookie: page script finds it nowhere.
            let storage = browser
                .client
                .execute(
                    "return JSON.stringify(Object.entries(localStorage))",
                    vec![],
                )
                .await
                .unwrap();
            assert!(
                !storage.as_str().unwrap().contains("e2e-token"),
                "the token is in local storage: {storage}"
            );
            // A page again without the token is the instructor's, by the cookie alone.
            browser.client.goto("about:blank").await.unwrap();
            let page = Playground::open(browser, &stack.url()).await;
            page.wait_text("role", "instructor", Duration::from_secs(10))
                .await;
            // The cookie's path is /api: a document there is sent it but cannot read it.
            browser
                .client
                .goto(&format!("{}api/session", stack.url()))
                .await
                .unwrap();
            let seen = browser
                .client
                .execute("return [document.body.innerText, document.cookie]", vec![])
                .await
                .unwrap();
            let [body, cookie] = [&seen[0], &seen[1]].map(|v| v.as_str().unwrap().to_owned());
            assert!(body.contains("instructor"), "{body}");
            assert_eq!(cookie, "", "page script reads the session cookie");
        },
    )
    .await;
}

/// The class at a glance: a learner's console mistake and the task they are on show in the
/// instructor's heatmap as counts.
#[tokio::test]
async fn the_class_heatmap_shows_where_learners_are_and_the_mistakes_they_make() {
    with_browser(Stack::start(), async |stack, browser| {
        let page = Instructor::open(browser, &stack.url()).await;
        page.wait_exists("class-heatmap", Duration::from_secs(10))
            .await;
        assert!(page.exists("class-no-mistakes").await);

        // This browser is a learner too: an id that does not grow is the mistake.
        page.click("nav-console").await;
        let console = Console::on(&page);
        console.line("XADD s 5-1 a 1").await;
        console
            .wait_count("console-entry", 1, Duration::from_secs(15))
            .await;
        console.line("XADD s 5-1 a 2").await;
        console
            .wait_exists("console-hint", Duration::from_secs(15))
            .await;

        page.click("nav-instructor").await;
        let mistake = "class-mistake-id_not_greater";
        page.wait_attribute(mistake, "data-learners", Some("1"), Duration::from_secs(20))
            .await;
        assert_eq!(
            page.attribute("class-task-append_three", "data-learners")
                .await
                .as_deref(),
            Some("1"),
            "the learner is on their first unfinished task"
        );
        page.screenshot_at("class-heatmap", "28-class-heatmap")
            .await;
    })
    .await;
}
