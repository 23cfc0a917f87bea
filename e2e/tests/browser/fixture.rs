//! How a spec runs: its stack started, its browser launched, and the browser closed again
//! whatever the spec does (returns, panics or runs too long), the spec's failure raised after.

use std::panic::AssertUnwindSafe;
use std::time::{Duration, Instant};

use futures_util::FutureExt;

use crate::harness::{Browser, Stack};
use crate::page::Playground;

/// How long one spec may run, its stack's start and its browsers' launch not counted.
pub const SPEC_LIMIT: Duration = Duration::from_secs(180);

/// The window most specs about layout use: a laptop's.
pub const LAPTOP: (u32, u32) = (1280, 900);

/// Starts `stack`, launches `N` browsers side by side, runs `spec` with them, closes them
/// however the spec ended, then fails the way the spec failed.
pub async fn with_browsers<const N: usize>(
    stack: impl Future<Output = Stack>,
    spec: impl AsyncFnOnce(&mut Stack, &[Browser; N]),
) {
    let mut stack = stack.await;
    let launches: [_; N] = std::array::from_fn(|_| tokio::spawn(Browser::launch()));
    let mut browsers = Vec::with_capacity(N);
    for launch in launches {
        browsers.push(launch.await.expect("the browser launches"));
    }
    let Ok(browsers) = <[Browser; N]>::try_from(browsers) else {
        unreachable!("N launches, N browsers")
    };
    let start = Instant::now();
    let outcome = tokio::time::timeout(
        SPEC_LIMIT,
        AssertUnwindSafe(spec(&mut stack, &browsers)).catch_unwind(),
    )
    .await;
    let spec_name = std::thread::current()
        .name()
        .unwrap_or("the spec")
        .to_owned();
    eprintln!("{spec_name} ran {:.1} s", start.elapsed().as_secs_f64());
    for browser in browsers {
        browser.close().await;
    }
    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(panic)) => std::panic::resume_unwind(panic),
        Err(_) => panic!("the spec ran past {SPEC_LIMIT:?}"),
    }
}

/// [`with_browsers`] with one browser.
pub async fn with_browser(
    stack: impl Future<Output = Stack>,
    spec: impl AsyncFnOnce(&mut Stack, &Browser),
) {
    with_browsers(stack, async move |stack, [browser]: &[Browser; 1]| {
        spec(stack, browser).await;
    })
    .await;
}

/// [`with_browser`] on the playground, opened once its live feed is connected; a spec that
/// passed then fails on any error the page logged.
pub async fn with_playground(
    stack: impl Future<Output = Stack>,
    spec: impl AsyncFnOnce(&mut Stack, &Playground<'_>),
) {
    playground_in(None, &[], stack, spec).await;
}

/// [`with_playground`] in a window of `LAPTOP` size from the start.
pub async fn with_laptop_playground(
    stack: impl Future<Output = Stack>,
    spec: impl AsyncFnOnce(&mut Stack, &Playground<'_>),
) {
    playground_in(Some(LAPTOP), &[], stack, spec).await;
}

/// [`with_playground`] for a spec that provokes errors the page logs: those containing one of
/// `expected` do not fail it.
pub async fn with_playground_logging(
    expected: &[&str],
    stack: impl Future<Output = Stack>,
    spec: impl AsyncFnOnce(&mut Stack, &Playground<'_>),
) {
    playground_in(None, expected, stack, spec).await;
}

async fn playground_in(
    window: Option<(u32, u32)>,
    expected_errors: &[&str],
    stack: impl Future<Output = Stack>,
    spec: impl AsyncFnOnce(&mut Stack, &Playground<'_>),
) {
    with_browser(stack, async move |stack, browser| {
        if let Some((width, height)) = window {
            browser.client.set_window_size(width, height).await.unwrap();
        }
        let page = Playground::open(browser, &stack.url()).await;
        spec(stack, &page).await;
        page.assert_console_errors_only(expected_errors).await;
    })
    .await;
}
