//! The live timeline of `claims:events`. Rows have a fixed height and only those in view are
//! in the DOM, so it stays smooth with tens of thousands of entries. Which entries pass the
//! filters is kept up to date from what was added and dropped since the last look; all held
//! entries are looked at again only when a filter changes (or older ones are paged in).

use std::collections::VecDeque;
use std::ops::Range;

use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::api::{EntriesPage, StreamEntry};
use shared::{EventPayload, EventType};

use crate::api;
use crate::components::timeline_search::timeline_search;
use crate::describe;
use crate::store::{Held, Store, field, id_less, id_time};

const ROW_PX: f64 = 44.0;
/// Rows rendered beyond the visible ones, above and below, so fast scrolling shows no gaps.
const OVERSCAN: usize = 8;
const VIEWPORT_ROWS: usize = 14;
const HISTORY_PAGE: usize = 200;

#[component]
pub fn Timeline() -> impl IntoView {
    let store = expect_context::<Store>();
    let claim_filter = RwSignal::new(String::new());
    let type_filter = RwSignal::new(String::new());
    let paused_at = RwSignal::new(None::<String>);
    let scroll_top = RwSignal::new(0.0_f64);
    let inspected = RwSignal::new(None::<StreamEntry>);
    let loading_older = RwSignal::new(false);

    let shown = Memo::new_owning(move |old: Option<Shown>| {
        let filter = Filter {
            claim: claim_filter.get().trim().to_lowercase(),
            kind: type_filter.get(),
            paused: paused_at.get(),
        };
        store.entries.with(|held| Shown::follow(old, filter, held))
    });
    let waiting = move || {
        paused_at.get().map(|p| {
            store
                .entries
                .with(|e| e.iter().rev().take_while(|e| id_less(&p, &e.id)).count())
        })
    };

    let first_row = move || ((scroll_top.get() / ROW_PX) as usize).saturating_sub(OVERSCAN);
    let rows = move || {
        let start = first_row();
        shown.with(|shown| {
            let end = (start + VIEWPORT_ROWS + 2 * OVERSCAN).min(shown.len());
            store.entries.with(|held| {
                (start..end)
                    .filter_map(|row| held.by_seq(shown.newest(row)?).cloned())
                    .collect::<Vec<_>>()
            })
        })
    };

    let load_older = move || {
        if loading_older.get_untracked() || !store.more_history.get_untracked() {
            return;
        }
        let Some(oldest) = store
            .entries
            .with_untracked(|e| e.front().map(|e| e.id.clone()))
        else {
            return;
        };
        loading_older.set(true);
        spawn_local(async move {
            let path = format!(
                "/api/streams/claims:events/entries?rev=true&count={HISTORY_PAGE}&end=({oldest}"
            );
            if let Ok(page) = api::get::<EntriesPage>(&path).await {
                let more = page.next.is_some();
                let mut older = page.entries;
                older.reverse();
                store.prepend_history(older, more);
            }
            loading_older.set(false);
        });
    };

    let on_scroll = move |ev: leptos::ev::Event| {
        let target: web_sys::HtmlElement = event_target(&ev);
        scroll_top.set(f64::from(target.scroll_top()));
        let bottom = f64::from(target.scroll_top() + target.client_height());
        if bottom + 4.0 * ROW_PX >= f64::from(target.scroll_height()) {
            load_older();
        }
    };

    view! {
        <div class="timeline-controls">
            <label>
                "Claim "
                <input
                    data-testid="timeline-filter-claim"
                    placeholder="CLM-…"
                    prop:value=move || claim_filter.get()
                    on:input=move |ev| claim_filter.set(event_target_value(&ev))
                />
            </label>
            <label>
                "Type "
                <select
                    data-testid="timeline-filter-type"
                    on:change=move |ev| type_filter.set(event_target_value(&ev))
                >
                    <option value="">"all"</option>
                    {EventType::ALL
                        .into_iter()
                        .map(|t| view! { <option value=t.as_str()>{t.as_str()}</option> })
                        .collect_view()}
                    <option value="undecoded">"not a claim event"</option>
                </select>
            </label>
            <button
                type="button"
                data-testid="timeline-pause"
                aria-pressed=move || if paused_at.get().is_some() { "true" } else { "false" }
                on:click=move |_| {
                    if paused_at.get_untracked().is_some() {
                        paused_at.set(None);
                    } else {
                        // The newest entry's own id, not the live feed's cursor: entries are
                        // held back by id (by time, across partitions).
                        let newest = store.entries.with_untracked(|e| e.back().map(|e| e.id.clone()));
                        paused_at.set(Some(newest.unwrap_or_else(|| "0-0".into())));
                    }
                }
            >
                {move || match waiting() {
                    Some(n) => format!("Resume ({n} new)"),
                    None => "Pause".to_owned(),
                }}
            </button>
            <span class="muted" data-testid="timeline-count">
                {move || match shown.with(Shown::len) {
                    1 => "1 entry".to_owned(),
                    n => format!("{n} entries"),
                }}
            </span>
        </div>
        {timeline_search(claim_filter, type_filter)}
        <div class="timeline" data-testid="timeline" tabindex="0" on:scroll=on_scroll aria-label="Stream entries, newest first">
            <div class="timeline-spacer" style=move || format!("height: {}px", shown.with(Shown::len) as f64 * ROW_PX)>
                // Rows flow in order inside a window moved to the first one in view; keyed by
                // id, so a new entry adds one row and the others are only moved.
                <div class="timeline-window" style=move || format!("transform: translateY({}px)", first_row() as f64 * ROW_PX)>
                    <For each=rows key=|e| e.id.clone() let:entry>
                        <Row entry=entry inspected=inspected />
                    </For>
                </div>
            </div>
            <Show when=move || shown.with(|s| s.len() == 0)>
                <p class="muted empty">"No entries yet: submit a claim, or XADD to claims:events in redis-cli."</p>
            </Show>
        </div>
        <Show when=move || loading_older.get()>
            <p class="muted">"Loading older entries…"</p>
        </Show>
        {move || inspected.get().map(|e| view! { <Inspector entry=e inspected=inspected /> })}
    }
}

