//! Dead letters in `claims:failed` (one per partition, `claims:failed:{p}`): replay one for
//! its group (or many: the ones named, or every letter of a group), or discard it. Either way
//! the letter leaves its stream and a record of what happened goes to `claims:failed:log`.
//! Listing is `GET /api/streams/claims:failed/entries`. With several partitions a letter is
//! named `<partition>:<id>`.

use axum::Json;
use axum::extract::{Path, State};
use shared::api::{BulkReplayRequest, BulkReplayResponse, GroupActionResponse, LetterFailure};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::error::ApiError;
use crate::http::extract::JsonBody;
use crate::http::state::AppState;
use crate::store::entry_id::EntryId;
use crate::store::keys::Partition;
use crate::store::letters::{self, Letter};
use crate::store::trace::Trace;
use crate::workers::replay::{self, ReplayError};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(replay_many))
        .routes(routes!(replay))
        .routes(routes!(discard))
}

/// The letter a name says, or 404.
async fn letter(state: &AppState, trace: &mut Trace, name: &str) -> Result<Letter, ApiError> {
    let (partition, id) = locate(state, name)?;
    letters::find(&state.db, trace, partition, id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no dead letter {id} in {}", partition.failed())))
}

/// The partition and id a letter's name says.
fn locate<'a>(state: &AppState, name: &'a str) -> Result<(Partition, &'a str), ApiError> {
    let (partition, id) = state
        .db
        .partitions
        .parse_marker(name)
        .map_err(|m| ApiError::bad_request("invalid_stream_id", m))?;
    id.parse::<EntryId>()
        .map_err(|m| ApiError::bad_request("invalid_stream_id", m))?;
    Ok((partition, id))
}

impl From<ReplayError> for ApiError {
    fn from(e: ReplayError) -> Self {
        match e {
            ReplayError::EntryGone { .. } | ReplayError::FailedAgain(_) => {
                ApiError::VersionConflict(e.to_string())
            }
            ReplayError::Group(e) => e.into(),
            ReplayError::Db(e) => e.into(),
        }
    }
}

/// Replays one letter with the relay's consumer groups (503 when they do not run here).
async fn replay_letter(
    state: &AppState,
    trace: &mut Trace,
    letter: &Letter,
) -> Result<String, ApiError> {
    let workers = state.workers.get().cloned().ok_or_else(|| {
        ApiError::Unavailable("the consumer groups are not running in this relay".into())
    })?;
    Ok(replay::letter(
        &state.db,
        trace,
        &workers,
        letter,
        state.clock.now(),
        state.side_stream_maxlen,
    )
    .await?)
}

#[utoipa::path(post, path = "/dead-letters/{id}/replay", tag = "dead_letters", params(("id" = String, Path)), responses((status = 200, body = GroupActionResponse)))]
async fn replay(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<GroupActionResponse>, ApiError> {
    let mut trace = Trace::default();
    let letter = letter(&state, &mut trace, &id).await?;
    let done = replay_letter(&state, &mut trace, &letter).await?;
    Ok(Json(GroupActionResponse {
        group: letter.group().to_owned(),
        done,
        redis: trace.into_commands(),
    }))
}

/// Letters replayed by one request at most.
const MAX_BULK: usize = 1000;

/// Replays the letters named, or all of a group's, one after another; a letter whose entry
/// fails again stays, and the answer says why.
#[utoipa::path(post, path = "/dead-letters/replay", tag = "dead_letters", request_body = BulkReplayRequest, responses((status = 200, body = BulkReplayResponse)))]
async fn replay_many(
    State(state): State<AppState>,
    JsonBody(request): JsonBody<BulkReplayRequest>,
) -> Result<Json<BulkReplayResponse>, ApiError> {
    let mut trace = Trace::default();
    let letters = match (&request.group, request.ids.is_empty()) {
        (Some(group), true) => letters::of_group(&state.db, &mut trace, group, MAX_BULK).await?,
        (None, false) if request.ids.len() <= MAX_BULK => {
            let mut letters = Vec::new();
            for id in &request.ids {
                letters.push(letter(&state, &mut trace, id).await?);
            }
            letters
        }
        (None, false) => {
            return Err(ApiError::Validation(vec![shared::FieldError::new(
                "ids",
                format!("at most {MAX_BULK} letters at a time"),
            )]));
        }
        _ => {
            return Err(ApiError::Validation(vec![shared::FieldError::new(
                "ids",
                "give the letters' ids, or a group (not both)",
            )]));
        }
    };
    let mut response = BulkReplayResponse {
        matched: letters.len() as u64,
        dry_run: request.dry_run,
        replayed: Vec::new(),
        failed: Vec::new(),
        redis: Vec::new(),
    };
    if !request.dry_run {
        for letter in &letters {
            match replay_letter(&state, &mut trace, letter).await {
                Ok(_) => response.replayed.push(letter.name()),
                Err(e @ (ApiError::Unavailable(_) | ApiError::Internal(_))) => return Err(e),
                Err(e) => response.failed.push(LetterFailure {
                    id: letter.name(),
                    error: e.to_string(),
                }),
            }
        }
    }
    response.redis = trace.into_commands();
    Ok(Json(response))
}

#[utoipa::path(post, path = "/dead-letters/{id}/discard", tag = "dead_letters", params(("id" = String, Path)), responses((status = 200, body = GroupActionResponse)))]
async fn discard(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<GroupActionResponse>, ApiError> {
    let mut trace = Trace::default();
    let letter = letter(&state, &mut trace, &id).await?;
    letters::close(
        &state.db,
        &mut trace,
        &letter,
        "discarded",
        state.clock.now(),
        state.side_stream_maxlen,
    )
    .await?;
    Ok(Json(GroupActionResponse {
        group: letter.group().to_owned(),
        done: format!("letter {id} discarded"),
        redis: trace.into_commands(),
    }))
}
