//! The guided lab: five steps of tasks, each turning done by itself when the learner's
//! workspace in Redis shows it (the relay checks; read every two seconds while shown), a hint
//! at a task when the learner's own console lines show a misconception, each step's quiz,
//! "show me" per task (its reference commands run in the workspace, shown with their
//! replies), and the completion report to download.

use std::time::Duration;

use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::api::{
    LabResponse, QuizAnswer, QuizAnswerRequest, QuizQuestion, ShowResponse, ShownLine,
};

use crate::components::failure::Failure;
use crate::components::language::{LanguageSwitch, Shown, shown};
use crate::workspace;

/// What the lab view shares with its steps: the lab as last read, what "show me" ran per
/// task, and the failure to show.
#[derive(Clone, Copy)]
struct LabState {
    lab: RwSignal<Option<LabResponse>>,
    shown_lines: RwSignal<Vec<(String, Vec<ShownLine>)>>,
    showing: RwSignal<Option<String>>,
    failure: RwSignal<Option<String>>,
}

impl LabState {
    /// Answers a question; the answer shows at once and stays (the relay keeps it).
    fn answer(self, question: String, choice: usize) {
        spawn_local(async move {
            let path = format!("/api/lab/quiz/{question}");
            let request = QuizAnswerRequest {
                choice: choice as i64,
            };
            match workspace::post::<_, QuizAnswer>(&path, &request).await {
                Ok(answer) => self.lab.update(|lab| {
                    let asked = lab
                        .iter_mut()
                        .flat_map(|l| &mut l.steps)
                        .flat_map(|s| &mut s.quiz)
                        .find(|q| q.id == question);
                    if let Some(q) = asked {
                        q.answered = true;
                        q.correct = answer.correct;
                        q.choice = Some(choice);
                        q.explanation = Some(answer.explanation);
                    }
                }),
                Err(e) => self.failure.set(Some(e.message)),
            }
        });
    }

    /// Runs the task's reference commands in the workspace and shows them.
    fn show(self, task: String) {
        self.showing.set(Some(task.clone()));
        spawn_local(async move {
            let path = format!("/api/lab/tasks/{task}/show");
            match workspace::post::<_, ShowResponse>(&path, &serde_json::json!({})).await {
                Ok(shown) => {
                    self.shown_lines.update(|all| {
                        all.retain(|(t, _)| *t != task);
                        all.push((task.clone(), shown.lines));
                    });
                    self.lab.update(|lab| {
                        let found = lab
                            .iter_mut()
                            .flat_map(|l| &mut l.steps)
                            .flat_map(|s| &mut s.tasks)
                            .find(|t| t.id == shown.task.id);
                        if let Some(t) = found {
                            *t = shown.task;
                        }
                    });
                }
                Err(e) => self.failure.set(Some(e.message)),
            }
            self.showing.set(None);
        });
    }
}

/// The lines "show me" ran for a task, in the page's language, each with its reply.
fn shown_view(state: LabState, task: String) -> impl IntoView {
    let Shown(language) = expect_context::<Shown>();
    move || {
        let lines = state.shown_lines.with(|all| {
            all.iter()
                .find(|(t, _)| *t == task)
                .map(|(_, lines)| lines.clone())
        })?;
        let language = language.get();
        let text: Vec<String> = lines
            .iter()
            .map(|l| format!("> {}\n{}", l.snippets.get(language), l.reply))
            .collect();
        Some(view! {
            <pre class="lab-shown" data-testid=format!("lab-shown-{task}")>{text.join("\n")}</pre>
        })
    }
}

/// A step's questions: the choices as buttons; once answered, whether it was right and why.
fn quiz_view(state: LabState, quiz: Vec<QuizQuestion>) -> impl IntoView {
    let questions = quiz
        .into_iter()
        .map(|q| {
            let choices = q
                .choices
                .iter()
                .enumerate()
                .map(|(i, choice)| {
                    let chosen = q.choice == Some(i);
                    let class = match (chosen, q.correct) {
                        (true, true) => "small quiz-choice right",
                        (true, false) => "small quiz-choice wrong",
                        _ => "small quiz-choice",
                    };
                    let question = q.id.clone();
                    view! {
                        <button type="button" class=class
                            data-testid=format!("quiz-{}-choice-{i}", q.id)
                            aria-pressed=chosen.to_string()
                            on:click=move |_| state.answer(question.clone(), i)>
                            {choice.clone()}
                        </button>
                    }
                })
                .collect_view();
            let verdict = q.answered.then(|| {
                let (said, class) = if q.correct {
                    ("Right. ", "right")
                } else {
                    ("Not quite. ", "wrong")
                };
                view! {
                    <p class=format!("quiz-explanation {class}")
                        data-testid=format!("quiz-{}-explanation", q.id)
                        data-correct=q.correct.to_string()>
                        <strong>{said}</strong>{q.explanation.clone().unwrap_or_default()}
                    </p>
                }
            });
            view! {
                <li class="quiz-question" data-testid=format!("quiz-{}", q.id)
                    data-answered=q.answered.to_string()>
                    <p>{q.question}</p>
                    <div class="quiz-choices">{choices}</div>
                    {verdict}
                </li>
            }
        })
        .collect_view();
    view! {
        <div class="quiz">
            <h4>"Check your understanding"</h4>
            <ol>{questions}</ol>
        </div>
    }
}

/// The steps and their tasks.
fn steps_view(state: LabState, lab: LabResponse) -> impl IntoView {
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
                    let helped = (t.done && t.helped)
                        .then(|| view! { <span class="helped" data-testid="lab-helped">" (done with help)"</span> });
                    let task = t.id.clone();
                    let busy = {
                        let task = task.clone();
                        move || state.showing.with(|s| s.as_ref() == Some(&task))
                    };
                    // What the learner's own console lines suggest they misunderstand here.
                    let hint = t.hint.map(|hint| view! {
                        <p class="hint" data-testid=format!("lab-hint-{}", t.id)>
                            {hint}<br /><span class="muted">{t.hint_reason}</span>
                        </p>
                    });
                    view! {
                        <li class=format!("task {class}") data-testid=format!("lab-task-{}", t.id)
                            data-done=t.done.to_string() data-helped=t.helped.to_string()>
                            <span class="mark" aria-hidden="true">{mark}</span>" "
                            <strong>{t.title}</strong>{helped}<br />
                            <code data-testid="lab-example">{shown(t.example)}</code>" "
                            <button type="button" class="small show-me" data-testid=format!("show-me-{}", t.id)
                                title="run this task's commands in your workspace"
                                disabled=busy
                                on:click={
                                    let task = task.clone();
                                    move |_| state.show(task.clone())
                                }>
                                "Show me"
                            </button><br />
                            <span class="evidence">{t.evidence}</span>
                            {hint}
                            {shown_view(state, task)}
                        </li>
                    }
                })
                .collect_view();
            let quiz = (!step.quiz.is_empty()).then(|| quiz_view(state, step.quiz));
            view! {
                <section class="lab-step" data-testid=format!("lab-step-{}", step.id)>
                    <h3>{step.title}" "<span class="muted">{count}</span></h3>
                    <p>{step.explanation}</p>
                    <ul>{tasks}</ul>
                    {quiz}
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
    let state = LabState {
        lab,
        shown_lines: RwSignal::new(Vec::new()),
        showing: RwSignal::new(None),
        failure,
    };
    let steps = move || lab.get().map(|l| steps_view(state, l));
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
