//! The guided lab: five steps of tasks, each turning done by itself when the learner's
//! workspace in Redis shows it (the relay checks; read every two seconds while shown), and the
//! completion report to download.

use std::time::Duration;

use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::api::LabResponse;

use crate::components::failure::Failure;
use crate::components::language::{LanguageSwitch, shown};
use crate::workspace;

/// The steps and their tasks.
fn steps_view(lab: LabResponse) -> impl IntoView {
    lab.steps
        .into_iter()
        .map(|step| {
            let done = step.tasks.iter().filter(|t| t.done).count();
            let count = format!("{done}/{}", step.tasks.len());
            let tasks = step
                .tasks
                .into_iter()
                .map(|t| {
                    let (mark, class) = if t.done { ("✓", "done") } else { ("○", "todo") };
                    view! {
                        <li class=format!("task {class}") data-testid=format!("lab-task-{}", t.id) data-done=t.done.to_string()>
                            <span class="mark" aria-hidden="true">{mark}</span>" "
                            <strong>{t.title}</strong><br />
                            <code data-testid="lab-example">{shown(t.example)}</code><br />
                            <span class="evidence">{t.evidence}</span>
                        </li>
                    }
                })
                .collect_view();
            view! {
                <section class="lab-step" data-testid=format!("lab-step-{}", step.id)>
                    <h3>{step.title}" "<span class="muted">{count}</span></h3>
                    <p>{step.explanation}</p>
                    <ul>{tasks}</ul>
                </section>
            }
        })
        .collect_view()
}

/// Offers text as a file to save, through a link to a blob.
fn save(name: &str, kind: &str, text: &str) -> Option<()> {
    use wasm_bindgen::JsCast;
    let parts = js_sys::Array::of1(&wasm_bindgen::JsValue::from_str(text));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(kind);
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options).ok()?;
    let url = web_sys::Url::create_object_url_with_blob(&blob).ok()?;
    let document = web_sys::window()?.document()?;
    let link: web_sys::HtmlAnchorElement = document.create_element("a").ok()?.dyn_into().ok()?;
    link.set_href(&url);
    link.set_download(name);
    link.click();
    web_sys::Url::revoke_object_url(&url).ok()
}

#[component]
pub fn Lab(
    /// Whether the lab is on screen: it is read only then.
    #[prop(into)]
    shown: Signal<bool>,
) -> impl IntoView {
    let lab = RwSignal::new(None::<LabResponse>);
    let failure = RwSignal::new(None::<String>);
    // Read every two seconds while shown; the loop ends with the page.
    spawn_local(async move {
        while let Some(on) = shown.try_get_untracked() {
            if on {
                match workspace::get::<LabResponse>("/api/lab").await {
                    Ok(l) => {
                        lab.set(Some(l));
                        failure.set(None);
                    }
                    Err(e) => failure.set(Some(e.message)),
                }
            }
            let wait = if on { 2000 } else { 250 };
            gloo_timers::future::sleep(Duration::from_millis(wait)).await;
        }
    });
    let download = move |format: &'static str| {
        spawn_local(async move {
            let path = format!("/api/lab/report?format={format}");
            match workspace::text(&path).await {
                Ok(text) => {
                    let (name, kind) = match format {
                        "md" => ("claimstream-lab-report.md", "text/markdown"),
                        _ => ("claimstream-lab-report.json", "application/json"),
                    };
                    save(name, kind, &text);
                }
                Err(e) => failure.set(Some(e.message)),
            }
        })
    };
    let progress = move || {
        lab.with(|l| {
            l.as_ref()
                .map(|l| format!("{} of {} tasks done", l.done, l.total))
                .unwrap_or_else(|| "reading your workspace…".into())
        })
    };
    let steps = move || lab.get().map(steps_view);
    view! {
        <div class="lab" data-testid="lab">
            <header class="panel-head">
                <h2>"The lab"</h2>
                <span data-testid="lab-progress">{progress}</span>
                <LanguageSwitch />
                <button type="button" class="small" data-testid="report-md" on:click=move |_| download("md")>"report (Markdown)"</button>
                <button type="button" class="small" data-testid="report-json" on:click=move |_| download("json")>"report (JSON)"</button>
            </header>
            <p class="muted">"Each task turns done by itself when Redis shows it: do it in the console (or the playground), and watch."</p>
            <Failure failure=failure />
            <div class="lab-steps">{steps}</div>
        </div>
    }
}
