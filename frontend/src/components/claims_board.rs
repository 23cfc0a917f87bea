//! Claims per status, read from the projection (the read model, not the events) and
//! refreshed when entries arrive, once the projection has applied them: at most once a
//! second, so a burst costs the page a refresh a second, not one per update.

use leptos::prelude::*;
use leptos::task::spawn_local;
use maud::{Markup, html};
use shared::ClaimStatus;
use shared::api::{ClaimListResponse, ClaimView, ProjectionPosition};

use crate::api;
use crate::components::markup::clicked;
use crate::store::Store;

/// Claims listed per status column.
const PER_COLUMN: usize = 8;
/// How long a refresh waits for the projection to catch up with the newest entry.
const WAIT_MS: u32 = 2000;
/// Refreshes start at most this often (ms).
const REFRESH_EVERY_MS: f64 = 1000.0;

#[component]
pub fn ClaimsBoard() -> impl IntoView {
    let store = expect_context::<Store>();
    let columns = RwSignal::new(Vec::<(ClaimStatus, u64, Vec<ClaimView>)>::new());
    let projection = RwSignal::new(None::<ProjectionPosition>);
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
                // Read your writes: the first read waits (briefly) for the projection to
                // apply the newest entry this page has seen.
                let mut after = store
                    .last_id()
                    .map(|id| format!("&after={id}&wait_ms={WAIT_MS}&stale_ok=true"))
                    .unwrap_or_default();
                for status in ClaimStatus::ALL {
                    let path = format!("/api/claims?status={status}&limit={PER_COLUMN}");
                    // Still behind after the wait, the relay answers with what it has; the
                    // label says how far behind.
                    let page = api::get::<ClaimListResponse>(&format!("{path}{after}")).await;
                    after.clear();
                    if let Ok(page) = page {
                        projection.set(Some(page.projection.clone()));
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
    // When the last refresh started, and whether one is set to start once a second has passed.
    let started_at = StoredValue::new(f64::NEG_INFINITY);
    let waiting = StoredValue::new(false);
    let refresh_soon = move || {
        if waiting.get_value() {
            return;
        }
        let wait = started_at.get_value() + REFRESH_EVERY_MS - js_sys::Date::now();
        let start = move || {
            waiting.set_value(false);
            started_at.set_value(js_sys::Date::now());
            refresh();
        };
        if wait > 0.0 {
            waiting.set_value(true);
            set_timeout(start, std::time::Duration::from_millis(wait as u64));
        } else {
            start();
        }
    };
    Effect::new(move |_| {
        store.changed.track();
        refresh_soon();
    });

    // The columns are markup text; a click on a claim's button there picks it.
    let pick = move |ev: leptos::ev::MouseEvent| {
        let claim = clicked(&ev, "button[data-claim]").and_then(|b| b.get_attribute("data-claim"));
        if claim.is_some() {
            store.selected.set(claim);
        }
    };

    view! {
        <p class="board-source muted" data-testid="board-projection">
            "Projection (read model, group claims-projections): "
            {move || match projection.get() {
                None => "…".to_owned(),
                Some(p) => match (p.behind, p.position) {
                    (Some(0), _) => "up to date with the stream".to_owned(),
                    (Some(n), _) => format!("{n} entries behind the stream"),
                    (None, Some(at)) => format!("at {at}"),
                    (None, None) => "nothing projected yet".to_owned(),
                },
            }}
        </p>
        <div class="board" data-testid="board" on:click=pick inner_html=move || columns.with(|c| board(c).into_string())></div>
    }
}

/// The columns as markup: each status's count and its newest claims, each a button that picks
/// the claim (`data-claim`, for the board's click handler).
fn board(columns: &[(ClaimStatus, u64, Vec<ClaimView>)]) -> Markup {
    html! {
        @for (status, total, claims) in columns {
            div class={ "column status-" (status) } {
                h3 { (status) " " span class="count" data-testid={ "board-count-" (status) } { (total) } }
                ul {
                    @for c in claims {
                        li {
                            button type="button" class="link" data-claim=(c.claim_id) { (c.claim_id) }
                            " "
                            span class="amount" { (c.amount) " " span class="currency" { (c.currency) } }
                        }
                    }
                }
            }
        }
    }
}
