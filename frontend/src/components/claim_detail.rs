//! One claim: how the relay loaded it, its state, the transitions and notes it accepts now,
//! and its history.

use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::api::{ClaimEventsResponse, ClaimResponse};

use crate::api;
use crate::components::claim_actions::Actions;
use crate::components::claim_causes::ClaimCauses;
use crate::components::claim_history::{ClaimHistory, Step};
use crate::components::note_form::NoteForm;
use crate::describe;
use crate::store::Store;

#[derive(Clone, PartialEq)]
struct Loaded {
    response: ClaimResponse,
    steps: Vec<Step>,
}

#[component]
pub fn ClaimDetail() -> impl IntoView {
    let store = expect_context::<Store>();
    let loaded = RwSignal::new(None::<Loaded>);
    let failure = RwSignal::new(None::<String>);
    // Only the newest load may land: an answer overtaken by another (a claim picked since, or
    // a later event) would show an older claim.
    let newest = StoredValue::new(0_u64);

    let load = move |id: String, record: bool| {
        newest.update_value(|n| *n += 1);
        let ticket = newest.get_value();
        spawn_local(async move {
            let claim_path = format!("/api/claims/{id}");
            let (claim, events) =
                futures_util::join!(api::get::<ClaimResponse>(&claim_path), all_events(&id));
            if newest.try_get_value() != Some(ticket) {
                return;
            }
            match (claim, events) {
                (Ok(mut c), Ok(e)) => {
                    c.partition = e.events.first().and_then(|entry| entry.partition);
                    if record {
                        store.record(format!("GET /api/claims/{id}"), c.redis.clone());
                    }
                    let mut states = e.states.into_iter();
                    let steps = e
                        .events
                        .into_iter()
                        .map(|entry| Step {
                            outside_lifecycle: e.outside_lifecycle.contains(&entry.id),
                            entry,
                            after: states.next().flatten(),
                        })
                        .collect();
                    loaded.set(Some(Loaded { response: c, steps }));
                }
                (Err(e), _) | (_, Err(e)) => {
                    loaded.set(None);
                    failure.set(Some(e.message));
                }
            }
        });
    };
    let reload = Callback::new(move |()| {
        if let Some(id) = store.selected.get_untracked() {
            load(id, false);
        }
    });

    Effect::new(move |_| {
        failure.set(None);
        if let Some(id) = store.selected.get() {
            load(id, true);
        }
    });
    // A live entry for the claim on screen (from anyone) refreshes it.
    Effect::new(move |_| {
        let selected = store.selected.get_untracked();
        let touched = store
            .changed
            .with(|(_, claims)| selected.filter(|s| claims.contains(s)));
        if let Some(claim) = touched {
            load(claim, false);
        }
    });

    // The note form and the history outlive reloads of the same claim, so a note being typed
    // and the step picked stay as events arrive.
    let shown =
        Memo::new(move |_| loaded.with(|l| l.as_ref().map(|l| l.response.claim.claim_id.clone())));
    let open = Memo::new(move |_| {
        loaded.with(|l| {
            l.as_ref()
                .filter(|l| !l.response.claim.status.is_final())
                .map(|l| l.response.claim.claim_id.clone())
        })
    });
    let steps = Signal::derive(move || {
        loaded.with(|l| l.as_ref().map(|l| l.steps.clone()).unwrap_or_default())
    });

    view! {
        <div data-testid="claim-detail">
            {move || {
                let waiting = match (store.selected.with(Option::is_some), loaded.with(Option::is_some)) {
                    (false, _) => "Pick a claim in the timeline or submit one.".to_owned(),
                    (true, false) => failure.get().unwrap_or_else(|| "Loading…".into()),
                    (true, true) => return None,
                };
                Some(view! { <p class="muted">{waiting}</p> })
            }}
            {move || {
                let loaded = store.selected.with(Option::is_some).then(|| loaded.get()).flatten();
                loaded.map(|l| view! { <ClaimCard loaded=l.response reload=reload /> })
            }}
            {move || open.get().map(|id| view! { <NoteForm claim_id=id on_added=reload /> })}
            {move || shown.get().map(|_| view! { <ClaimHistory steps=steps /> })}
            {move || shown.get().map(|id| view! { <ClaimCauses claim_id=id /> })}
        </div>
    }
}

/// Every event of the claim, page by page (the relay answers at most 200 at a time).
async fn all_events(id: &str) -> Result<ClaimEventsResponse, api::ApiFailure> {
    let mut all: Option<ClaimEventsResponse> = None;
    let mut after = 0;
    loop {
        let page =
            api::get::<ClaimEventsResponse>(&format!("/api/claims/{id}/events?after={after}"))
                .await?;
        let next = page.next_after.filter(|next| *next > after);
        match &mut all {
            None => all = Some(page),
            Some(all) => {
                all.events.extend(page.events);
                all.states.extend(page.states);
                all.outside_lifecycle.extend(page.outside_lifecycle);
            }
        }
        // Each page starts further on, so this ends.
        match next {
            Some(next) => after = next,
            None => return Ok(all.expect("a page was read")),
        }
    }
}

/// The claim now: its facts, how it was loaded, and the buttons for what may happen next.
#[component]
fn ClaimCard(
    /// The relay's answer for the claim.
    loaded: ClaimResponse,
    /// Reloads the claim after a command.
    reload: Callback<()>,
) -> impl IntoView {
    let facts = facts(&loaded);
    view! {
        <div class="claim-card">
            <div>{facts}</div>
            <Actions claim=loaded.claim on_done=reload />
        </div>
    }
}

/// How the claim was loaded and its facts (read-only, redrawn with each load).
fn facts(loaded: &ClaimResponse) -> impl IntoView + use<> {
    let claim = loaded.claim.clone();
    let status = claim.status;
    let money = describe::money(&claim);
    let partition = loaded
        .partition
        .map(|p| format!("{p} (claims:events:{{{p}}})"));
    view! {
        <p class="loaded-from muted" data-testid="claim-loaded-from">
            {describe::loaded_from(loaded.snapshot_version, loaded.events_replayed)}
        </p>
        <dl class="claim-facts">
            <dt>"Claim"</dt><dd data-testid="claim-id">{claim.claim_id}</dd>
            <dt>"Status"</dt><dd><span class=format!("status status-{status}") data-testid="claim-status">{status.to_string()}</span></dd>
            <dt>"Version"</dt><dd data-testid="claim-version">{claim.version}</dd>
            <dt>"Customer"</dt><dd>{claim.customer_id}</dd>
            <dt>"Amount"</dt><dd data-testid="claim-amount">{money}</dd>
            {claim.policy_number.map(|v| view! { <dt>"Policy"</dt><dd data-testid="claim-policy">{v}</dd> })}
            <dt>"Description"</dt><dd>{claim.description}</dd>
            <dt>"Notes"</dt><dd data-testid="claim-notes">{claim.notes}</dd>
            {claim.payment_reference.map(|v| view! { <dt>"Payment"</dt><dd>{v}</dd> })}
            {claim.rejection_reason.map(|v| view! { <dt>"Rejected because"</dt><dd>{v}</dd> })}
            {partition.map(|v| view! { <dt>"Partition"</dt><dd data-testid="claim-partition">{v}</dd> })}
        </dl>
    }
}
