//! The live analytics dashboard's data: event rates by type, lag trends with catch-up
//! estimates, processing times and error rates per group, stream length, amounts by status.

use axum::Json;
use axum::extract::State;
use shared::ClaimStatus;
use shared::api::{AnalyticsResponse, StatusAmount};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::error::ApiError;
use crate::http::state::AppState;
use crate::store::metrics;
use crate::store::trace::Trace;
use crate::workers::stats;

/// A group failing more than this share of its entries in the last minute raises the alert.
pub const ERROR_RATE_THRESHOLD: f64 = 0.10;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(analytics))
}

#[utoipa::path(get, path = "/analytics", tag = "analytics", responses((status = 200, body = AnalyticsResponse)))]
async fn analytics(State(state): State<AppState>) -> Result<Json<AnalyticsResponse>, ApiError> {
    let mut trace = Trace::off();
    let workers = state.workers.get().cloned();
    let mut groups =
        stats::read(&state.db, state.clock.now(), workers.as_deref(), &mut trace).await?;
    state.trends.annotate(&mut groups);
    let counters = metrics::read(&state.db, &mut trace).await?;
    let by_status = ClaimStatus::ALL
        .into_iter()
        .map(|s| StatusAmount {
            status: s,
            claims: counters.get(&metrics::claims(s)).max(0) as u64,
            amount: shared::Amount::from_cents(counters.get(&metrics::cents(s))).to_string(),
        })
        .collect();
    let (events_per_second, rate_series) = state.trends.rates();
    let alerts = groups
        .groups
        .iter()
        .filter(|g| g.error_rate > ERROR_RATE_THRESHOLD)
        .map(|g| {
            format!(
                "{} failed {:.0}% of its entries in the last minute",
                g.name,
                g.error_rate * 100.0
            )
        })
        .collect();
    Ok(Json(AnalyticsResponse {
        events_per_second,
        rate_series,
        stream_length: state.trends.lengths(),
        by_status,
        dead_letters: groups.dead_letters,
        groups: groups.groups,
        error_rate_threshold: ERROR_RATE_THRESHOLD,
        alerts,
    }))
}
