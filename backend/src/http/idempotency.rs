//! `Idempotency-Key` on commands: a request repeated with the same key (say, after a time-out
//! the client could not tell from a failure) gets the first answer again and appends nothing;
//! the same key with a different request is refused with 422. Keys are kept for 24 h.
//!
//! Applied as middleware to the command routes by the router. The key is reserved with
//! `SET NX` before the command runs and replaced by the answer after it; an answer that says
//! nothing happened because of the relay or Redis (5xx) is not kept, so the retry runs again.

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Response, StatusCode};
use axum::middleware::Next;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::http::error::ApiError;
use crate::http::extract::BODY_LIMIT;
use crate::http::state::AppState;
use crate::store::claims::IdempotencyMark;
use crate::store::keys::Partition;
use crate::store::trace::Trace;

pub const HEADER: &str = "idempotency-key";
/// Set on an answer given again.
pub const REPLAYED: &str = "idempotent-replayed";
/// How long an answer is kept for its key.
pub const KEEP: Duration = Duration::from_secs(24 * 60 * 60);
/// How long a key stays reserved while its request runs (a relay that dies meanwhile frees it).
const RESERVE: Duration = Duration::from_secs(60);
const MAX_KEY_LEN: usize = 255;

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
enum Record {
    /// The first request with this key is running.
    Running { fingerprint: String },
    /// Its command was appended (written by the append script), its answer not yet recorded.
    Applied {
        fingerprint: String,
        claim_id: String,
        entry_id: String,
    },
    /// Its answer.
    Done {
        fingerprint: String,
        status: u16,
        body: String,
    },
}

impl Record {
    fn fingerprint(&self) -> &str {
        match self {
            Self::Running { fingerprint }
            | Self::Applied { fingerprint, .. }
            | Self::Done { fingerprint, .. } => fingerprint,
        }
    }
}

static FREE_IF_RUNNING: std::sync::LazyLock<redis::Script> = std::sync::LazyLock::new(|| {
    redis::Script::new(
        r"
-- KEYS: the key; ARGV: its reservation
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
",
    )
});

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
        None => state.db.partition_of(&hash(&key)),
    };
    let redis_key = redis_key(partition, &key);
    let mut trace = Trace::off();
    let running = serde_json::to_string(&Record::Running {
        fingerprint: fingerprint.clone(),
    })
    .expect("records serialize");
    let reserve_secs = RESERVE.as_secs().to_string();
    let reserved: Option<String> = state
        .db
        .run(
            &mut trace,
            &["SET", &redis_key, &running, "NX", "EX", &reserve_secs],
        )
        .await
        .map_err(|e| ApiError::from(e).into_response())?;
    if reserved.is_none() {
        return Err(earlier_answer(state, &redis_key, &fingerprint).await);
    }

    let mut request = Request::from_parts(parts, Body::from(body));
    request.extensions_mut().insert(IdempotencyMark {
        key: redis_key.clone(),
        partition,
        fingerprint: fingerprint.clone(),
    });
    let response = next.run(request).await;
    let (parts, body) = response.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    if parts.status.is_server_error() {
        // Free the key for a retry, unless the append script marked it applied meanwhile.
        let mut free = FREE_IF_RUNNING.key(&redis_key);
        free.arg(&running);
        let _: Result<i64, _> = state.db.script(&free).await;
    } else {
        let done = serde_json::to_string(&Record::Done {
            fingerprint,
            status: parts.status.as_u16(),
            body: String::from_utf8_lossy(&body).into_owned(),
        })
        .expect("records serialize");
        let keep = KEEP.as_secs().to_string();
        if let Err(e) = state
            .db
            .run::<(), _>(&mut trace, &["SET", &redis_key, &done, "EX", &keep])
            .await
        {
            // The command ran; its answer goes out even if it cannot be kept.
            tracing::warn!(error = %e, "an idempotent answer was not recorded");
        }
    }
    Ok(Response::from_parts(parts, Body::from(body)))
}

/// The answer for a key already used: the same one again, or why not.
async fn earlier_answer(state: &AppState, redis_key: &str, fingerprint: &str) -> Response<Body> {
    let stored: Option<String> = match state.db.run(&mut Trace::off(), &["GET", redis_key]).await {
        Ok(stored) => stored,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let Some(record) = stored.and_then(|s| serde_json::from_str::<Record>(&s).ok()) else {
        // Expired between the two commands: rare enough to ask for a retry.
        return busy();
    };
    if record.fingerprint() != fingerprint {
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

/// Where the answer for `key` is kept: by its hash, so any key has a short, safe name.
pub fn redis_key(partition: Partition, key: &str) -> String {
    partition.idempotency(&hash(key))
}

fn hash(key: &str) -> String {
    hex(&Sha256::digest(key.as_bytes()))
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

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
