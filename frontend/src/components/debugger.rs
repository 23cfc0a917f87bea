//! The projection debugger: the projection stepped one event at a time through a scratch copy
//! of the read model (`GET /api/projections/debug`), forward and back, with a break on an
//! event type; each step shows its event and the model's fields it changed, before → after.

use leptos::prelude::*;
use leptos::task::spawn_local;
use maud::{Markup, html};
use shared::EventType;
use shared::api::{ProjectionDebugResponse, ProjectionStep};

use crate::api;
use crate::components::failure::Failure;

/// Steps asked for at a time (the relay's most).
const PAGE: usize = 100;
/// Pages one "forward" reads looking for the event type it breaks on.
const PAGES_PER_BREAK: usize = 5;

/// What a step's entry is: its event type, its marker, or that it does not decode.
fn kind(step: &ProjectionStep) -> String {
    let entry = &step.entry;
    match (&entry.event, &entry.marker) {
        (Some(e), _) => e.event_type().to_string(),
        (None, Some(m)) => m.clone(),
        (None, None) => "undecodable".to_owned(),
    }
}

/// The next page from `from` (the first entry when empty).
async fn page(from: &str) -> Result<ProjectionDebugResponse, String> {
    let mut path = format!("/api/projections/debug?steps={PAGE}");
    if !from.is_empty() {
        path.push_str("&from=");
        path.push_str(&String::from(js_sys::encode_uri_component(from)));
    }
    api::get(&path).await.map_err(|e| e.message)
}

#[component]
pub fn Debugger() -> impl IntoView {
    let start = RwSignal::new(String::new());
    let break_on = RwSignal::new(String::new());
    let steps = RwSignal::new(Vec::<ProjectionStep>::new());
    let at = RwSignal::new(0usize);
    let next = RwSignal::new(None::<String>);
    let folded = RwSignal::new(0u64);
    let failure = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let note = RwSignal::new(None::<String>);

    let begin = move |_| {
        busy.set(true);
        spawn_local(async move {
            match page(&start.get_untracked()).await {
                Ok(p) => {
                    failure.set(None);
                    note.set(
                        p.steps
                            .is_empty()
                            .then(|| "No entries from there.".to_owned()),
                    );
                    folded.set(p.folded_before);
                    next.set(p.next);
                    steps.set(p.steps);
                    at.set(0);
                }
                Err(e) => failure.set(Some(e)),
            }
            busy.set(false);
        });
    };
    let forward = move |_| {
        busy.set(true);
        note.set(None);
        spawn_local(async move {
            let wanted = break_on.get_untracked();
            let mut pages = 0;
            loop {
                let from = at.get_untracked() + 1;
                let found = steps.with_untracked(|s| {
                    s.iter()
                        .enumerate()
                        .skip(from)
                        .find(|(_, s)| wanted.is_empty() || kind(s) == wanted)
                        .map(|(i, _)| i)
                });
                if let Some(i) = found {
                    at.set(i);
                    break;
                }
                let Some(more) = next.get_untracked().filter(|_| pages < PAGES_PER_BREAK) else {
                    note.set(Some(if wanted.is_empty() {
                        "The stream's end.".to_owned()
                    } else {
                        format!("No {wanted} further on.")
                    }));
                    break;
                };
                pages += 1;
                match page(&more).await {
                    Ok(p) => {
                        next.set(p.next);
                        steps.update(|s| s.extend(p.steps));
                    }
                    Err(e) => {
                        failure.set(Some(e));
                        break;
                    }
                }
            }
            busy.set(false);
        });
    };
    let back = move |_| {
        note.set(None);
        at.update(|i| *i = i.saturating_sub(1));
    };
    let loaded = move || steps.with(|s| !s.is_empty());

    view! {
        <h3>"Step through the projection"</h3>
        <p class="muted note">
            "Each event applied alone, by the projector's own script, to a scratch copy of the model (never the live one)."
        </p>
        <div class="debugger-controls">
            <input
                data-testid="debug-from"
                placeholder="first event, or an entry id"
                prop:value=start
                on:input=move |e| start.set(event_target_value(&e))
            />
            <button type="button" data-testid="debug-start" disabled=busy on:click=begin>
                "Start"
            </button>
            <button
                type="button"
                data-testid="debug-back"
                disabled=move || busy.get() || at.get() == 0
                on:click=back
            >
                "◀ Back"
            </button>
            <button
                type="button"
                data-testid="debug-forward"
                disabled=move || busy.get() || !loaded()
                on:click=forward
            >
                "Forward ▶"
            </button>
            <label>
                "break on "
                <select
                    data-testid="debug-break"
                    on:change=move |e| break_on.set(event_target_value(&e))
                >
                    <option value="">"every event"</option>
                    {EventType::ALL
                        .map(|t| view! { <option value=t.as_str()>{t.as_str()}</option> })
                        .to_vec()}
                </select>
            </label>
        </div>
        <Failure failure=failure testid="debug-error" />
        {move || note.get().map(|n| view! { <p class="muted" data-testid="debug-note">{n}</p> })}
        {move || {
            let i = at.get();
            let markup = steps.with(|s| s.get(i).map(|step| step_markup(i, folded.get(), step)))?;
            Some(view! { <div inner_html=markup.into_string()></div> })
        }}
    }
}

/// One step: its event and the model's fields it changed. Read-only, so a template
/// (`components::markup`): keys and values come from Redis and are escaped by it.
fn step_markup(i: usize, folded: u64, step: &ProjectionStep) -> Markup {
    let entry = &step.entry;
    let claim = entry.event.as_ref().map(|e| e.claim_id.to_string());
    html! {
        p data-testid="debug-step" data-entry=(entry.id) {
            "Step " (i + 1) " (" (folded) " entries folded before the first) "
            code { (entry.id) } " "
            strong data-testid="debug-type" { (kind(step)) } " "
            code { (claim.unwrap_or_default()) }
        }
        ul.activity data-testid="debug-changes" {
            @for c in &step.changes {
                li data-testid="debug-change" data-key=(c.key) {
                    code { (c.key) } " " code { (c.field) } ": "
                    @if c.members.is_empty() {
                        (before_after(c.before.as_deref(), c.after.as_deref()))
                    } @else {
                        ul {
                            @for m in &c.members {
                                li data-testid="debug-member" {
                                    code { (m.name) } ": "
                                    (before_after(m.before.as_deref(), m.after.as_deref()))
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A value before and after, `–` for absent.
fn before_after(before: Option<&str>, after: Option<&str>) -> Markup {
    html! {
        span.muted { (before.unwrap_or("–")) }
        " → " (after.unwrap_or("–"))
    }
}
