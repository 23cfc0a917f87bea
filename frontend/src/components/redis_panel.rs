use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::api::{ScriptRun, ScriptSource};

use crate::components::language::{LanguageSwitch, Shown, in_language, shown};
use crate::store::Store;

/// The commands behind each action, newest first, as redis-cli, Node.js or Python code, so a
/// learner can repeat them in the language of their own program.
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
            <LanguageSwitch />
            <Show
                when=move || store.redis_log.with(|l| !l.is_empty())
                fallback=|| view! { <p class="muted">"Submit or change a claim to see the commands here."</p> }
            >
                <For each=actions key=|a| a.seq let:action>
                    <RedisAction title=action.title commands=action.commands scripts=action.scripts />
                </For>
            </Show>
        </div>
    }
}

/// One action's commands, with a button that copies them for a terminal. A script shows as
/// the `EVALSHA` that was sent, with what it did inside set apart as one atomic step.
#[component]
fn RedisAction(
    /// What the learner did, e.g. `POST /api/claims`.
    title: String,
    /// The commands, in redis-cli form.
    commands: Vec<String>,
    /// What the scripts among them did inside.
    scripts: Vec<ScriptRun>,
) -> impl IntoView {
    let Shown(language) = expect_context::<Shown>();
    let copied = RwSignal::new(false);
    let all = commands.clone();
    let copy = move |_| {
        let language = language.get_untracked();
        let text: Vec<String> = all.iter().map(|c| in_language(language, c)).collect();
        if let Some(window) = web_sys::window() {
            let _ = window.navigator().clipboard().write_text(&text.join("\n"));
            copied.set(true);
        }
    };
    let lines = lines(&commands, &scripts);
    view! {
        <article class="redis-action">
            <header>
                <h3>{title}</h3>
                <button type="button" class="small" on:click=copy>
                    {move || if copied.get() { "Copied" } else { "Copy" }}
                </button>
            </header>
            <pre data-testid="redis-commands">{lines}</pre>
        </article>
    }
}

/// The commands, each script's followed by the commands it ran, marked as a single
/// atomic step, and its text on request.
fn lines(commands: &[String], scripts: &[ScriptRun]) -> impl IntoView + use<> {
    commands
        .iter()
        .map(|c| {
            let script = scripts
                .iter()
                .find(|s| c.starts_with(&format!("EVALSHA {} ", s.sha)))
                .cloned();
            view! {
                <code data-testid="redis-command">{shown(c.clone())}</code>
                {script.map(|script| view! {
                    <div class="atomic" data-testid="redis-atomic">
                        <span class="atomic-label">"inside the script, as one atomic step (nothing else runs in between):"</span>
                        {script.inside.into_iter().map(|c| view! { <code class="inside">{c}</code> }).collect_view()}
                        <ScriptText sha=script.sha />
                    </div>
                })}
            }
        })
        .collect_view()
}

/// A script's text, fetched by its sha the first time it is opened (answers name the script
/// instead of carrying it).
#[component]
fn ScriptText(sha: String) -> impl IntoView {
    let text = RwSignal::new(None::<String>);
    let load = move |_| {
        if text.get_untracked().is_some() {
            return;
        }
        text.set(Some("loading…".into()));
        let path = format!("/api/scripts/{sha}");
        spawn_local(async move {
            let shown = match crate::api::get::<ScriptSource>(&path).await {
                Ok(script) => script.source,
                Err(failure) => format!("could not load the script: {}", failure.message),
            };
            text.set(Some(shown));
        });
    };
    view! {
        <details on:toggle=load>
            <summary>"the script"</summary>
            <code class="script-source" data-testid="redis-script-source">{move || text.get()}</code>
        </details>
    }
}
