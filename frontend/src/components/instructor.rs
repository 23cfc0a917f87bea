//! The instructor's view: the traffic generator, the guided failure scenarios with their
//! narration, where the class is in the lab, and the environment checklist.

use std::time::Duration;

use leptos::prelude::*;
use leptos::task::spawn_local;
use maud::{Markup, html};
use shared::api::{
    CheckStatus, ClassView, ScenariosResponse, TrafficRequest, TrafficStatus, ValidationResponse,
};

use crate::api;
use crate::components::failure::Failure;
use crate::components::markup;
use crate::store::Store;

/// Everything the view shows, read together each second while it is shown.
#[derive(Debug, Clone, Default, PartialEq)]
struct Figures {
    traffic: Option<TrafficStatus>,
    scenarios: Option<ScenariosResponse>,
    class: Option<ClassView>,
    checks: Option<ValidationResponse>,
}

/// Where the class is, as a heatmap: per step its learners, then per task those on it, the
/// median minutes they have spent there and how many are stuck, each cell shaded by its share
/// of the class; then the mistakes the class makes, the most widespread first.
fn class_markup(c: &ClassView) -> Markup {
    let share = |n: usize| {
        let of = c.learners.max(1) as f64;
        format!("--heat: {:.2}", n as f64 / of)
    };
    html! {
        p data-testid="class-learners" {
            (c.learners) " learner" @if c.learners != 1 { "s" } " in the last " (c.window_minutes)
            " minutes; " (c.finished) " finished."
        }
        table class="class heatmap" data-testid="class-heatmap" {
            thead {
                tr {
                    th scope="col" { "step / task" }
                    th scope="col" { "on it" }
                    th scope="col" { "median" }
                    th scope="col" { "stuck (over " (number(c.stuck_after_minutes)) " min)" }
                }
            }
            tbody {
                @for s in &c.at_step {
                    tr class="step" data-testid={ "class-step-" (s.step) } {
                        th scope="row" { (s.title) }
                        td { (s.learners) }
                        td {}
                        td {}
                    }
                    @for t in c.tasks.iter().filter(|t| t.step == s.step) {
                        tr data-testid={ "class-task-" (t.task) } data-learners=(t.learners) data-stuck=(t.stuck) {
                            th scope="row" class="task" { (t.title) }
                            td class="heat" style=(share(t.learners)) { (t.learners) }
                            td {
                                @match t.median_minutes {
                                    Some(m) => { (number(m)) " min" }
                                    None => "–",
                                }
                            }
                            td class="heat stuck" style=(share(t.stuck)) { (t.stuck) }
                        }
                    }
                }
            }
        }
        h3 { "Mistakes the class makes" }
        @if c.mistakes.is_empty() {
            p class="muted" data-testid="class-no-mistakes" { "None seen yet." }
        } @else {
            ol class="mistakes" data-testid="class-mistakes" {
                @for m in &c.mistakes {
                    li data-testid={ "class-mistake-" (m.id) } data-learners=(m.learners) {
                        code { (m.id) } ": " (m.learners) " learner" @if m.learners != 1 { "s" }
                        " (" (m.lines) " line" @if m.lines != 1 { "s" } ")"
                    }
                }
            }
        }
    }
}

/// Minutes as a person reads them: one decimal under ten, whole above.
fn number(minutes: f64) -> String {
    if minutes < 10.0 {
        format!("{minutes:.1}")
    } else {
        format!("{minutes:.0}")
    }
}

fn checks_markup(v: &ValidationResponse) -> Markup {
    html! {
        @for c in &v.checks {
            @let (mark, class) = match c.status {
                CheckStatus::Pass => ("✓", "pass"),
                CheckStatus::Warn => ("!", "warn"),
                CheckStatus::Fail => ("✗", "fail"),
            };
            li class={ "check " (class) } data-testid={ "check-" (c.id) } {
                span aria-hidden="true" { (mark) } " "
                strong { (c.title) } ": " (c.detail)
                @if let Some(fix) = &c.fix {
                    br;
                    span class="fix" { (fix) }
                }
            }
        }
    }
}

fn narration_markup(s: &ScenariosResponse) -> Markup {
    let Some(run) = &s.run else {
        return html! {};
    };
    html! {
        p data-testid="scenario-state" data-finished=(run.finished) {
            strong { (run.id) } ": "
            @match (&run.failed, run.finished) {
                (Some(why), _) => { "stopped early: " (why) }
                (None, true) => "done",
                (None, false) => "running…",
            }
        }
        ol class="narration" data-testid="narration" {
            @for l in &run.lines {
                li { span class="time" { (format!("{:.1}", l.at_ms as f64 / 1000.0)) " s" } " " (l.text) }
            }
        }
    }
}

