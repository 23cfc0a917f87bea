//! The consumer groups: their state as Redis reports it, and the controls an instructor uses
//! to show recovery happening (add or crash a consumer, pause, inject failures, claim idle
//! entries).

use std::sync::Arc;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use axum::Json;
use axum::extract::{Path, State};
use serde::Deserialize;
use shared::api::{
    ClaimOneRequest, GroupActionResponse, GroupsResponse, InjectRequest, PauseRequest, PendingItem,
    PendingPage, PositionRequest, PositionResponse, StreamPosition,
};

use crate::http::error::ApiError;
use crate::http::extract::{ApiQuery, JsonBody, OptionalJsonBody};
use crate::http::state::AppState;
use crate::store::db::{DbError, Refusal};
use crate::store::entry_id::EntryId;
use crate::store::group_state;
use crate::store::groups;
use crate::store::keys;
use crate::store::pending;
use crate::store::position::{self, Point, Refused};
use crate::store::trace::Trace;
use crate::workers::handler::Injection;
use crate::workers::{WorkerError, Workers, stats};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list))
}

/// Instructor actions: they change what the whole class sees.
pub fn controls() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(add_consumer))
        .routes(routes!(retire_consumer))
        .routes(routes!(crash_consumer))
        .routes(routes!(pause))
        .routes(routes!(inject))
        .routes(routes!(claim_now))
        .routes(routes!(position))
        .routes(routes!(pending_page))
        .routes(routes!(ack_one))
        .routes(routes!(claim_one))
}

/// Entries a page of the pending list holds at most, and by default.
const PENDING_PAGE_MAX: usize = 200;
const PENDING_PAGE: usize = 50;
/// Longest consumer name a claim may give.
const CONSUMER_NAME_MAX: usize = 64;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct PendingQuery {
    consumer: Option<String>,
    after: Option<String>,
    limit: Option<usize>,
}

fn entry_id(id: &str, what: &str) -> Result<String, ApiError> {
    id.parse::<EntryId>()
        .map(|id| id.to_string())
        .map_err(|e| ApiError::bad_request("invalid_id", format!("{what}: {e}")))
}

fn no_group(e: DbError, group: &str) -> ApiError {
    if e.refusal() == Some(Refusal::NoGroup) {
        ApiError::NotFound(format!("no consumer group {group} on the claims' streams"))
    } else {
        e.into()
    }
}

/// A page of the group's pending entries over every partition, oldest first by id.
#[utoipa::path(get, path = "/groups/{group}/pending", tag = "groups", params(("group" = String, Path), PendingQuery), responses((status = 200, body = PendingPage)))]
async fn pending_page(
    State(state): State<AppState>,
    Path(group): Path<String>,
    ApiQuery(q): ApiQuery<PendingQuery>,
) -> Result<Json<PendingPage>, ApiError> {
    let limit = q.limit.unwrap_or(PENDING_PAGE);
    if !(1..=PENDING_PAGE_MAX).contains(&limit) {
        return Err(ApiError::bad_request(
            "invalid_limit",
            format!("limit is 1 to {PENDING_PAGE_MAX}, not {limit}"),
        ));
    }
    let after = q
        .after
        .as_deref()
        .map(|a| entry_id(a, "after"))
        .transpose()?;
    let mut trace = Trace::default();
    let mut entries = Vec::new();
    for partition in state.db.partitions.all() {
        let stream = partition.events();
        let page = pending::page(
            &state.db,
            &mut trace,
            &stream,
            &group,
            after.as_deref(),
            limit + 1,
            q.consumer.as_deref(),
        )
        .await
        .map_err(|e| no_group(e, &group))?;
        entries.extend(page.into_iter().map(|p| PendingItem {
            stream: stream.clone(),
            id: p.id,
            consumer: p.consumer,
            idle_ms: p.idle_ms,
            deliveries: p.deliveries,
        }));
    }
    entries.sort_by_key(|e| e.id.parse::<EntryId>().unwrap_or_default());
    let more = entries.len() > limit;
    entries.truncate(limit);
    Ok(Json(PendingPage {
        group,
        next_after: more.then(|| entries.last().map(|e| e.id.clone())).flatten(),
        entries,
        redis: trace.into_commands(),
    }))
}

