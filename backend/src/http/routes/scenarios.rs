//! Guided failure scenarios: `GET /api/scenarios` lists them with the narration of the one
//! running; `POST /api/scenarios/{id}` starts one (instructor).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use shared::api::{ScenarioRun, ScenariosResponse};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::error::ApiError;
use crate::http::state::AppState;
use crate::teaching::scenarios::{ScenarioError, Stage};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list))
}

pub fn controls() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(start))
}

#[utoipa::path(get, path = "/scenarios", tag = "scenarios", responses((status = 200, body = ScenariosResponse)))]
async fn list(State(state): State<AppState>) -> Json<ScenariosResponse> {
    Json(state.scenarios.catalogue())
}

/// 202: it runs on; follow its narration in `GET /api/scenarios`.
#[utoipa::path(post, path = "/scenarios/{id}", tag = "scenarios", params(("id" = String, Path)), responses((status = 202, body = ScenarioRun)))]
async fn start(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<ScenarioRun>), ApiError> {
    let stage = Stage {
        db: state.db.clone(),
        claims: state.claims.clone(),
        clock: state.clock.clone(),
        workers: state.workers.clone(),
        own_redis: state.embedded.is_some(),
    };
    let run = state.scenarios.start(&stage, &id).map_err(|e| match e {
        ScenarioError::Unknown(_) => ApiError::NotFound(e.to_string()),
        ScenarioError::Busy(_) => ApiError::Conflict {
            code: "scenario_running",
            message: e.to_string(),
        },
        ScenarioError::Unavailable(_) => ApiError::Conflict {
            code: "scenario_unavailable",
            message: e.to_string(),
        },
    })?;
    Ok((StatusCode::ACCEPTED, Json(run)))
}
