//! The read model the board reads: a projection of `claims:events` kept by the consumer group
//! `claims-projections`. How far behind the stream it is, what it holds, and (instructors) a
//! rebuild from the first event whose progress the relay pushes to every browser.

use leptos::prelude::*;
use leptos::task::spawn_local;
use maud::{Markup, html};
use shared::api::{MoneyTotal, ProjectionsResponse, RebuildProgress};

use crate::api;
use crate::components::failure::Failure;
use crate::store::{Store, id_time};

/// Customers and activity items listed.
const CUSTOMERS: usize = 8;
const ACTIVITY: usize = 10;

#[component]
pub fn Projection() -> impl IntoView {
    let store = expect_context::<Store>();
    let failure = RwSignal::new(None::<String>);
    let asking = RwSignal::new(false);

    // The relay pushes the projection only when it changes; one read fills the panel now.
    spawn_local(async move {
        if let Ok(projection) = api::get::<ProjectionsResponse>("/api/projections").await
            && store.projection.with_untracked(Option::is_none)
        {
            store.set_projection(projection);
        }
    });

    let rebuild = move |_| {
        asking.set(true);
        let before = store.projection.get_untracked();
        spawn_local(async move {
            let path = "/api/projections/rebuild";
            match api::post::<_, ProjectionsResponse>(path, &serde_json::json!({})).await {
                Ok(answer) => {
                    failure.set(None);
                    store.record(
                        format!("POST {path}: the projector rebuilds the read model"),
                        answer.redis.clone(),
                    );
                    // A push may already have brought something newer than this answer.
                    if store.projection.with_untracked(|p| *p == before) {
                        store.set_projection(answer);
                    }
                }
                Err(e) => failure.set(Some(e.message)),
            }
            asking.set(false);
        });
    };
    let rebuild_state = move || {
        store
            .projection
            .with(|p| p.as_ref().map(|p| p.rebuild.state.clone()))
    };
    let busy =
        move || asking.get() || matches!(rebuild_state().as_deref(), Some("requested" | "running"));

    view! {
        <p class="muted note">
            "The board reads a read model: a projection of claims:events kept by consumer group "
            <code>"claims-projections"</code>
            ". It is derived data, so it can be thrown away and rebuilt from the first event."
        </p>
        <div inner_html=move || {
            store.projection.with(|p| match p {
                None => html! { p class="muted" { "Waiting for the relay…" } },
                Some(p) => facts(p),
            })
            .into_string()
        }></div>
        <div class="rebuild">
            <Show when=move || store.is_instructor()>
                <button
                    type="button"
                    data-testid="projection-rebuild"
                    disabled=busy
                    on:click=rebuild
                >
                    "Rebuild from the first event"
                </button>
            </Show>
            {move || {
                store
                    .projection
                    .with(|p| p.as_ref().map(|p| &p.rebuild).filter(|r| r.state != "idle").map(|r| progress(r).into_string()))
                    .map(|markup| view! { <div class="rebuild-progress" inner_html=markup></div> })
            }}
            <Failure failure=failure testid="rebuild-error" />
        </div>
        <div inner_html=move || store.projection.with(|p| p.as_ref().map(|p| contents(p).into_string()).unwrap_or_default())></div>
        <crate::components::debugger::Debugger />
    }
}

/// Where the projection is, as markup (read-only, redrawn whole on each report).
fn facts(projection: &ProjectionsResponse) -> Markup {
    html! {
        dl class="projection-facts" data-testid="projection-facts" {
            dt { "applied up to" }
            dd { code data-testid="projection-position" { (projection.position.as_deref().unwrap_or("nothing yet")) } }
            dt { "stream's newest" }
            dd { code { (projection.stream_last_id.as_deref().unwrap_or("empty")) } }
            dt { "behind the stream" }
            dd data-testid="projection-behind" {
                @match projection.behind {
                    Some(0) => "up to date",
                    Some(1) => "1 entry",
                    Some(n) => { (n) " entries" }
                    None => "unknown (XINFO GROUPS reports the lag from Redis 7)",
                }
            }
            dt { "claims in the model" }
            dd data-testid="projection-claims" { (projection.claims) }
        }
    }
}

/// A rebuild's progress bar and state, inside its `.rebuild-progress` box.
fn progress(rebuild: &RebuildProgress) -> Markup {
    let RebuildProgress {
        state,
        replayed,
        total,
        finished_at,
        error,
        ..
    } = rebuild;
    let text = match state.as_str() {
        "requested" => "requested: waiting for the projector to take it up".to_owned(),
        "running" => format!("running: {replayed} / {total} entries replayed"),
        "done" => format!(
            "done: {replayed} / {total} entries replayed, swapped in{}",
            finished_at
                .as_ref()
                .map(|t| format!(" at {t}"))
                .unwrap_or_default()
        ),
        "failed" => format!("failed: {}", error.as_deref().unwrap_or_default()),
        other => other.to_owned(),
    };
    // An empty stream rebuilt counts as full; nothing to replay yet shows no value.
    let (max, value) = match (total, state.as_str()) {
        (0, "done") => (1, Some(1)),
        (0, _) => (1, None),
        _ => (*total, Some(*replayed.min(total))),
    };
    html! {
        progress data-testid="rebuild-progress" aria-label="Rebuild progress" max=(max) value=[value] {}
        span class={ "rebuild-state state-" (state) } data-testid="rebuild-state" data-state=(state) { (text) }
    }
}

/// What the read model holds: totals per customer and the latest activity.
fn contents(projection: &ProjectionsResponse) -> Markup {
    html! {
        h3 { "Top customers" }
        @if projection.customers.is_empty() {
            p class="muted" { "No claims yet." }
        } @else {
            table class="customers" data-testid="projection-customers" {
                thead { tr { th { "customer" } th { "claims" } th { "claimed" } th { "paid" } } }
                tbody {
                    @for c in projection.customers.iter().take(CUSTOMERS) {
                        tr data-testid="projection-customer" data-customer=(c.customer_id) {
                            td { code { (c.customer_id) } }
                            td class="number" { (c.claims) }
                            td class="number" { (money(&c.claimed)) }
                            td class="number" { (money(&c.paid)) }
                        }
                    }
                }
            }
        }
        h3 { "Recent activity" }
        @if projection.recent.is_empty() {
            p class="muted" { "Nothing yet." }
        } @else {
            ul class="activity" data-testid="projection-activity" {
                @for a in projection.recent.iter().take(ACTIVITY) {
                    li {
                        span class="time" { (id_time(&a.entry_id)) } " "
                        code { (a.claim_id) } " "
                        span class="muted" { (a.event_type) }
                        @if let Some(s) = a.status {
                            " → " span class={ "status status-" (s) } { (s) }
                        }
                    }
                }
            }
        }
    }
}

/// Amounts per currency, e.g. `120.00 USD, 40.00 EUR`; a dash for none.
fn money(totals: &[MoneyTotal]) -> String {
    if totals.is_empty() {
        return "–".to_owned();
    }
    totals
        .iter()
        .map(|t| format!("{} {}", t.amount, t.currency))
        .collect::<Vec<_>>()
        .join(", ")
}
