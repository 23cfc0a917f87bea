//! `claims:failed`: the entries a group gave up on, with replay and discard.

use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::api::{EntriesPage, GroupActionResponse, StreamEntry};

use crate::api;
use crate::components::bulk_replay::BulkReplay;
use crate::components::failure::Failure;
use crate::store::{Store, field};

/// Letters listed, newest first.
const SHOWN: usize = 20;

#[component]
pub fn DeadLetters() -> impl IntoView {
    let store = expect_context::<Store>();
    let letters = RwSignal::new(Vec::<StreamEntry>::new());
    let failure = RwSignal::new(None::<String>);
    let selected = RwSignal::new(Vec::<String>::new());
    // The relay pushes the count each second; the list is fetched when the count moves.
    let count = Memo::new(move |_| store.groups.with(|g| g.as_ref().map(|g| g.dead_letters)));
    let reload = move || {
        spawn_local(async move {
            let path = format!("/api/streams/claims:failed/entries?rev=true&count={SHOWN}");
            if let Ok(mut page) = api::get::<EntriesPage>(&path).await {
                // With partitions a letter goes by `<partition>:<id>`, for replay and discard.
                for letter in &mut page.entries {
                    if let Some(p) = letter.partition {
                        letter.id = format!("{p}:{}", letter.id);
                    }
                }
                selected.update(|s| s.retain(|id| page.entries.iter().any(|l| l.id == *id)));
                letters.set(page.entries);
            }
        });
    };
    Effect::new(move |_| {
        count.track();
        reload();
    });
    let act = move |id: String, action: &'static str| {
        spawn_local(async move {
            let path = format!("/api/dead-letters/{id}/{action}");
            match api::post::<_, GroupActionResponse>(&path, &serde_json::json!({})).await {
                Ok(done) => {
                    failure.set(None);
                    store.record(format!("POST {path}: {}", done.done), done.redis);
                }
                Err(e) => failure.set(Some(e.message)),
            }
            reload();
        });
    };

    // The groups among the letters listed, each offered a bulk replay.
    let groups = Signal::derive(move || {
        letters.with(|l| {
            let mut groups: Vec<String> = l.iter().filter_map(|l| field(l, "group")).collect();
            groups.sort();
            groups.dedup();
            groups
        })
    });

    view! {
        <div class="dead-letters" data-testid="dead-letters">
            <h3>
                "Dead letters (claims:failed) "
                <span class="count" data-testid="dead-letter-count">{move || count.get().unwrap_or(0)}</span>
            </h3>
            // Outside the list: a replay's result stays when it emptied the list.
            <Show when=move || store.is_instructor()>
                <BulkReplay groups=groups selected=selected />
            </Show>
            <Show
                when=move || letters.with(|l| !l.is_empty())
                fallback=|| view! { <p class="muted">"None: every entry was handled."</p> }
            >
                <ul>
                    <For each=move || letters.get() key=|l| l.id.clone() let:letter>
                        {
                            let id = letter.id.clone();
                            let (replay_id, discard_id) = (id.clone(), id.clone());
                            let ticked = {
                                let id = id.clone();
                                move || selected.with(|s| s.contains(&id))
                            };
                            let tick = {
                                let id = id.clone();
                                move |ev| {
                                    let on = event_target_checked(&ev);
                                    selected.update(|s| {
                                        s.retain(|x| *x != id);
                                        if on {
                                            s.push(id.clone());
                                        }
                                    });
                                }
                            };
                            view! {
                                <li data-testid="dead-letter" data-original=field(&letter, "original_id").unwrap_or_default()>
                                    <Show when=move || store.is_instructor()>
                                        <input type="checkbox" data-testid="select-dead-letter" aria-label=format!("select letter {id}")
                                            prop:checked=ticked.clone() on:change=tick.clone() />
                                        " "
                                    </Show>
                                    <span>{describe(&letter)}</span>
                                    " "
                                    <Show when=move || store.is_instructor()>
                                        <button type="button" class="small" data-testid="replay-dead-letter" on:click={
                                            let id = replay_id.clone();
                                            move |_| act(id.clone(), "replay")
                                        }>"replay"</button>
                                        <button type="button" class="small" data-testid="discard-dead-letter" on:click={
                                            let id = discard_id.clone();
                                            move |_| act(id.clone(), "discard")
                                        }>"discard"</button>
                                    </Show>
                                </li>
                            }
                        }
                    </For>
                </ul>
            </Show>
            <Failure failure=failure testid="dead-letter-error" />
        </div>
    }
}

/// A letter's original entry, group, attempts and error (read-only). Another program's letter
/// (the lab's) names no group nor attempts, and gives its reason as `error_message`.
fn describe(letter: &StreamEntry) -> impl IntoView + use<> {
    let field = |name| field(letter, name).unwrap_or_default();
    let by = match (field("group"), field("attempts")) {
        (group, _) if group.is_empty() => " written by another program · ".to_owned(),
        (group, attempts) => format!(" {group} · {attempts} attempts · "),
    };
    let reason = match field("error") {
        error if error.is_empty() => field("error_message"),
        error => error,
    };
    view! {
        <code>{field("original_id")}</code>
        {by}
        <span class="error" data-testid="dead-letter-reason">{reason}</span>
    }
}
