//! `GET /api/session`: the caller's role, so the browser app shows instructor controls only
//! to the instructor (the relay enforces the rule whatever the app shows).

use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::get;
use axum::{Json, Router};
use shared::api::SessionResponse;

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/session", get(session))
}

async fn session(State(state): State<AppState>, headers: HeaderMap) -> Json<SessionResponse> {
    Json(SessionResponse {
        role: state.access.role(&headers),
        instructor_by: state.access.instructor_by().to_owned(),
    })
}
