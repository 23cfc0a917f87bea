//! `GET /api/health`: is Redis there, which version, how far, and how long the streams are.

use std::time::Instant;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use shared::api::{HealthResponse, RedisHealth, StreamLength};

use crate::http::state::AppState;
use crate::store::db::Db;
use crate::store::keys;
use crate::store::streams;
use crate::store::trace::Trace;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(health))
}

async fn probe(
    db: &Db,
    trace: &mut Trace,
) -> Result<(f64, String, Vec<StreamLength>), crate::store::db::DbError> {
    let started = Instant::now();
    db.ping(trace).await?;
    let latency_ms = started.elapsed().as_secs_f64() * 1_000.0;
    let info = db.info(trace, Some("server")).await?;
    let version = info.field("redis_version").unwrap_or("unknown").to_owned();
    let known = keys::known_streams(db.partitions);
    let lengths = streams::lengths(db, trace, &known).await?;
    let streams = known
        .into_iter()
        .zip(lengths)
        .map(|(key, length)| StreamLength { key, length })
        .collect();
    Ok((latency_ms, version, streams))
}

#[utoipa::path(get, path = "/health", tag = "health", responses((status = 200, body = HealthResponse)))]
async fn health(State(state): State<AppState>) -> (StatusCode, Json<HealthResponse>) {
    let mut trace = Trace::default();
    let probed = probe(&state.db, &mut trace).await;
    let commands = trace.into_commands();
    let embedded = state.embedded.as_ref().map(|e| e.get());
    let restarting = embedded.as_ref().is_some_and(|e| e.state == "restarting");
    match probed {
        Ok((latency_ms, version, streams)) => (
            StatusCode::OK,
            Json(HealthResponse {
                status: "ok".into(),
                embedded,
                redis: RedisHealth {
                    reachable: true,
                    version: Some(version),
                    latency_ms: Some(latency_ms),
                    error: None,
                },
                streams,
                commands,
            }),
        ),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(HealthResponse {
                status: if restarting {
                    "restarting"
                } else {
                    "unavailable"
                }
                .into(),
                embedded,
                redis: RedisHealth {
                    reachable: false,
                    version: None,
                    latency_ms: None,
                    error: Some(match e {
                        crate::store::db::DbError::Unavailable(_) => e.to_string(),
                        _ => {
                            tracing::error!(error = ?e, "health probe failed");
                            format!("Redis at {} answered with an error", state.db.location)
                        }
                    }),
                },
                streams: Vec::new(),
                commands,
            }),
        ),
    }
}
