//! `GET /api/snippets?line=`: a `redis-cli` line as node-redis v4 and redis-py code. Pure
//! computation on at most one console line; no Redis.

use axum::Json;
use serde::Deserialize;
use shared::console::{self, MAX_LINE, Snippets};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::error::ApiError;
use crate::http::extract::ApiQuery;
use crate::http::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(snippets))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct SnippetsQuery {
    line: String,
}

#[utoipa::path(get, path = "/snippets", tag = "snippets", params(SnippetsQuery), responses((status = 200, body = Snippets)))]
async fn snippets(ApiQuery(q): ApiQuery<SnippetsQuery>) -> Result<Json<Snippets>, ApiError> {
    if q.line.len() > MAX_LINE {
        return Err(ApiError::bad_request(
            "line_too_long",
            format!(
                "the line is {} bytes; snippets are made for lines of up to {MAX_LINE}",
                q.line.len()
            ),
        ));
    }
    let argv = console::tokenize(&q.line)
        .map_err(|e| ApiError::bad_request("invalid_line", format!("{}: {}", e.message, e.hint)))?;
    if argv.is_empty() {
        return Err(ApiError::bad_request(
            "invalid_line",
            "the line is empty: give a command as redis-cli takes it, e.g. XLEN claims:events",
        ));
    }
    Ok(Json(Snippets::of(&argv)))
}
