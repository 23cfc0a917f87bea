//! The read model the board reads: a projection of `claims:events` kept by the consumer group
//! `claims-projections`. How far behind the stream it is, what it holds, and (instructors) a
//! rebuild from the first event whose progress the relay pushes to every browser.

use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::api::{MoneyTotal, ProjectionsResponse, RebuildProgress};

use crate::api;
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
        {move || match store.projection.get() {
            None => view! { <p class="muted">"Waiting for the relay…"</p> }.into_any(),
            Some(p) => view! { <Facts projection=p /> }.into_any(),
        }}
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
                    .with(|p| p.as_ref().map(|p| p.rebuild.clone()))
                    .filter(|r| r.state != "idle")
                    .map(|r| view! { <Progress rebuild=r /> })
            }}
            {move || failure.get().map(|m| view! { <p class="error" role="alert" data-testid="rebuild-error">{m}</p> })}
        </div>
        {move || store.projection.get().map(|p| view! { <Contents projection=p /> })}
    }
}

/// Where the projection is.
#[component]
fn Facts(
    /// The relay's latest report.
    projection: ProjectionsResponse,
) -> impl IntoView {
    let behind = match projection.at.behind {
        Some(0) => "up to date".to_owned(),
        Some(1) => "1 entry".to_owned(),
        Some(n) => format!("{n} entries"),
        None => "unknown (XINFO GROUPS reports the lag from Redis 7)".to_owned(),
    };
    view! {
        <dl class="projection-facts" data-testid="projection-facts">
            <dt>"applied up to"</dt>
            <dd><code data-testid="projection-position">{projection.at.position.unwrap_or_else(|| "nothing yet".into())}</code></dd>
            <dt>"stream's newest"</dt>
            <dd><code>{projection.stream_last_id.unwrap_or_else(|| "empty".into())}</code></dd>
            <dt>"behind the stream"</dt>
            <dd data-testid="projection-behind">{behind}</dd>
            <dt>"claims in the model"</dt>
            <dd data-testid="projection-claims">{projection.claims}</dd>
        </dl>
    }
}

/// A rebuild's progress bar and state.
#[component]
fn Progress(
    /// The rebuild as the relay last reported it.
    rebuild: RebuildProgress,
) -> impl IntoView {
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
            finished_at.map(|t| format!(" at {t}")).unwrap_or_default()
        ),
        "failed" => format!("failed: {}", error.unwrap_or_default()),
        other => other.to_owned(),
    };
    // Nothing known yet (just asked): an indeterminate bar; an empty stream rebuilt: a full one.
    let (max, value) = match (total, state.as_str()) {
        (0, "done") => ("1".to_owned(), Some("1".to_owned())),
        (0, _) => ("1".to_owned(), None),
        _ => (total.to_string(), Some(replayed.min(total).to_string())),
    };
    view! {
        <div class="rebuild-progress">
            <progress
                data-testid="rebuild-progress"
                aria-label="Rebuild progress"
                max=max
                value=value
            ></progress>
            <span class=format!("rebuild-state state-{state}") data-testid="rebuild-state" data-state=state.clone()>
                {text}
            </span>
        </div>
    }
}

/// What the read model holds: totals per customer and the latest activity.
#[component]
fn Contents(
    /// The relay's latest report.
    projection: ProjectionsResponse,
) -> impl IntoView {
    let ProjectionsResponse {
        customers, recent, ..
    } = projection;
    let customers = if customers.is_empty() {
        view! { <p class="muted">"No claims yet."</p> }.into_any()
    } else {
        view! {
            <table class="customers" data-testid="projection-customers">
                <thead>
                    <tr><th>"customer"</th><th>"claims"</th><th>"claimed"</th><th>"paid"</th></tr>
                </thead>
                <tbody>
                    {customers
                        .into_iter()
                        .take(CUSTOMERS)
                        .map(|c| {
                            let customer = c.customer_id.clone();
                            view! {
                                <tr data-testid="projection-customer" data-customer=customer>
                                    <td><code>{c.customer_id}</code></td>
                                    <td class="number">{c.claims}</td>
                                    <td class="number">{money(&c.claimed)}</td>
                                    <td class="number">{money(&c.paid)}</td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        }
        .into_any()
    };
    let recent = if recent.is_empty() {
        view! { <p class="muted">"Nothing yet."</p> }.into_any()
    } else {
        view! {
            <ul class="activity" data-testid="projection-activity">
                {recent
                    .into_iter()
                    .take(ACTIVITY)
                    .map(|a| {
                        let status = a.status.map(|s| s.to_string());
                        view! {
                            <li>
                                <span class="time">{id_time(&a.entry_id)}</span>
                                " " <code>{a.claim_id}</code>
                                " " <span class="muted">{a.event_type}</span>
                                {status.map(|s| view! { " → " <span class=format!("status status-{s}")>{s.clone()}</span> })}
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
        }
        .into_any()
    };
    view! {
        <h3>"Top customers"</h3>
        {customers}
        <h3>"Recent activity"</h3>
        {recent}
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
