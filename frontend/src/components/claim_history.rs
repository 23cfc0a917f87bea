//! A claim's events, each with all its data and the claim's state after it, so the state is
//! visibly the fold of the events. A slider steps through them.

use leptos::html::Ol;
use leptos::prelude::*;
use maud::{Markup, html};
use shared::api::{ClaimView, StreamEntry};
use wasm_bindgen::JsCast;

use crate::components::markup::clicked;
use crate::describe;

/// One event of the claim and the state folding it in gave.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub entry: StreamEntry,
    /// The claim after this entry; none while there is no claim (an entry before its submit).
    pub after: Option<ClaimView>,
    /// Another program's fact our commands would have refused (folded all the same).
    pub outside_lifecycle: bool,
}

#[component]
pub fn ClaimHistory(
    /// The claim's entries in stream order, each with the state after it.
    steps: Signal<Vec<Step>>,
) -> impl IntoView {
    // The step picked, from 1; none follows the newest, so new events move the view along.
    let picked = RwSignal::new(None::<usize>);
    let total = Memo::new(move |_| steps.with(Vec::len));
    let at = Memo::new(move |_| picked.get().unwrap_or(usize::MAX).min(total.get()));
    let pick = move |n: usize| picked.set((n < total.get_untracked()).then_some(n));
    let state = move || {
        steps.with(|s| {
            at.get()
                .checked_sub(1)
                .and_then(|i| s.get(i)?.after.clone())
        })
    };
    let said = move || {
        let state = state().map_or_else(
            || "no claim yet".to_owned(),
            |c| format!("{}, version {}", c.status, c.version),
        );
        format!("after event {} of {}: {state}", at.get(), total.get())
    };

    // Keeps the step shown in the list's view as the slider moves.
    let list = NodeRef::<Ol>::new();
    Effect::new(move |_| {
        let (Some(list), n) = (list.get(), at.get()) else {
            return;
        };
        let Ok(Some(item)) = list.query_selector(&format!("[data-step=\"{n}\"]")) else {
            return;
        };
        let Ok(item) = item.dyn_into::<web_sys::HtmlElement>() else {
            return;
        };
        let (top, bottom) = (item.offset_top(), item.offset_top() + item.offset_height());
        if top < list.scroll_top() {
            list.set_scroll_top(top);
        } else if bottom > list.scroll_top() + list.client_height() {
            list.set_scroll_top(bottom - list.client_height());
        }
    });

    view! {
        <section class="claim-history" aria-label="History">
            <h3>"History"</h3>
            // Rebuilt when the count changes, so `max` is set before the value it bounds.
            {move || {
                let n = total.get();
                view! {
                    <input
                        type="range"
                        class="history-slider"
                        data-testid="history-slider"
                        aria-label="Step through the claim's events"
                        min="1"
                        max=n
                        disabled=n < 2
                        prop:value=move || at.get().to_string()
                        aria-valuetext=said
                        on:input=move |ev| pick(event_target_value(&ev).parse().unwrap_or(1))
                    />
                }
            }}
            <div class="step-state" data-testid="history-state" aria-live="polite" inner_html=move || step_state(at.get(), total.get(), state()).into_string()></div>
            // Markup text, redrawn whole as the slider moves; a click on an event's number
            // moves the slider there.
            <ol
                class="history"
                data-testid="claim-history"
                node_ref=list
                on:click=move |ev| {
                    let n = clicked(&ev, "button[data-pick]")
                        .and_then(|b| b.get_attribute("data-pick")?.parse().ok());
                    if let Some(n) = n {
                        pick(n);
                    }
                }
                inner_html=move || {
                    let at = at.get();
                    steps.with(|s| html! { @for (i, step) in s.iter().enumerate() { (event(i + 1, step, at)) } }.into_string())
                }
            ></ol>
        </section>
    }
}

/// The claim after the step shown, as markup.
fn step_state(at: usize, total: usize, claim: Option<ClaimView>) -> Markup {
    html! {
        p { "After event " b data-testid="history-step" { (at) } " of " (total) ":" }
        @match claim {
            Some(c) => {
                p class="step-claim" {
                    span class={ "status status-" (c.status) } data-testid="history-status" { (c.status) }
                    ", version " span data-testid="history-version" { (c.version) }
                }
                p class="muted" {
                    (describe::money(&c)) " · "
                    span data-testid="history-notes" { (describe::count(c.notes, "note")) }
                }
            }
            None => p class="step-claim muted" { "no claim yet" },
        }
    }
}

/// One event as markup: what it says, and the claim after it; `at` is the step shown.
fn event(n: usize, step: &Step, at: usize) -> Markup {
    let Step {
        entry,
        after,
        outside_lifecycle,
    } = step;
    let currency = after.as_ref().map_or("", |c| c.currency.as_str());
    let kind = entry
        .event
        .as_ref()
        .map_or("undecoded", |e| e.event_type().as_str());
    let upcast = entry.event.as_ref().and_then(describe::upcast);
    let then = match after {
        Some(c) => format!(
            "then: {}, version {}, {}, {}",
            c.status,
            c.version,
            describe::money(c),
            describe::count(c.notes, "note")
        ),
        None => "then: no claim yet".to_owned(),
    };
    let current = n == at;
    html! {
        li class={ "type-" (kind) @if current { " current" } } data-testid="history-event" data-step=(n)
            aria-current=[current.then_some("step")] {
            div class="event-head" {
                button type="button" class="small" data-pick=(n) aria-label={ "show the claim after event " (n) } { (n) }
                span class="badge" { (kind) }
                @if let Some(u) = upcast {
                    span class="badge upcast" data-testid="upcast-badge" title="written with an older schema, read in today's shape" { (u) }
                }
                @if *outside_lifecycle {
                    span class="badge outside" data-testid="outside-lifecycle" title="another program wrote a step the claim's commands would refuse here; an event is a fact, so it counts" { "outside the lifecycle" }
                }
                code class="entry-id" { (entry.id) }
            }
            @match &entry.event {
                Some(e) => dl class="event-data" {
                    @for (k, v) in describe::payload_fields(e, currency) {
                        dt { (k) } dd { (v) }
                    }
                    dt { "at" } dd { (e.timestamp) }
                },
                None => p class="error" { (entry.error.as_deref().unwrap_or_default()) },
            }
            p class="after" data-testid="history-after" { (then) }
        }
    }
}
