//! Replaying many dead letters at once: every letter of a group, or those ticked. A dry run
//! counts them first, and nothing is replayed until the instructor confirms that count.

use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::api::{BulkReplayRequest, BulkReplayResponse};

use crate::api;
use crate::components::failure::Failure;
use crate::store::Store;

const PATH: &str = "/api/dead-letters/replay";

/// A replay waiting for its confirmation.
#[derive(Debug, Clone, PartialEq)]
struct Asked {
    request: BulkReplayRequest,
    question: String,
    matched: u64,
}

/// Which letters, in words: `of claims-notifications`, `selected`.
fn which(request: &BulkReplayRequest) -> String {
    match &request.group {
        Some(group) => format!("of {group}"),
        None => "selected".into(),
    }
}

fn letters(n: u64) -> String {
    if n == 1 {
        "1 letter".into()
    } else {
        format!("{n} letters")
    }
}

#[component]
pub fn BulkReplay(
    /// The groups whose letters are listed, each offered a "replay all".
    #[prop(into)]
    groups: Signal<Vec<String>>,
    /// The ids of the letters ticked in the list.
    selected: RwSignal<Vec<String>>,
) -> impl IntoView {
    let store = expect_context::<Store>();
    let asked = RwSignal::new(None::<Asked>);
    let outcome = RwSignal::new(None::<(String, Vec<String>)>);
    let failure = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);

    let send = move |request: BulkReplayRequest| {
        busy.set(true);
        spawn_local(async move {
            let answer = api::post::<_, BulkReplayResponse>(PATH, &request).await;
            busy.set(false);
            let done = match answer {
                Ok(done) => done,
                Err(e) => {
                    failure.set(Some(e.message));
                    return;
                }
            };
            failure.set(None);
            if request.dry_run {
                outcome.set(None);
                if done.matched == 0 {
                    outcome.set(Some((
                        format!("No letters {} to replay.", which(&request)),
                        Vec::new(),
                    )));
                    return;
                }
                let question = format!("Replay {} {}?", letters(done.matched), which(&request));
                asked.set(Some(Asked {
                    request: BulkReplayRequest {
                        dry_run: false,
                        ..request
                    },
                    question,
                    matched: done.matched,
                }));
                return;
            }
            let summary = format!(
                "Replayed {}; {} failed again and stayed.",
                letters(done.replayed.len() as u64),
                done.failed.len()
            );
            store.record(format!("POST {PATH}: {summary}"), done.redis);
            let failed = done
                .failed
                .iter()
                .map(|f| format!("{}: {}", f.id, f.error))
                .collect();
            selected.update(|s| s.retain(|id| !done.replayed.contains(id)));
            outcome.set(Some((summary, failed)));
        });
    };
    // Counting first: the confirmation names how many.
    let ask = move |request: BulkReplayRequest| {
        asked.set(None);
        send(BulkReplayRequest {
            dry_run: true,
            ..request
        });
    };
    let confirm = move |_| {
        if let Some(a) = asked.get_untracked() {
            asked.set(None);
            send(a.request);
        }
    };

    view! {
        <div class="bulk-replay" data-testid="bulk-replay">
            <For each=move || groups.get() key=|g| g.clone() let:group>
                <button type="button" class="small" data-testid=format!("replay-all-{group}") disabled=move || busy.get()
                    on:click={
                        let group = group.clone();
                        move |_| ask(BulkReplayRequest { group: Some(group.clone()), ..Default::default() })
                    }>
                    {format!("replay all of {group}")}
                </button>
            </For>
            <Show when=move || !groups.with(Vec::is_empty)>
                <button type="button" class="small" data-testid="replay-selected"
                    disabled=move || busy.get() || selected.with(Vec::is_empty)
                    on:click=move |_| ask(BulkReplayRequest { ids: selected.get_untracked(), ..Default::default() })>
                    {move || format!("replay selected ({})", selected.with(Vec::len))}
                </button>
            </Show>
            {move || asked.get().map(|a| view! {
                <div class="confirm" role="alertdialog" aria-labelledby="replay-question" data-testid="replay-confirm" data-matched=a.matched>
                    <p id="replay-question"><strong>{a.question.clone()}</strong>
                        " Each goes back to its group's handler; one that fails again stays a letter."</p>
                    <button type="button" data-testid="confirm-replay" on:click=confirm>{format!("Replay {}", letters(a.matched))}</button>
                    " "
                    <button type="button" class="small" data-testid="cancel-replay" on:click=move |_| asked.set(None)>"cancel"</button>
                </div>
            })}
            {move || outcome.get().map(|(summary, failed)| view! {
                <div class="replay-result" role="status" data-testid="replay-result">
                    <p>{summary}</p>
                    <ul>{failed.into_iter().map(|f| view! { <li class="error">{f}</li> }).collect_view()}</ul>
                </div>
            })}
            <Failure failure=failure testid="bulk-replay-error" />
        </div>
    }
}
