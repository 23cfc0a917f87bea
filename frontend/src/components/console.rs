//! The stream console: one line at a time runs in the learner's workspace and its reply shows
//! as `redis-cli` prints it, with the error's explanation. Up and down walk the history (kept
//! in this browser), Tab completes command names and keys, the command typed shows its usage.

use leptos::ev::KeyboardEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::api::{ConsoleHelp, ConsoleRequest, ConsoleResponse};
use shared::console::Language;

use crate::components::failure::Failure;
use crate::components::language::{LanguageSwitch, Shown, in_language};
use crate::workspace;

/// Lines kept in the history, and answers kept on screen.
const KEPT: usize = 100;
const HISTORY_KEY: &str = "claimstream.console.history";

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

fn load_history() -> Vec<String> {
    storage()
        .and_then(|s| s.get_item(HISTORY_KEY).ok().flatten())
        .and_then(|json| serde_json::from_str(&json).ok())
        .unwrap_or_default()
}

fn save_history(lines: &[String]) {
    if let (Some(s), Ok(json)) = (storage(), serde_json::to_string(lines)) {
        let _ = s.set_item(HISTORY_KEY, &json);
    }
}

/// The usage of the command being typed (one word, or a parent and its subcommand).
fn usage_of(help: &ConsoleHelp, line: &str) -> Option<String> {
    let words: Vec<String> = line
        .split_whitespace()
        .take(2)
        .map(str::to_ascii_uppercase)
        .collect();
    let two = words.join(" ");
    let one = words.first()?;
    help.commands
        .iter()
        .find(|c| c.name == two)
        .or_else(|| help.commands.iter().find(|c| c.name == *one))
        .map(|c| format!("{} — {}", c.usage, c.summary))
}

/// The line with its last word completed, if one command name or key starts with it.
pub fn complete(help: &ConsoleHelp, line: &str) -> Option<String> {
    let start = line.rfind(' ').map_or(0, |i| i + 1);
    let word = &line[start..];
    if word.is_empty() {
        return None;
    }
    let candidates: Vec<String> = if start == 0 {
        let mut names: Vec<String> = help
            .commands
            .iter()
            .map(|c| c.name.split(' ').next().unwrap_or_default().to_owned())
            .collect();
        names.dedup();
        names
            .into_iter()
            .filter(|n| n.starts_with(&word.to_ascii_uppercase()))
            .collect()
    } else {
        help.keys
            .iter()
            .filter(|k| k.starts_with(word))
            .cloned()
            .collect()
    };
    let [only] = candidates.as_slice() else {
        return None;
    };
    Some(format!("{}{only} ", &line[..start]))
}

/// One answer: the line (and the same command in the page's language, when that is not
/// redis-cli), the reply, and what went wrong with its fix.
fn answer_view(line: String, answer: ConsoleResponse) -> impl IntoView {
    let Shown(language) = expect_context::<Shown>();
    let typed = line.clone();
    let snippet = move || {
        let language = language.get();
        (language != Language::Cli).then(|| {
            view! { <code class="snippet" data-testid="console-snippet">{in_language(language, &typed)}</code> }
        })
    };
    let class = if answer.error.is_some() {
        "console-entry failed"
    } else {
        "console-entry"
    };
    view! {
        <div class=class data-testid="console-entry">
            <div class="prompt">"> "{line}</div>
            {snippet}
            <pre class="reply">{answer.reply}</pre>
            {answer.hint.map(|h| view! { <p class="hint" data-testid="console-hint">{h}</p> })}
        </div>
    }
}

