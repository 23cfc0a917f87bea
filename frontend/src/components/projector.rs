//! Projector mode, for an instructor demoing to a room: large type, high contrast, the live
//! timeline and the groups filling the screen, and the address learners open, big and as a QR
//! code. Switched by its button or by `?projector=1` in the address.

use leptos::prelude::*;
use leptos::task::spawn_local;
use maud::{PreEscaped, html};
use shared::api::JoinResponse;

use crate::api;

/// Whether the address asks for projector mode.
pub fn asked() -> bool {
    web_sys::window()
        .and_then(|w| w.location().search().ok())
        .is_some_and(|q| {
            q.trim_start_matches('?')
                .split('&')
                .any(|p| p == "projector=1")
        })
}

/// The mode's switch in the top bar; it marks the page's body, which the style sheet follows.
#[component]
pub fn ProjectorToggle(on: RwSignal<bool>) -> impl IntoView {
    Effect::new(move |_| {
        let body = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.body());
        if let Some(body) = body {
            let _ = body.class_list().toggle_with_force("projector", on.get());
        }
    });
    view! {
        <button type="button" class="small" data-testid="projector-toggle" aria-pressed=move || on.get().to_string()
            title="large type and the join address for a projector (p)" on:click=move |_| on.update(|o| *o = !*o)>
            "projector"
        </button>
    }
}

/// How learners join: the address and its QR code, read from the relay when shown.
#[component]
pub fn JoinBox(on: RwSignal<bool>) -> impl IntoView {
    let join = RwSignal::new(None::<JoinResponse>);
    Effect::new(move |_| {
        if on.get() && join.with_untracked(Option::is_none) {
            spawn_local(async move {
                if let Ok(j) = api::get::<JoinResponse>("/api/join").await {
                    join.set(Some(j));
                }
            });
        }
    });
    let url = move || join.with(|j| j.as_ref().map(|j| j.url.clone()).unwrap_or_default());
    let qr = move || {
        join.with(|j| {
            let svg = j.as_ref().map_or("", |j| j.qr_svg.as_str());
            // Raw on purpose: the relay draws this SVG itself (`routes/join.rs`), of fixed
            // markup and numbers only (the address is in it as modules, not as text).
            html! { (PreEscaped(svg)) }.into_string()
        })
    };
    view! {
        <aside class="join" data-testid="join" hidden=move || !on.get()>
            <div class="qr" inner_html=qr></div>
            <p>"Join: " <strong data-testid="join-url">{url}</strong></p>
        </aside>
    }
}
