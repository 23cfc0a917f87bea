use leptos::prelude::*;

use crate::store::Store;

/// The redis-cli commands behind each action, newest first, so a learner can repeat them.
#[component]
pub fn RedisPanel() -> impl IntoView {
    let store = expect_context::<Store>();
    let actions = move || {
        let mut log = store.redis_log.get();
        log.reverse();
        log
    };
    view! {
        <div class="redis-log" data-testid="redis-panel">
            <Show
                when=move || store.redis_log.with(|l| !l.is_empty())
                fallback=|| view! { <p class="muted">"Submit or change a claim to see the commands here."</p> }
            >
                <For each=actions key=|a| a.seq let:action>
                    <RedisAction title=action.title commands=action.commands />
                </For>
            </Show>
        </div>
    }
}

/// One action's commands, with a button that copies them for a terminal.
#[component]
fn RedisAction(
    /// What the learner did, e.g. `POST /api/claims`.
    title: String,
    /// The commands, in redis-cli form.
    commands: Vec<String>,
) -> impl IntoView {
    let text = commands.join("\n");
    let copied = RwSignal::new(false);
    let copy = move |_| {
        if let Some(window) = web_sys::window() {
            let _ = window.navigator().clipboard().write_text(&text);
            copied.set(true);
        }
    };
    view! {
        <article class="redis-action">
            <header>
                <h3>{title}</h3>
                <button type="button" class="small" on:click=copy>
                    {move || if copied.get() { "Copied" } else { "Copy" }}
                </button>
            </header>
            <pre data-testid="redis-commands">
                {commands
                    .into_iter()
                    .map(|c| view! { <code data-testid="redis-command">{c}</code> })
                    .collect_view()}
            </pre>
        </article>
    }
}
