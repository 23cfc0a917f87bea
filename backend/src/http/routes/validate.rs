//! `GET /api/validate`: the environment checklist (Redis reachable, its version, persistence,
//! memory limit and policy, the relay's version).

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use shared::api::ValidationResponse;

use crate::http::state::AppState;
use crate::teaching::validate::{self, Target};

pub fn router() -> Router<AppState> {
    Router::new().route("/validate", get(checklist))
}

/// Always 200: a failed check is part of the answer, not an error of the request.
async fn checklist(State(state): State<AppState>) -> Json<ValidationResponse> {
    Json(validate::run(Target::Redis(&state.db)).await)
}
