//! Claims: submit, read (now or as of a point in time), list, the transitions of the
//! lifecycle, and notes.

use axum::Json;
use axum::extract::{Extension, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use shared::api::{
    AddNoteRequest, ClaimEventsResponse, ClaimListResponse, ClaimResponse, ClaimTrace, ClaimView,
    CommandBy, CommandResponse, RejectRequest, SubmitClaimRequest, TransitionRequest,
};
use shared::{
    Claim, ClaimCommand, ClaimId, ClaimStatus, FieldError, PaymentReference, Reason, Timestamp,
};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::events::commands::{self, Cause, Executed, generate};
use crate::http::access::Asker;
use crate::http::error::ApiError;
use crate::http::extract::{ApiQuery, JsonBody, OptionalJsonBody, RequestTrace};
use crate::http::state::AppState;
use crate::store::claims::IdempotencyMark;
use crate::store::claims::{self, Replay};
use crate::store::entry_id::EntryId;
use crate::store::keys::{Partition, Partitions};
use crate::store::trace::Trace;

pub fn router(state: &AppState) -> OpenApiRouter<AppState> {
    // Commands answer a repeated Idempotency-Key with their first answer.
    let commands = OpenApiRouter::new()
        .routes(routes!(submit))
        .routes(routes!(review))
        .routes(routes!(approve))
        .routes(routes!(reject))
        .routes(routes!(pay))
        .routes(routes!(add_note))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::http::idempotency::once,
        ));
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(show))
        .routes(routes!(events))
        .routes(routes!(trace))
        .merge(commands)
}

fn parse_claim_id(id: &str) -> Result<ClaimId, ApiError> {
    ClaimId::parse(id)
        .map_err(|m| ApiError::bad_request("invalid_claim_id", format!("claim id: {m}")))
}

/// The request's idempotency key, if it came with one.
type Mark = Option<Extension<IdempotencyMark>>;

#[utoipa::path(post, path = "/claims", tag = "claims", request_body = SubmitClaimRequest, responses((status = 201, body = CommandResponse)))]
async fn submit(
    State(state): State<AppState>,
    mark: Mark,
    Asker(by): Asker,
    RequestTrace(mut trace): RequestTrace,
    JsonBody(request): JsonBody<SubmitClaimRequest>,
) -> Result<(StatusCode, Json<CommandResponse>), ApiError> {
    let valid = request.validate().map_err(ApiError::Validation)?;
    let claim_id = loop {
        let id = ClaimId::parse(&generate("CLM")).expect("generated ids are valid");
        // With an idempotency key, the claim goes where the key is kept (one in N tries).
        if mark
            .as_ref()
            .is_none_or(|m| state.db.partition_of(id.as_str()) == m.partition)
        {
            break id;
        }
    };
    let command = ClaimCommand::SubmitClaim {
        claim_id,
        customer_id: valid.customer_id,
        amount: valid.amount,
        description: valid.description,
        currency: valid.currency,
        policy_number: valid.policy_number,
        at: state.clock.now(),
    };
    let executed = commands::execute(
        &state.claims,
        &mut trace,
        &Claim::default(),
        &command,
        Cause {
            id: &commands::request_id(by),
            by,
        },
        None,
        mark.as_ref().map(|m| &m.0),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(respond(&state, executed, trace))))
}

fn respond(state: &AppState, executed: Executed, trace: Trace) -> CommandResponse {
    let (redis, scripts) = trace.into_parts();
    CommandResponse {
        partition: state.db.partition_of(&executed.claim_id).shown(),
        claim_id: executed.claim_id,
        entry_id: executed.entry_id,
        claim: executed.claim,
        redis,
        scripts,
    }
}

async fn transition(
    state: AppState,
    id: &str,
    expected_version: Option<u64>,
    mark: Mark,
    by: CommandBy,
    mut trace: Trace,
    command: impl FnOnce(Timestamp) -> ClaimCommand,
) -> Result<Json<CommandResponse>, ApiError> {
    let claim_id = parse_claim_id(id)?;
    let executed = commands::transition(
        &state.claims,
        &mut trace,
        &claim_id,
        &command(state.clock.now()),
        Cause {
            id: &commands::request_id(by),
            by,
        },
        expected_version,
        mark.as_ref().map(|m| &m.0),
    )
    .await?;
    Ok(Json(respond(&state, executed, trace)))
}

