//! `GET /api/lab` (header `X-Workspace`): the guided lab, checked against the workspace.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::get;
use axum::{Json, Router};
use shared::api::LabResponse;

use crate::console::Workspace;
use crate::error::ApiError;
use crate::lab::{self, Seen, observed};
use crate::state::AppState;
use crate::validate::{self, Target};

pub fn router() -> Router<AppState> {
    Router::new().route("/lab", get(progress))
}

async fn progress(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<LabResponse>, ApiError> {
    let id = headers.get("x-workspace").and_then(|v| v.to_str().ok());
    let workspace = Workspace::open(&state.db, id).await?;
    let (environment, observed) = tokio::join!(
        validate::run(Target::Redis(&state.db)),
        observed::observe(&state.db, &workspace)
    );
    Ok(Json(lab::evaluate(&Seen {
        workspace: &observed?,
        environment: &environment,
    })))
}
