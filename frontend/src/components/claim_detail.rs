//! One claim: its state, version and history, and buttons for exactly the transitions the
//! aggregate allows now.

use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::Action;
use shared::api::{ClaimEventsResponse, ClaimResponse, ClaimView, CommandResponse, StreamEntry};

use crate::api;
use crate::store::{Store, id_time};

#[derive(Clone, PartialEq)]
struct Loaded {
    claim: ClaimView,
    history: Vec<StreamEntry>,
}

#[component]
pub fn ClaimDetail() -> impl IntoView {
    let store = expect_context::<Store>();
    let loaded = RwSignal::new(None::<Loaded>);
    let failure = RwSignal::new(None::<String>);

    let load = move |id: String, record: bool| {
        spawn_local(async move {
            let claim = api::get::<ClaimResponse>(&format!("/api/claims/{id}")).await;
            let events = api::get::<ClaimEventsResponse>(&format!("/api/claims/{id}/events")).await;
            match (claim, events) {
                (Ok(c), Ok(e)) => {
                    if record {
                        store.record(format!("GET /api/claims/{id}"), c.redis);
                    }
                    loaded.set(Some(Loaded {
                        claim: c.claim,
                        history: e.events,
                    }));
                }
                (Err(e), _) | (_, Err(e)) => {
                    loaded.set(None);
                    failure.set(Some(e.message));
                }
            }
        });
    };

    Effect::new(move |_| {
        failure.set(None);
        if let Some(id) = store.selected.get() {
            load(id, true);
        }
    });
    // A live entry for the claim on screen (from anyone) refreshes it.
    Effect::new(move |_| {
        let (_, claim) = store.changed.get();
        let selected = store.selected.get_untracked();
        if claim.is_some() && claim == selected {
            load(claim.unwrap_or_default(), false);
        }
    });

    view! {
        <div data-testid="claim-detail">
            {move || match (store.selected.get(), loaded.get()) {
                (None, _) => view! { <p class="muted">"Pick a claim in the timeline or submit one."</p> }.into_any(),
                (Some(_), None) => view! { <p class="muted">{move || failure.get().unwrap_or_else(|| "Loading…".into())}</p> }.into_any(),
                (Some(_), Some(l)) => view! { <ClaimCard loaded=l /> }.into_any(),
            }}
        </div>
    }
}

#[component]
fn ClaimCard(loaded: Loaded) -> impl IntoView {
    let Loaded { claim, history } = loaded;
    view! {
        <div class="claim-card">
            <dl class="claim-facts">
                <dt>"Claim"</dt><dd data-testid="claim-id">{claim.claim_id.clone()}</dd>
                <dt>"Status"</dt>
                <dd><span class=format!("status status-{}", claim.status) data-testid="claim-status">{claim.status.to_string()}</span></dd>
                <dt>"Version"</dt><dd data-testid="claim-version">{claim.version}</dd>
                <dt>"Customer"</dt><dd>{claim.customer_id.clone()}</dd>
                <dt>"Amount"</dt><dd>{claim.amount.clone()}</dd>
                <dt>"Description"</dt><dd>{claim.description.clone()}</dd>
                {claim.payment_reference.clone().map(|p| view! { <dt>"Payment"</dt><dd>{p}</dd> })}
                {claim.rejection_reason.clone().map(|r| view! { <dt>"Rejected because"</dt><dd>{r}</dd> })}
            </dl>
            <Actions claim=claim.clone() />
            <h3>"History"</h3>
            <ol class="history" data-testid="claim-history">
                {history
                    .into_iter()
                    .map(|e| {
                        let kind = e.event.as_ref().map(|ev| ev.event_type().as_str()).unwrap_or("undecoded");
                        view! {
                            <li class=format!("type-{kind}")>
                                <span class="time">{id_time(&e.id)}</span>
                                " " <span class="badge">{kind}</span>
                                " " <code>{e.id.clone()}</code>
                            </li>
                        }
                    })
                    .collect_view()}
            </ol>
        </div>
    }
}

/// Buttons for the transitions allowed now; a refusal or conflict is shown in words.
#[component]
fn Actions(claim: ClaimView) -> impl IntoView {
    let store = expect_context::<Store>();
    let reason = RwSignal::new(String::new());
    let failure = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let id = claim.claim_id.clone();
    let version = claim.version;

    let act = move |action: Action| {
        let id = id.clone();
        failure.set(None);
        let body = match action {
            Action::Reject => match shared::Reason::parse(&reason.get_untracked()) {
                Ok(r) => serde_json::json!({"reason": r.as_str(), "expected_version": version}),
                Err(m) => {
                    failure.set(Some(format!("reason: {m}")));
                    return;
                }
            },
            _ => serde_json::json!({"expected_version": version}),
        };
        busy.set(true);
        spawn_local(async move {
            let path = format!("/api/claims/{id}/{action}");
            match api::post::<_, CommandResponse>(&path, &body).await {
                Ok(done) => store.record_scripts(format!("POST {path}"), done.redis, done.scripts),
                Err(e) => failure.set(Some(e.message)),
            }
            busy.set(false);
        });
    };

    let allowed = claim.allowed_actions.clone();
    let can_reject = allowed.contains(&Action::Reject);
    view! {
        <div class="actions">
            {allowed
                .into_iter()
                .map(|action| {
                    let act = act.clone();
                    view! {
                        <button
                            type="button"
                            class=format!("action action-{action}")
                            data-testid=format!("action-{action}")
                            disabled=move || busy.get()
                            on:click=move |_| act(action)
                        >
                            {capitalize(action.as_str())}
                        </button>
                    }
                })
                .collect_view()}
            {can_reject.then(|| view! {
                <label class="reason">
                    "Reason for rejecting "
                    <input
                        data-testid="reject-reason"
                        prop:value=move || reason.get()
                        on:input=move |ev| reason.set(event_target_value(&ev))
                    />
                </label>
            })}
            {claim.status.is_final().then(|| view! { <p class="muted">{format!("{} is final.", claim.status)}</p> })}
            {move || failure.get().map(|m| view! { <p class="error" role="alert" data-testid="action-error">{m}</p> })}
        </div>
    }
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}