/// Acknowledges one pending entry, on whichever partition holds it.
#[utoipa::path(post, path = "/groups/{group}/pending/{id}/ack", tag = "groups", params(("group" = String, Path), ("id" = String, Path)), responses((status = 200, body = GroupActionResponse)))]
async fn ack_one(
    State(state): State<AppState>,
    Path((group, id)): Path<(String, String)>,
) -> Result<Json<GroupActionResponse>, ApiError> {
    let id = entry_id(&id, "the entry")?;
    let mut trace = Trace::default();
    for partition in state.db.partitions.all() {
        let stream = partition.events();
        if pending::ack_one(&state.db, &mut trace, &stream, &group, &id)
            .await
            .map_err(|e| no_group(e, &group))?
        {
            return Ok(done(
                &group,
                format!("{id} acknowledged on {stream}"),
                trace,
            ));
        }
    }
    Err(ApiError::NotFound(format!(
        "{id} is not pending in {group}: nothing was acknowledged"
    )))
}

/// Gives one entry to a consumer, on whichever partition holds it.
#[utoipa::path(post, path = "/groups/{group}/pending/{id}/claim", tag = "groups", params(("group" = String, Path), ("id" = String, Path)), request_body(content = Option<ClaimOneRequest>, description = "optional"), responses((status = 200, body = GroupActionResponse)))]
async fn claim_one(
    State(state): State<AppState>,
    Path((group, id)): Path<(String, String)>,
    OptionalJsonBody(body): OptionalJsonBody<ClaimOneRequest>,
) -> Result<Json<GroupActionResponse>, ApiError> {
    let id = entry_id(&id, "the entry")?;
    let consumer = match body.consumer {
        Some(c) if c.is_empty() || c.len() > CONSUMER_NAME_MAX => {
            return Err(ApiError::bad_request(
                "invalid_consumer",
                format!("a consumer's name is 1 to {CONSUMER_NAME_MAX} bytes"),
            ));
        }
        Some(c) => c,
        None => state
            .workers
            .get()
            .and_then(|w| w.running(&group).into_iter().next())
            .ok_or_else(|| {
                ApiError::bad_request(
                    "no_consumer",
                    format!("{group} has no running consumer in this relay: name one as consumer"),
                )
            })?,
    };
    let mut trace = Trace::default();
    for partition in state.db.partitions.all() {
        let stream = partition.events();
        let (found, exists) = pending::find(&state.db, &mut trace, &stream, &group, &id)
            .await
            .map_err(|e| no_group(e, &group))?;
        let Some(at) = found
            .map(Some)
            .or_else(|| (body.force && exists).then_some(None))
        else {
            continue;
        };
        if let Some(p) = &at
            && p.idle_ms < body.min_idle_ms
        {
            return Err(ApiError::Conflict {
                code: "not_idle_enough",
                message: format!(
                    "{id} has been idle {} ms, less than min_idle_ms {}; it stays with {}",
                    p.idle_ms, body.min_idle_ms, p.consumer
                ),
            });
        }
        let moved = pending::claim_one(
            &state.db,
            &mut trace,
            &stream,
            &group,
            &consumer,
            body.min_idle_ms,
            &id,
            body.force,
        )
        .await?;
        if moved {
            let from = at.map_or("no consumer (forced)".to_owned(), |p| p.consumer);
            return Ok(done(
                &group,
                format!("{id} moved from {from} to {consumer}"),
                trace,
            ));
        }
    }
    Err(ApiError::NotFound(format!(
        "{id} is not pending in {group} (give force to claim an entry no consumer holds)"
    )))
}

/// The most entries `rewind` goes back (the script holds them while it counts).
const MAX_REWIND: u64 = 100_000;

