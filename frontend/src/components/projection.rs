//! The read model the board reads: a projection of `claims:events` kept by the consumer group
//! `claims-projections`. How far behind the stream it is, what it holds, and (instructors) a
//! rebuild from the first event whose progress the relay pushes to every browser.

use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::api::{MoneyTotal, ProjectionsResponse, RebuildProgress};

use crate::api;
use crate::components::failure::Failure;
use crate::components::markup::escape;
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
                None => r#"<p class="muted">Waiting for the relay…</p>"#.to_owned(),
                Some(p) => facts(p),
            })
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
                    .with(|p| p.as_ref().map(|p| &p.rebuild).filter(|r| r.state != "idle").map(progress))
                    .map(|markup| view! { <div class="rebuild-progress" inner_html=markup></div> })
            }}
            <Failure failure=failure testid="rebuild-error" />
        </div>
        <div inner_html=move || store.projection.with(|p| p.as_ref().map(contents).unwrap_or_default())></div>
    }
}

/// Where the projection is, as markup (read-only, redrawn whole on each report).
fn facts(projection: &ProjectionsResponse) -> String {
    let behind = match projection.behind {
        Some(0) => "up to date".to_owned(),
        Some(1) => "1 entry".to_owned(),
        Some(n) => format!("{n} entries"),
        None => "unknown (XINFO GROUPS reports the lag from Redis 7)".to_owned(),
    };
    format!(
        r#"<dl class="projection-facts" data-testid="projection-facts"><dt>applied up to</dt><dd><code data-testid="projection-position">{}</code></dd><dt>stream's newest</dt><dd><code>{}</code></dd><dt>behind the stream</dt><dd data-testid="projection-behind">{behind}</dd><dt>claims in the model</dt><dd data-testid="projection-claims">{}</dd></dl>"#,
        escape(projection.position.as_deref().unwrap_or("nothing yet")),
        escape(projection.stream_last_id.as_deref().unwrap_or("empty")),
        projection.claims
    )
}

/// A rebuild's progress bar and state, inside its `.rebuild-progress` box.
fn progress(rebuild: &RebuildProgress) -> String {
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
    // Nothing known yet (just asked): an indeterminate bar; an empty stream rebuilt: a full one.
    let (max, value) = match (total, state.as_str()) {
        (0, "done") => (1, r#" value="1""#.to_owned()),
        (0, _) => (1, String::new()),
        _ => (*total, format!(r#" value="{}""#, replayed.min(total))),
    };
    let state = escape(state);
    format!(
        r#"<progress data-testid="rebuild-progress" aria-label="Rebuild progress" max="{max}"{value}></progress><span class="rebuild-state state-{state}" data-testid="rebuild-state" data-state="{state}">{}</span>"#,
        escape(&text)
    )
}

/// What the read model holds: totals per customer and the latest activity.
fn contents(projection: &ProjectionsResponse) -> String {
    let customers = if projection.customers.is_empty() {
        r#"<p class="muted">No claims yet.</p>"#.to_owned()
    } else {
        let rows: String = projection
            .customers
            .iter()
            .take(CUSTOMERS)
            .map(|c| {
                let customer = escape(&c.customer_id);
                format!(
                    r#"<tr data-testid="projection-customer" data-customer="{customer}"><td><code>{customer}</code></td><td class="number">{}</td><td class="number">{}</td><td class="number">{}</td></tr>"#,
                    c.claims,
                    escape(&money(&c.claimed)),
                    escape(&money(&c.paid))
                )
            })
            .collect();
        format!(
            r#"<table class="customers" data-testid="projection-customers"><thead><tr><th>customer</th><th>claims</th><th>claimed</th><th>paid</th></tr></thead><tbody>{rows}</tbody></table>"#
        )
    };
    let recent = if projection.recent.is_empty() {
        r#"<p class="muted">Nothing yet.</p>"#.to_owned()
    } else {
        let items: String = projection
            .recent
            .iter()
            .take(ACTIVITY)
            .map(|a| {
                let status = a
                    .status
                    .map(|s| format!(r#" → <span class="status status-{s}">{s}</span>"#))
                    .unwrap_or_default();
                format!(
                    r#"<li><span class="time">{}</span> <code>{}</code> <span class="muted">{}</span>{status}</li>"#,
                    id_time(&a.entry_id),
                    escape(&a.claim_id),
                    escape(&a.event_type)
                )
            })
            .collect();
        format!(r#"<ul class="activity" data-testid="projection-activity">{items}</ul>"#)
    };
    format!("<h3>Top customers</h3>{customers}<h3>Recent activity</h3>{recent}")
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
