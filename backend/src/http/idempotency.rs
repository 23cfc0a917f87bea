//! `Idempotency-Key` on commands: a request repeated with the same key (say, after a time-out
//! the client could not tell from a failure) gets the first answer again and appends nothing;
//! the same key with a different request is refused with 422. Keys are kept for 24 h.
//!
//! Applied as middleware to the command routes by the router. The key is reserved with
//! `SET NX` before the command runs and replaced by the answer after it; an answer that says
//! nothing happened because of the relay or Redis (5xx) is not kept, so the retry runs again.

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Response, StatusCode};
use axum::middleware::Next;
use axum::response::IntoResponse;
use sha2::{Digest, Sha256};

use crate::http::error::ApiError;
use crate::http::extract::BODY_LIMIT;
use crate::http::state::AppState;
use crate::store::claims::IdempotencyMark;
use crate::store::claims::idempotency::{self, Record};

pub const HEADER: &str = "idempotency-key";
/// Set on an answer given again.
pub const REPLAYED: &str = "idempotent-replayed";
const MAX_KEY_LEN: usize = 255;

/// The middleware: see the module docs.
pub async fn once(State(state): State<AppState>, request: Request, next: Next) -> Response<Body> {
    let Some(key) = request.headers().get(HEADER) else {
        return next.run(request).await;
    };
    match run_once(&state, key.clone(), request, next).await {
        Ok(response) | Err(response) => response,
    }
}

async fn run_once(
    state: &AppState,
    key: HeaderValue,
    request: Request,
    next: Next,
) -> Result<Response<Body>, Response<Body>> {
    let key = key
        .to_str()
        .ok()
        .filter(|k| !k.is_empty() && k.len() <= MAX_KEY_LEN)
        .ok_or_else(|| {
            ApiError::bad_request(
                "invalid_idempotency_key",
                format!("Idempotency-Key must be 1 to {MAX_KEY_LEN} visible ASCII characters"),
            )
            .into_response()
        })?
        .to_owned();
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, BODY_LIMIT)
        .await
        .map_err(|_| ApiError::PayloadTooLarge(BODY_LIMIT).into_response())?;
    // The path as the client sent it (the router strips `/api` before the middleware).
    let path = parts
        .extensions
        .get::<axum::extract::OriginalUri>()
        .map_or(parts.uri.path(), |u| u.path())
        .to_owned();
    let fingerprint = fingerprint(parts.method.as_str(), &path, &body);
    // `/api/claims/{id}/<command>` appends to the claim's partition; a submission, to the
    // key's own.
    let partition = match path
        .strip_prefix("/api/claims/")
        .and_then(|p| p.split_once('/'))
    {
        Some((claim_id, _)) => state.db.partition_of(claim_id),
        None => IdempotencyMark::partition_for_new(&state.db, &key),
    };
    let mark = IdempotencyMark::new(partition, &key, fingerprint);
    let reserved = idempotency::reserve(&state.db, &mark)
        .await
        .map_err(|e| ApiError::from(e).into_response())?;
    if !reserved {
        return Err(earlier_answer(state, &mark).await);
    }

    let mut request = Request::from_parts(parts, Body::from(body));
    request.extensions_mut().insert(mark.clone());
    let response = next.run(request).await;
    let (parts, body) = response.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    if parts.status.is_server_error() {
        if let Err(e) = idempotency::free(&state.db, &mark).await {
            tracing::warn!(error = %e, "an idempotency key was not freed; it frees itself");
        }
    } else {
        // The body is the relay's own JSON: UTF-8, so this is one copy, not two.
        let answer = match String::from_utf8(body.to_vec()) {
            Ok(text) => text,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        };
        if let Err(e) = idempotency::answered(&state.db, &mark, parts.status.as_u16(), answer).await
        {
            // The command ran; its answer goes out even if it cannot be kept.
            tracing::warn!(error = %e, "an idempotent answer was not recorded");
        }
    }
    Ok(Response::from_parts(parts, Body::from(body)))
}

/// The answer for a key already used: the same one again, or why not.
async fn earlier_answer(state: &AppState, mark: &IdempotencyMark) -> Response<Body> {
    let record = match idempotency::read(&state.db, mark).await {
        Ok(record) => record,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let Some(record) = record else {
        // Expired between the two commands: rare enough to ask for a retry.
        return busy();
    };
    if record.fingerprint() != mark.fingerprint {
        return ApiError::Unprocessable {
            code: "idempotency_key_reused",
            message: "this Idempotency-Key was used for a different request (method, path or \
                      body); use a new key for a new request"
                .into(),
        }
        .into_response();
    }
    match record {
        Record::Running { .. } => busy(),
        // The relay that ran it stopped between the append and its answer.
        Record::Applied {
            claim_id, entry_id, ..
        } => ApiError::Conflict {
            code: "idempotency_key_applied",
            message: format!(
                "this request was applied as entry {entry_id} of claim {claim_id}, but its \
                 answer was lost; read the claim with GET /api/claims/{claim_id}"
            ),
        }
        .into_response(),
        Record::Done { status, body, .. } => {
            let mut response = Response::new(Body::from(body));
            *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            let headers = response.headers_mut();
            headers.insert(
                axum::http::header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            headers.insert(REPLAYED, HeaderValue::from_static("true"));
            response
        }
    }
}

fn busy() -> Response<Body> {
    ApiError::Conflict {
        code: "idempotency_key_in_use",
        message: "a request with this Idempotency-Key is still running; ask again in a moment"
            .into(),
    }
    .into_response()
}

/// What makes two requests "the same" for a key: method, path and body.
pub fn fingerprint(method: &str, path: &str, body: &Bytes) -> String {
    let mut hash = Sha256::new();
    hash.update(method.as_bytes());
    hash.update([0]);
    hash.update(path.as_bytes());
    hash.update([0]);
    hash.update(body);
    hex(&hash.finalize())
}

/// Lowercase hex, into one string (not a string per byte).
fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fingerprint_is_the_lowercase_hex_sha256_of_method_path_and_body() {
        // Kept records hold fingerprints, so one written before an upgrade must still match.
        assert_eq!(
            fingerprint("POST", "/api/claims", &Bytes::from_static(b"{}")),
            "fbba129cecd4510c8ab9f4994270c4339e00fdf506f7b756923b858671b2272f"
        );
    }
}