fn point_of(request: &PositionRequest) -> Result<Point, ApiError> {
    let invalid = |message: String| ApiError::bad_request("invalid_position", message);
    let given = [
        request.to.is_some(),
        request.to_id.is_some(),
        request.to_time.is_some(),
        request.rewind.is_some(),
        request.copy_from.is_some(),
    ];
    if given.iter().filter(|g| **g).count() != 1 {
        return Err(invalid(
            "give exactly one of to (\"start\" or \"end\"), to_id, to_time, rewind or copy_from"
                .into(),
        ));
    }
    Ok(match request {
        PositionRequest { to: Some(to), .. } => match to.as_str() {
            "start" => Point::Start,
            "end" => Point::End,
            other => {
                return Err(invalid(format!(
                    "to is \"start\" or \"end\", not {other:?}"
                )));
            }
        },
        PositionRequest {
            to_id: Some(id), ..
        } => {
            let id: EntryId = id.parse().map_err(invalid)?;
            Point::Id(id.to_string())
        }
        PositionRequest {
            to_time: Some(at), ..
        } => {
            let at: shared::Timestamp = at
                .parse()
                .map_err(|_| invalid(format!("to_time {at:?} is not an RFC 3339 time")))?;
            Point::Time(at.unix_millis().max(0))
        }
        PositionRequest {
            rewind: Some(n), ..
        } => {
            if !(1..=MAX_REWIND).contains(n) {
                return Err(invalid(format!(
                    "rewind goes 1 to {MAX_REWIND} entries back, not {n}; for further, give to_time or to_id"
                )));
            }
            Point::Rewind(*n)
        }
        PositionRequest {
            copy_from: Some(other),
            ..
        } => Point::CopyFrom(other.clone()),
        _ => unreachable!("exactly one was given"),
    })
}

/// Moves a group to a point on each partition's stream with `XGROUP SETID ... ENTRIESREAD`,
/// or says what that would redeliver (`dry_run`).
#[utoipa::path(post, path = "/groups/{group}/position", tag = "groups", params(("group" = String, Path)), request_body = PositionRequest, responses((status = 200, body = PositionResponse)))]
async fn position(
    State(state): State<AppState>,
    Path(group): Path<String>,
    JsonBody(request): JsonBody<PositionRequest>,
) -> Result<Json<PositionResponse>, ApiError> {
    let point = point_of(&request)?;
    let mut trace = Trace::default();
    let mut streams = Vec::new();
    for partition in state.db.partitions.all() {
        let stream = partition.events();
        let moved = position::move_group(
            &state.db,
            &mut trace,
            &stream,
            &group,
            &point,
            request.dry_run,
        )
        .await?;
        match moved {
            Ok(m) => streams.push(StreamPosition {
                stream,
                from: m.from,
                to: m.to,
                entries_read: m.entries_read,
                redelivered: m.redelivered,
                first_redelivered: m.first_redelivered,
            }),
            Err(Refused::NoGroup(name)) => {
                return Err(ApiError::NotFound(format!(
                    "no consumer group {name} on {stream}"
                )));
            }
            Err(Refused::Ahead { newest }) => {
                return Err(ApiError::Unprocessable {
                    code: "position_ahead",
                    message: format!(
                        "{stream}'s newest entry is {newest}: a group placed after it would never be given entries appended with smaller ids"
                    ),
                });
            }
        }
    }
    Ok(Json(PositionResponse {
        group,
        dry_run: request.dry_run,
        redelivered: streams.iter().map(|s| s.redelivered).sum(),
        first_redelivered: streams.iter().find_map(|s| s.first_redelivered.clone()),
        streams,
        redis: trace.into_commands(),
    }))
}

impl From<WorkerError> for ApiError {
    fn from(e: WorkerError) -> Self {
        match e {
            WorkerError::TooManyConsumers { .. } => ApiError::Conflict {
                code: "too_many_consumers",
                message: e.to_string(),
            },
            WorkerError::NoSuchGroup(_) | WorkerError::NoSuchConsumer { .. } => {
                ApiError::NotFound(e.to_string())
            }
        }
    }
}

fn workers(state: &AppState) -> Result<Arc<Workers>, ApiError> {
    state.workers.get().cloned().ok_or_else(|| {
        ApiError::Unavailable(
            "the consumer groups are not running in this relay (started with --workers false, \
             or Redis was not reachable yet)"
                .into(),
        )
    })
}

fn done(group: &str, done: String, trace: Trace) -> Json<GroupActionResponse> {
    Json(GroupActionResponse {
        group: group.to_owned(),
        done,
        redis: trace.into_commands(),
    })
}

#[utoipa::path(get, path = "/groups", tag = "groups", responses((status = 200, body = GroupsResponse)))]
async fn list(State(state): State<AppState>) -> Result<Json<GroupsResponse>, ApiError> {
    let mut trace = Trace::default();
    let workers = state.workers.get().cloned();
    let mut groups =
        stats::read(&state.db, state.clock.now(), workers.as_deref(), &mut trace).await?;
    state.trends.annotate(&mut groups);
    groups.redis = trace.into_commands();
    Ok(Json(groups))
}

