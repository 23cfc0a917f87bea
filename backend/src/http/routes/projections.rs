//! The read model's projection: where it is, rebuilding it from the first event, and
//! stepping through it one event at a time (the debugger).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use shared::api::{ProjectionDebugResponse, ProjectionsResponse};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::events::projection;
use crate::events::projection::debug::{self, DebugError};
use crate::http::error::ApiError;
use crate::http::extract::{ApiQuery, OptionalJsonBody};
use crate::http::state::AppState;
use crate::store::trace::Trace;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(show))
        .routes(routes!(step_through))
}

/// Instructor-only: a rebuild changes what every learner's board reads from.
pub fn controls() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(rebuild))
}

#[utoipa::path(get, path = "/projections", tag = "projections", responses((status = 200, body = ProjectionsResponse)))]
async fn show(State(state): State<AppState>) -> Result<Json<ProjectionsResponse>, ApiError> {
    let mut trace = Trace::default();
    let mut status = projection::read_status(&state.db, &mut trace).await?;
    status.redis = trace.into_commands();
    Ok(Json(status))
}

/// Asks the projector to rebuild; 202 with the progress so far, 409 while one is under way.
#[utoipa::path(post, path = "/projections/rebuild", tag = "projections", responses((status = 202, body = ProjectionsResponse)))]
async fn rebuild(
    State(state): State<AppState>,
    OptionalJsonBody(_): OptionalJsonBody<serde_json::Map<String, serde_json::Value>>,
) -> Result<(StatusCode, Json<ProjectionsResponse>), ApiError> {
    if !projection::request_rebuild(&state.db, state.clock.now()).await? {
        return Err(ApiError::Conflict {
            code: "rebuild_running",
            message: "a rebuild of the read model is already asked for or running; follow it in GET /api/projections".into(),
        });
    }
    let mut trace = Trace::default();
    let mut status = projection::read_status(&state.db, &mut trace).await?;
    status.redis = trace.into_commands();
    Ok((StatusCode::ACCEPTED, Json(status)))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct DebugQuery {
    /// An entry id (`<partition>:<id>` with several partitions), or `-` (`<partition>:-`) for
    /// the first entry; the first entry when left out (with one partition).
    from: Option<String>,
    /// Steps: [`DEFAULT_STEPS`] unless asked, at most [`debug::MAX_STEPS`].
    steps: Option<usize>,
}

/// Steps answered unless asked for more or fewer.
const DEFAULT_STEPS: usize = 20;

/// The projection stepped from `from` through a scratch model; the live one is never written.
#[utoipa::path(get, path = "/projections/debug", tag = "projections", params(DebugQuery), responses((status = 200, body = ProjectionDebugResponse)))]
async fn step_through(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<DebugQuery>,
) -> Result<Json<ProjectionDebugResponse>, ApiError> {
    let steps = q.steps.unwrap_or(DEFAULT_STEPS);
    if !(1..=debug::MAX_STEPS).contains(&steps) {
        return Err(ApiError::bad_request(
            "invalid_query",
            format!("steps: must be between 1 and {} events", debug::MAX_STEPS),
        ));
    }
    let from = q.from.as_deref().unwrap_or("-");
    let (partition, id) = state
        .db
        .partitions
        .parse_marker(from)
        .map_err(|m| ApiError::bad_request("invalid_query", format!("from: {m}")))?;
    // A bare millisecond is read as Redis reads a start (sequence 0), and written out whole,
    // so the entries folded before it and the steps from it cannot overlap.
    let id = match id {
        "-" => None,
        id => match id.parse::<crate::store::entry_id::EntryId>() {
            Ok(crate::store::entry_id::EntryId::ZERO) => None,
            Ok(id) => Some(id.to_string()),
            Err(m) => {
                return Err(ApiError::bad_request(
                    "invalid_query",
                    format!("from: {m}, or - for the first entry"),
                ));
            }
        },
    };
    // Held until the answer is made: folding and stepping are the whole cost.
    let _place = state.heavy.enter("GET /api/projections/debug").await?;
    let answer = debug::debug(
        &state.db.heavy(),
        partition,
        id.as_deref().unwrap_or("-"),
        steps,
    )
    .await
    .map_err(|e| match e {
        DebugError::TooMuchBefore { .. } => ApiError::Unprocessable {
            code: "history_too_long",
            message: format!(
                "{e}: the debugger folds at most {} entries before the first step; start later",
                debug::MAX_BEFORE
            ),
        },
        DebugError::TimedOut(limit) => ApiError::RequestTimeout(limit),
        DebugError::Db(e) => e.into(),
    })?;
    Ok(Json(answer))
}
