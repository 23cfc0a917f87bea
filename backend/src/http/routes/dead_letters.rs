//! Dead letters in `claims:failed` (one per partition, `claims:failed:{p}`): replay one for
//! its group (or many: the ones named, or every letter of a group), or discard it. Either way
//! the letter leaves its stream and a record of what happened goes to `claims:failed:log`.
//! Listing is `GET /api/streams/claims:failed/entries`. With several partitions a letter is
//! named `<partition>:<id>`.

use axum::extract::{Path, State};
use axum::routing::post;
use axum::{Json, Router};
use redis::Value;
use shared::api::{
    BulkReplayRequest, BulkReplayResponse, GroupActionResponse, LetterFailure, StreamEntry,
};

use crate::http::error::ApiError;
use crate::http::state::AppState;
use crate::store::entry_id::EntryId;
use crate::store::keys::{self, Partition};
use crate::store::reply;
use crate::store::trace::Trace;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/dead-letters/replay", post(replay_many))
        .route("/dead-letters/{id}/replay", post(replay))
        .route("/dead-letters/{id}/discard", post(discard))
}

/// A letter's fields, or 404.
async fn letter(
    state: &AppState,
    trace: &mut Trace,
    name: &str,
) -> Result<Vec<(String, String)>, ApiError> {
    let (partition, id) = locate(state, name)?;
    let failed = partition.failed();
    let reply: Value = state.db.run(trace, &["XRANGE", &failed, id, id]).await?;
    reply::entries(reply)
        .into_iter()
        .next()
        .map(|(_, fields)| fields)
        .ok_or_else(|| ApiError::NotFound(format!("no dead letter {id} in {failed}")))
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

fn field<'a>(fields: &'a [(String, String)], name: &str) -> &'a str {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map_or("", |(_, v)| v.as_str())
}

/// Removes the letter and records why, in one transaction (on a cluster: the record first).
async fn close(
    state: &AppState,
    trace: &mut Trace,
    name: &str,
    fields: &[(String, String)],
    action: &str,
) -> Result<(), ApiError> {
    let (partition, id) = locate(state, name)?;
    let failed = partition.failed();
    let at = crate::events::commands::now().to_string();
    let keep = state.side_stream_maxlen.to_string();
    state
        .db
        .together(
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
                    name,
                    "original_id",
                    field(fields, "original_id"),
                    "group",
                    field(fields, "group"),
                    "at",
                    &at,
                ],
                vec!["XDEL", failed.as_str(), id],
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
    let (group, done) = replay_letter(&state, &mut trace, &id, &fields).await?;
    Ok(Json(GroupActionResponse {
        group,
        done,
        redis: trace.into_commands(),
    }))
}

/// Letters replayed by one request at most.
const MAX_BULK: usize = 1000;

/// Replays the letters named, or all of a group's, one after another; a letter whose entry
/// fails again stays, and the answer says why.
async fn replay_many(
    State(state): State<AppState>,
    crate::http::extract::JsonBody(request): crate::http::extract::JsonBody<BulkReplayRequest>,
) -> Result<Json<BulkReplayResponse>, ApiError> {
    let mut trace = Trace::default();
    let letters = match (&request.group, request.ids.is_empty()) {
        (Some(group), true) => letters_of(&state, &mut trace, group).await?,
        (None, false) if request.ids.len() <= MAX_BULK => {
            let mut letters = Vec::new();
            for id in &request.ids {
                letters.push((id.clone(), letter(&state, &mut trace, id).await?));
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
        for (id, fields) in &letters {
            match replay_letter(&state, &mut trace, id, fields).await {
                Ok(_) => response.replayed.push(id.clone()),
                Err(e @ (ApiError::Unavailable(_) | ApiError::Internal(_))) => return Err(e),
                Err(e) => response.failed.push(LetterFailure {
                    id: id.clone(),
                    error: e.to_string(),
                }),
            }
        }
    }
    response.redis = trace.into_commands();
    Ok(Json(response))
}

/// Every letter of `group`, oldest first in each partition, up to [`MAX_BULK`], by name.
async fn letters_of(
    state: &AppState,
    trace: &mut Trace,
    group: &str,
) -> Result<Vec<(String, Vec<(String, String)>)>, ApiError> {
    let mut letters = Vec::new();
    for partition in state.db.partitions.all() {
        let failed = partition.failed();
        let mut start = "-".to_owned();
        loop {
            let reply: Value = state
                .db
                .run(trace, &["XRANGE", &failed, &start, "+", "COUNT", "500"])
                .await?;
            let page = reply::entries(reply);
            let full = page.len() == 500;
            for (id, fields) in page {
                start = format!("({id}");
                if field(&fields, "group") == group && letters.len() < MAX_BULK {
                    letters.push((partition.marker(&id), fields));
                }
            }
            if !full || letters.len() >= MAX_BULK {
                break;
            }
        }
    }
    Ok(letters)
}

/// Processes the letter's entry again for its group, then removes the letter: (group, what
/// was done).
async fn replay_letter(
    state: &AppState,
    trace: &mut Trace,
    id: &str,
    fields: &[(String, String)],
) -> Result<(String, String), ApiError> {
    let group = field(fields, "group").to_owned();
    let original = field(fields, "original_id").to_owned();
    let workers = state.workers.get().cloned().ok_or_else(|| {
        ApiError::Unavailable("the consumer groups are not running in this relay".into())
    })?;
    let handler = workers.group(&group)?;
    let (partition, _) = locate(state, id)?;
    let stream = partition.events();
    let reply: Value = state
        .db
        .run(trace, &["XRANGE", &stream, &original, &original])
        .await?;
    let Some((entry_id, entry_fields)) = reply::entries(reply).into_iter().next() else {
        return Err(ApiError::VersionConflict(format!(
            "entry {original} is no longer in {stream}; discard the letter instead"
        )));
    };
    let entry = crate::events::feed::tagged(partition, StreamEntry::decode(entry_id, entry_fields));
    handler
        .process(&state.db, entry)
        .await
        .map_err(|e| ApiError::VersionConflict(format!("the replay failed again: {e}")))?;
    close(state, trace, id, fields, "replayed").await?;
    Ok((
        group,
        format!("entry {original} processed again; letter {id} removed"),
    ))
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
