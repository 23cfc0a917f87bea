//! Claims: submit, read, list, and the transitions of the lifecycle.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use rand::distr::{Alphanumeric, SampleString};
use serde::Deserialize;
use shared::api::{
    ClaimEventsResponse, ClaimListResponse, ClaimResponse, ClaimView, CommandResponse,
    RejectRequest, SubmitClaimRequest, TransitionRequest,
};
use shared::{
    Claim, ClaimCommand, ClaimId, ClaimStatus, FieldError, PaymentReference, Reason, Timestamp,
};

use crate::claim_store::{self, Appended};
use crate::error::ApiError;
use crate::extract::{ApiQuery, JsonBody, OptionalJsonBody};
use crate::redis_cli::Trace;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/claims", post(submit).get(list))
        .route("/claims/{id}", get(show))
        .route("/claims/{id}/events", get(events))
        .route("/claims/{id}/review", post(review))
        .route("/claims/{id}/approve", post(approve))
        .route("/claims/{id}/reject", post(reject))
        .route("/claims/{id}/pay", post(pay))
}

fn now() -> Timestamp {
    let ms = time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000;
    Timestamp::from_unix_millis(ms as i64).expect("the clock is between 1970 and 9999")
}

/// `PREFIX-` and 10 random letters or digits: short enough to read out in class.
fn generate(prefix: &str) -> String {
    let suffix = Alphanumeric
        .sample_string(&mut rand::rng(), 10)
        .to_uppercase();
    format!("{prefix}-{suffix}")
}

fn parse_claim_id(id: &str) -> Result<ClaimId, ApiError> {
    ClaimId::parse(id)
        .map_err(|m| ApiError::bad_request("invalid_claim_id", format!("claim id: {m}")))
}

async fn submit(
    State(state): State<AppState>,
    JsonBody(request): JsonBody<SubmitClaimRequest>,
) -> Result<(StatusCode, Json<CommandResponse>), ApiError> {
    let valid = request.validate().map_err(ApiError::Validation)?;
    let claim_id = ClaimId::parse(&generate("CLM")).expect("generated ids are valid");
    let command = ClaimCommand::SubmitClaim {
        claim_id,
        customer_id: valid.customer_id,
        amount: valid.amount,
        description: valid.description,
        at: now(),
    };
    let mut trace = Trace::default();
    let response = execute(&state, &mut trace, &Claim::default(), &command, None).await?;
    Ok((StatusCode::CREATED, Json(response.finish(trace))))
}

/// A command's result before the trace is attached.
struct Executed {
    claim_id: String,
    entry_id: String,
    claim: ClaimView,
}

impl Executed {
    fn finish(self, trace: Trace) -> CommandResponse {
        CommandResponse {
            claim_id: self.claim_id,
            entry_id: self.entry_id,
            claim: self.claim,
            redis: trace.into_commands(),
        }
    }
}

/// Decides with the aggregate, then appends if the claim is still where it was read.
async fn execute(
    state: &AppState,
    trace: &mut Trace,
    before: &Claim,
    command: &ClaimCommand,
    expected_version: Option<u64>,
) -> Result<Executed, ApiError> {
    if let Some(expected) = expected_version.filter(|v| *v != before.version) {
        return Err(ApiError::VersionConflict(format!(
            "the claim is at version {}, not {expected}; reload it and try again",
            before.version
        )));
    }
    let events = shared::handle(before, command)?;
    let [event] = events.as_slice() else {
        return Err(anyhow::anyhow!(
            "a command produced {} events; appends take one",
            events.len()
        )
        .into());
    };
    let mut after = before.clone();
    shared::apply(&mut after, event);
    match claim_store::append(&state.db, trace, before, event, &after).await? {
        Appended::Ok { entry_id } => Ok(Executed {
            claim_id: event.claim_id.to_string(),
            entry_id,
            claim: ClaimView::of(&after).expect("the claim exists after an event"),
        }),
        Appended::Conflict { version } => Err(ApiError::VersionConflict(format!(
            "the claim changed while this request ran (now version {version}); reload it and try again"
        ))),
    }
}

