//! Dead letters in `claims:failed`: replay one for its group, or discard it. Either way the
//! letter leaves `claims:failed` and a record of what happened goes to `claims:failed:log`.
//! Listing is `GET /api/streams/claims:failed/entries`.

use axum::extract::{Path, State};
use axum::routing::post;
use axum::{Json, Router};
use redis::Value;
use shared::api::{GroupActionResponse, StreamEntry};

use crate::db;
use crate::entry_id::EntryId;
use crate::error::ApiError;
use crate::keys;
use crate::redis_cli::Trace;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/dead-letters/{id}/replay", post(replay))
        .route("/dead-letters/{id}/discard", post(discard))
}

/// A letter's fields, or 404.
async fn letter(
    state: &AppState,
    trace: &mut Trace,
    id: &str,
) -> Result<Vec<(String, String)>, ApiError> {
    id.parse::<EntryId>()
        .map_err(|m| ApiError::bad_request("invalid_stream_id", m))?;
    let reply: Value = state
        .db
        .run(trace, &["XRANGE", keys::FAILED, id, id])
        .await?;
    db::entries(&reply)
        .into_iter()
        .next()
        .map(|(_, fields)| fields)
        .ok_or_else(|| ApiError::NotFound(format!("no dead letter {id} in {}", keys::FAILED)))
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> &'a str {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map_or("", |(_, v)| v.as_str())
}

/// Removes the letter and records why, in one transaction.
async fn close(
    state: &AppState,
    trace: &mut Trace,
    id: &str,
    fields: &[(String, String)],
    action: &str,
) -> Result<(), ApiError> {
    let at = crate::commands::now().to_string();
    let keep = state.side_stream_maxlen.to_string();
    state
        .db
        .transaction(
            trace,
            &[
                vec![
                    "XADD",
                    keys::FAILED_LOG,
                    "MAXLEN",
                    "~",
                    &keep,
                    "*",
                    "action",
                    action,
                    "letter_id",
                    id,
                    "original_id",
                    field(fields, "original_id"),
                    "group",
                    field(fields, "group"),
                    "at",
                    &at,
                ],
                vec!["XDEL", keys::FAILED, id],
            ],
        )
        .await?;
    Ok(())
}

async fn replay(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<GroupActionResponse>, ApiError> {
    let mut trace = Trace::default();
    let fields = letter(&state, &mut trace, &id).await?;
    let group = field(&fields, "group").to_owned();
    let original = field(&fields, "original_id").to_owned();
    let workers = state.workers.get().cloned().ok_or_else(|| {
        ApiError::Unavailable("the consumer groups are not running in this relay".into())
    })?;
    let handler = workers.group(&group)?;
    let reply: Value = state
        .db
        .run(&mut trace, &["XRANGE", keys::EVENTS, &original, &original])
        .await?;
    let Some((entry_id, entry_fields)) = db::entries(&reply).into_iter().next() else {
        return Err(ApiError::VersionConflict(format!(
            "entry {original} is no longer in {}; discard the letter instead",
            keys::EVENTS
        )));
    };
    handler
        .process(&state.db, StreamEntry::decode(entry_id, entry_fields))
        .await
        .map_err(|e| ApiError::VersionConflict(format!("the replay failed again: {e}")))?;
    close(&state, &mut trace, &id, &fields, "replayed").await?;
    Ok(Json(GroupActionResponse {
        group,
        done: format!("entry {original} processed again; letter {id} removed"),
        redis: trace.into_commands(),
    }))
}

async fn discard(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<GroupActionResponse>, ApiError> {
    let mut trace = Trace::default();
    let fields = letter(&state, &mut trace, &id).await?;
    close(&state, &mut trace, &id, &fields, "discarded").await?;
    Ok(Json(GroupActionResponse {
        group: field(&fields, "group").to_owned(),
        done: format!("letter {id} discarded"),
        redis: trace.into_commands(),
    }))
}