/// The traffic generator's state and, for instructors, its buttons, as markup; the buttons
/// say what they do in `data-` attributes, for the one click handler of the view.
fn traffic_markup(f: &Figures, instructor: bool) -> Markup {
    html! {
        span data-testid="traffic-state" {
            @match &f.traffic {
                Some(t) if t.running => {
                    "running at " (t.rate) "/s: " (t.events) " events, " (t.claims) " claims"
                }
                Some(t) => { "stopped (" (t.events) " events in its last run)" }
                None => "…",
            }
        }
        @if instructor {
            " "
            button type="button" data-traffic="start" data-testid="traffic-start" { "start" }
            " "
            button type="button" data-traffic="stop" data-testid="traffic-stop" { "stop" }
        }
    }
}

/// The scenario, class and environment sections as markup (scenario buttons as above).
fn sections_markup(f: &Figures, instructor: bool) -> Markup {
    html! {
        section class="panel" {
            h2 { "Failure scenarios" }
            ul class="scenarios" {
                @for s in f.scenarios.iter().flat_map(|s| &s.scenarios) {
                    li {
                        @if instructor {
                            button type="button" class="small" data-scenario=(s.id) data-testid={ "scenario-" (s.id) } {
                                (s.title)
                            }
                            " "
                        } @else {
                            strong { (s.title) } ": "
                        }
                        (s.summary)
                    }
                }
            }
            @if let Some(s) = &f.scenarios { (narration_markup(s)) }
        }
        section class="panel" {
            h2 { "The class" }
            @if let Some(c) = &f.class { (class_markup(c)) }
        }
        section class="panel" {
            h2 { "Environment" }
            ul class="checks" data-testid="checks" {
                @if let Some(v) = &f.checks { (checks_markup(v)) }
            }
        }
    }
}

#[component]
pub fn Instructor(
    /// Whether the view is on screen: it is read only then.
    #[prop(into)]
    shown: Signal<bool>,
) -> impl IntoView {
    let store = expect_context::<Store>();
    let figures = RwSignal::new(Figures::default());
    let failure = RwSignal::new(None::<String>);
    let rate = RwSignal::new("10".to_owned());
    spawn_local(async move {
        while let Some(on) = shown.try_get_untracked() {
            if on {
                let read = Figures {
                    traffic: api::get("/api/traffic").await.ok(),
                    scenarios: api::get("/api/scenarios").await.ok(),
                    class: api::get("/api/class").await.ok(),
                    checks: api::get("/api/validate").await.ok(),
                };
                figures.set(read);
            }
            let wait = if on { 1000 } else { 250 };
            gloo_timers::future::sleep(Duration::from_millis(wait)).await;
        }
    });
    // One handler for the buttons in the markup.
    let act = move |ev: leptos::ev::MouseEvent| {
        let Some(button) = markup::clicked(&ev, "button") else {
            return;
        };
        let (traffic, scenario) = (
            button.get_attribute("data-traffic"),
            button.get_attribute("data-scenario"),
        );
        spawn_local(async move {
            let done = match (traffic, scenario) {
                (Some(traffic), _) => {
                    let request = TrafficRequest {
                        running: traffic == "start",
                        rate: rate.get_untracked().trim().parse().ok(),
                    };
                    api::post::<_, TrafficStatus>("/api/traffic", &request)
                        .await
                        .map(|status| figures.update(|f| f.traffic = Some(status)))
                }
                (None, Some(id)) => {
                    api::post::<_, shared::api::ScenarioRun>(&format!("/api/scenarios/{id}"), &())
                        .await
                        .map(drop)
                }
                (None, None) => return,
            };
            failure.set(done.err().map(|e| e.message));
        });
    };
    let traffic = move || figures.with(|f| traffic_markup(f, store.is_instructor()).into_string());
    let sections =
        move || figures.with(|f| sections_markup(f, store.is_instructor()).into_string());
    // The rate field is a view, not markup: rewriting the markup each second would wipe
    // what the instructor is typing.
    view! {
        <div class="instructor" data-testid="instructor">
            <Failure failure=failure />
            <div class="instructor-sections" on:click=act>
                <section class="panel">
                    <h2>"Traffic"</h2>
                    <p inner_html=traffic></p>
                    <Show when=move || store.is_instructor()>
                        <label class="rate">"events per second "
                            <input size="4" data-testid="traffic-rate" prop:value=move || rate.get()
                                on:input=move |ev| rate.set(event_target_value(&ev)) />
                        </label>
                    </Show>
                </section>
                <div class="sections" inner_html=sections></div>
            </div>
        </div>
    }
}
