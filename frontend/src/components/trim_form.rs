//! Trimming a stream (instructor): "preview" asks the relay what the trim would remove and what
//! stands against it (a dry run); "trim" then runs it, forced only when the box is ticked.

use leptos::prelude::*;
use leptos::task::spawn_local;
use maud::{Markup, html};
use shared::api::{TrimRequest, TrimResponse};

use crate::api::{self, ApiFailure};
use crate::components::failure::Failure;
use crate::store::Store;

/// The streams the relay lets a trim touch, as `<option>`s: with several partitions, each
/// one's events and dead letters in place of `claims:events` and `claims:failed`.
fn options(partitions: usize) -> Markup {
    let mut streams = Vec::new();
    for kind in ["events", "failed"] {
        if partitions < 2 {
            streams.push(format!("claims:{kind}"));
        }
        for p in (0..partitions).filter(|_| partitions > 1) {
            streams.push(format!("claims:{kind}:{{{p}}}"));
        }
    }
    for side in [
        "claims:failed:log",
        "claims:analytics",
        "claims:notifications",
    ] {
        streams.push(side.to_owned());
    }
    html! {
        @for s in &streams { option value=(s) { (s) } }
    }
}

/// The stream and the cut the inputs say, or what is wrong with them.
fn cut(stream: &str, by: &str, value: &str) -> Result<(String, TrimRequest), String> {
    let value = value.trim();
    let mut request = TrimRequest::default();
    if by == "minid" {
        if value.is_empty() {
            return Err("give the id of the oldest entry to keep, e.g. 1732440000000-0".into());
        }
        request.minid = Some(value.to_owned());
    } else {
        request.maxlen = Some(
            value
                .parse()
                .map_err(|_| "give how many entries to keep, e.g. 1000".to_owned())?,
        );
    }
    Ok((stream.to_owned(), request))
}

