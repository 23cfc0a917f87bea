//! The stream console: `POST /api/workspaces` gives a learner a workspace, `POST /api/console`
//! runs one line in it (header `X-Workspace`), `GET /api/console/history` exports its recent
//! lines, `POST /api/workspaces/reset` empties it.

use std::net::SocketAddr;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use shared::api::{
    CommandHelp, ConsoleHelp, ConsoleHistory, ConsoleRequest, WorkspaceReset, WorkspaceResponse,
};

use crate::http::error::ApiError;
use crate::http::extract::{JsonBody, workspace_id};
use crate::http::state::AppState;
use crate::store::db::DbError;
use crate::store::trace::Trace;
use crate::teaching::console::{self, WorkspaceError, mistakes, workspace};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create))
        .routes(routes!(reset))
        .routes(routes!(run))
        .routes(routes!(help))
        .routes(routes!(history))
}

/// The workspace's recent lines, oldest first (at most `mistakes::KEPT`, each cut short).
#[utoipa::path(get, path = "/console/history", tag = "console", responses((status = 200, body = ConsoleHistory)))]
async fn history(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<ConsoleHistory>, ApiError> {
    let workspace = workspace::open(&state.db, workspace_id(&headers)).await?;
    Ok(Json(mistakes::history(&state.db, &workspace).await?))
}

#[utoipa::path(post, path = "/workspaces", tag = "console", responses((status = 201, body = WorkspaceResponse)))]
async fn create(
    State(state): State<AppState>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
) -> Result<impl IntoResponse, ApiError> {
    let workspace = state
        .console
        .create_workspace(&state.db, client.ip(), &mut Trace::off())
        .await?;
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
#[utoipa::path(post, path = "/console", tag = "console", request_body = ConsoleRequest, responses((status = 200, body = shared::api::ConsoleResponse, description = "What the console answered, a refusal or a Redis error included."), (status = 503, body = shared::api::ConsoleResponse, description = "Redis cannot be reached.")))]
async fn run(
    State(state): State<AppState>,
    headers: HeaderMap,
    JsonBody(request): JsonBody<ConsoleRequest>,
) -> Result<Response, ApiError> {
    let answer = match workspace::open(&state.db, workspace_id(&headers)).await {
        Ok(workspace) => {
            state.console.line_allowed(&workspace)?;
            console::run(&state.db, &state.console, &workspace, &request.line).await
        }
        Err(WorkspaceError::Db(e @ DbError::Unavailable(_))) => console::unavailable(e.to_string()),
        Err(e) => return Err(e.into()),
    };
    let status = if answer.unavailable {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    Ok((status, Json(answer.response)).into_response())
}

/// The commands with their usage, and the workspace's keys, for completion.
#[utoipa::path(get, path = "/console/help", tag = "console", responses((status = 200, body = ConsoleHelp)))]
async fn help(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<ConsoleHelp>, ApiError> {
    let workspace = workspace::open(&state.db, workspace_id(&headers)).await?;
    let mut keys: Vec<String> = workspace
        .usage(&state.db)
        .await?
        .into_iter()
        .map(|(key, _)| key)
        .collect();
    keys.sort();
    keys.extend(
        workspace::demo_streams(state.db.partitions)
            .iter()
            .map(|s| format!("demo:{s}")),
    );
    let commands = shared::console::COMMANDS
        .iter()
        .map(|c| CommandHelp {
            name: c.name.to_owned(),
            usage: c.usage.to_owned(),
            summary: c.summary.to_owned(),
        })
        .collect();
    Ok(Json(ConsoleHelp { commands, keys }))
}

/// Empties the workspace: its keys, its quiz answers and its "shown" tasks go, its id stays.
/// Counts against the workspace's line rate, as a console line does.
#[utoipa::path(post, path = "/workspaces/reset", tag = "console", responses((status = 200, body = WorkspaceReset)))]
async fn reset(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<WorkspaceReset>, ApiError> {
    let workspace = workspace::open(&state.db, workspace_id(&headers)).await?;
    state.console.line_allowed(&workspace)?;
    let emptied = workspace
        .empty(&state.db)
        .await?
        .ok_or_else(|| WorkspaceError::NotFound(workspace.id().to_owned()))?;
    Ok(Json(WorkspaceReset {
        keys_removed: emptied.keys,
        answers_removed: emptied.answers,
        helped_removed: emptied.helped,
        lines_removed: emptied.lines,
    }))
}
