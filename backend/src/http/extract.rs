//! Request extractors whose rejections are [`ApiError`]s, so malformed input gets the same
//! JSON error body as everything else.

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use serde::de::DeserializeOwned;

use crate::http::error::ApiError;
use crate::store::trace::Trace;

/// The `X-Workspace` header: the learner's workspace a console or lab request is for.
pub fn workspace_id(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers.get("x-workspace").and_then(|v| v.to_str().ok())
}

/// The trace a command's answer shows: the commands sent, and with `X-Redis-Trace: scripts`
/// what each script ran inside (the playground asks; listing it costs Redis about a third
/// more per append, so nothing else pays for it).
pub struct RequestTrace(pub Trace);

impl<S: Send + Sync> FromRequestParts<S> for RequestTrace {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        let scripts = parts
            .headers
            .get("x-redis-trace")
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"scripts"));
        Ok(Self(if scripts {
            Trace::with_scripts()
        } else {
            Trace::default()
        }))
    }
}

/// Request bodies larger than this are refused with 413.
pub const BODY_LIMIT: usize = 64 * 1024;

#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        ApiError::bad_request("invalid_query", r.body_text())
    }
}

/// A JSON body. The content type is not checked, so `curl -d '{...}'` works as typed.
pub struct JsonBody<T>(pub T);

/// A JSON body that may be left out entirely, meaning `T::default()`.
pub struct OptionalJsonBody<T>(pub T);

async fn body_bytes<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, ApiError> {
    Bytes::from_request(req, state).await.map_err(|r| {
        if r.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge(BODY_LIMIT)
        } else {
            ApiError::bad_request("invalid_body", r.body_text())
        }
    })
}

fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError::bad_request("invalid_json", format!("invalid JSON body: {e}")))
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = body_bytes(req, state).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(ApiError::bad_request(
                "invalid_json",
                "a JSON body is required",
            ));
        }
        parse(&bytes).map(Self)
    }
}

impl<S: Send + Sync, T: DeserializeOwned + Default> FromRequest<S> for OptionalJsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = body_bytes(req, state).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self(T::default()));
        }
        parse(&bytes).map(Self)
    }
}