#[utoipa::path(post, path = "/claims/{id}/review", tag = "claims", params(("id" = String, Path)), request_body(content = Option<TransitionRequest>, description = "optional"), responses((status = 200, body = CommandResponse)))]
async fn review(
    State(state): State<AppState>,
    Path(id): Path<String>,
    mark: Mark,
    Asker(by): Asker,
    RequestTrace(trace): RequestTrace,
    OptionalJsonBody(body): OptionalJsonBody<TransitionRequest>,
) -> Result<Json<CommandResponse>, ApiError> {
    transition(state, &id, body.expected_version, mark, by, trace, |at| {
        ClaimCommand::ReviewClaim { at }
    })
    .await
}

#[utoipa::path(post, path = "/claims/{id}/approve", tag = "claims", params(("id" = String, Path)), request_body(content = Option<TransitionRequest>, description = "optional"), responses((status = 200, body = CommandResponse)))]
async fn approve(
    State(state): State<AppState>,
    Path(id): Path<String>,
    mark: Mark,
    Asker(by): Asker,
    RequestTrace(trace): RequestTrace,
    OptionalJsonBody(body): OptionalJsonBody<TransitionRequest>,
) -> Result<Json<CommandResponse>, ApiError> {
    transition(state, &id, body.expected_version, mark, by, trace, |at| {
        ClaimCommand::ApproveClaim { at }
    })
    .await
}

#[utoipa::path(post, path = "/claims/{id}/reject", tag = "claims", params(("id" = String, Path)), request_body = RejectRequest, responses((status = 200, body = CommandResponse)))]
async fn reject(
    State(state): State<AppState>,
    Path(id): Path<String>,
    mark: Mark,
    Asker(by): Asker,
    RequestTrace(trace): RequestTrace,
    JsonBody(body): JsonBody<RejectRequest>,
) -> Result<Json<CommandResponse>, ApiError> {
    let reason = Reason::parse(&body.reason)
        .map_err(|m| ApiError::Validation(vec![FieldError::new("reason", m)]))?;
    transition(state, &id, body.expected_version, mark, by, trace, |at| {
        ClaimCommand::RejectClaim { reason, at }
    })
    .await
}

#[utoipa::path(post, path = "/claims/{id}/pay", tag = "claims", params(("id" = String, Path)), request_body(content = Option<TransitionRequest>, description = "optional"), responses((status = 200, body = CommandResponse)))]
async fn pay(
    State(state): State<AppState>,
    Path(id): Path<String>,
    mark: Mark,
    Asker(by): Asker,
    RequestTrace(trace): RequestTrace,
    OptionalJsonBody(body): OptionalJsonBody<TransitionRequest>,
) -> Result<Json<CommandResponse>, ApiError> {
    let payment_reference =
        PaymentReference::parse(&generate("PAY")).expect("generated ids are valid");
    transition(state, &id, body.expected_version, mark, by, trace, |at| {
        ClaimCommand::PayClaim {
            payment_reference,
            at,
        }
    })
    .await
}

