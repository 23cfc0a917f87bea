//! Where Redis's memory goes: `INFO memory`, `MEMORY USAGE` of each stream and read-model
//! key, the claims' indexes estimated from a sample, and stream lengths over time.

use axum::Json;
use axum::extract::State;
use shared::api::{LengthSample, MemoryResponse};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::error::ApiError;
use crate::http::state::AppState;
use crate::store::memory;
use crate::store::trace::Trace;

/// Length samples shown: one every five seconds of the relay's ten minutes.
const LENGTH_EVERY: usize = 5;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(memory))
}

#[utoipa::path(get, path = "/memory", tag = "memory", responses((status = 200, body = MemoryResponse)))]
async fn memory(State(state): State<AppState>) -> Result<Json<MemoryResponse>, ApiError> {
    let mut trace = Trace::default();
    // On a cluster, the figures add up over its primaries.
    let info = state.db.info(&mut trace, Some("memory")).await?;
    let number = |name: &str| info.sum(name);

    // The command log's size counts every command answered before.
    state
        .claims
        .command_log()
        .flushed(crate::store::command_log::READ_WAIT)
        .await;
    let keys_memory = memory::keys(&state.db, &mut trace).await?;
    let indexes = memory::indexes(&state.db, &mut trace).await?;

    let samples = state.trends.samples();
    let lengths = samples
        .iter()
        .rev()
        .step_by(LENGTH_EVERY)
        .rev()
        .map(|s| LengthSample {
            at_ms: s.at_ms,
            lengths: s.lengths.clone(),
        })
        .collect();
    Ok(Json(MemoryResponse {
        used_bytes: number("used_memory"),
        peak_bytes: number("used_memory_peak"),
        maxmemory_bytes: number("maxmemory"),
        maxmemory_policy: info
            .field("maxmemory_policy")
            .unwrap_or("unknown")
            .to_owned(),
        keys: keys_memory,
        indexes,
        lengths,
        redis: trace.into_commands(),
    }))
}
