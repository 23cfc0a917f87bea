//! `GET /api/validate`: the environment checklist (Redis reachable, its version, persistence,
//! memory limit and policy, the relay's version).

use axum::Json;
use axum::extract::State;
use shared::api::ValidationResponse;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::state::AppState;
use crate::teaching::validate::{self, Target};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(checklist))
}

/// Always 200: a failed check is part of the answer, not an error of the request.
#[utoipa::path(get, path = "/validate", tag = "validate", responses((status = 200, body = ValidationResponse)))]
async fn checklist(State(state): State<AppState>) -> Json<ValidationResponse> {
    Json(validate::run(Target::Redis(&state.db)).await)
}
