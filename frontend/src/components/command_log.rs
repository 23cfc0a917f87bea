//! The command log (`GET /api/commands`): each claim command, applied or refused with the
//! aggregate's reason, who asked, its claim and its event, newest first, filtered by outcome
//! and by who asked. Refusals are the teachable moments: the rule said no, and nothing was
//! appended.

use leptos::prelude::*;
use leptos::task::spawn_local;
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
            <table class="command-log" data-testid="command-log">
                <tr><th>"command"</th><th>"by"</th><th>"claim"</th><th>"outcome"</th><th>"why / event"</th></tr>
                {p.commands.into_iter().map(row).collect_view()}
            </table>
        })}
    }
}

fn row(c: LoggedCommand) -> impl IntoView {
    let outcome = c.outcome.as_str();
    let detail = c.reason.or(c.entry_id).unwrap_or_default();
    view! {
        <tr data-testid="command-row" data-outcome=outcome>
            <td>{c.command}</td>
            <td>{c.by.as_str()}</td>
            <td><code>{c.claim_id}</code></td>
            <td class=format!("outcome-{outcome}")>{outcome}</td>
            <td>{detail}</td>
        </tr>
    }
}