#[utoipa::path(post, path = "/groups/{group}/consumers", tag = "groups", params(("group" = String, Path)), responses((status = 200, body = GroupActionResponse)))]
async fn add_consumer(
    State(state): State<AppState>,
    Path(group): Path<String>,
) -> Result<Json<GroupActionResponse>, ApiError> {
    let name = workers(&state)?.add_consumer(&group)?;
    let message = format!("started consumer {name}; it joins the group with its first XREADGROUP");
    Ok(done(&group, message, Trace::default()))
}

#[utoipa::path(post, path = "/groups/{group}/consumers/{consumer}/crash", tag = "groups", params(("group" = String, Path), ("consumer" = String, Path)), responses((status = 200, body = GroupActionResponse)))]
async fn crash_consumer(
    State(state): State<AppState>,
    Path((group, consumer)): Path<(String, String)>,
) -> Result<Json<GroupActionResponse>, ApiError> {
    workers(&state)?.crash(&group, &consumer)?;
    let message = format!(
        "{consumer} stopped without XACK: its pending entries wait until another consumer claims them"
    );
    Ok(done(&group, message, Trace::default()))
}

#[utoipa::path(delete, path = "/groups/{group}/consumers/{consumer}", tag = "groups", params(("group" = String, Path), ("consumer" = String, Path)), responses((status = 200, body = GroupActionResponse)))]
async fn retire_consumer(
    State(state): State<AppState>,
    Path((group, consumer)): Path<(String, String)>,
) -> Result<Json<GroupActionResponse>, ApiError> {
    workers(&state)?.retire(&group, &consumer)?;
    let message = format!("{consumer} stops after its current batch");
    Ok(done(&group, message, Trace::default()))
}

