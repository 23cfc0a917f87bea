//! Time travel over the whole stream: the board as it was at any entry, rebuilt by the relay
//! replaying `claims:events` from its first entry (`GET /api/state?at=`), not read from the
//! projection the board uses.
//!
//! The slider steps entry by entry through the entries the page holds (the timeline's, up to
//! 20,000); the older part of the stream, if any, gets steps spread over its time span, one
//! per older entry at most, and the relay's answer says exactly what it replayed.

use std::collections::VecDeque;

use leptos::prelude::*;
use leptos::task::spawn_local;
use maud::{Markup, html};
use shared::api::{ClaimView, EntriesPage, StateResponse, StreamEntry};

use crate::api;
use crate::components::failure::Failure;
use crate::store::{Store, field, id_less, id_millis, id_time};

/// Steps for the part of the stream older than the entries held, while its length is unknown.
const OLDER_STEPS: u64 = 200;
/// Claims listed for the point.
const LISTED: u64 = 20;

/// A point of the stream the slider can stand for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Point {
    /// Up to and including this entry.
    Entry(String),
    /// Up to and including every entry appended in this millisecond.
    Around(u64),
}

impl Point {
    /// As `?at=` takes it: an id, or a bare millisecond (everything appended in it).
    fn query(&self) -> String {
        match self {
            Point::Entry(id) => id.clone(),
            Point::Around(ms) => ms.to_string(),
        }
    }
}

/// How slider positions map onto the stream: first `older` steps over the time of the entries
/// the page does not hold, then one step per held entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Scale {
    older: u64,
    first_ms: u64,
    oldest_held_ms: u64,
    held: u64,
}

impl Scale {
    fn positions(&self) -> u64 {
        self.older + self.held
    }

    fn max(&self) -> u64 {
        self.positions().saturating_sub(1)
    }

    fn span(&self) -> u64 {
        self.oldest_held_ms - self.first_ms
    }

    fn point(&self, position: u64, entries: &VecDeque<StreamEntry>) -> Option<Point> {
        if position < self.older {
            return Some(Point::Around(
                self.first_ms + position * self.span() / self.older,
            ));
        }
        let i = usize::try_from(position - self.older).ok()?;
        entries.get(i).map(|e| Point::Entry(e.id.clone()))
    }

    /// Where a point sits; the inverse of [`Scale::point`].
    fn position(&self, point: &Point, entries: &VecDeque<StreamEntry>) -> u64 {
        let (ms, held_before) = match point {
            Point::Entry(id) => (
                id_millis(id),
                entries.partition_point(|e| !id_less(id, &e.id)),
            ),
            Point::Around(ms) => (*ms, entries.partition_point(|e| id_millis(&e.id) <= *ms)),
        };
        if held_before > 0 {
            return self.older + held_before as u64 - 1;
        }
        if self.older == 0 || ms < self.first_ms {
            return 0;
        }
        ((ms - self.first_ms) * self.older)
            .div_ceil(self.span())
            .min(self.older - 1)
    }
}

