//! The traffic generator: `GET /api/traffic` for everyone, `POST /api/traffic` to start,
//! retune or stop it (instructor).

use axum::Json;
use axum::extract::State;
use shared::FieldError;
use shared::api::{TrafficRequest, TrafficStatus};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::error::ApiError;
use crate::http::extract::JsonBody;
use crate::http::state::AppState;
use crate::teaching::traffic::MAX_RATE;

/// Events per second when a start names none.
const DEFAULT_RATE: u32 = 5;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(status))
}

pub fn controls() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(control))
}

#[utoipa::path(get, path = "/traffic", tag = "traffic", responses((status = 200, body = TrafficStatus)))]
async fn status(State(state): State<AppState>) -> Json<TrafficStatus> {
    Json(state.traffic.status().await)
}

#[utoipa::path(post, path = "/traffic", tag = "traffic", request_body = TrafficRequest, responses((status = 200, body = TrafficStatus)))]
async fn control(
    State(state): State<AppState>,
    JsonBody(request): JsonBody<TrafficRequest>,
) -> Result<Json<TrafficStatus>, ApiError> {
    if !request.running {
        return Ok(Json(state.traffic.stop().await));
    }
    let rate = request.rate.unwrap_or(DEFAULT_RATE);
    if !(1..=MAX_RATE).contains(&rate) {
        return Err(ApiError::Validation(vec![FieldError::new(
            "rate",
            format!("events per second, from 1 to {MAX_RATE}"),
        )]));
    }
    Ok(Json(
        state
            .traffic
            .start(state.claims.clone(), state.clock.clone(), rate)
            .await,
    ))
}