#[component]
pub fn Console() -> impl IntoView {
    let line = RwSignal::new(String::new());
    // Each answer with its number, so the list adds and drops rows rather than redrawing.
    let answers = RwSignal::new(Vec::<(u64, String, ConsoleResponse)>::new());
    let answered = StoredValue::new(0_u64);
    let help = RwSignal::new(None::<ConsoleHelp>);
    let failure = RwSignal::new(None::<String>);
    let history = StoredValue::new(load_history());
    // Where up and down are in the history; None: the line being typed.
    let at = StoredValue::new(None::<usize>);
    let busy = RwSignal::new(false);

    let refresh_help = move || {
        spawn_local(async move {
            if let Ok(h) = workspace::get::<ConsoleHelp>("/api/console/help").await {
                help.set(Some(h));
            }
        })
    };
    refresh_help();

    let run = move || {
        let text = line.get_untracked().trim().to_owned();
        if text.is_empty() || busy.get_untracked() {
            return;
        }
        history.update_value(|h| {
            h.retain(|l| *l != text);
            h.push(text.clone());
            let over = h.len().saturating_sub(KEPT);
            h.drain(..over);
            save_history(h);
        });
        at.set_value(None);
        line.set(String::new());
        busy.set(true);
        spawn_local(async move {
            let request = ConsoleRequest { line: text.clone() };
            match workspace::post::<_, ConsoleResponse>("/api/console", &request).await {
                Ok(answer) => {
                    failure.set(None);
                    answers.update(|a| {
                        answered.update_value(|n| *n += 1);
                        a.push((answered.get_value(), text, answer));
                        let over = a.len().saturating_sub(KEPT);
                        a.drain(..over);
                    });
                    refresh_help();
                }
                Err(e) => failure.set(Some(e.message)),
            }
            busy.set(false);
        });
    };
    let keys = move |ev: KeyboardEvent| match ev.key().as_str() {
        "Enter" => {
            ev.prevent_default();
            run();
        }
        "ArrowUp" | "ArrowDown" => {
            ev.prevent_default();
            let up = ev.key() == "ArrowUp";
            let h = history.get_value();
            let next = match (at.get_value(), up) {
                (None, true) => h.len().checked_sub(1),
                (Some(i), true) => Some(i.saturating_sub(1)),
                (Some(i), false) if i + 1 < h.len() => Some(i + 1),
                _ => None,
            };
            at.set_value(next);
            line.set(next.and_then(|i| h.get(i).cloned()).unwrap_or_default());
        }
        "Tab" => {
            ev.prevent_default();
            if let Some(done) =
                help.with_untracked(|h| h.as_ref().and_then(|h| complete(h, &line.get_untracked())))
            {
                line.set(done);
            }
        }
        _ => {}
    };
    let usage = move || help.with(|h| h.as_ref().and_then(|h| usage_of(h, &line.get())));

    view! {
        <div class="console" data-testid="console">
            <LanguageSwitch />
            <div class="console-output" data-testid="console-output">
                <For each=move || answers.get() key=|(n, _, _)| *n let:entry>
                    {answer_view(entry.1, entry.2)}
                </For>
            </div>
            <div class="console-line">
                <span class="prompt" aria-hidden="true">"> "</span>
                <input data-testid="console-input" aria-label="a stream command, e.g. XADD claims:events * type demo"
                    autocomplete="off" spellcheck="false" placeholder="XADD claims:events * type claim_submitted claim_id c-1"
                    prop:value=move || line.get() on:input=move |ev| line.set(event_target_value(&ev)) on:keydown=keys />
                <button type="button" data-testid="console-run" disabled=move || busy.get() on:click=move |_| run()>"run"</button>
            </div>
            <p class="muted console-usage" data-testid="console-usage">
                {move || usage().unwrap_or_else(|| "HELP lists the commands; Tab completes, up and down walk the history.".into())}
            </p>
            <Failure failure=failure />
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::api::CommandHelp;

    fn help() -> ConsoleHelp {
        let command = |name: &str| CommandHelp {
            name: name.into(),
            usage: format!("{name} key"),
            summary: "does it".into(),
        };
        ConsoleHelp {
            commands: vec![
                command("XADD"),
                command("XAUTOCLAIM"),
                command("XGROUP CREATE"),
                command("XLEN"),
            ],
            keys: vec!["orders".into(), "demo:claims:events".into()],
        }
    }

    #[test]
    fn tab_completes_one_candidate_only() {
        assert_eq!(complete(&help(), "xl").as_deref(), Some("XLEN "));
        assert_eq!(complete(&help(), "XA"), None, "XADD or XAUTOCLAIM");
        assert_eq!(
            complete(&help(), "XLEN or").as_deref(),
            Some("XLEN orders ")
        );
        assert_eq!(
            complete(&help(), "XRANGE demo:").as_deref(),
            Some("XRANGE demo:claims:events ")
        );
        assert_eq!(complete(&help(), "XLEN "), None);
    }

    #[test]
    fn the_usage_follows_the_command_typed() {
        assert_eq!(
            usage_of(&help(), "xgroup create s").as_deref(),
            Some("XGROUP CREATE key — does it")
        );
        assert_eq!(
            usage_of(&help(), "XLEN").as_deref(),
            Some("XLEN key — does it")
        );
        assert_eq!(usage_of(&help(), "NOPE"), None);
    }
}
