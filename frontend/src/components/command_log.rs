//! The command log (`GET /api/commands`): each claim command, applied or refused with the
//! aggregate's reason, who asked, its claim and its event, newest first, filtered by outcome
//! and by who asked. Refusals are the teachable moments: the rule said no, and nothing was
//! appended.

use leptos::prelude::*;
use leptos::task::spawn_local;
use maud::{Markup, html};
use shared::api::{CommandLogResponse, LoggedCommand};

use crate::api;

#[component]
pub fn CommandLog() -> impl IntoView {
    let outcome = RwSignal::new(String::new());
    let by = RwSignal::new(String::new());
    let page = RwSignal::new(None::<CommandLogResponse>);
    let failure = RwSignal::new(None::<String>);
    let load = move || {
        let mut query = vec!["limit=50".to_owned()];
        for (name, value) in [
            ("outcome", outcome.get_untracked()),
            ("by", by.get_untracked()),
        ] {
            if !value.is_empty() {
                query.push(format!("{name}={value}"));
            }
        }
        spawn_local(async move {
            match api::get::<CommandLogResponse>(&format!("/api/commands?{}", query.join("&")))
                .await
            {
                Ok(p) => {
                    failure.set(None);
                    page.set(Some(p));
                }
                Err(e) => failure.set(Some(e.message)),
            }
        });
    };
    // The newest at once; again when a filter changes or on Refresh (not on every entry: a
    // class appends many a second).
    load();
    let choose = move |signal: RwSignal<String>| {
        move |ev| {
            signal.set(event_target_value(&ev));
            load();
        }
    };
    let select = |label: &'static str,
                  testid: &'static str,
                  options: &'static [&'static str],
                  signal| {
        view! {
            <label>{label}" "
                <select data-testid=testid on:change=choose(signal)>
                    <option value="">"all"</option>
                    {options.iter().map(|o| view! { <option value=*o>{*o}</option> }).collect_view()}
                </select>
            </label>
        }
    };
    view! {
        <div class="panel-head">
            <h2 id="commands-title">"Command log"</h2>
            {select("Outcome", "commands-outcome", &["applied", "refused", "conflict", "not_found", "failed"], outcome)}
            {select("By", "commands-by", &["learner", "instructor", "worker", "traffic", "scenario"], by)}
            <button type="button" data-testid="commands-load" on:click=move |_| load()>"Refresh"</button>
        </div>
        {move || failure.get().map(|m| view! { <p class="error">{m}</p> })}
        {move || page.get().map(|p| view! {
            <p class="muted">{format!("{} shown of the {} newest commands looked at", p.commands.len(), p.examined)}</p>
            <div inner_html=table(&p.commands).into_string()></div>
        })}
    }
}

/// The commands as a table. Read-only, so a template (`components::markup`): reasons and
/// claim ids come from Redis and are escaped by it.
fn table(commands: &[LoggedCommand]) -> Markup {
    html! {
        table.command-log data-testid="command-log" {
            tr { th { "command" } th { "by" } th { "claim" } th { "outcome" } th { "why / event" } }
            @for c in commands {
                @let outcome = c.outcome.as_str();
                tr data-testid="command-row" data-outcome=(outcome) {
                    td { (c.command) }
                    td { (c.by.as_str()) }
                    td { code { (c.claim_id) } }
                    td class={ "outcome-" (outcome) } { (outcome) }
                    td { (c.reason.as_deref().or(c.entry_id.as_deref()).unwrap_or_default()) }
                }
            }
        }
    }
}