#[utoipa::path(post, path = "/claims/{id}/notes", tag = "claims", params(("id" = String, Path)), request_body = AddNoteRequest, responses((status = 200, body = CommandResponse)))]
async fn add_note(
    State(state): State<AppState>,
    Path(id): Path<String>,
    mark: Mark,
    Asker(by): Asker,
    RequestTrace(trace): RequestTrace,
    JsonBody(body): JsonBody<AddNoteRequest>,
) -> Result<Json<CommandResponse>, ApiError> {
    let valid = body.validate().map_err(ApiError::Validation)?;
    transition(state, &id, body.expected_version, mark, by, trace, |at| {
        ClaimCommand::AddNote {
            adjuster: valid.adjuster,
            note: valid.note,
            document: valid.document,
            at,
        }
    })
    .await
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct AtQuery {
    /// A stream id or an RFC 3339 time: the claim as it was then.
    at: Option<String>,
}

/// `?at=` as the newest entry id it covers.
pub fn point_in_time(at: Option<&str>) -> Result<Option<EntryId>, ApiError> {
    at.filter(|a| !a.is_empty())
        .map(EntryId::point_in_time)
        .transpose()
        .map_err(|m| ApiError::bad_request("invalid_query", format!("at: {m}")))
}

#[utoipa::path(get, path = "/claims/{id}", tag = "claims", params(("id" = String, Path), AtQuery), responses((status = 200, body = ClaimResponse)))]
async fn show(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<AtQuery>,
) -> Result<Json<ClaimResponse>, ApiError> {
    let claim_id = parse_claim_id(&id)?;
    let until = point_in_time(q.at.as_deref())?;
    let mut trace = Trace::default();
    // A claim as of a point may fold its whole history: one of the expensive reads.
    let (_place, on) = match until {
        Some(_) => (
            Some(state.heavy.enter("GET /api/claims/{id}?at=").await?),
            state.claims.heavy(),
        ),
        None => (None, state.claims.clone()),
    };
    let loaded = claims::load_until(
        &on,
        &mut trace,
        claim_id.as_str(),
        Replay::FromSnapshot,
        until,
    )
    .await?;
    let claim = ClaimView::of(&loaded.claim).ok_or_else(|| {
        ApiError::NotFound(match &q.at {
            Some(at) if loaded.claim.version == 0 => {
                format!("claim {claim_id} did not exist yet at {at}")
            }
            _ => format!("claim {claim_id} does not exist"),
        })
    })?;
    Ok(Json(ClaimResponse {
        partition: state.db.partition_of(claim_id.as_str()).shown(),
        claim,
        snapshot_version: loaded.snapshot_version,
        events_replayed: loaded.entries.len() as u64,
        as_of: until.and(loaded.last_entry_id),
        redis: trace.into_commands(),
    }))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct EventsQuery {
    /// The version the page starts after (its events are versions `after + 1` on); 0 unless
    /// asked, a page's `next_after` for the next.
    after: Option<u64>,
    /// Events per page: [`EVENTS_PAGE`] unless asked, at most that.
    limit: Option<u64>,
}

/// A claim's events per page, unless fewer are asked for, and at most.
pub const EVENTS_PAGE: u64 = 200;

/// A page of the claim's events, each with the claim after it.
#[utoipa::path(get, path = "/claims/{id}/events", tag = "claims", params(("id" = String, Path), EventsQuery), responses((status = 200, body = ClaimEventsResponse)))]
async fn events(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<EventsQuery>,
) -> Result<Response, ApiError> {
    let claim_id = parse_claim_id(&id)?;
    let limit = q.limit.unwrap_or(EVENTS_PAGE);
    if !(1..=EVENTS_PAGE).contains(&limit) {
        return Err(ApiError::bad_request(
            "invalid_query",
            format!("limit: must be between 1 and {EVENTS_PAGE} events per page"),
        ));
    }
    let after = q.after.unwrap_or(0);
    let mut trace = Trace::default();
    // Held until the answer is written: that costs about as much as the read.
    let _place = state.heavy.enter("GET /api/claims/{id}/events").await?;
    let page = claims::load_page(
        &state.db.heavy(),
        &mut trace,
        claim_id.as_str(),
        after,
        limit,
    )
    .await?;
    if page.version == 0 {
        return Err(ApiError::NotFound(format!(
            "claim {claim_id} does not exist"
        )));
    }
    let partition = state.db.partition_of(claim_id.as_str());
    Ok(Json(ClaimEventsResponse {
        claim_id: claim_id.to_string(),
        events: page
            .entries
            .into_iter()
            .map(|e| crate::events::feed::tagged(partition, e))
            .collect(),
        states: page.states.iter().map(ClaimView::of).collect(),
        outside_lifecycle: page.outside_lifecycle,
        version: page.version,
        next_after: (after + limit < page.version).then_some(after + limit),
        redis: trace.into_commands(),
    })
    .into_response())
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    status: Option<String>,
    offset: Option<u64>,
    limit: Option<u64>,
    /// Read your writes: answer once the projection has applied this entry (a command's
    /// `entry_id`), waiting up to `wait_ms`.
    after: Option<String>,
    wait_ms: Option<u64>,
    /// With `after`: when the wait runs out, answer with what the projection has (its
    /// `projection.behind` says how far behind) instead of 503.
    #[serde(default)]
    stale_ok: bool,
}

const MAX_PAGE: u64 = 200;

/// A page of claims: the status filter, where it starts, how many (50 unless asked).
pub fn page(
    status: Option<String>,
    offset: Option<u64>,
    limit: Option<u64>,
) -> Result<(Option<ClaimStatus>, u64, u64), ApiError> {
    let status = status
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<ClaimStatus>())
        .transpose()
        .map_err(|m| ApiError::bad_request("invalid_query", format!("status: {m}")))?;
    let limit = limit.unwrap_or(50);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::bad_request(
            "invalid_query",
            format!("limit: must be between 1 and {MAX_PAGE}"),
        ));
    }
    Ok((status, offset.unwrap_or(0), limit))
}
/// `after`: an entry id, or with several partitions `<partition>:<entry id>` (as the
/// command's answer gives them), several separated by commas (as the live feed's cursor is
/// written): the projection must have applied each.
fn parse_after(partitions: Partitions, after: &str) -> Result<Vec<(Partition, EntryId)>, String> {
    after
        .split(',')
        .map(|marker| {
            let (partition, id) = partitions.parse_marker(marker)?;
            Ok((partition, id.parse::<EntryId>()?))
        })
        .collect()
}

