//! Paged reads of the `claims:*` streams: the timeline's history. Only `XRANGE` and
//! `XREVRANGE` on keys under `claims:` are possible here; this is not a Redis proxy.

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use redis::Value;
use serde::Deserialize;
use shared::api::{EntriesPage, StreamEntry};

use crate::db::{self, DbError};
use crate::entry_id::EntryId;
use crate::error::ApiError;
use crate::extract::ApiQuery;
use crate::keys;
use crate::redis_cli::Trace;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/streams/{key}/entries", get(entries))
}

#[derive(Deserialize)]
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
    let count_s = count.to_string();
    let args = if q.rev {
        ["XREVRANGE", &key, &end, &start, "COUNT", &count_s]
    } else {
        ["XRANGE", &key, &start, &end, "COUNT", &count_s]
    };
    let mut trace = Trace::default();
    let reply: Value = state.db.run(&mut trace, &args).await.map_err(|e| match e {
        DbError::Redis(e) if e.code() == Some("WRONGTYPE") => {
            ApiError::bad_request("not_a_stream", format!("{key} is not a stream"))
        }
        e => e.into(),
    })?;
    let entries: Vec<StreamEntry> = db::entries(reply)
        .into_iter()
        .map(|(id, fields)| StreamEntry::decode(id, fields))
        .collect();
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
pub fn controls() -> Router<AppState> {
    Router::new().route("/streams/{key}/trim", axum::routing::post(trim))
}

/// The streams a trim may touch: the relay's own.
const TRIMMABLE: [&str; 5] = [
    keys::EVENTS,
    keys::FAILED,
    keys::FAILED_LOG,
    keys::ANALYTICS,
    keys::NOTIFICATIONS,
];

async fn trim(
    State(state): State<AppState>,
    Path(key): Path<String>,
    crate::extract::JsonBody(request): crate::extract::JsonBody<shared::api::TrimRequest>,
) -> Result<Json<shared::api::TrimResponse>, ApiError> {
    use crate::retention::{self, Cut};
    if !TRIMMABLE.contains(&key.as_str()) {
        return Err(ApiError::bad_request(
            "key_not_allowed",
            format!("only {} can be trimmed", TRIMMABLE.join(", ")),
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
