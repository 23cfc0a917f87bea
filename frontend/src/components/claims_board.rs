//! Claims per status, refreshed whenever an entry arrives.

use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::ClaimStatus;
use shared::api::{ClaimListResponse, ClaimView};

use crate::api;
use crate::store::Store;

/// Claims listed per status column.
const PER_COLUMN: usize = 8;

#[component]
pub fn ClaimsBoard() -> impl IntoView {
    let store = expect_context::<Store>();
    let columns = RwSignal::new(Vec::<(ClaimStatus, u64, Vec<ClaimView>)>::new());
    let in_flight = RwSignal::new(false);
    let stale = RwSignal::new(false);

    // One refresh at a time; entries that arrive meanwhile cause one more afterwards.
    let refresh = move || {
        if in_flight.get_untracked() {
            stale.set(true);
            return;
        }
        in_flight.set(true);
        spawn_local(async move {
            loop {
                stale.set(false);
                let mut fresh = Vec::new();
                for status in ClaimStatus::ALL {
                    let path = format!("/api/claims?status={status}&limit={PER_COLUMN}");
                    if let Ok(page) = api::get::<ClaimListResponse>(&path).await {
                        fresh.push((status, page.total, page.claims));
                    }
                }
                columns.set(fresh);
                if !stale.get_untracked() {
                    break;
                }
            }
            in_flight.set(false);
        });
    };
    Effect::new(move |_| {
        store.changed.track();
        refresh();
    });

    view! {
        <div class="board" data-testid="board">
            {move || {
                columns
                    .get()
                    .into_iter()
                    .map(|(status, total, claims)| {
                        view! {
                            <div class=format!("column status-{status}")>
                                <h3>
                                    {status.to_string()} " "
                                    <span class="count" data-testid=format!("board-count-{status}")>{total}</span>
                                </h3>
                                <ul>
                                    {claims
                                        .into_iter()
                                        .map(|c| {
                                            let id = c.claim_id.clone();
                                            view! {
                                                <li>
                                                    <button type="button" class="link" on:click=move |_| store.selected.set(Some(id.clone()))>
                                                        {c.claim_id.clone()}
                                                    </button>
                                                    " " <span class="amount">{c.amount}</span>
                                                </li>
                                            }
                                        })
                                        .collect_view()}
                                </ul>
                            </div>
                        }
                    })
                    .collect_view()
            }}
        </div>
    }
}
