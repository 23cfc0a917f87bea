//! The consumer groups: their state as Redis reports it, and the controls an instructor uses
//! to show recovery happening (add or crash a consumer, pause, inject failures, claim idle
//! entries).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::Deserialize;
use shared::api::{
    GroupActionResponse, GroupsResponse, InjectRequest, PauseRequest, PositionRequest,
    PositionResponse, StreamPosition,
};

use crate::http::error::ApiError;
use crate::http::extract::{JsonBody, OptionalJsonBody};
use crate::http::state::AppState;
use crate::store::db::Refusal;
use crate::store::entry_id::EntryId;
use crate::store::group_state;
use crate::store::groups;
use crate::store::keys;
use crate::store::position::{self, Point, Refused};
use crate::store::trace::Trace;
use crate::workers::handler::Injection;
use crate::workers::{WorkerError, Workers, stats};

pub fn router() -> Router<AppState> {
    Router::new().route("/groups", get(list))
}

/// Instructor actions: they change what the whole class sees.
pub fn controls() -> Router<AppState> {
    Router::new()
        .route("/groups/{group}/consumers", post(add_consumer))
        .route(
            "/groups/{group}/consumers/{consumer}",
            delete(retire_consumer),
        )
        .route(
            "/groups/{group}/consumers/{consumer}/crash",
            post(crash_consumer),
        )
        .route("/groups/{group}/pause", post(pause))
        .route("/groups/{group}/inject", post(inject))
        .route("/groups/{group}/claim", post(claim_now))
        .route("/groups/{group}/position", post(position))
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

async fn list(State(state): State<AppState>) -> Result<Json<GroupsResponse>, ApiError> {
    let mut trace = Trace::default();
    let workers = state.workers.get().cloned();
    let mut groups =
        stats::read(&state.db, state.clock.now(), workers.as_deref(), &mut trace).await?;
    state.trends.annotate(&mut groups);
    groups.redis = trace.into_commands();
    Ok(Json(groups))
}

async fn add_consumer(
    State(state): State<AppState>,
    Path(group): Path<String>,
) -> Result<Json<GroupActionResponse>, ApiError> {
    let name = workers(&state)?.add_consumer(&group)?;
    let message = format!("started consumer {name}; it joins the group with its first XREADGROUP");
    Ok(done(&group, message, Trace::default()))
}

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

async fn retire_consumer(
    State(state): State<AppState>,
    Path((group, consumer)): Path<(String, String)>,
) -> Result<Json<GroupActionResponse>, ApiError> {
    workers(&state)?.retire(&group, &consumer)?;
    let message = format!("{consumer} stops after its current batch");
    Ok(done(&group, message, Trace::default()))
}

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

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClaimRequest {
    /// Only entries pending at least this long move (default 1000 ms).
    min_idle_ms: Option<u64>,
}

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
