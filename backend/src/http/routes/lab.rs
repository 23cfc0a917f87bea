//! `GET /api/lab` (header `X-Workspace`): the guided lab, checked against the workspace, with
//! hints from the learner's own console lines.

use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use shared::api::{ClassView, LabResponse};

use crate::http::extract::{ApiQuery, workspace_id};

use crate::http::error::ApiError;
use crate::http::state::AppState;
use crate::teaching::console::{mistakes, workspace};
use crate::teaching::lab::{self, Seen, observed};
use crate::teaching::validate::{self, Target};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/lab", get(progress))
        .route("/lab/report", get(report))
        .route("/class", get(class))
}

async fn progress(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<LabResponse>, ApiError> {
    let mut lab = checked(&state, &headers).await?;
    // Hints from the learner's own lines (the workspace opened again: one EXISTS).
    let workspace = workspace::open(&state.db, workspace_id(&headers)).await?;
    let stuck_after = state.console.limits().stuck_after;
    mistakes::annotate(
        &state.db,
        &workspace,
        &mut lab,
        state.clock.now(),
        stuck_after,
    )
    .await?;
    Ok(Json(lab))
}

/// The lab, each task checked against the workspace the `X-Workspace` header names.
async fn checked(state: &AppState, headers: &HeaderMap) -> Result<LabResponse, ApiError> {
    let workspace = workspace::open(&state.db, workspace_id(headers)).await?;
    let (environment, observed) = tokio::join!(
        validate::run(Target::Redis(&state.db)),
        observed::observe(&state.db, &workspace)
    );
    Ok(lab::evaluate(&Seen {
        workspace: &observed?,
        environment: &environment,
    }))
}

/// How many learners are at which step (counts only, so open to all): one count every few
/// seconds at most, shared by every caller.
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

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReportQuery {
    /// `json` (the default) or `md`.
    format: Option<String>,
}

/// The completion report, as a file to save: JSON, or Markdown with `?format=md`.
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
