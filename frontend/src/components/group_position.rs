//! Moving a consumer group (instructor): to the start, the end, N entries back, a time, an id
//! or another group's position. A preview (a dry run) says what the group would be given
//! again before anything moves; the move itself sends `XGROUP SETID ... ENTRIESREAD`, so the
//! group's lag stays known.

use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::api::{PositionRequest, PositionResponse};

use crate::api;
use crate::store::Store;

/// The ways to choose a point: (value sent, label, what the text box holds).
const KINDS: [(&str, &str, &str); 6] = [
    ("rewind", "back N entries", "N, e.g. 10"),
    ("start", "to the start", ""),
    ("end", "to the end", ""),
    ("time", "to a time", "RFC 3339, e.g. 2026-12-03T10:00:00Z"),
    ("id", "to an id", "an entry id, e.g. 1700000000000-0"),
    ("copy", "where a group is", "another group's name"),
];

fn request(kind: &str, value: &str, dry_run: bool) -> PositionRequest {
    let value = value.trim().to_owned();
    let mut r = PositionRequest {
        dry_run,
        ..PositionRequest::default()
    };
    match kind {
        "start" | "end" => r.to = Some(kind.to_owned()),
        "time" => r.to_time = Some(value),
        "id" => r.to_id = Some(value),
        "copy" => r.copy_from = Some(value),
        // A count that does not read is sent as 0, which the relay refuses with the range.
        _ => r.rewind = Some(value.parse().unwrap_or(0)),
    }
    r
}

/// What a move gives the group again, in words.
fn plan(p: &PositionResponse) -> String {
    let verb = if p.dry_run { "would give" } else { "gives" };
    let from = p
        .first_redelivered
        .as_deref()
        .map_or(String::new(), |id| format!(", from {id}"));
    let at: Vec<String> = p
        .streams
        .iter()
        .map(|s| format!("{} → {} (ENTRIESREAD {})", s.from, s.to, s.entries_read))
        .collect();
    format!(
        "{} {verb} {} {} again{from}; cursor {}",
        p.group,
        p.redelivered,
        if p.redelivered == 1 {
            "entry"
        } else {
            "entries"
        },
        at.join(", ")
    )
}

#[component]
pub fn GroupPosition(
    /// The group's name.
    name: String,
    failure: RwSignal<Option<String>>,
) -> impl IntoView {
    let store = expect_context::<Store>();
    let kind = RwSignal::new("rewind".to_owned());
    let value = RwSignal::new("10".to_owned());
    // The last dry run, shown until the move or a change of the point.
    let preview = RwSignal::new(None::<PositionResponse>);
    let path = format!("/api/groups/{name}/position");
    let send = move |dry_run: bool| {
        let (path, body) = (
            path.clone(),
            request(&kind.get_untracked(), &value.get_untracked(), dry_run),
        );
        spawn_local(async move {
            match api::post::<_, PositionResponse>(&path, &body).await {
                Ok(answer) => {
                    failure.set(None);
                    if dry_run {
                        preview.set(Some(answer));
                    } else {
                        preview.set(None);
                        store.record(format!("POST {path}: {}", plan(&answer)), answer.redis);
                    }
                }
                Err(e) => failure.set(Some(e.message)),
            }
        });
    };
    let send_preview = send.clone();
    let [kind_id, value_id, preview_id, plan_id, move_id] =
        ["kind", "value", "preview", "plan", "move"].map(|what| format!("position-{what}-{name}"));
    let placeholder = move || {
        KINDS
            .iter()
            .find(|(k, _, _)| *k == kind.get())
            .map_or("", |(_, _, hint)| *hint)
    };
    let needs_value = move || !matches!(kind.get().as_str(), "start" | "end");
    view! {
        <form class="group-position" on:submit=move |ev| { ev.prevent_default(); send_preview(true) }>
            <label>"move the group "
                <select data-testid=kind_id on:change=move |ev| { kind.set(event_target_value(&ev)); preview.set(None) }>
                    {KINDS.iter().map(|(k, label, _)| view! { <option value=*k selected=*k == "rewind">{*label}</option> }).collect_view()}
                </select>
            </label>
            <Show when=needs_value>
                <input size="16" data-testid=value_id.clone() placeholder=placeholder aria-label="where to move the group"
                    prop:value=move || value.get() on:input=move |ev| { value.set(event_target_value(&ev)); preview.set(None) } />
            </Show>
            <button type="submit" class="small" data-testid=preview_id>"preview"</button>
            {move || preview.get().map(|p| {
                let send = send.clone();
                view! {
                    <p class="position-plan" data-testid=plan_id.clone()>{plan(&p)}</p>
                    <button type="button" class="small" data-testid=move_id.clone() on:click=move |_| send(false)>"move it"</button>
                }
            })}
        </form>
    }
}
