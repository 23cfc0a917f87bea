//! What caused what in a claim's story (`GET /api/claims/{id}/trace`): the request or entry
//! behind each event, and the notifications, dead letters and analytics summaries each event
//! caused in their streams, drawn as a tree. Loaded when asked: it searches three streams.

use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::api::{ClaimTrace, TraceKind, TraceNode};

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
            {move || traced.get().map(|trace| view! { <Tree trace=trace /> })}
        </section>
    }
}

/// The story as nested lists: each node under its cause.
#[component]
fn Tree(trace: ClaimTrace) -> impl IntoView {
    let mut children = vec![Vec::new(); trace.nodes.len()];
    let mut caused = vec![false; trace.nodes.len()];
    for edge in &trace.edges {
        if let Some(list) = children.get_mut(edge.cause) {
            list.push(edge.effect);
            caused[edge.effect] = true;
        }
    }
    let roots: Vec<usize> = (0..trace.nodes.len()).filter(|i| !caused[*i]).collect();
    let searched = trace
        .searched
        .iter()
        .map(|s| {
            let how_far = if s.complete {
                format!("{} entries, to its end", s.examined)
            } else {
                format!(
                    "the first {} entries after the claim's first event",
                    s.examined
                )
            };
            view! { <li>{s.stream.clone()} ": " {how_far}</li> }
        })
        .collect_view();
    view! {
        {trace.correlation_id.map(|c| view! {
            <p class="muted">"Story " <code data-testid="claim-correlation">{c}</code></p>
        })}
        <ul class="cause-tree" data-testid="cause-tree">
            {roots.into_iter().map(|i| branch(&trace.nodes, &children, i)).collect_view()}
        </ul>
        <details class="muted">
            <summary>"Searched"</summary>
            <ul>{searched}</ul>
        </details>
    }
}

/// Node `i` and, under it, what it caused. The edges come from the relay and form a tree
/// there, but a node is drawn once at most, so a cycle could not recurse forever.
fn branch(nodes: &[TraceNode], children: &[Vec<usize>], i: usize) -> AnyView {
    let mut drawn = vec![false; nodes.len()];
    branch_once(nodes, children, i, &mut drawn)
}

fn branch_once(
    nodes: &[TraceNode],
    children: &[Vec<usize>],
    i: usize,
    drawn: &mut [bool],
) -> AnyView {
    drawn[i] = true;
    let node = &nodes[i];
    let under: Vec<AnyView> = children[i]
        .iter()
        .filter(|c| !drawn[**c])
        .copied()
        .collect::<Vec<_>>()
        .into_iter()
        .map(|c| branch_once(nodes, children, c, drawn))
        .collect();
    let (kind, class) = kind(node.kind);
    let place = match &node.stream {
        Some(stream) => format!("{stream} {}", node.id),
        None => node.id.clone(),
    };
    view! {
        <li class=format!("cause {class}") data-testid="cause-node" data-kind=class>
            <span class="cause-kind">{kind}</span>" "
            <span class="cause-label">{node.label.clone()}</span>" "
            <code class="muted">{place}</code>
            {(!under.is_empty()).then(|| view! { <ul>{under}</ul> })}
        </li>
    }
    .into_any()
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
