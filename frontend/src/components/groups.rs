//! The consumer groups on `claims:events`: each group's cursor on the stream, its consumers
//! and pending entries, live from the relay, with the controls that show recovery at work.

use std::collections::VecDeque;

use leptos::prelude::*;
use leptos::task::spawn_local;
use maud::{Markup, html};
use shared::api::{
    GroupActionResponse, GroupView, GroupsResponse, LAG_AMBER_MS, LAG_RED_MS, StreamEntry,
};

use crate::api;
use crate::components::failure::Failure;
use crate::components::group_position::GroupPosition;
use crate::components::markup::clicked;
use crate::store::{Store, id_less};

/// Stream entries drawn in the strip.
const STRIP: usize = 24;

#[component]
pub fn Groups() -> impl IntoView {
    let store = expect_context::<Store>();
    let names = move || {
        store.groups.with(|g| {
            g.as_ref()
                .map(|g| g.groups.iter().map(|g| g.name.clone()).collect::<Vec<_>>())
                .unwrap_or_default()
        })
    };
    // Whether there is anything to show; the cards (and what is typed in them) are keyed by
    // name, so they survive each refresh.
    let state = Memo::new(move |_| {
        store
            .groups
            .with(|g| g.as_ref().map(|g| g.groups.is_empty()))
    });
    view! {
        <div class="groups" data-testid="groups">
            {move || {
                let waiting = match state.get() {
                    None => "Waiting for the relay to report its consumer groups…",
                    Some(true) => "No consumer groups on claims:events yet (the relay starts them unless run with --workers false).",
                    Some(false) => return None,
                };
                Some(view! { <p class="muted">{waiting}</p> })
            }}
            <For each=names key=|n| n.clone() let:name>
                <GroupCard name=name />
            </For>
            <div inner_html=move || store.groups.with(|g| g.as_ref().map(|g| partitions(g).into_string()).unwrap_or_default())></div>
        </div>
    }
}