/// Loads the claim, builds the command from it, and executes it.
async fn transition(
    state: AppState,
    id: &str,
    expected_version: Option<u64>,
    command: impl FnOnce(Timestamp) -> ClaimCommand,
) -> Result<Json<CommandResponse>, ApiError> {
    let claim_id = parse_claim_id(id)?;
    let mut trace = Trace::default();
    let loaded = claim_store::load(&state.db, &mut trace, claim_id.as_str()).await?;
    if loaded.claim.details.is_none() {
        return Err(ApiError::NotFound(format!(
            "claim {claim_id} does not exist"
        )));
    }
    let executed = execute(
        &state,
        &mut trace,
        &loaded.claim,
        &command(now()),
        expected_version,
    )
    .await?;
    Ok(Json(executed.finish(trace)))
}

async fn review(
    State(state): State<AppState>,
    Path(id): Path<String>,
    OptionalJsonBody(body): OptionalJsonBody<TransitionRequest>,
) -> Result<Json<CommandResponse>, ApiError> {
    transition(state, &id, body.expected_version, |at| {
        ClaimCommand::ReviewClaim { at }
    })
    .await
}

async fn approve(
    State(state): State<AppState>,
    Path(id): Path<String>,
    OptionalJsonBody(body): OptionalJsonBody<TransitionRequest>,
) -> Result<Json<CommandResponse>, ApiError> {
    transition(state, &id, body.expected_version, |at| {
        ClaimCommand::ApproveClaim { at }
    })
    .await
}

async fn reject(
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<RejectRequest>,
) -> Result<Json<CommandResponse>, ApiError> {
    let reason = Reason::parse(&body.reason)
        .map_err(|m| ApiError::Validation(vec![FieldError::new("reason", m)]))?;
    transition(state, &id, body.expected_version, |at| {
        ClaimCommand::RejectClaim { reason, at }
    })
    .await
}

async fn pay(
    State(state): State<AppState>,
    Path(id): Path<String>,
    OptionalJsonBody(body): OptionalJsonBody<TransitionRequest>,
) -> Result<Json<CommandResponse>, ApiError> {
    let payment_reference =
        PaymentReference::parse(&generate("PAY")).expect("generated ids are valid");
    transition(state, &id, body.expected_version, |at| {
        ClaimCommand::PayClaim {
            payment_reference,
            at,
        }
    })
    .await
}

async fn show(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<ClaimResponse>, ApiError> {
    let claim_id = parse_claim_id(&id)?;
    let mut trace = Trace::default();
    let loaded = claim_store::load(&state.db, &mut trace, claim_id.as_str()).await?;
    let claim = ClaimView::of(&loaded.claim)
        .ok_or_else(|| ApiError::NotFound(format!("claim {claim_id} does not exist")))?;
    Ok(Json(ClaimResponse {
        claim,
        redis: trace.into_commands(),
    }))
}

async fn events(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<ClaimEventsResponse>, ApiError> {
    let claim_id = parse_claim_id(&id)?;
    let mut trace = Trace::default();
    let loaded = claim_store::load(&state.db, &mut trace, claim_id.as_str()).await?;
    if loaded.claim.version == 0 {
        return Err(ApiError::NotFound(format!(
            "claim {claim_id} does not exist"
        )));
    }
    Ok(Json(ClaimEventsResponse {
        claim_id: claim_id.to_string(),
        events: loaded.entries,
        redis: trace.into_commands(),
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    status: Option<String>,
    offset: Option<u64>,
    limit: Option<u64>,
}

const MAX_PAGE: u64 = 200;

async fn list(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<ClaimListResponse>, ApiError> {
    let status = q
        .status
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<ClaimStatus>())
        .transpose()
        .map_err(|m| ApiError::bad_request("invalid_query", format!("status: {m}")))?;
    let offset = q.offset.unwrap_or(0);
    let limit = q.limit.unwrap_or(50);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::bad_request(
            "invalid_query",
            format!("limit: must be between 1 and {MAX_PAGE}"),
        ));
    }
    let mut trace = Trace::default();
    let page = claim_store::list(&state.db, &mut trace, status, offset, limit).await?;
    Ok(Json(ClaimListResponse {
        claims: page.claims,
        total: page.total,
        offset,
        limit,
        redis: trace.into_commands(),
    }))
}
