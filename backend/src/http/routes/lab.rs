//! `GET /api/lab` (header `X-Workspace`): the guided lab, checked against the workspace, with
//! hints from the learner's own console lines; its quiz answered (`POST /api/lab/quiz/{id}`)
//! and a task shown (`POST /api/lab/tasks/{id}/show`).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use shared::api::{ClassView, LabResponse, LabTask, QuizAnswer, QuizAnswerRequest, ShowResponse};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::extract::{ApiQuery, JsonBody, workspace_id};

use crate::http::error::ApiError;
use crate::http::state::AppState;
use crate::teaching::console::{mistakes, workspace};
use crate::teaching::lab::quiz::QuizError;
use crate::teaching::lab::{self, Seen, observed, quiz, show};
use crate::teaching::validate::{self, Target};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(progress))
        .routes(routes!(report))
        .routes(routes!(answer))
        .routes(routes!(show_task))
        .routes(routes!(class))
}

#[utoipa::path(get, path = "/lab", tag = "lab", responses((status = 200, body = LabResponse)))]
async fn progress(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<LabResponse>, ApiError> {
    let workspace = workspace::open(&state.db, workspace_id(&headers)).await?;
    Ok(Json(hinted(&state, &workspace).await?))
}

/// The lab checked against `workspace`, with the hints the learner's own lines give.
async fn hinted(
    state: &AppState,
    workspace: &workspace::Workspace,
) -> Result<LabResponse, ApiError> {
    let mut lab = checked_in(state, workspace).await?;
    let stuck_after = state.console.limits().stuck_after;
    mistakes::annotate(
        &state.db,
        workspace,
        &mut lab,
        state.clock.now(),
        stuck_after,
    )
    .await?;
    Ok(lab)
}

/// The lab, each task checked against the workspace the `X-Workspace` header names.
async fn checked(state: &AppState, headers: &HeaderMap) -> Result<LabResponse, ApiError> {
    let workspace = workspace::open(&state.db, workspace_id(headers)).await?;
    checked_in(state, &workspace).await
}

/// The lab checked against `workspace`, with its quiz answers and the tasks it was shown.
async fn checked_in(
    state: &AppState,
    workspace: &workspace::Workspace,
) -> Result<LabResponse, ApiError> {
    let (environment, observed, marks) = tokio::join!(
        validate::run(Target::Redis(&state.db)),
        observed::observe(&state.db, workspace),
        workspace.marks(&state.db)
    );
    let mut lab = lab::evaluate(&Seen {
        workspace: &observed?,
        environment: &environment,
    });
    lab::annotate(&mut lab, &marks?);
    Ok(lab)
}

/// Answers one of the lab's questions: whether `choice` is right and why the right answer is;
/// the workspace keeps its last answer to each question. An answer counts against the
/// workspace's line rate, as a console line does.
#[utoipa::path(post, path = "/lab/quiz/{id}", tag = "lab", params(("id" = String, Path)), request_body = QuizAnswerRequest, responses((status = 200, body = QuizAnswer)))]
async fn answer(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    JsonBody(request): JsonBody<QuizAnswerRequest>,
) -> Result<Json<QuizAnswer>, ApiError> {
    let (choice, answer) = quiz::answer(&id, request.choice).map_err(|e| match e {
        QuizError::NoQuestion(id) => ApiError::NotFound(format!(
            "no lab question {id}; GET /api/lab lists each step's quiz"
        )),
        QuizError::NoChoice { choice, choices } => ApiError::bad_request(
            "invalid_choice",
            format!(
                "choice is the index of one of the question's {choices} choices, 0 to {}, not {choice}",
                choices - 1
            ),
        ),
    })?;
    let workspace = workspace::open(&state.db, workspace_id(&headers)).await?;
    state.console.line_allowed(&workspace)?;
    workspace.record_answer(&state.db, &id, choice).await?;
    Ok(Json(answer))
}

/// "Show me": runs the task's reference lines in the workspace through the console (each
/// counting against the workspace's line rate), marks the task as shown, and answers each
/// line and the task checked after them.
#[utoipa::path(post, path = "/lab/tasks/{id}/show", tag = "lab", params(("id" = String, Path)), responses((status = 200, body = ShowResponse)))]
async fn show_task(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<ShowResponse>, ApiError> {
    if !lab::task_ids().any(|t| t == id) {
        return Err(ApiError::NotFound(format!(
            "no lab task {id}; the tasks are {}",
            lab::task_ids().collect::<Vec<_>>().join(", ")
        )));
    }
    let workspace = workspace::open(&state.db, workspace_id(&headers)).await?;
    let observed = observed::observe(&state.db, &workspace).await?;
    let lines = lab::reference(&id, &observed).unwrap_or_default();
    for _ in &lines {
        state.console.line_allowed(&workspace)?;
    }
    let lines = show::run(&state.db, &state.console, &workspace, &lines)
        .await
        .map_err(|show::Unavailable(e)| ApiError::Unavailable(e))?;
    workspace.record_helped(&state.db, &id).await?;
    let lab = hinted(&state, &workspace).await?;
    let task: LabTask = lab
        .steps
        .into_iter()
        .flat_map(|s| s.tasks)
        .find(|t| t.id == id)
        .expect("a task of the lab");
    Ok(Json(ShowResponse { lines, task }))
}

/// How many learners are at which step (counts only, so open to all): one count every few
/// seconds at most, shared by every caller.
#[utoipa::path(get, path = "/class", tag = "lab", responses((status = 200, body = ClassView)))]
async fn class(State(state): State<AppState>) -> Result<Json<ClassView>, ApiError> {
    let view = state
        .class
        .get_or_count(async {
            let _place = state.heavy.enter("GET /api/class").await?;
            let environment = validate::run(Target::Redis(&state.db)).await;
            Ok::<_, ApiError>(
                lab::class::view(
                    &state.db.heavy(),
                    state.clock.now(),
                    &environment,
                    state.console.limits().stuck_after,
                )
                .await?,
            )
        })
        .await?;
    Ok(Json(view))
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct ReportQuery {
    /// `json` (the default) or `md`.
    format: Option<String>,
}

/// The completion report, as a file to save: JSON, or Markdown with `?format=md`.
#[utoipa::path(get, path = "/lab/report", tag = "lab", params(ReportQuery), responses((status = 200, body = shared::api::CompletionReport, description = "The report as a download: JSON, or Markdown with `format=md`.")))]
async fn report(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<ReportQuery>,
) -> Result<Response, ApiError> {
    let markdown = match query.format.as_deref() {
        None | Some("json") => false,
        Some("md") => true,
        Some(other) => {
            return Err(ApiError::bad_request(
                "invalid_format",
                format!("format is json or md, not {other}"),
            ));
        }
    };
    let lab = checked(&state, &headers).await?;
    let report = lab::report::of(&lab, state.clock.now().to_string());
    let (body, kind, name) = if markdown {
        (
            lab::report::markdown(&report),
            "text/markdown; charset=utf-8",
            "claimstream-lab-report.md",
        )
    } else {
        (
            serde_json::to_string_pretty(&report).expect("a report serializes"),
            "application/json",
            "claimstream-lab-report.json",
        )
    };
    Ok((
        [
            (header::CONTENT_TYPE, kind.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body,
    )
        .into_response())
}