/// Each partition's stream, length and groups, when the claims are partitioned (markup).
fn partitions(groups: &GroupsResponse) -> Markup {
    if groups.partition_lengths.is_empty() {
        return html! {};
    }
    html! {
        section class="partitions" data-testid="partitions" {
            h3 { (groups.partition_lengths.len()) " partitions" }
            p class="muted" {
                "A claim's events go to one partition, in order there; none holds across partitions. Under each group: its lag there."
            }
            div class="table-scroll" {
                table class="class" {
                    thead {
                        tr {
                            th { "stream" }
                            th { "entries" }
                            @for g in &groups.groups { th { (g.name) } }
                        }
                    }
                    tbody {
                        @for (p, length) in groups.partition_lengths.iter().enumerate() {
                            tr data-testid={ "partition-" (p) } {
                                th scope="row" { code { "claims:events:{" (p) "}" } }
                                td { (length) }
                                @for g in &groups.groups {
                                    td {
                                        @match g.partition_lags.get(p).copied().flatten() {
                                            Some(lag) => (lag),
                                            None => "?",
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Runs a group action and records what it did in the Redis panel.
fn act(store: Store, path: String, body: serde_json::Value, failure: RwSignal<Option<String>>) {
    spawn_local(async move {
        match api::post::<_, GroupActionResponse>(&path, &body).await {
            Ok(done) => {
                failure.set(None);
                store.record(format!("POST {path}: {}", done.done), done.redis);
            }
            Err(e) => failure.set(Some(e.message)),
        }
    });
}

/// What a pending entry's "claim" asks for, from the card's options: to whom (this relay's
/// first running consumer of the group when left empty), how idle it must be, and whether to
/// take it even when it is no longer pending.
fn claim_options(button: &web_sys::Element) -> serde_json::Value {
    let input = |name: &str| {
        button
            .closest("article")
            .ok()
            .flatten()
            .and_then(|card| {
                card.query_selector(&format!(".claim-options [name={name}]"))
                    .ok()
                    .flatten()
            })
            .and_then(|e| wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlInputElement>(e).ok())
    };
    let mut body = serde_json::json!({
        "force": input("force").is_some_and(|i| i.checked()),
    });
    let value = |name| {
        input(name)
            .map(|i| i.value().trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    if let Some(consumer) = value("consumer") {
        body["consumer"] = consumer.into();
    }
    if let Some(ms) = value("min_idle_ms") {
        // Sent as typed: the relay says what is wrong with it.
        body["min_idle_ms"] = ms
            .parse::<u64>()
            .map_or(serde_json::Value::String(ms), Into::into);
    }
    body
}

/// The options a pending entry's "claim" reads (markup, drawn once per card).
fn claim_options_markup(group: &str) -> Markup {
    html! {
        div.group-actions.claim-options {
            "a pending entry's claim: to "
            input size="10" name="consumer" placeholder="this relay's" data-testid={ "claim-to-" (group) };
            label { " idle ≥ " input size="6" name="min_idle_ms" inputmode="numeric" placeholder="0" data-testid={ "claim-min-idle-" (group) }; " ms" }
            label { input type="checkbox" name="force" data-testid={ "claim-force-" (group) }; " force" }
        }
    }
}

/// Stops a consumer after its current batch (DELETE), recording what happened.
fn retire(store: Store, path: String, failure: RwSignal<Option<String>>) {
    spawn_local(async move {
        match api::delete::<GroupActionResponse>(&path).await {
            Ok(done) => {
                failure.set(None);
                store.record(format!("DELETE {path}: {}", done.done), done.redis);
            }
            Err(e) => failure.set(Some(e.message)),
        }
    });
}

/// One group. The card stays while the figures in it refresh, so the inputs keep their text.
#[component]
fn GroupCard(
    /// The group's name, e.g. `claims-processors`.
    name: String,
) -> impl IntoView {
    let store = expect_context::<Store>();
    let failure = RwSignal::new(None::<String>);
    let group = Memo::new({
        let name = name.clone();
        move |_| {
            store.groups.with(|g| {
                g.as_ref()
                    .and_then(|g| g.groups.iter().find(|x| x.name == name).cloned())
            })
        }
    });
    let base = format!("/api/groups/{name}");
    let poison = RwSignal::new(String::new());
    let ratio = RwSignal::new("0".to_owned());
    let testid = {
        let name = name.clone();
        move |what: &str| format!("{what}-{name}")
    };

    let add = {
        let base = base.clone();
        move |_| {
            act(
                store,
                format!("{base}/consumers"),
                serde_json::json!({}),
                failure,
            )
        }
    };
    let claim_now = {
        let base = base.clone();
        move |_| {
            act(
                store,
                format!("{base}/claim"),
                serde_json::json!({}),
                failure,
            )
        }
    };
    let paused = move || group.with(|g| g.as_ref().is_some_and(|g| g.paused));
    let pause = {
        let base = base.clone();
        move |_| {
            let body = serde_json::json!({"paused": !paused()});
            act(store, format!("{base}/pause"), body, failure)
        }
    };
    let inject = {
        let base = base.clone();
        move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            let percent: f64 = ratio.get_untracked().trim().parse().unwrap_or(0.0);
            let claim = poison.get_untracked();
            let body = serde_json::json!({
                "poison_claim": (!claim.trim().is_empty()).then(|| claim.trim().to_owned()),
                "fail_ratio": (percent / 100.0).clamp(0.0, 1.0),
            });
            act(store, format!("{base}/inject"), body, failure);
        }
    };
    // The figures are markup text: their buttons say what to send, and are answered here.
    let on_figures_click = move |ev: leptos::ev::MouseEvent| {
        let Some(button) = clicked(&ev, "button[data-path]") else {
            return;
        };
        let path = button.get_attribute("data-path").unwrap_or_default();
        if button.get_attribute("data-method").as_deref() == Some("DELETE") {
            retire(store, path, failure);
        } else if path.contains("/pending/") && path.ends_with("/claim") {
            act(store, path, claim_options(&button), failure);
        } else {
            act(store, path, serde_json::json!({}), failure);
        }
    };
    // Learners see the figures; only the instructor gets the controls (the relay refuses
    // them to anyone else anyway).
    let in_relay =
        move || store.is_instructor() && group.with(|g| g.as_ref().is_some_and(|g| g.in_relay));
    let card_id = testid("group");
    let ids = [
        testid("add-consumer"),
        testid("claim-now"),
        testid("pause"),
        testid("inject-claim"),
        testid("inject-ratio"),
        testid("inject"),
    ];
    let [add_id, claim_id, pause_id, poison_id, ratio_id, inject_id] = ids;

    view! {
        <article class="group-card" data-testid=card_id>
            <div on:click=on_figures_click inner_html=move || {
                let instructor = store.is_instructor();
                group.with(|g| {
                    g.as_ref().map_or(String::new(), |g| {
                        store.entries.with(|entries| figures(g, entries, instructor).into_string())
                    })
                })
            }></div>
            <Show when=in_relay>
                <div class="group-actions">
                    <button type="button" class="small" data-testid=add_id.clone() on:click=add.clone()>"add consumer"</button>
                    <button type="button" class="small" data-testid=claim_id.clone() on:click=claim_now.clone()>"claim idle entries now"</button>
                    <button type="button" class="small" data-testid=pause_id.clone() on:click=pause.clone()>{move || if paused() { "resume" } else { "pause" }}</button>
                    <form class="inject" on:submit=inject.clone()>
                        <label>"poison claim " <input size="14" placeholder="CLM-…" data-testid=poison_id.clone() prop:value=move || poison.get() on:input=move |ev| poison.set(event_target_value(&ev)) /></label>
                        <label>"fail % " <input size="3" inputmode="numeric" data-testid=ratio_id.clone() prop:value=move || ratio.get() on:input=move |ev| ratio.set(event_target_value(&ev)) /></label>
                        <button type="submit" class="small" data-testid=inject_id.clone()>"inject"</button>
                    </form>
                </div>
            </Show>
            <Show when=move || store.is_instructor()>
                // Drawn once, so what is typed stays; read when a pending entry's "claim" is
                // clicked (`claim_options`).
                <div inner_html=claim_options_markup(&name).into_string()></div>
                <GroupPosition name=name.clone() failure=failure />
            </Show>
            <Failure failure=failure />
        </article>
    }
}

/// How far behind a group is in time, in words, and its level: `ok`, `amber` (from
/// [`LAG_AMBER_MS`]) or `red` (from [`LAG_RED_MS`]).
pub fn behind(lag_ms: u64) -> (String, &'static str) {
    let words = match lag_ms {
        0 => "up to date".to_owned(),
        ms if ms < 10_000 => format!("{:.1} s behind", ms as f64 / 1000.0),
        ms if ms < 120_000 => format!("{} s behind", ms / 1000),
        ms => format!("{} min behind", ms / 60_000),
    };
    let level = match lag_ms {
        ms if ms >= LAG_RED_MS => "red",
        ms if ms >= LAG_AMBER_MS => "amber",
        _ => "ok",
    };
    (words, level)
}

/// The figures of one group as last pushed, as markup: cursor, strip, consumers, pending
/// entries. Redrawn whole on each push; the crash and stop buttons carry their request
/// (`data-method`, `data-path`) for the card's one click handler.
fn figures(group: &GroupView, entries: &VecDeque<StreamEntry>, instructor: bool) -> Markup {
    let name = &group.name;
    let base = format!("/api/groups/{name}");
    let cursor = &group.last_delivered_id;
    let unknown = |n: Option<u64>| n.map_or("?".to_owned(), |n| n.to_string());
    let strip = entries.iter().rev().take(STRIP).rev();
    let (behind, level) = behind(group.lag_ms);
    html! {
        header {
            h3 { (name) }
            span class={ "breaker breaker-" (group.breaker) } data-testid={ "breaker-" (name) } {
                "breaker " (group.breaker)
            }
            @if group.paused { span class="badge" { "paused" } }
        }
        dl class="group-facts" {
            dt { "lag" } dd data-testid={ "lag-" (name) } { (unknown(group.lag)) }
            dt { "behind" } dd class={ "lag-time lag-" (level) } data-testid={ "lag-ms-" (name) } data-level=(level) { (behind) }
            dt { "pending" } dd data-testid={ "pending-" (name) } { (group.pending) }
            dt { "read" } dd { (unknown(group.entries_read)) }
            dt { "cursor" } dd { code { (cursor) } }
            dt { "done/s" } dd { (format!("{:.1}", group.throughput)) }
        }
        div class="strip" aria-label={ "the last entries of claims:events, as " (name) " sees them" } {
            @for e in strip {
                @let read = !id_less(cursor, &e.id);
                @let pending = group.pending_entries.iter().any(|p| p.id == e.id);
                @let class = match (pending, read) {
                    (true, _) => "cell pending",
                    (false, true) => "cell done",
                    (false, false) => "cell unread",
                };
                @let at_cursor = e.id == *cursor;
                span class=(class) title=(e.id) data-cursor=[at_cursor.then_some("true")] {
                    @if at_cursor { "▲" }
                }
            }
        }
        table class="consumers" {
            thead { tr { th { "consumer" } th { "pending" } th { "idle" } th {} } }
            tbody {
                @for c in &group.members {
                    @let consumer = &c.name;
                    tr data-testid={ "consumer-" (name) "-" (consumer) } data-pending=(c.pending) {
                        td { (consumer) @if !c.running { " (stopped)" } }
                        td { (c.pending) }
                        td { (format!("{:.1}", c.idle_ms as f64 / 1000.0)) " s" }
                        td {
                            @if c.running && instructor {
                                @let path = format!("{base}/consumers/{consumer}");
                                button type="button" class="small" data-testid={ "crash-" (name) "-" (consumer) }
                                    data-method="POST" data-path={ (path) "/crash" } { "crash" }
                                " "
                                button type="button" class="small" data-testid={ "retire-" (name) "-" (consumer) }
                                    data-method="DELETE" data-path=(path) { "stop" }
                            }
                        }
                    }
                }
            }
        }
        @if !group.pending_entries.is_empty() {
            // Open for the instructor, whose buttons act on single entries (a redraw would
            // close it otherwise).
            details class="pending-list" open[instructor] {
                summary { (group.pending_entries.len()) " pending entries (oldest first)" }
                ul {
                    @for p in group.pending_entries.iter().take(20) {
                        li data-testid={ "pending-entry-" (name) "-" (p.id) } {
                            code { (p.id) } " " (p.consumer)
                            " · idle " (format!("{:.1}", p.idle_ms as f64 / 1000.0)) " s · delivered "
                            (p.deliveries) "×"
                            @if instructor {
                                @let path = format!("{base}/pending/{}", p.id);
                                " "
                                button type="button" class="small" data-testid={ "pending-ack-" (name) "-" (p.id) }
                                    data-method="POST" data-path={ (path) "/ack" } { "ack" }
                                " "
                                button type="button" class="small" data-testid={ "pending-claim-" (name) "-" (p.id) }
                                    data-method="POST" data-path={ (path) "/claim" }
                                    title="give it to the consumer named below (this relay's first running one of the group when none is)" { "claim" }
                            }
                        }
                    }
                }
            }
        }
        @if let Some(step) = &group.sampled {
            details class="sampled" data-testid={ "sampled-" (name) } {
                summary {
                    "what " (step.consumer) " sent to Redis " (format!("{:.1}", step.ago_ms as f64 / 1000.0))
                    " s ago (one step a second is shown)"
                }
                pre { @for c in &step.commands { code { (c) } } }
            }
        }
    }
}
