//! What caused what in a claim's story (`GET /api/claims/{id}/trace`): the request or entry
//! behind each event, and the notifications, dead letters and analytics summaries each event
//! caused in their streams, drawn as a tree. Loaded when asked: it searches three streams.

use leptos::prelude::*;
use leptos::task::spawn_local;
use maud::{Markup, html};
use shared::api::{ClaimTrace, TraceKind};

use crate::api;

#[component]
pub fn ClaimCauses(
    /// The claim shown.
    claim_id: String,
) -> impl IntoView {
    let traced = RwSignal::new(None::<ClaimTrace>);
    let failure = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let claim = StoredValue::new(claim_id);
    let load = move |_| {
        busy.set(true);
        spawn_local(async move {
            let path = format!("/api/claims/{}/trace", claim.get_value());
            match api::get::<ClaimTrace>(&path).await {
                Ok(trace) => {
                    failure.set(None);
                    traced.set(Some(trace));
                }
                Err(e) => failure.set(Some(e.message)),
            }
            busy.set(false);
        });
    };
    view! {
        <section class="claim-causes" data-testid="claim-causes">
            <h3>"Causes"</h3>
            <button type="button" data-testid="claim-causes-load" on:click=load
                disabled=move || busy.get()>
                {move || if traced.with(Option::is_some) { "Trace again" } else { "What caused what" }}
            </button>
            {move || failure.get().map(|m| view! { <p class="error">{m}</p> })}
            <div inner_html=move || traced.with(|t| t.as_ref().map(|t| tree(t).into_string()))></div>
        </section>
    }
}

/// The story as an indented list: each node under its cause. Read-only, so a template
/// (`components::markup`): the labels come from Redis and are escaped by it.
fn tree(trace: &ClaimTrace) -> Markup {
    let rows = depth_first(trace);
    html! {
        @if let Some(story) = &trace.correlation_id {
            p.muted { "Story " code data-testid="claim-correlation" { (story) } }
        }
        ul.cause-tree data-testid="cause-tree" {
            @for (depth, i) in rows {
                @let node = &trace.nodes[i];
                @let (kind, class) = kind(node.kind);
                li class={ "cause " (class) } style={ "--depth: " (depth) }
                    data-testid="cause-node" data-kind=(class) data-depth=(depth) {
                    span.cause-kind { (kind) } " "
                    span.cause-label { (node.label) } " "
                    code.muted {
                        @if let Some(stream) = &node.stream { (stream) " " }
                        (node.id)
                    }
                }
            }
        }
        details.muted {
            summary { "Searched" }
            ul {
                @for s in &trace.searched {
                    li {
                        (s.stream) ": "
                        @if s.complete {
                            (s.examined) " entries, to its end"
                        } @else {
                            "the first " (s.examined) " entries after the claim's first event"
                        }
                    }
                }
            }
        }
    }
}

/// Each node with its depth, every node right after its cause and before the cause's next
/// effect. The relay's edges form a tree; a node is listed once at most all the same.
fn depth_first(trace: &ClaimTrace) -> Vec<(usize, usize)> {
    let count = trace.nodes.len();
    let mut effects = vec![Vec::new(); count];
    let mut caused = vec![false; count];
    for edge in trace
        .edges
        .iter()
        .filter(|e| e.cause < count && e.effect < count)
    {
        effects[edge.cause].push(edge.effect);
        caused[edge.effect] = true;
    }
    let mut listed = vec![false; count];
    let mut rows = Vec::with_capacity(count);
    let mut stack: Vec<(usize, usize)> = (0..count)
        .rev()
        .filter(|i| !caused[*i])
        .map(|i| (0, i))
        .collect();
    while let Some((depth, i)) = stack.pop() {
        if std::mem::replace(&mut listed[i], true) {
            continue;
        }
        rows.push((depth, i));
        stack.extend(effects[i].iter().rev().map(|e| (depth + 1, *e)));
    }
    rows
}

fn kind(kind: TraceKind) -> (&'static str, &'static str) {
    match kind {
        TraceKind::Request => ("request", "request"),
        TraceKind::Event => ("event", "event"),
        TraceKind::Notification => ("notification", "notification"),
        TraceKind::DeadLetter => ("dead letter", "dead-letter"),
        TraceKind::Analytics => ("analytics", "analytics"),
    }
}
