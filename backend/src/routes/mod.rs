//! The HTTP API: one module per resource, merged here.

mod claims;
mod dead_letters;
mod groups;
mod health;
mod streams;
mod ws;

use std::path::Path;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::trace::TraceLayer;

use crate::error::ApiError;
use crate::extract::BODY_LIMIT;
use crate::state::AppState;

pub fn router(state: AppState, static_dir: Option<&Path>) -> Router {
    let api = Router::new()
        .merge(claims::router())
        .merge(streams::router())
        .merge(groups::router())
        .merge(dead_letters::router())
        .merge(health::router())
        .merge(ws::router())
        .fallback(|| async { ApiError::NotFound("no such API endpoint".into()) })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(DefaultBodyLimit::max(BODY_LIMIT));
    let app = Router::new().nest("/api", api);
    let app = match static_dir.filter(|d| d.is_dir()) {
        // The browser app routes on its own, so unknown paths get index.html.
        Some(dir) => app
            .fallback_service(ServeDir::new(dir).fallback(ServeFile::new(dir.join("index.html")))),
        None => app,
    };
    app.layer(TraceLayer::new_for_http()).with_state(state)
}
