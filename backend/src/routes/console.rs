//! The stream console: `POST /api/workspaces` gives a learner a workspace, `POST /api/console`
//! runs one line in it (header `X-Workspace`).

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use shared::api::{ConsoleRequest, WorkspaceResponse};

use crate::console::{self, Workspace, workspace};
use crate::error::ApiError;
use crate::extract::JsonBody;
use crate::redis_cli::Trace;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/workspaces", post(create))
        .route("/console", post(run))
}

async fn create(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let workspace = Workspace::create(&state.db, &mut Trace::off()).await?;
    Ok((
        StatusCode::CREATED,
        Json(WorkspaceResponse {
            id: workspace.id().to_owned(),
            expires_after_secs: workspace::IDLE_EXPIRY.as_secs(),
        }),
    ))
}

/// 200 with the reply for whatever the console answered, a refusal or a Redis error
/// included (as `redis-cli` prints an error and goes on); 503 when Redis cannot be reached.
async fn run(
    State(state): State<AppState>,
    headers: HeaderMap,
    JsonBody(request): JsonBody<ConsoleRequest>,
) -> Result<Response, ApiError> {
    let id = headers.get("x-workspace").and_then(|v| v.to_str().ok());
    let answer = match Workspace::open(&state.db, id).await {
        Ok(workspace) => console::run(&state.db, &state.console, &workspace, &request.line).await,
        Err(ApiError::Unavailable(message)) => console::unavailable(message),
        Err(e) => return Err(e),
    };
    let status = if answer.unavailable {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    Ok((status, Json(answer.response)).into_response())
}