/// What the timeline is filtered by.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Filter {
    /// Lowercase; empty for any claim.
    claim: String,
    /// An event type, `undecoded`, or empty for any.
    kind: String,
    /// Entries after this one are held back.
    paused: Option<String>,
}

impl Filter {
    fn passes(&self, e: &StreamEntry) -> bool {
        self.paused.as_ref().is_none_or(|p| !id_less(p, &e.id))
            && (self.claim.is_empty() || claim_of(e).to_lowercase().contains(&self.claim))
            && (self.kind.is_empty() || type_of(e) == self.kind)
    }
}

/// The held entries that pass the filter, by sequence number, oldest first.
#[derive(Debug, Clone)]
struct Shown {
    filter: Filter,
    seqs: VecDeque<u64>,
    /// The held entries' numbers, and their prepends, when last looked at.
    held: Range<u64>,
    prepends: u64,
}

impl Shown {
    /// Brought up to date with `held` and `filter`: the entries added since `old` looked and
    /// those dropped, or every entry when the filter changed or older ones were put in front.
    /// Whether anything changed, as a memo wants it.
    fn follow(old: Option<Shown>, filter: Filter, held: &Held) -> (Shown, bool) {
        let now = held.seqs();
        match old {
            Some(mut shown) if shown.filter == filter && shown.prepends == held.prepends() => {
                let mut changed = false;
                while shown.seqs.front().is_some_and(|s| *s < now.start) {
                    shown.seqs.pop_front();
                    changed = true;
                }
                for seq in shown.held.end.max(now.start)..now.end {
                    if held.by_seq(seq).is_some_and(|e| filter.passes(e)) {
                        shown.seqs.push_back(seq);
                        changed = true;
                    }
                }
                shown.held = now;
                (shown, changed)
            }
            _ => {
                let seqs = now
                    .clone()
                    .filter(|seq| held.by_seq(*seq).is_some_and(|e| filter.passes(e)))
                    .collect();
                let shown = Shown {
                    filter,
                    seqs,
                    held: now,
                    prepends: held.prepends(),
                };
                (shown, true)
            }
        }
    }

    fn len(&self) -> usize {
        self.seqs.len()
    }

    /// The number of the entry in row `row`, newest first.
    fn newest(&self, row: usize) -> Option<u64> {
        let i = self.seqs.len().checked_sub(row + 1)?;
        self.seqs.get(i).copied()
    }
}

pub(crate) fn claim_of(e: &StreamEntry) -> String {
    e.event
        .as_ref()
        .map(|ev| ev.claim_id.to_string())
        .or_else(|| field(e, "claim_id"))
        .unwrap_or_default()
}

pub(crate) fn type_of(e: &StreamEntry) -> String {
    match (&e.event, &e.marker) {
        (Some(ev), _) => ev.event_type().as_str().to_owned(),
        // A claim-less entry that says what it is (`stream_created`): shown as its type.
        (None, Some(marker)) => marker.clone(),
        (None, None) => "undecoded".to_owned(),
    }
}

