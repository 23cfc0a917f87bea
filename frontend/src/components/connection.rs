use leptos::prelude::*;

use crate::api::Connection;
use crate::store::Store;

/// Whether the live feed is connected, and when it retries if not.
#[component]
pub fn ConnectionIndicator() -> impl IntoView {
    let store = expect_context::<Store>();
    let state = move || match store.connection.get() {
        Connection::Connecting => ("connecting", "Connecting…".to_owned()),
        Connection::Live => ("live", "Live".to_owned()),
        Connection::Retrying { in_secs, attempt } => (
            "retrying",
            format!("Disconnected: retry {attempt} in {in_secs} s"),
        ),
    };
    view! {
        <span
            class=move || format!("connection {}", state().0)
            data-testid="connection-status"
            data-state=move || state().0
            role="status"
            aria-live="polite"
        >
            <span class="dot" aria-hidden="true"></span>
            {move || state().1}
        </span>
    }
}
