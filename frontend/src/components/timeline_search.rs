//! The timeline's filter applied to the history the page does not hold: searched inside Redis
//! (`GET /api/streams/claims:events/search`), a bounded scan a page at a time, and the same
//! filter over the whole stream as a CSV or NDJSON download.

use leptos::prelude::*;
use leptos::task::spawn_local;
use maud::{Markup, html};
use shared::EventType;
use shared::api::{SearchPage, SearchStop, StreamEntry};

use crate::api;
use crate::components::timeline::{claim_of, type_of};
use crate::store::{Store, id_time};

/// Matches asked for per page.
const PAGE: usize = 50;

/// What the searches so far found for one filter, and where the next one goes on.
#[derive(Clone, Default)]
struct Found {
    /// The filter's conditions these are the matches of.
    query: String,
    matches: Vec<StreamEntry>,
    examined: u64,
    last_examined: Option<String>,
    stopped: Option<SearchStop>,
    next_after: Option<String>,
    busy: bool,
    failure: Option<String>,
}

fn encoded(s: &str) -> String {
    String::from(js_sys::encode_uri_component(s))
}

/// The search's conditions for the filter, if it has one the relay can search by: a whole
/// claim id, an event type.
fn conditions(claim: &str, kind: &str) -> Option<String> {
    let mut query = Vec::new();
    if !claim.is_empty() {
        query.push(format!("claim={}", encoded(claim)));
    }
    if EventType::parse(kind).is_some() {
        query.push(format!("type={kind}"));
    }
    (!query.is_empty()).then(|| query.join("&"))
}

/// The search for the timeline's filter: `claim` as typed (searched as a whole claim id) and
/// `kind` (an event type, `undecoded` or empty). A plain function, not a component: the app
/// is smaller without the props' plumbing.
pub fn timeline_search(claim: RwSignal<String>, kind: RwSignal<String>) -> impl IntoView {
    let store = expect_context::<Store>();
    // One signal for it all, and one view redrawn from it: small in the app's code.
    let found = RwSignal::new(Found::default());

    let search = move |query: String| {
        // Another filter than the matches held were for: start over.
        let mut held = found.get_untracked();
        if held.query != query {
            held = Found {
                query: query.clone(),
                ..Found::default()
            };
        }
        if held.busy {
            return;
        }
        // Older than the oldest entry the page holds.
        let oldest = store
            .entries
            .with_untracked(|e| e.front().map(|e| e.id.clone()));
        let before = oldest.map(|id| format!("&to=({id}")).unwrap_or_default();
        let after = held
            .next_after
            .as_deref()
            .map(|a| format!("&after={}", encoded(a)))
            .unwrap_or_default();
        let path = format!("/api/streams/claims:events/search?{query}{before}{after}&limit={PAGE}");
        held.busy = true;
        held.failure = None;
        found.set(held);
        spawn_local(async move {
            let answer = api::get::<SearchPage>(&path).await;
            if let Ok(page) = &answer {
                store.record("Search older history", page.redis.clone());
            }
            found.update(|f| {
                f.busy = false;
                match answer {
                    Ok(page) => {
                        f.matches.extend(page.matches);
                        f.examined += page.examined;
                        f.last_examined = page.last_examined;
                        f.stopped = Some(page.stopped);
                        f.next_after = page.next_after;
                    }
                    Err(e) => f.failure = Some(e.message),
                }
            });
        });
    };

    move || {
        let query = conditions(claim.get().trim(), &kind.get())?;
        let f = found.get();
        let mine = f.query == query;
        let started = mine && f.stopped.is_some();
        let done = started && f.next_after.is_none();
        let export =
            |format: &str| format!("/api/streams/claims:events/search?{query}&format={format}");
        let (csv, ndjson) = (export("csv"), export("ndjson"));
        let label = if started {
            "Search further back"
        } else {
            "Search older history"
        };
        // What went wrong, or how much was found and how far the searches looked.
        let said = match (mine, &f.failure) {
            (true, Some(failure)) => Some(failure.clone()),
            _ => started.then(|| summary(&f)),
        };
        let matches = if mine { f.matches } else { Vec::new() };
        Some(view! {
            <div class="timeline-search" data-testid="timeline-search">
                <button
                    type="button"
                    class="small"
                    data-testid="search-older"
                    disabled=(mine && f.busy) || done
                    on:click=move |_| search(query.clone())
                >
                    {label}
                </button>
                " in Redis, claim ids whole · download "
                <a data-testid="export-csv" href=csv download="">"CSV"</a>
                " "
                <a data-testid="export-ndjson" href=ndjson download="">"NDJSON"</a>
                <p class="muted" data-testid="search-summary">{said}</p>
                <ul class="search-matches" inner_html=rows(&matches).into_string()></ul>
            </div>
        })
    }
}

/// The entries found, each with when, its id, its type and claim. Read-only, so a template
/// (`components::markup`): what Redis holds is escaped by it.
fn rows(matches: &[StreamEntry]) -> Markup {
    html! {
        @for entry in matches {
            li data-testid="search-match" data-entry-id=(entry.id) {
                (id_time(&entry.id)) " " (entry.id) " " (type_of(entry)) " " (claim_of(entry))
            }
        }
    }
}

/// How much the searches found, and how far they looked.
fn summary(found: &Found) -> String {
    let n = found.matches.len();
    format!(
        "{n} older {} in {} entries examined{}{}",
        if n == 1 { "match" } else { "matches" },
        found.examined,
        found
            .last_examined
            .as_deref()
            .map(|id| format!(" up to {id}"))
            .unwrap_or_default(),
        match found.stopped {
            Some(SearchStop::End) => "; all older history searched",
            Some(SearchStop::ScanBound) => "; the most one search examines: search further back",
            Some(SearchStop::Deadline) => "; out of time: search further back",
            _ => "",
        }
    )
}