#[utoipa::path(post, path = "/groups/{group}/pause", tag = "groups", params(("group" = String, Path)), request_body = PauseRequest, responses((status = 200, body = GroupActionResponse)))]
async fn pause(
    State(state): State<AppState>,
    Path(group): Path<String>,
    JsonBody(body): JsonBody<PauseRequest>,
) -> Result<Json<GroupActionResponse>, ApiError> {
    // In Redis, so consumers of every process (other relays, `backend worker`) obey it.
    let mut trace = Trace::default();
    let consumers = alive_consumers(&state, &mut trace, &group).await?;
    let epoch = group_state::set_paused(&state.db, &mut trace, &group, body.paused).await?;
    let local = state.workers.get().cloned();
    if let Some(g) = local.as_ref().and_then(|w| w.group(&group).ok()) {
        g.controls.set_paused(body.paused);
    }
    if !body.paused {
        return Ok(done(&group, "resumed".into(), trace));
    }
    // Answer only once every live consumer has finished its batch and parked, so nothing is
    // handed out after the answer.
    let mut expected = consumers;
    if let Some(w) = &local {
        expected.extend(w.running(&group));
        let departed = w.departed(&group);
        expected.retain(|c| !departed.contains(c));
    }
    expected.sort();
    expected.dedup();
    let deadline = tokio::time::Instant::now() + PARK_WAIT;
    loop {
        let parked = group_state::parked_since(&state.db, &group, epoch).await?;
        let busy: Vec<String> = expected
            .iter()
            .filter(|c| !parked.contains(c))
            .cloned()
            .collect();
        if busy.is_empty() {
            let message =
                "paused: every consumer has parked; new entries wait in the stream (lag grows)";
            return Ok(done(&group, message.into(), trace));
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(ApiError::Unavailable(format!(
                "paused, but {} did not park within {} s (is Redis reachable?); they read \
                 nothing more once they do",
                busy.join(", "),
                PARK_WAIT.as_secs()
            )));
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

#[utoipa::path(post, path = "/groups/{group}/inject", tag = "groups", params(("group" = String, Path)), request_body = InjectRequest, responses((status = 200, body = GroupActionResponse)))]
async fn inject(
    State(state): State<AppState>,
    Path(group): Path<String>,
    JsonBody(body): JsonBody<InjectRequest>,
) -> Result<Json<GroupActionResponse>, ApiError> {
    if !(0.0..=1.0).contains(&body.fail_ratio) {
        return Err(ApiError::bad_request(
            "invalid_body",
            "fail_ratio: must be between 0.0 and 1.0",
        ));
    }
    let poison_claim = body.poison_claim.filter(|c| !c.trim().is_empty());
    if let Some(c) = &poison_claim {
        shared::ClaimId::parse(c)
            .map_err(|m| ApiError::bad_request("invalid_claim_id", format!("poison_claim: {m}")))?;
    }
    let mut trace = Trace::default();
    alive_consumers(&state, &mut trace, &group).await?;
    let injection = Injection {
        poison_claim: poison_claim.clone(),
        fail_ratio: body.fail_ratio,
    };
    group_state::set_injection(&state.db, &mut trace, &group, &injection).await?;
    if let Some(g) = state.workers.get().and_then(|w| w.group(&group).ok()) {
        *g.injection.write().await = injection;
    }
    let message = match (&poison_claim, body.fail_ratio) {
        (None, 0.0) => "no failures injected".to_owned(),
        (Some(c), r) => format!(
            "every entry of {c} fails, and {:.0}% of the rest",
            r * 100.0
        ),
        (None, r) => format!("{:.0}% of entries fail", r * 100.0),
    };
    Ok(done(&group, message, trace))
}

/// The consumers of `group` that talked to Redis lately, in any process; 404 for a group
/// that does not exist.
async fn alive_consumers(
    state: &AppState,
    trace: &mut Trace,
    group: &str,
) -> Result<Vec<String>, ApiError> {
    if ![
        keys::PROCESSORS,
        keys::ANALYTICS_GROUP,
        keys::NOTIFICATIONS_GROUP,
    ]
    .contains(&group)
    {
        return Err(ApiError::NotFound(format!("no consumer group {group}")));
    }
    // Every consumer reads every partition: the first partition's group lists them all.
    let stream = state
        .db
        .partitions
        .all()
        .next()
        .expect("a partition")
        .events();
    let consumers = match groups::consumers(&state.db, trace, &stream, group).await {
        Err(e) if e.refusal() == Some(Refusal::NoGroup) => {
            return Err(ApiError::NotFound(format!(
                "no consumer group {group} on {stream}"
            )));
        }
        other => other?,
    };
    Ok(consumers
        .into_iter()
        .filter(|c| c.idle_ms < group_state::ALIVE.as_millis() as u64)
        .map(|c| c.name)
        .collect())
}

/// Pages of 100 one claim-now takes at most.
const CLAIM_PAGES: usize = 50;

/// How long pausing waits for the consumers' current batches.
const PARK_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct ClaimRequest {
    /// Only entries pending at least this long move (default 1000 ms).
    min_idle_ms: Option<u64>,
}

#[utoipa::path(post, path = "/groups/{group}/claim", tag = "groups", params(("group" = String, Path)), request_body(content = Option<ClaimRequest>, description = "optional"), responses((status = 200, body = GroupActionResponse)))]
async fn claim_now(
    State(state): State<AppState>,
    Path(group): Path<String>,
    OptionalJsonBody(body): OptionalJsonBody<ClaimRequest>,
) -> Result<Json<GroupActionResponse>, ApiError> {
    let workers = workers(&state)?;
    workers.group(&group)?;
    let Some(consumer) = workers.running(&group).into_iter().next() else {
        return Err(ApiError::bad_request(
            "no_consumer",
            format!("{group} has no running consumer to take the entries; add one first"),
        ));
    };
    let idle = body.min_idle_ms.unwrap_or(1_000);
    let mut trace = Trace::default();
    // Page through each partition's whole pending list, each page going on from the cursor
    // of the last.
    let mut moved = 0;
    for partition in state.db.partitions.all() {
        let stream = partition.events();
        let mut cursor = "0-0".to_owned();
        for _ in 0..CLAIM_PAGES {
            let (next, n) = groups::autoclaim(
                &state.db, &mut trace, &stream, &group, &consumer, idle, &cursor, 100,
            )
            .await?;
            moved += n;
            match next {
                Some(next) if next != "0-0" => cursor = next,
                _ => break,
            }
        }
    }
    let message = format!("{moved} idle entries moved to {consumer}");
    Ok(done(&group, message, trace))
}