/// One entry of the list.
#[component]
fn Row(
    entry: StreamEntry,
    /// The entry whose raw fields are open below the list.
    inspected: RwSignal<Option<StreamEntry>>,
) -> impl IntoView {
    let store = expect_context::<Store>();
    let kind = type_of(&entry);
    let claim = claim_of(&entry);
    // From the decoded event: an older entry's raw fields may name things differently.
    let (customer, amount, currency, detail) = match &entry.event {
        Some(e) => (
            // An entry of the lab's own code may leave the customer to its claim.
            e.customer_id
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            match &e.payload {
                EventPayload::ClaimSubmitted { amount, .. }
                | EventPayload::ClaimPaid { amount, .. } => amount.to_string(),
                _ => String::new(),
            },
            match &e.payload {
                EventPayload::ClaimSubmitted { currency, .. } => currency.to_string(),
                _ => String::new(),
            },
            describe::summary(e),
        ),
        None => (
            field(&entry, "customer_id").unwrap_or_default(),
            field(&entry, "amount").unwrap_or_default(),
            String::new(),
            entry.error.clone().unwrap_or_default(),
        ),
    };
    let select_claim = {
        let claim = claim.clone();
        move |_| store.selected.set(Some(claim.clone()))
    };
    let title = detail.clone();
    let inspect = {
        let entry = entry.clone();
        move |_| inspected.set(Some(entry.clone()))
    };
    view! {
        <div
            class=format!("row type-{kind}{}", if store.is_fresh(&entry.id) { " fresh" } else { "" })
            data-testid="timeline-entry"
            data-entry-id=entry.id.clone()
            data-type=kind.clone()
        >
            <span class="when"><span class="time">{id_time(&entry.id)}</span><code class="entry-id">{entry.id.clone()}</code></span>
            <span class="what">
                <span><span class="badge">{kind.clone()}</span>{partition_badge(entry.partition)}</span>
                <span class="detail" title=title>{detail}</span>
            </span>
            <span class="who">
                <button type="button" class="link claim" on:click=select_claim disabled=claim.is_empty()>
                    {claim.clone()}
                </button>
                <span class="customer">{customer}</span>
            </span>
            <span class="amount">{amount}" "<span class="currency">{currency}</span></span>
            <button type="button" class="small" data-testid="inspect-entry" on:click=inspect aria-label=format!("raw fields of {}", entry.id)>
                "raw"
            </button>
        </div>
    }
}

/// The raw field/value pairs of one entry, as `XRANGE` returns them.
#[component]
fn Inspector(entry: StreamEntry, inspected: RwSignal<Option<StreamEntry>>) -> impl IntoView {
    view! {
        <div class="inspector" data-testid="entry-inspector">
            <header>
                <h3>"Entry " <code>{entry.id.clone()}</code></h3>
                <button type="button" class="small" on:click=move |_| inspected.set(None)>"Close"</button>
            </header>
            {entry.error.clone().map(|e| view! { <p class="error">"Not a claim event: "{e}</p> })}
            <dl>
                {entry.fields.iter().map(|(k, v)| view! { <dt>{k.clone()}</dt><dd>{v.clone()}</dd> }).collect_view()}
            </dl>
        </div>
    }
}

/// Which partition an entry is in, when the claims are partitioned.
fn partition_badge(partition: Option<u32>) -> impl IntoView {
    partition.map(|p| {
        view! {
            " "
            <span class="part" title=format!("partition {p}: in order within it, not across")>{format!("p{p}")}</span>
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(n: u64) -> StreamEntry {
        let claim = format!("CLM-{}", if n.is_multiple_of(2) { "EVEN" } else { "ODD" });
        StreamEntry::decode(format!("{n}-0"), vec![("claim_id".into(), claim)])
    }

    fn filter(claim: &str) -> Filter {
        Filter {
            claim: claim.to_lowercase(),
            kind: String::new(),
            paused: None,
        }
    }

    /// The ids shown, newest first, as rows read them.
    fn rows(shown: &Shown, held: &Held) -> Vec<String> {
        (0..shown.len())
            .filter_map(|row| Some(held.by_seq(shown.newest(row)?)?.id.clone()))
            .collect()
    }

    /// What a full look finds: the truth the followed index must agree with.
    fn rescanned(held: &Held, filter: Filter) -> Vec<String> {
        rows(&Shown::follow(None, filter, held).0, held)
    }

    #[test]
    fn the_shown_entries_follow_additions_and_drops_as_a_full_look_would_find_them() {
        let mut held = Held::default();
        let mut shown = None;
        let mut n = 0;
        // Batches of every size, past what the ring holds, so the oldest are dropped.
        for batch in [1, 7, 500, 3, crate::store::MAX_ENTRIES, 1_234] {
            for _ in 0..batch {
                n += 1;
                held.push(entry(n));
            }
            let (next, changed) = Shown::follow(shown.take(), filter("odd"), &held);
            assert!(changed);
            assert_eq!(rows(&next, &held), rescanned(&held, filter("odd")));
            shown = Some(next);
        }
        let shown = shown.unwrap();
        assert_eq!(shown.len(), crate::store::MAX_ENTRIES / 2);
        assert_eq!(rows(&shown, &held)[0], format!("{n}-0"), "newest first");
    }

    #[test]
    fn a_new_filter_or_older_entries_put_in_front_look_at_everything_again() {
        let mut held = Held::default();
        for n in 10..20 {
            held.push(entry(n));
        }
        let (shown, _) = Shown::follow(None, filter("even"), &held);
        assert_eq!(shown.len(), 5);
        let (shown, changed) = Shown::follow(Some(shown), filter("even"), &held);
        assert!(!changed, "nothing new");
        let (shown, _) = Shown::follow(Some(shown), filter(""), &held);
        assert_eq!(shown.len(), 10);
        held.prepend((1..10).map(entry).collect());
        let (shown, changed) = Shown::follow(Some(shown), filter(""), &held);
        assert!(changed);
        assert_eq!(rows(&shown, &held), rescanned(&held, filter("")));
        assert_eq!(shown.len(), 19);
    }
}
