//! The one error type of the HTTP API. Each variant's status code is in its doc comment. Bad
//! input becomes a 4xx whose JSON body says what is wrong; anything unexpected is logged and
//! becomes a 500 whose body holds no internals.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use shared::api::{ErrorBody, ErrorDetail};
use shared::{DomainError, FieldError};

use crate::events::commands::CommandError;
use crate::store::db::{DbError, Refusal};
use crate::teaching::console::WorkspaceError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the request is malformed (not JSON, wrong shape, bad query parameter).
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    /// 422: well-formed, but fields break the rules.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Validation(Vec<FieldError>),
    /// 401: an instructor action without `Authorization: Bearer <token>`.
    #[error("{0}")]
    Unauthorized(String),
    /// 403: a wrong instructor token, or a request from another site.
    #[error("{message}")]
    Forbidden { code: &'static str, message: String },
    /// 404
    #[error("{0}")]
    NotFound(String),
    /// 405
    #[error("this endpoint does not take that method")]
    MethodNotAllowed,
    /// 409: the aggregate refused the command.
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// 409: the claim changed since the caller (or this request) read it.
    #[error("{0}")]
    VersionConflict(String),
    /// 409: a limit of the relay is reached (e.g. consumers per group), or an idempotency key
    /// is still in use.
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// 422: well-formed, but refused for a reason other than its fields (e.g. an idempotency
    /// key reused for another request).
    #[error("{message}")]
    Unprocessable { code: &'static str, message: String },
    /// 413
    #[error("request body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    /// 415: a state-changing request that is not `Content-Type: application/json`.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 429: too many requests or connections from one address, or in all.
    #[error("{message}")]
    TooManyRequests {
        code: &'static str,
        message: String,
        retry_after_secs: Option<u64>,
    },
    /// 503: Redis cannot be reached.
    #[error("{0}")]
    Unavailable(String),
    /// 503: a capacity the relay shares among everyone is used up (e.g. workspaces); the
    /// message names it and its size.
    #[error("{message}")]
    Full {
        code: &'static str,
        message: String,
        retry_after_secs: u64,
    },
    /// 503: the request took longer than `--request-timeout-ms`.
    #[error(
        "the request took longer than {} ms, the most the relay spends on one; try again, or ask \
         for less (a shorter wait_ms, an earlier at=)",
        .0.as_millis()
    )]
    RequestTimeout(std::time::Duration),
    /// 503: the read model has not yet caught up with the entry the caller waits for.
    #[error(
        "the projection has not reached {after} yet (it is at {}); try again shortly",
        position.as_deref().unwrap_or("the start")
    )]
    ProjectionBehind {
        after: String,
        position: Option<String>,
    },
    /// 503: Redis refuses writes at its memory limit (`maxmemory` with `noeviction`).
    #[error(
        "Redis is at its memory limit (maxmemory) and refuses writes; nothing was written. \
         Free memory (trim streams, raise maxmemory) and try again"
    )]
    OutOfMemory,
    /// 500: logged in full, answered without details.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::BadRequest {
            code,
            message: message.into(),
        }
    }

    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            Self::BadRequest { code, .. } => (StatusCode::BAD_REQUEST, code),
            Self::Validation(_) => (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
            Self::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            Self::Forbidden { code, .. } => (StatusCode::FORBIDDEN, code),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            Self::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            Self::Domain(DomainError::NotFound) => (StatusCode::NOT_FOUND, "not_found"),
            Self::Domain(DomainError::AmountOutOfRange(_)) => {
                (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
            }
            Self::Domain(DomainError::AlreadyExists(_)) => (StatusCode::CONFLICT, "already_exists"),
            Self::Domain(DomainError::InvalidTransition { .. }) => {
                (StatusCode::CONFLICT, "invalid_transition")
            }
            Self::Domain(DomainError::Closed(_)) => (StatusCode::CONFLICT, "claim_closed"),
            Self::VersionConflict(_) => (StatusCode::CONFLICT, "version_conflict"),
            Self::Conflict { code, .. } => (StatusCode::CONFLICT, code),
            Self::Unprocessable { code, .. } => (StatusCode::UNPROCESSABLE_ENTITY, code),
            Self::PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            Self::UnsupportedMediaType(_) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            Self::TooManyRequests { code, .. } => (StatusCode::TOO_MANY_REQUESTS, code),
            Self::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "redis_unavailable"),
            Self::Full { code, .. } => (StatusCode::SERVICE_UNAVAILABLE, code),
            Self::RequestTimeout(_) => (StatusCode::SERVICE_UNAVAILABLE, "request_timeout"),
            Self::ProjectionBehind { .. } => (StatusCode::SERVICE_UNAVAILABLE, "projection_behind"),
            Self::OutOfMemory => (StatusCode::SERVICE_UNAVAILABLE, "redis_out_of_memory"),
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl From<CommandError> for ApiError {
    fn from(e: CommandError) -> Self {
        match e {
            CommandError::Domain(e) => Self::Domain(e),
            CommandError::NotFound(id) => Self::NotFound(format!("claim {id} does not exist")),
            CommandError::VersionConflict(m) => Self::VersionConflict(m),
            CommandError::Db(e) => e.into(),
            CommandError::Internal(e) => Self::Internal(e),
        }
    }
}

impl From<DbError> for ApiError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::Unavailable(_) => Self::Unavailable(e.to_string()),
            DbError::Refused {
                kind: Refusal::OutOfMemory,
                ..
            } => Self::OutOfMemory,
            e => Self::Internal(e.into()),
        }
    }
}

