//! Time travel over the whole stream: every claim as it was at a point in time, replayed
//! from the first event (`GET /api/state?at=`): one replay per point however many ask, a few
//! replays at once relay-wide.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use shared::ClaimStatus;
use shared::api::{ClaimView, StateResponse, StatusCount};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::events::replay;
use crate::http::error::ApiError;
use crate::http::extract::ApiQuery;
use crate::http::state::AppState;
use crate::store::entry_id::EntryId;
use crate::store::trace::Trace;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(state_at))
}

/// Longer streams are refused: a replay reads every entry up to the point asked for.
const MAX_REPLAYED: u64 = 250_000;
/// The last events replayed that the answer shows.
const TAIL: usize = 20;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct StateQuery {
    /// A stream id or an RFC 3339 time; now when left out.
    at: Option<String>,
    status: Option<String>,
    offset: Option<u64>,
    limit: Option<u64>,
}

#[utoipa::path(get, path = "/state", tag = "state", params(StateQuery), responses((status = 200, body = StateResponse)))]
async fn state_at(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<StateQuery>,
) -> Result<Json<StateResponse>, ApiError> {
    let until = super::claims::point_in_time(q.at.as_deref())?;
    let (status, offset, limit) = super::claims::page(q.status, q.offset, q.limit)?;
    let mut trace = Trace::default();
    let length = crate::events::feed::length(&state.db, &mut trace).await?;
    if length > MAX_REPLAYED {
        return Err(ApiError::Unprocessable {
            code: "history_too_long",
            message: format!(
                "the claims' streams hold {length} entries; replaying more than {MAX_REPLAYED} per request is refused. Trim the stream, or look at one claim with GET /api/claims/{{id}}?at="
            ),
        });
    }
    let end = until.map_or_else(|| "+".to_owned(), |u| u.to_string());
    // Requests for one point (what the replay would read) share one replay.
    let point = replay::point(&state.db, &mut trace, &end).await?;
    let board = state
        .boards
        .get_or_replay(point, replay_board(&state, &mut trace, &end))
        .await?;

    let counts = ClaimStatus::ALL
        .into_iter()
        .map(|s| StatusCount {
            status: s,
            count: board.claims.iter().filter(|v| v.status == s).count() as u64,
        })
        .collect();
    let shown = board
        .claims
        .iter()
        .filter(|v| status.is_none_or(|s| v.status == s));
    let total = shown.clone().count() as u64;
    let claims = shown
        .skip(offset as usize)
        .take(limit as usize)
        .cloned()
        .collect();
    Ok(Json(StateResponse {
        at: until.map_or_else(|| "+".to_owned(), |u: EntryId| u.to_string()),
        as_of: board.last_id.clone(),
        events_replayed: board.entries,
        counts,
        total,
        offset,
        limit,
        claims,
        last_events: board.tail.clone(),
        redis: trace.into_commands(),
    }))
}

/// Every partition replayed through `end`, folded into one board; in one of the places for
/// expensive reads.
async fn replay_board(
    state: &AppState,
    trace: &mut Trace,
    end: &str,
) -> Result<replay::Board, ApiError> {
    let _place = state.heavy.enter("GET /api/state").await?;
    let db = state.db.heavy();
    // Each partition folds its own claims; the board is all of them.
    let mut replayed = replay::Replayed::default();
    for partition in db.partitions.all() {
        let stream = partition.events();
        let part = replay::replay(&db, trace, &stream, end, TAIL, None, |_| {}).await?;
        replayed.claims.extend(part.claims);
        replayed.entries += part.entries;
        replayed.last_id = crate::store::entry_id::newest(replayed.last_id, part.last_id);
        replayed.tail.extend(part.tail);
    }
    let mut tail: Vec<_> = replayed.tail.drain(..).collect();
    tail.sort_by_key(|e| e.id.parse::<EntryId>().unwrap_or_default());
    let tail = tail.into_iter().rev().take(TAIL).rev().collect();

    let mut claims: Vec<ClaimView> = replayed.claims.values().filter_map(ClaimView::of).collect();
    // Newest submission first, as the board lists them.
    claims.sort_by(|a, b| {
        b.submitted_at
            .cmp(&a.submitted_at)
            .then_with(|| b.claim_id.cmp(&a.claim_id))
    });
    Ok(replay::Board {
        claims,
        entries: replayed.entries,
        last_id: replayed.last_id,
        tail,
    })
}
