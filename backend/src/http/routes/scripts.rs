//! `GET /api/scripts/{sha}`: the text of a script a trace shows by its `EVALSHA`. Answers
//! name the sha instead of carrying the text; it never changes for a sha, so it is cached.

use axum::Json;
use axum::extract::Path;
use axum::http::header;
use axum::response::IntoResponse;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::error::ApiError;
use crate::http::state::AppState;
use crate::store;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(script))
}

#[utoipa::path(get, path = "/scripts/{sha}", tag = "scripts", params(("sha" = String, Path)), responses((status = 200, body = shared::api::ScriptSource)))]
async fn script(Path(sha): Path<String>) -> Result<impl IntoResponse, ApiError> {
    if sha.len() != 40 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ApiError::bad_request(
            "invalid_sha",
            "a script is named by its SHA-1: 40 hexadecimal digits",
        ));
    }
    let found = store::script_source(&sha.to_ascii_lowercase())
        .ok_or_else(|| ApiError::NotFound(format!("no script of this relay has SHA-1 {sha}")))?;
    Ok((
        [(header::CACHE_CONTROL, "public, max-age=31536000, immutable")],
        Json(found),
    ))
}