/// The longest `wait_ms` honoured.
const MAX_WAIT_MS: u64 = 10_000;

/// Waits until the projection has applied `after`; 503 with its position if it has not by
/// `deadline`.
async fn wait_for_projection(
    state: &AppState,
    trace: &mut Trace,
    (partition, after): (Partition, EntryId),
    deadline: tokio::time::Instant,
) -> Result<(), ApiError> {
    crate::events::projection::wait_applied(&state.db, trace, partition, after, deadline)
        .await?
        .map_err(|position| ApiError::ProjectionBehind {
            after: partition.marker(&after.to_string()),
            position: position.map(|p| partition.marker(&p)),
        })
}

#[utoipa::path(get, path = "/claims", tag = "claims", params(ListQuery), responses((status = 200, body = ClaimListResponse)))]
async fn list(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<ClaimListResponse>, ApiError> {
    let (status, offset, limit) = page(q.status, q.offset, q.limit)?;
    let after = q
        .after
        .filter(|a| !a.is_empty())
        .map(|a| parse_after(state.db.partitions, &a))
        .transpose()
        .map_err(|m| ApiError::bad_request("invalid_query", format!("after: {m}")))?;
    let wait_ms = q.wait_ms.unwrap_or(0);
    if wait_ms > MAX_WAIT_MS {
        return Err(ApiError::bad_request(
            "invalid_query",
            format!("wait_ms: must be at most {MAX_WAIT_MS}"),
        ));
    }
    let mut trace = Trace::default();
    if let Some(after) = after {
        // One wait for all the partitions named, not one each.
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_millis(wait_ms);
        for at in after {
            match wait_for_projection(&state, &mut trace, at, deadline).await {
                Err(ApiError::ProjectionBehind { .. }) if q.stale_ok => {}
                other => other?,
            }
        }
    }
    let page =
        crate::events::projection::list(&state.db, &mut trace, status, offset, limit).await?;
    let projection = crate::events::projection::behind(&state.db, &mut Trace::off()).await?;
    Ok(Json(ClaimListResponse {
        claims: page.claims,
        total: page.total,
        offset,
        limit,
        projection,
        redis: trace.into_commands(),
    }))
}

/// The claim's story across streams: what caused each event, and what each caused.
#[utoipa::path(get, path = "/claims/{id}/trace", tag = "claims", params(("id" = String, Path)), responses((status = 200, body = ClaimTrace)))]
async fn trace(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<ClaimTrace>, ApiError> {
    let claim_id = parse_claim_id(&id)?;
    // Held until the answer is written: a trace reads the claim and searches three streams.
    let _place = state.heavy.enter("GET /api/claims/{id}/trace").await?;
    crate::events::causes::trace(&state.db.heavy(), claim_id.as_str())
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::NotFound(format!("claim {claim_id} does not exist")))
}
