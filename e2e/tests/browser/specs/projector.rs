//! Projector mode: the join address and its QR code, the live panels large, nothing else.

use std::time::Duration;

use crate::fixture::with_browser;
use crate::harness::Stack;
use crate::page::Playground;

#[tokio::test]
async fn projector_mode_shows_the_join_address_and_the_live_panels_large() {
    with_browser(Stack::start(), async |stack, browser| {
        browser.client.set_window_size(1920, 1080).await.unwrap();
        let page = Playground::open(browser, &format!("{}?projector=1", stack.url())).await;
        let url = page
            .wait_some_text("join-url", Duration::from_secs(10))
            .await;
        assert_eq!(url, stack.url());
        let qr = browser
            .client
            .find(fantoccini::Locator::Css(r#"[data-testid="join"] svg path"#))
            .await
            .expect("the QR code is drawn");
        assert!(qr.attr("d").await.unwrap().unwrap().len() > 100);
        assert_eq!(
            page.attribute("projector-toggle", "aria-pressed")
                .await
                .as_deref(),
            Some("true")
        );
        let claim = stack.submit("42.00").await;
        let id = stack.stream_ids().await.pop().unwrap();
        page.wait_for_entry(&id, Duration::from_secs(20)).await;
        // Only the live panels: the form is out of the way.
        let form_shown = browser
            .client
            .find(fantoccini::Locator::Css(".form-panel"))
            .await
            .unwrap()
            .is_displayed()
            .await
            .unwrap();
        assert!(!form_shown, "{claim}");
        page.settled().await;
        // A 720p projector too, where the zoom leaves the least room.
        page.assert_fits("projector mode", &[1280, 1920]).await;
        page.screenshot("22-projector").await;

        page.click("projector-toggle").await;
        page.wait_hidden("join", true, Duration::from_secs(15))
            .await;
        page.assert_no_console_errors().await;
    })
    .await;
}