#[component]
pub fn TimeTravel() -> impl IntoView {
    let store = expect_context::<Store>();
    // None: now, following the stream.
    let at = RwSignal::new(None::<Point>);
    let answer = RwSignal::new(None::<StateResponse>);
    let failure = RwSignal::new(None::<String>);
    let dragging = RwSignal::new(None::<u64>);
    let first_id = RwSignal::new(None::<String>);
    let slider = NodeRef::<leptos::html::Input>::new();

    // The stream's first entry, once the page knows it holds only the newer ones.
    Effect::new(move |_| {
        if store.more_history.get() && first_id.get_untracked().is_none() {
            spawn_local(async move {
                let path = "/api/streams/claims:events/entries?count=1";
                if let Ok(page) = api::get::<EntriesPage>(path).await {
                    first_id.set(page.entries.first().map(|e| e.id.clone()));
                }
            });
        }
    });

    let scale = Memo::new(move |_| {
        let (held, oldest_held) = store
            .entries
            .with(|e| (e.len() as u64, e.front().map(|e| id_millis(&e.id))));
        let stream_length = store.groups.with(|g| g.as_ref().map(|g| g.length));
        let first_ms = first_id.with(|f| f.as_deref().map(id_millis));
        let older = match (store.more_history.get(), first_ms, oldest_held) {
            (true, Some(first), Some(oldest)) if first < oldest => {
                let count = stream_length
                    .map(|l| l.saturating_sub(held))
                    .filter(|n| *n > 0)
                    .unwrap_or(OLDER_STEPS);
                count.min(oldest - first)
            }
            _ => 0,
        };
        Scale {
            older,
            first_ms: first_ms.unwrap_or(0),
            oldest_held_ms: oldest_held.unwrap_or(0),
            held,
        }
    });
    let position = move || {
        let scale = scale.get();
        match at.get() {
            None => scale.max(),
            Some(point) => store.entries.with(|e| scale.position(&point, e)),
        }
    };
    let shown_position = move || dragging.get().unwrap_or_else(position);
    // Max before value, in one step: a value above the old max would be clamped to it.
    Effect::new(move |_| {
        let max = scale.get().max().to_string();
        let value = shown_position().to_string();
        if let Some(input) = slider.get() {
            input.set_max(&max);
            input.set_value(&value);
        }
    });

    // One replay at a time; a change meanwhile asks once more afterwards.
    let in_flight = RwSignal::new(false);
    let stale = RwSignal::new(false);
    let asked_by_hand = RwSignal::new(false);
    let fetch = move || {
        if in_flight.get_untracked() {
            stale.set(true);
            return;
        }
        in_flight.set(true);
        spawn_local(async move {
            loop {
                stale.set(false);
                let asked = at.get_untracked();
                let mut path = format!("/api/state?limit={LISTED}");
                if let Some(point) = &asked {
                    path.push_str(&format!("&at={}", point.query()));
                }
                let result = api::get::<StateResponse>(&path).await;
                if at.get_untracked() == asked {
                    match result {
                        Ok(state) => {
                            if asked_by_hand.get_untracked() {
                                asked_by_hand.set(false);
                                store.record(
                                    format!(
                                        "GET {path}: replayed {} entries from the first",
                                        state.events_replayed
                                    ),
                                    state.redis.clone(),
                                );
                            }
                            failure.set(None);
                            answer.set(Some(state));
                        }
                        Err(e) => failure.set(Some(e.message)),
                    }
                }
                if !stale.get_untracked() {
                    break;
                }
            }
            in_flight.set(false);
        });
    };
    // Each replay reads the whole stream, so the panel replays only when asked: never on its
    // own at page load, and "now" is as of the click (a class of open pages following every
    // entry would each replay the stream every second).
    let asked = RwSignal::new(0u32);
    Effect::new(move |_| {
        if asked.get() > 0 {
            fetch();
        }
    });
    let go = move |point: Option<Point>| {
        asked_by_hand.set(true);
        at.set(point);
        asked.update(|n| *n += 1);
    };

    let on_input = move |ev: leptos::ev::Event| dragging.set(event_target_value(&ev).parse().ok());
    // Only letting go (or a key) asks the relay, so dragging does not flood it.
    let on_change = move |ev: leptos::ev::Event| {
        dragging.set(None);
        let Ok(p) = event_target_value(&ev).parse::<u64>() else {
            return;
        };
        let point = store
            .entries
            .with_untracked(|e| scale.get_untracked().point(p, e));
        if point.is_some() {
            go(point);
        }
    };

    // What the thumb stands on, in words.
    let preview = move || {
        let scale = scale.get();
        if scale.positions() == 0 {
            return "the stream is empty".to_owned();
        }
        let p = shown_position();
        if dragging.get().is_none() && at.get().is_none() {
            return "now: every entry so far (as of the last replay)".to_owned();
        }
        store.entries.with(|entries| match scale.point(p, entries) {
            Some(Point::Around(ms)) => format!(
                "≈ {} (older than the {} entries this page holds)",
                id_time(&ms.to_string()),
                scale.held
            ),
            Some(Point::Entry(id)) => entries
                .iter()
                .find(|e| e.id == id)
                .map(|e| format!("{} {} · {}", id, id_time(&id), describe(e)))
                .unwrap_or(id),
            None => String::new(),
        })
    };
    let first_label = move || {
        let held_first = store.entries.with(|e| e.front().map(|e| e.id.clone()));
        let first = if scale.get().older > 0 {
            first_id.get()
        } else {
            held_first
        };
        first.map_or_else(String::new, |id| format!("first: {id}"))
    };

    view! {
        <p class="muted note">
            "Rebuilt by the relay replaying every entry of claims:events from the first one up to the point ("
            <code>"XRANGE claims:events - <point>"</code>
            "), folding each into its claim: not read from the projection the board uses."
        </p>
        <div class="travel-controls">
            <span class="muted travel-end">{first_label}</span>
            <input
                type="range"
                class="travel-slider"
                data-testid="travel-slider"
                node_ref=slider
                min="0"
                step="1"
                aria-label="Point in claims:events"
                aria-valuetext=preview
                disabled=move || scale.get().positions() == 0
                on:input=on_input
                on:change=on_change
            />
            <button
                type="button"
                data-testid="travel-now"
                aria-pressed=move || if at.get().is_none() { "true" } else { "false" }
                on:click=move |_| go(None)
            >
                "now"
            </button>
        </div>
        <p class="travel-point" data-testid="travel-point">{preview}</p>
        <Failure failure=failure testid="travel-error" />
        <div inner_html=move || {
            let live = at.get().is_none();
            answer.with(|a| match a {
                Some(state) => replayed(state, live),
                None => html! {
                    p class="muted" data-testid="travel-hint" { "Move the slider, or press now, to replay the board from the stream." }
                },
            })
            .into_string()
        }></div>
    }
}