impl From<WorkspaceError> for ApiError {
    fn from(e: WorkspaceError) -> Self {
        match e {
            WorkspaceError::Missing => Self::bad_request("missing_workspace", e.to_string()),
            WorkspaceError::Invalid => Self::bad_request("invalid_workspace", e.to_string()),
            WorkspaceError::NotFound(_) => Self::NotFound(e.to_string()),
            WorkspaceError::TooMany {
                code,
                message,
                retry_after_secs,
            } => Self::TooManyRequests {
                code,
                message,
                retry_after_secs: Some(retry_after_secs),
            },
            WorkspaceError::Full {
                message,
                retry_after_secs,
            } => Self::Full {
                code: "workspaces_full",
                message,
                retry_after_secs,
            },
            WorkspaceError::Db(e) => e.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let message = match &self {
            Self::Internal(e) => {
                tracing::error!(error = ?e, "request failed");
                "internal error; the relay log has the details".to_owned()
            }
            other => other.to_string(),
        };
        let mut headers = axum::http::HeaderMap::new();
        match &self {
            Self::Unauthorized(_) => {
                headers.insert(
                    axum::http::header::WWW_AUTHENTICATE,
                    axum::http::HeaderValue::from_static("Bearer"),
                );
            }
            Self::TooManyRequests {
                retry_after_secs: Some(secs),
                ..
            } => {
                headers.insert(axum::http::header::RETRY_AFTER, (*secs).into());
            }
            Self::Full {
                retry_after_secs, ..
            } => {
                headers.insert(axum::http::header::RETRY_AFTER, (*retry_after_secs).into());
            }
            Self::ProjectionBehind { position, .. } => {
                headers.insert(axum::http::header::RETRY_AFTER, 1.into());
                if let Some(Ok(value)) = position.as_deref().map(axum::http::HeaderValue::from_str)
                {
                    headers.insert("x-projection-position", value);
                }
            }
            _ => {}
        }
        let hint = match &self {
            Self::Unavailable(_) => Some(crate::teaching::console::hints::for_unavailable()),
            Self::OutOfMemory => {
                Some(crate::teaching::console::hints::for_error("OOM", "").unwrap_or_default())
            }
            _ => None,
        };
        let fields = match self {
            Self::Validation(fields) => fields,
            _ => Vec::new(),
        };
        let body = ErrorBody {
            error: ErrorDetail {
                code: code.to_owned(),
                message,
                fields,
                hint,
            },
        };
        (status, headers, Json(body)).into_response()
    }
}
