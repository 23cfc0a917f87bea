//! The instructor's view: the traffic generator, the guided failure scenarios with their
//! narration, where the class is in the lab, and the environment checklist.

use std::time::Duration;

use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::api::{
    CheckStatus, ClassView, ScenariosResponse, TrafficRequest, TrafficStatus, ValidationResponse,
};

use crate::api;
use crate::components::failure::Failure;
use crate::components::markup::{self, escape};
use crate::store::Store;

/// Everything the view shows, read together each second while it is shown.
#[derive(Debug, Clone, Default, PartialEq)]
struct Figures {
    traffic: Option<TrafficStatus>,
    scenarios: Option<ScenariosResponse>,
    class: Option<ClassView>,
    checks: Option<ValidationResponse>,
}

fn class_markup(c: &ClassView) -> String {
    let rows: String = c
        .at_step
        .iter()
        .map(|s| {
            format!(
                r#"<tr data-testid="class-step-{}"><th scope="row">{}</th><td>{}</td></tr>"#,
                escape(&s.step),
                escape(&s.title),
                s.learners
            )
        })
        .collect();
    format!(
        r#"<p data-testid="class-learners">{} learner{} in the last {} minutes; {} finished.</p><table class="class"><tbody>{rows}</tbody></table>"#,
        c.learners,
        if c.learners == 1 { "" } else { "s" },
        c.window_minutes,
        c.finished
    )
}

fn checks_markup(v: &ValidationResponse) -> String {
    v.checks
        .iter()
        .map(|c| {
            let (mark, class) = match c.status {
                CheckStatus::Pass => ("✓", "pass"),
                CheckStatus::Warn => ("!", "warn"),
                CheckStatus::Fail => ("✗", "fail"),
            };
            let fix = c
                .fix
                .as_ref()
                .map(|f| format!(r#"<br><span class="fix">{}</span>"#, escape(f)))
                .unwrap_or_default();
            format!(
                r#"<li class="check {class}" data-testid="check-{}"><span aria-hidden="true">{mark}</span> <strong>{}</strong>: {}{fix}</li>"#,
                escape(&c.id),
                escape(&c.title),
                escape(&c.detail)
            )
        })
        .collect()
}

fn narration_markup(s: &ScenariosResponse) -> String {
    let Some(run) = &s.run else {
        return String::new();
    };
    let lines: String = run
        .lines
        .iter()
        .map(|l| {
            format!(
                "<li><span class=\"time\">{:.1} s</span> {}</li>",
                l.at_ms as f64 / 1000.0,
                escape(&l.text)
            )
        })
        .collect();
    let state = match (&run.failed, run.finished) {
        (Some(why), _) => format!("stopped early: {}", escape(why)),
        (None, true) => "done".into(),
        (None, false) => "running…".into(),
    };
    format!(
        r#"<p data-testid="scenario-state" data-finished="{}"><strong>{}</strong>: {state}</p><ol class="narration" data-testid="narration">{lines}</ol>"#,
        run.finished,
        escape(&run.id)
    )
}

/// The traffic generator's state and, for instructors, its buttons, as markup; the buttons
/// say what they do in `data-` attributes, for the one click handler of the view.
fn traffic_markup(f: &Figures, instructor: bool) -> String {
    let traffic = match &f.traffic {
        Some(t) if t.running => format!(
            "running at {}/s: {} events, {} claims",
            t.rate, t.events, t.claims
        ),
        Some(t) => format!("stopped ({} events in its last run)", t.events),
        None => "…".into(),
    };
    let traffic_buttons = if instructor {
        r#" <button type="button" data-traffic="start" data-testid="traffic-start">start</button> <button type="button" data-traffic="stop" data-testid="traffic-stop">stop</button>"#
    } else {
        ""
    };
    format!(r#"<span data-testid="traffic-state">{traffic}</span>{traffic_buttons}"#)
}

/// The scenario, class and environment sections as markup (scenario buttons as above).
fn sections_markup(f: &Figures, instructor: bool) -> String {
    let scenarios: String = f
        .scenarios
        .iter()
        .flat_map(|s| &s.scenarios)
        .map(|s| {
            let button = if instructor {
                format!(
                    r#"<button type="button" class="small" data-scenario="{0}" data-testid="scenario-{0}">{1}</button> "#,
                    escape(&s.id),
                    escape(&s.title)
                )
            } else {
                format!("<strong>{}</strong>: ", escape(&s.title))
            };
            format!("<li>{button}{}</li>", escape(&s.summary))
        })
        .collect();
    format!(
        r#"<section class="panel"><h2>Failure scenarios</h2><ul class="scenarios">{scenarios}</ul>{}</section><section class="panel"><h2>The class</h2>{}</section><section class="panel"><h2>Environment</h2><ul class="checks" data-testid="checks">{}</ul></section>"#,
        f.scenarios
            .as_ref()
            .map(narration_markup)
            .unwrap_or_default(),
        f.class.as_ref().map(class_markup).unwrap_or_default(),
        f.checks.as_ref().map(checks_markup).unwrap_or_default(),
    )
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
    let traffic = move || figures.with(|f| traffic_markup(f, store.is_instructor()));
    let sections = move || figures.with(|f| sections_markup(f, store.is_instructor()));
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
