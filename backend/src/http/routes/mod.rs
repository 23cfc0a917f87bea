//! The HTTP API: one module per resource, merged here.

mod analytics;
mod claims;
mod commands;
mod console;
mod dead_letters;
mod groups;
mod health;
mod join;
mod lab;
mod memory;
mod openapi;
mod projections;
mod scenarios;
mod scripts;
mod search;
mod session;
mod snippets;
mod state;
mod streams;
mod traffic;
mod validate;
mod ws;

use std::path::Path;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware::from_fn_with_state;
use tower_http::trace::TraceLayer;
use utoipa_axum::router::OpenApiRouter;

use crate::http::access;
use crate::http::assets::Assets;
use crate::http::error::ApiError;
use crate::http::extract::BODY_LIMIT;
use crate::http::limits::WriteLimit;
use crate::http::metrics;
use crate::http::state::AppState;

/// Every route of the API with its description: each handler's `#[utoipa::path]` names its
/// method and path, so what is served and what is described are one list.
fn api(state: &AppState) -> OpenApiRouter<AppState> {
    // Every control that changes things for the whole class goes here, and only here.
    let instructor = OpenApiRouter::new()
        .merge(groups::controls())
        .merge(dead_letters::router())
        .merge(projections::controls())
        .merge(streams::controls())
        .merge(traffic::controls())
        .merge(scenarios::controls())
        .route_layer(from_fn_with_state(
            state.access.clone(),
            access::require_instructor,
        ));
    OpenApiRouter::new()
        .merge(claims::router(state))
        .merge(commands::router())
        .merge(streams::router())
        .merge(search::router())
        .merge(console::router())
        .merge(groups::router())
        .merge(health::router())
        .merge(join::router())
        .merge(lab::router())
        .merge(analytics::router())
        .merge(memory::router())
        .merge(projections::router())
        .merge(session::router())
        .merge(state::router())
        .merge(validate::router())
        .merge(traffic::router())
        .merge(scenarios::router())
        .merge(scripts::router())
        .merge(snippets::router())
        .merge(ws::router())
        .merge(openapi::router())
        .merge(instructor)
}

pub fn router(state: AppState, static_dir: Option<&Path>, write_limit: &WriteLimit) -> Router {
    let (api, api_described) = api(&state).split_for_parts();
    // Prometheus scrapes without a session: open, and cheap (http::metrics, docs/access.md).
    let (scrape, scrape_described) = OpenApiRouter::new()
        .routes(utoipa_axum::routes!(metrics::scrape))
        .split_for_parts();
    let description = openapi::Description::of(scrape_described, api_described);
    let api = api
        .fallback(|| async { ApiError::NotFound("no such API endpoint".into()) })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(axum::Extension(description));
    // Outermost first: refused cross-site requests do not count against the rate.
    let api = write_limit
        .apply(api, state.shutdown.clone())
        .layer(from_fn_with_state(
            state.access.clone(),
            access::refuse_cross_site,
        ));
    let app = scrape.nest("/api", api);
    // The browser app, from `static_dir` if it exists, else the one built in (http::assets).
    let assets = std::sync::Arc::new(Assets::new(static_dir));
    let app =
        app.fallback(
            move |method: axum::http::Method,
                  uri: axum::http::Uri,
                  headers: axum::http::HeaderMap| async move {
                assets.serve(&method, &uri, &headers).await
            },
        );
    app.layer(axum::middleware::from_fn(metrics::track))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}
