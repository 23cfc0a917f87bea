//! The consumer groups on `claims:events`: each group's cursor on the stream, its consumers
//! and pending entries, live from the relay, with the controls that show recovery at work.

use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::api::{GroupActionResponse, GroupView};

use crate::api;
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
    // Only whether there is anything to show decides the outer view, so the cards (and what
    // is typed in them) survive each refresh.
    let state = Memo::new(move |_| {
        store
            .groups
            .with(|g| g.as_ref().map(|g| g.groups.is_empty()))
    });
    view! {
        <div class="groups" data-testid="groups">
            {move || match state.get() {
                None => view! { <p class="muted">"Waiting for the relay to report its consumer groups…"</p> }.into_any(),
                Some(true) => view! {
                    <p class="muted">"No consumer groups on claims:events yet (the relay starts them unless run with --workers false)."</p>
                }.into_any(),
                Some(false) => view! {
                    <For each=names key=|n| n.clone() let:name>
                        <GroupCard name=name />
                    </For>
                }.into_any(),
            }}
        </div>
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

/// One group. The card stays while the figures in it refresh, so the inputs keep their text.
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
            {move || group.get().map(|g| view! { <GroupFigures group=g base=base.clone() failure=failure /> })}
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
            {move || failure.get().map(|m| view! { <p class="error" role="alert">{m}</p> })}
        </article>
    }
}

/// The figures of one group as last pushed: cursor, strip, consumers, pending entries.
#[component]
fn GroupFigures(
    group: GroupView,
    /// `/api/groups/{name}`.
    base: String,
    /// Where a failed action says why.
    failure: RwSignal<Option<String>>,
) -> impl IntoView {
    let store = expect_context::<Store>();
    let name = group.name.clone();
    let testid = |what: &str| format!("{what}-{name}");
    let strip = {
        let cursor = group.last_delivered_id.clone();
        let pending: Vec<String> = group.pending_entries.iter().map(|p| p.id.clone()).collect();
        move || {
            store.entries.with(|entries| {
                entries
                    .iter()
                    .rev()
                    .take(STRIP)
                    .rev()
                    .map(|e| {
                        let read = !id_less(&cursor, &e.id);
                        let class = match (pending.contains(&e.id), read) {
                            (true, _) => "cell pending",
                            (false, true) => "cell done",
                            (false, false) => "cell unread",
                        };
                        let at_cursor = e.id == cursor;
                        view! {
                            <span class=class title=e.id.clone() data-cursor=at_cursor.then_some("true")>
                                {at_cursor.then_some("▲")}
                            </span>
                        }
                    })
                    .collect_view()
            })
        }
    };
    view! {
        <header>
            <h3>{name.clone()}</h3>
            <span class=format!("breaker breaker-{}", group.breaker) data-testid=testid("breaker")>
                "breaker " {group.breaker.clone()}
            </span>
            {group.paused.then(|| view! { <span class="badge">"paused"</span> })}
        </header>
        <dl class="group-facts">
            <dt>"lag"</dt><dd data-testid=testid("lag")>{group.lag.map_or("?".to_owned(), |l| l.to_string())}</dd>
            <dt>"pending"</dt><dd data-testid=testid("pending")>{group.pending}</dd>
            <dt>"read"</dt><dd>{group.entries_read.map_or("?".to_owned(), |l| l.to_string())}</dd>
            <dt>"cursor"</dt><dd><code>{group.last_delivered_id.clone()}</code></dd>
            <dt>"done/s"</dt><dd>{format!("{:.1}", group.throughput)}</dd>
        </dl>
        <div class="strip" aria-label=format!("the last entries of claims:events, as {name} sees them")>{strip}</div>
        <table class="consumers">
            <thead><tr><th>"consumer"</th><th>"pending"</th><th>"idle"</th><th>""</th></tr></thead>
            <tbody>
                {group
                    .members
                    .iter()
                    .map(|c| {
                        let consumer = c.name.clone();
                        let crash = {
                            let path = format!("{base}/consumers/{consumer}/crash");
                            move |_| act(store, path.clone(), serde_json::json!({}), failure)
                        };
                        let retire = {
                            let path = format!("{base}/consumers/{consumer}");
                            move |_| retire(store, path.clone(), failure)
                        };
                        view! {
                            <tr data-testid=format!("consumer-{name}-{consumer}") data-pending=c.pending.to_string()>
                                <td>{consumer.clone()} {(!c.running).then_some(" (stopped)")}</td>
                                <td>{c.pending}</td>
                                <td>{format!("{:.1} s", c.idle_ms as f64 / 1000.0)}</td>
                                <td>
                                    {(c.running && store.is_instructor()).then(|| view! {
                                        <button type="button" class="small" data-testid=format!("crash-{name}-{consumer}") on:click=crash.clone()>
                                            "crash"
                                        </button>
                                        " "
                                        <button type="button" class="small" data-testid=format!("retire-{name}-{consumer}") on:click=retire.clone()>
                                            "stop"
                                        </button>
                                    })}
                                </td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
        {(!group.pending_entries.is_empty()).then(|| view! {
            <details class="pending-list">
                <summary>{format!("{} pending entries (oldest first)", group.pending_entries.len())}</summary>
                <ul>
                    {group.pending_entries.iter().take(20).map(|p| view! {
                        <li><code>{p.id.clone()}</code> " " {p.consumer.clone()} " · idle " {format!("{:.1} s", p.idle_ms as f64 / 1000.0)} " · delivered " {p.deliveries} "×"</li>
                    }).collect_view()}
                </ul>
            </details>
        })}
        {group.sampled.clone().map(|step| view! {
            <details class="sampled" data-testid=testid("sampled")>
                <summary>{format!("what {} sent to Redis {:.1} s ago (one step a second is shown)", step.consumer, step.ago_ms as f64 / 1000.0)}</summary>
                <pre>{step.commands.into_iter().map(|c| view! { <code>{c}</code> }).collect_view()}</pre>
            </details>
        })}
    }
}
