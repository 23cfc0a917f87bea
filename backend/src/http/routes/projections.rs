//! The read model's projection: where it is, and rebuilding it from the first event.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use shared::api::ProjectionsResponse;

use crate::events::projection;
use crate::http::error::ApiError;
use crate::http::extract::OptionalJsonBody;
use crate::http::state::AppState;
use crate::store::trace::Trace;

pub fn router() -> Router<AppState> {
    Router::new().route("/projections", get(show))
}

/// Instructor-only: a rebuild changes what every learner's board reads from.
pub fn controls() -> Router<AppState> {
    Router::new().route("/projections/rebuild", post(rebuild))
}

async fn show(State(state): State<AppState>) -> Result<Json<ProjectionsResponse>, ApiError> {
    let mut trace = Trace::default();
    let mut status = projection::read_status(&state.db, &mut trace).await?;
    status.redis = trace.into_commands();
    Ok(Json(status))
}

/// Asks the projector to rebuild; 202 with the progress so far, 409 while one is under way.
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
