//! Paged reads of the `claims:*` streams: the timeline's history. Only `XRANGE` and
//! `XREVRANGE` on keys under `claims:` are possible here; this is not a Redis proxy.

use axum::Json;
use axum::extract::{Path, State};
use serde::Deserialize;
use shared::api::{EntriesPage, StreamEntry};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::error::ApiError;
use crate::http::extract::ApiQuery;
use crate::http::state::AppState;
use crate::store::db::Refusal;
use crate::store::entry_id::EntryId;
use crate::store::keys;
use crate::store::streams::{self, Range};
use crate::store::trace::Trace;

/// A read of `key` that Redis refused: a key of another type is the caller's mistake.
pub(super) fn read_refused(key: &str, e: crate::store::db::DbError) -> ApiError {
    match e {
        e if e.refusal() == Some(Refusal::WrongType) => {
            ApiError::bad_request("not_a_stream", format!("{key} is not a stream"))
        }
        e => e.into(),
    }
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(entries))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct EntriesQuery {
    start: Option<String>,
    end: Option<String>,
    count: Option<usize>,
    #[serde(default)]
    rev: bool,
}

const MAX_COUNT: usize = 1_000;

fn check_key(key: &str) -> Result<(), ApiError> {
    let printable = key.chars().all(|c| c.is_ascii_graphic());
    if !key.starts_with(keys::READABLE_PREFIX) || !printable || key.len() > 200 {
        return Err(ApiError::bad_request(
            "key_not_allowed",
            format!(
                "only streams under {}* can be read here",
                keys::READABLE_PREFIX
            ),
        ));
    }
    Ok(())
}

/// `-`, `+`, an id, or `(id` for an exclusive bound, as XRANGE takes them.
fn check_bound(name: &str, value: &str) -> Result<(), ApiError> {
    if value == "-" || value == "+" {
        return Ok(());
    }
    value
        .strip_prefix('(')
        .unwrap_or(value)
        .parse::<EntryId>()
        .map(drop)
        .map_err(|m| {
            ApiError::bad_request(
                "invalid_stream_id",
                format!("{name}: {m}, '-', '+' or '(id'"),
            )
        })
}

#[utoipa::path(get, path = "/streams/{key}/entries", tag = "streams", params(("key" = String, Path), EntriesQuery), responses((status = 200, body = EntriesPage)))]
async fn entries(
    State(state): State<AppState>,
    Path(key): Path<String>,
    ApiQuery(q): ApiQuery<EntriesQuery>,
) -> Result<Json<EntriesPage>, ApiError> {
    check_key(&key)?;
    let start = q.start.unwrap_or_else(|| "-".into());
    let end = q.end.unwrap_or_else(|| "+".into());
    check_bound("start", &start)?;
    check_bound("end", &end)?;
    let count = q.count.unwrap_or(50);
    if !(1..=MAX_COUNT).contains(&count) {
        return Err(ApiError::bad_request(
            "invalid_query",
            format!("count: must be between 1 and {MAX_COUNT}"),
        ));
    }
    // `claims:events` and `claims:failed` with several partitions read them all, merged by
    // id (time), each entry saying its partition.
    let partitions = state.db.partitions;
    let read: Vec<(Option<keys::Partition>, String)> = match key.as_str() {
        keys::EVENTS if partitions.count() > 1 => {
            partitions.all().map(|p| (Some(p), p.events())).collect()
        }
        keys::FAILED if partitions.count() > 1 => {
            partitions.all().map(|p| (Some(p), p.failed())).collect()
        }
        _ => vec![(
            partitions
                .all()
                .find(|p| p.events() == key || p.failed() == key),
            key.clone(),
        )],
    };
    let mut trace = Trace::default();
    let streams: Vec<String> = read.iter().map(|(_, stream)| stream.clone()).collect();
    let range = Range {
        start: &start,
        end: &end,
        count,
        rev: q.rev,
    };
    let replies = streams::range(&state.db, &mut trace, &streams, range)
        .await
        .map_err(|e| read_refused(&key, e))?;
    let mut entries: Vec<StreamEntry> = Vec::new();
    for ((partition, _), reply) in read.iter().zip(replies) {
        entries.extend(reply.into_iter().map(|(id, fields)| {
            let entry = StreamEntry::decode(id, fields);
            match partition {
                Some(p) => crate::events::feed::tagged(*p, entry),
                None => entry,
            }
        }));
    }
    if read.len() > 1 {
        entries.sort_by_key(|e| e.id.parse::<EntryId>().unwrap_or_default());
        if q.rev {
            entries.reverse();
        }
        entries.truncate(count);
    }
    let next = (entries.len() == count)
        .then(|| entries.last().map(|e| format!("({}", e.id)))
        .flatten();
    Ok(Json(EntriesPage {
        stream: key,
        entries,
        next,
        redis: trace.into_commands(),
    }))
}

/// Instructor-only: trimming removes history for the whole class.
pub fn controls() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(trim))
}

/// The streams a trim may touch: the relay's own.
fn trimmable(partitions: keys::Partitions) -> Vec<String> {
    let mut streams = keys::known_streams(partitions);
    streams.push(keys::FAILED_LOG.to_owned());
    streams
}

#[utoipa::path(post, path = "/streams/{key}/trim", tag = "streams", params(("key" = String, Path)), responses((status = 200, body = shared::api::TrimResponse)))]
async fn trim(
    State(state): State<AppState>,
    Path(key): Path<String>,
    crate::http::extract::JsonBody(request): crate::http::extract::JsonBody<
        shared::api::TrimRequest,
    >,
) -> Result<Json<shared::api::TrimResponse>, ApiError> {
    use crate::events::retention::{self, Cut};
    let trimmable = trimmable(state.db.partitions);
    if !trimmable.contains(&key) {
        return Err(ApiError::bad_request(
            "key_not_allowed",
            format!("only {} can be trimmed", trimmable.join(", ")),
        ));
    }
    let cut = match (request.maxlen, request.minid.as_deref()) {
        (Some(n), None) => Cut::MaxLen(n),
        (None, Some(id)) => Cut::MinId(
            id.parse()
                .map_err(|m| ApiError::Validation(vec![shared::FieldError::new("minid", m)]))?,
        ),
        _ => {
            return Err(ApiError::Validation(vec![shared::FieldError::new(
                "maxlen",
                "give exactly one of maxlen and minid",
            )]));
        }
    };
    let mut trace = Trace::default();
    let plan = retention::plan(&state.db, &mut trace, &key, &cut).await?;
    let blockers = match &plan.last_removed {
        Some(last) => retention::blockers(&state.db, &mut trace, &key, last).await?,
        None => Vec::new(),
    };
    if !blockers.is_empty() && !request.force && !request.dry_run {
        return Err(ApiError::Conflict {
            code: "trim_unsafe",
            message: format!(
                "trimming {key} would remove {} entries that are still needed: {}. Send \"force\": true to trim anyway",
                plan.would_remove,
                blockers.join("; ")
            ),
        });
    }
    let (removed, length_after) = if request.dry_run || plan.would_remove == 0 {
        (None, plan.length)
    } else {
        let after =
            retention::trim(&state.db, &mut trace, &key, &plan, request.approximate).await?;
        (Some(plan.length.saturating_sub(after)), after)
    };
    Ok(Json(shared::api::TrimResponse {
        stream: key,
        dry_run: request.dry_run,
        would_remove: plan.would_remove,
        first_removed: plan.first_removed,
        last_removed: plan.last_removed,
        first_kept: plan.first_kept,
        blockers,
        removed,
        length_after,
        redis: trace.into_commands(),
    }))
}