/// The board as the replay found it, as markup (read-only, redrawn whole on each answer).
fn replayed(state: &StateResponse, live: bool) -> Markup {
    let StateResponse {
        as_of,
        events_replayed,
        counts,
        total,
        claims,
        last_events,
        ..
    } = state;
    let (class, mode) = if live {
        ("live", "now")
    } else {
        ("past", "in the past")
    };
    let more = total.saturating_sub(claims.len() as u64);
    let last = last_events.last().map(|e| e.id.as_str());
    html! {
        div class={ "travel-result " (class) } data-testid="travel-result" {
            p class="travel-summary" {
                span class="badge mode" { (mode) } " "
                span data-testid="travel-replayed" data-events=(events_replayed) data-as-of=(as_of.as_deref().unwrap_or_default()) {
                    @match as_of {
                        Some(id) => {
                            "Replayed " (events_replayed) @if *events_replayed == 1 { " event" } @else { " events" }
                            " from the first entry up to " (id) " (" (id_time(id)) ")"
                        }
                        None => "Nothing to replay: the stream had no entries then",
                    }
                }
            }
            div class="travel-counts" {
                span class="chip" { b data-testid="travel-total" { (total) } " " @if *total == 1 { "claim" } @else { "claims" } }
                @for c in counts {
                    span class={ "chip status-" (c.status) } {
                        (c.status) " " b data-testid={ "travel-count-" (c.status) } { (c.count) }
                    }
                }
            }
            div class="travel-columns" {
                div {
                    h3 { "Claims then, newest first" }
                    ul class="travel-claims" data-testid="travel-claims" {
                        @for claim in claims { (claim_then(claim)) }
                    }
                    @if more > 0 { p class="muted" { "…and " (more) " more" } }
                }
                div {
                    h3 { "Last events replayed" }
                    ol class="travel-events" data-testid="travel-events" {
                        @for e in last_events {
                            li class=[(last == Some(e.id.as_str())).then_some("point")] data-testid="travel-event" data-entry-id=(e.id) {
                                code { (e.id) } " " (describe(e))
                            }
                        }
                    }
                }
            }
        }
    }
}

/// One claim as it was at the point.
fn claim_then(claim: &ClaimView) -> Markup {
    let status = claim.status;
    html! {
        li data-testid="travel-claim" data-claim-id=(claim.claim_id) data-status=(status) {
            code { (claim.claim_id) } " "
            span class="customer" { (claim.customer_id) } " "
            span class="amount" { (claim.amount) " " (claim.currency) } " "
            span class={ "status status-" (status) } { (status) } " "
            span class="muted" { "v" (claim.version) }
        }
    }
}

/// An entry in a few words: its type, claim and new status.
fn describe(e: &StreamEntry) -> String {
    let kind = e
        .event
        .as_ref()
        .map_or("not a claim event", |ev| ev.event_type().as_str());
    let claim = field(e, "claim_id").unwrap_or_default();
    let to = field(e, "to")
        .map(|to| format!(" → {to}"))
        .unwrap_or_default();
    format!("{kind} {claim}{to}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str) -> StreamEntry {
        StreamEntry::decode(id.to_owned(), Vec::new())
    }

    #[test]
    fn held_entries_get_one_step_each_after_the_older_span() {
        let entries = VecDeque::from([entry("1000-0"), entry("1000-1"), entry("1500-0")]);
        let scale = Scale {
            older: 50,
            first_ms: 0,
            oldest_held_ms: 1000,
            held: 3,
        };
        assert_eq!(scale.max(), 52);
        assert_eq!(scale.point(0, &entries), Some(Point::Around(0)));
        assert_eq!(
            scale.point(51, &entries),
            Some(Point::Entry("1000-1".into()))
        );
        for p in 0..=scale.max() {
            let point = scale.point(p, &entries).unwrap();
            assert_eq!(scale.position(&point, &entries), p, "{point:?}");
        }
        assert_eq!(scale.point(53, &entries), None);
    }

    #[test]
    fn a_point_no_longer_held_falls_back_on_time() {
        let entries = VecDeque::from([entry("1000-0")]);
        let held_only = Scale {
            older: 0,
            first_ms: 0,
            oldest_held_ms: 1000,
            held: 1,
        };
        assert_eq!(held_only.position(&Point::Entry("5-0".into()), &entries), 0);
        assert_eq!(held_only.position(&Point::Around(2000), &entries), 0);
    }
}