fn explain(e: ApiFailure) -> String {
    if e.fields.is_empty() {
        e.message
    } else {
        e.fields
            .iter()
            .map(|f| format!("{}: {}", f.field, f.message))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// What a previewed trim would remove, and what stands against it.
fn plan_view(r: TrimResponse) -> impl IntoView {
    let id = |id: Option<String>| id.unwrap_or_else(|| "none".into());
    let against = if r.blockers.is_empty() {
        "; nothing stands against it."
    } else {
        "."
    };
    view! {
        <div class="trim-plan" data-testid="trim-plan" data-would-remove=r.would_remove.to_string()>
            <p>
                <strong data-testid="trim-count">{r.would_remove}</strong>
                {format!(" of {} entries of {} would go{against}", r.length_after, r.stream)}
            </p>
            <dl class="trim-ids">
                <dt>"first removed"</dt><dd><code>{id(r.first_removed)}</code></dd>
                <dt>"last removed"</dt><dd><code>{id(r.last_removed)}</code></dd>
                <dt>"first kept"</dt><dd><code>{id(r.first_kept)}</code></dd>
            </dl>
            {(!r.blockers.is_empty()).then(|| view! {
                <div class="blockers" data-testid="trim-blockers">
                    <strong>"Unsafe: the relay refuses this trim unless forced, because"</strong>
                    <ul>{r.blockers.into_iter().map(|b| view! { <li>{b}</li> }).collect_view()}</ul>
                </div>
            })}
        </div>
    }
}

/// What a trim removed.
fn done_view(r: TrimResponse) -> impl IntoView {
    view! {
        <p class="trim-done" role="status" data-testid="trim-result" data-removed=r.removed.map(|n| n.to_string())>
            {format!("Removed {} entries; {} has {} now.", r.removed.unwrap_or(0), r.stream, r.length_after)}
        </p>
    }
}

#[component]
pub fn TrimForm(
    /// Bumped after a trim, so the memory view reads the figures again.
    trimmed: RwSignal<u64>,
) -> impl IntoView {
    let store = expect_context::<Store>();
    let stream = RwSignal::new("claims:events".to_owned());
    let partitions = Memo::new(move |_| {
        store
            .groups
            .with(|g| g.as_ref().map_or(0, |g| g.partition_lengths.len()))
    });
    // Partitioned after all: `claims:events` is no stream to trim, the first partition's is.
    Effect::new(move |_| {
        if partitions.get() > 1 && stream.get_untracked() == "claims:events" {
            stream.set("claims:events:{0}".into());
        }
    });
    let by = RwSignal::new("maxlen".to_owned());
    let value = RwSignal::new(String::new());
    let approximate = RwSignal::new(false);
    let force = RwSignal::new(false);
    // The preview and the cut it was for.
    let plan = RwSignal::new(None::<((String, TrimRequest), TrimResponse)>);
    let done = RwSignal::new(None::<TrimResponse>);
    let failure = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let current = move || cut(&stream.get(), &by.get(), &value.get());

    let send = move |dry_run: bool| {
        let (key, mut request) = match current() {
            Ok(c) => c,
            Err(m) => {
                failure.set(Some(m));
                return;
            }
        };
        let asked = (key.clone(), request.clone());
        request.dry_run = dry_run;
        request.approximate = approximate.get_untracked();
        request.force = !dry_run && force.get_untracked();
        busy.set(true);
        spawn_local(async move {
            let path = format!("/api/streams/{key}/trim");
            let answer = api::post::<_, TrimResponse>(&path, &request).await;
            busy.set(false);
            match answer {
                Ok(r) => {
                    failure.set(None);
                    let what = match r.removed {
                        None => format!("would remove {}", r.would_remove),
                        Some(n) => format!("removed {n}"),
                    };
                    let how = if dry_run { " (dry run)" } else { "" };
                    store.record(format!("POST {path}{how}: {what}"), r.redis.clone());
                    if dry_run {
                        done.set(None);
                        plan.set(Some((asked, r)));
                    } else {
                        plan.set(None);
                        done.set(Some(r));
                        trimmed.update(|n| *n += 1);
                    }
                }
                Err(e) => failure.set(Some(explain(e))),
            }
        });
    };
    // The preview counts only for the cut it was made for.
    let previewed = move || {
        plan.with(|p| {
            p.as_ref()
                .filter(|(asked, _)| current().is_ok_and(|c| c == *asked))
                .map(|(_, r)| r.clone())
        })
    };
    let can_trim = move || {
        !busy.get()
            && previewed()
                .is_some_and(|r| r.would_remove > 0 && (r.blockers.is_empty() || force.get()))
    };

    let preview_view = move || previewed().map(plan_view);

    view! {
        <form class="trim-form" data-testid="trim-form" on:submit=move |ev| { ev.prevent_default(); send(true); }>
            <h3>"Trim a stream"</h3>
            <div class="trim-inputs">
                <label>"stream "
                    <select data-testid="trim-stream" inner_html=move || options(partitions.get()).into_string() prop:value=move || stream.get() on:change=move |ev| stream.set(event_target_value(&ev))>
                    </select>
                </label>
                <label>"keep "
                    <select data-testid="trim-by" prop:value=move || by.get() on:change=move |ev| by.set(event_target_value(&ev))>
                        <option value="maxlen">"the newest N entries (MAXLEN)"</option>
                        <option value="minid">"entries from id on (MINID)"</option>
                    </select>
                </label>
                <input size="16" data-testid="trim-value" aria-label="how many entries to keep, or the oldest id to keep"
                    placeholder=move || if by.get() == "minid" { "1732440000000-0" } else { "1000" }
                    prop:value=move || value.get() on:input=move |ev| value.set(event_target_value(&ev)) />
            </div>
            <div class="trim-inputs">
                <label title="XTRIM ~: Redis removes whole nodes only, so it may keep a few more entries (cheaper)">
                    <input type="checkbox" data-testid="trim-approximate" prop:checked=move || approximate.get()
                        on:change=move |ev| approximate.set(event_target_checked(&ev)) />
                    " approximate (~)"
                </label>
                <label title="trim even though a group or a claim still needs what goes">
                    <input type="checkbox" data-testid="trim-force" prop:checked=move || force.get()
                        on:change=move |ev| force.set(event_target_checked(&ev)) />
                    " force"
                </label>
                <button type="submit" class="small" data-testid="trim-preview" disabled=move || busy.get()>"preview"</button>
                <button type="button" data-testid="trim-run" disabled=move || !can_trim() on:click=move |_| send(false)>"trim"</button>
            </div>
            <p class="muted">"Preview first: trim runs the cut previewed, and is refused while something needs what goes unless forced."</p>
            <div>{preview_view}</div>
            <div>{move || done.get().map(done_view)}</div>
            <Failure failure=failure testid="trim-error" />
        </form>
    }
}
