//! `GET /api/commands`: the command log, newest first: each claim command carried out or
//! refused, who asked and what came of it, filtered over a bounded stretch of the log.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use shared::api::{CommandBy, CommandLogResponse, CommandOutcome, LoggedCommand};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::error::ApiError;
use crate::http::extract::ApiQuery;
use crate::http::state::AppState;
use crate::store::command_log;
use crate::store::entry_id::EntryId;
use crate::store::trace::Trace;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list))
}

/// Commands per page: 50 unless asked, at most this many.
pub const PAGE_MAX: usize = 200;
const PAGE: usize = 50;
/// Entries of the log one request looks at, at most: the filters apply to these.
pub const EXAMINED_AT_MOST: usize = 1_000;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct CommandsQuery {
    by: Option<String>,
    outcome: Option<String>,
    claim: Option<String>,
    before: Option<String>,
    limit: Option<usize>,
}

#[utoipa::path(get, path = "/commands", tag = "commands", params(CommandsQuery), responses((status = 200, body = CommandLogResponse)))]
async fn list(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<CommandsQuery>,
) -> Result<Json<CommandLogResponse>, ApiError> {
    let invalid = |m: String| ApiError::bad_request("invalid_query", m);
    let by =
        q.by.as_deref()
            .map(|b| {
                CommandBy::parse(b).ok_or_else(|| {
                    invalid(format!(
                        "by: {b:?} is none of learner, instructor, worker, traffic, scenario"
                    ))
                })
            })
            .transpose()?;
    let outcome = q
        .outcome
        .as_deref()
        .map(|o| {
            CommandOutcome::parse(o).ok_or_else(|| {
                invalid(format!(
                    "outcome: {o:?} is none of applied, refused, conflict, not_found, failed"
                ))
            })
        })
        .transpose()?;
    let limit = q.limit.unwrap_or(PAGE);
    if !(1..=PAGE_MAX).contains(&limit) {
        return Err(invalid(format!(
            "limit: must be between 1 and {PAGE_MAX} commands per page"
        )));
    }
    if let Some(before) = &q.before {
        before
            .parse::<EntryId>()
            .map_err(|m| ApiError::bad_request("invalid_stream_id", format!("before: {m}")))?;
    }
    // Unfiltered, a page is the newest `limit` entries: no more need reading.
    let filtered = by.is_some() || outcome.is_some() || q.claim.is_some();
    let stretch = if filtered { EXAMINED_AT_MOST } else { limit };
    // Past a default page, a read is an expensive one: it waits its turn with the others.
    let _place = match stretch > PAGE {
        true => Some(
            state
                .heavy
                .enter("GET /api/commands past 50 entries")
                .await?,
        ),
        false => None,
    };
    // Every command this relay answered before is in the log (queued ones are written first).
    state
        .claims
        .command_log()
        .flushed(command_log::READ_WAIT)
        .await;
    let entries =
        command_log::newest(&state.db, &mut Trace::off(), q.before.as_deref(), stretch).await?;
    let read = entries.len();
    let (mut commands, mut examined) = (Vec::new(), 0);
    let mut last_looked_at = None;
    for (id, fields) in entries {
        examined += 1;
        last_looked_at = Some(id.clone());
        let Some(command) = LoggedCommand::read(id, &fields) else {
            continue;
        };
        let wanted = by.is_none_or(|b| command.by == b)
            && outcome.is_none_or(|o| command.outcome == o)
            && q.claim.as_deref().is_none_or(|c| command.claim_id == c);
        if wanted {
            commands.push(command);
            if commands.len() == limit {
                break;
            }
        }
    }
    // More may come before where this page stopped: after a full page, or a full stretch.
    let next_before = (commands.len() == limit || read == stretch)
        .then_some(last_looked_at)
        .flatten();
    Ok(Json(CommandLogResponse {
        commands,
        examined: examined as u64,
        next_before,
    }))
}
