//! A claim's events, each with all its data and the claim's state after it, so the state is
//! visibly the fold of the events. A slider steps through them.

use leptos::html::Ol;
use leptos::prelude::*;
use shared::api::{ClaimView, StreamEntry};
use wasm_bindgen::JsCast;

use crate::describe;

/// One event of the claim and the state folding it in gave.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub entry: StreamEntry,
    /// The claim after this entry; none while there is no claim (an entry before its submit).
    pub after: Option<ClaimView>,
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
            <div class="step-state" data-testid="history-state" aria-live="polite">
                <p>
                    "After event " <b data-testid="history-step">{move || at.get()}</b>
                    " of " {move || total.get()} ":"
                </p>
                {move || match state() {
                    Some(c) => view! {
                        <p class="step-claim">
                            <span class=format!("status status-{}", c.status) data-testid="history-status">{c.status.to_string()}</span>
                            ", version " <span data-testid="history-version">{c.version}</span>
                        </p>
                        <p class="muted">
                            {describe::money(&c)} " · "
                            <span data-testid="history-notes">{describe::count(c.notes, "note")}</span>
                        </p>
                    }.into_any(),
                    None => view! { <p class="step-claim muted">"no claim yet"</p> }.into_any(),
                }}
            </div>
            <ol class="history" data-testid="claim-history" node_ref=list>
                {move || {
                    steps
                        .get()
                        .into_iter()
                        .enumerate()
                        .map(|(i, step)| view! { <Event n=i + 1 step=step at=at pick=pick /> })
                        .collect_view()
                }}
            </ol>
        </section>
    }
}

/// One event: what it says, and the claim after it.
#[component]
fn Event(
    /// Its place in the claim's history, from 1.
    n: usize,
    /// The event and the claim after it.
    step: Step,
    /// The step the slider is on.
    at: Memo<usize>,
    /// Moves the slider here.
    pick: impl Fn(usize) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let Step { entry, after } = step;
    let currency = after
        .as_ref()
        .map(|c| c.currency.clone())
        .unwrap_or_default();
    let current = move || at.get() == n;
    let (kind, upcast, body) = match &entry.event {
        Some(e) => (
            e.event_type().as_str(),
            describe::upcast(e),
            view! {
                <dl class="event-data">
                    {describe::payload_fields(e, &currency)
                        .into_iter()
                        .map(|(k, v)| view! { <dt>{k}</dt> <dd>{v}</dd> })
                        .collect_view()}
                    <dt>"at"</dt> <dd>{e.timestamp.to_string()}</dd>
                </dl>
            }
            .into_any(),
        ),
        None => (
            "undecoded",
            None,
            view! { <p class="error">{entry.error.clone().unwrap_or_default()}</p> }.into_any(),
        ),
    };
    view! {
        <li
            class=move || format!("type-{kind}{}", if current() { " current" } else { "" })
            data-testid="history-event"
            data-step=n
            aria-current=move || current().then_some("step")
        >
            <div class="event-head">
                <button type="button" class="small" on:click=move |_| pick(n) aria-label=format!("show the claim after event {n}")>
                    {n}
                </button>
                <span class="badge">{kind}</span>
                {upcast.map(|u| view! {
                    <span class="badge upcast" data-testid="upcast-badge" title="written with an older schema, read in today's shape">{u}</span>
                })}
                <code class="entry-id">{entry.id.clone()}</code>
            </div>
            {body}
            <p class="after" data-testid="history-after">
                {match after {
                    Some(c) => format!(
                        "then: {}, version {}, {}, {}",
                        c.status,
                        c.version,
                        describe::money(&c),
                        describe::count(c.notes, "note")
                    ),
                    None => "then: no claim yet".to_owned(),
                }}
            </p>
        </li>
    }
}
