//! Talking to the relay: JSON over HTTP, and the live WebSocket feed with reconnects.

use std::time::Duration;

use futures_util::StreamExt;
use gloo_net::websocket::Message;
use gloo_net::websocket::futures::WebSocket;
use serde::Serialize;
use serde::de::DeserializeOwned;
use shared::FieldError;
use shared::api::{ErrorBody, ServerMessage, StreamEntry};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// Why a request did not succeed, in words a learner can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiFailure {
    pub status: u16,
    pub code: String,
    pub message: String,
    pub fields: Vec<FieldError>,
}

impl ApiFailure {
    /// A failure JavaScript reported (e.g. `TypeError: Failed to fetch`).
    fn js(e: JsValue) -> Self {
        match e.dyn_into::<js_sys::Error>() {
            Ok(e) => Self::network(String::from(e.to_string())),
            Err(e) => Self::network(format!("{e:?}")),
        }
    }

    fn network(e: impl std::fmt::Display) -> Self {
        Self {
            status: 0,
            code: "network".into(),
            message: format!("cannot reach the relay: {e}"),
            fields: Vec::new(),
        }
    }
}

/// Sends the request and reads the answer's body, or says why it did not succeed. Not generic,
/// so each answer type adds only its own parsing to the app, not another copy of this. Calls
/// `fetch` through `web-sys`: gloo-net's request builder (and the `http` crate under it) cost
/// the app more code than these few calls.
async fn fetch(
    method: &str,
    path: &str,
    body: Option<String>,
    workspace: Option<&str>,
) -> Result<String, ApiFailure> {
    let init = web_sys::RequestInit::new();
    init.set_method(method);
    let headers = web_sys::Headers::new().map_err(ApiFailure::js)?;
    if let Some(id) = workspace {
        headers.set("X-Workspace", id).map_err(ApiFailure::js)?;
    }
    if method != "GET" {
        // The relay takes state changes only as JSON, which other sites cannot send.
        headers
            .set("Content-Type", "application/json")
            .map_err(ApiFailure::js)?;
        // "What Redis did" shows what each script ran inside: the relay lists it on request.
        headers
            .set("X-Redis-Trace", "scripts")
            .map_err(ApiFailure::js)?;
    }
    init.set_headers(&headers);
    // No Authorization header: an instructor's session cookie (HttpOnly, from
    // `POST /api/session`) goes with every request, as fetch's default credentials
    // (`same-origin`) send it.
    if let Some(body) = body {
        init.set_body(&JsValue::from_str(&body));
    }
    let window = web_sys::window().expect("a browser window");
    let response: web_sys::Response = JsFuture::from(window.fetch_with_str_and_init(path, &init))
        .await
        .map_err(ApiFailure::js)?
        .unchecked_into();
    let status = response.status();
    let text = JsFuture::from(response.text().map_err(ApiFailure::js)?)
        .await
        .map_err(ApiFailure::js)?
        .as_string()
        .unwrap_or_default();
    if response.ok() {
        return Ok(text);
    }
    match serde_json::from_str::<ErrorBody>(&text) {
        Ok(body) => Err(ApiFailure {
            status,
            code: body.error.code,
            // The lab's common issues come with their fix, shown wherever the error is.
            message: match body.error.hint {
                Some(hint) => format!("{}. {hint}", body.error.message),
                None => body.error.message,
            },
            fields: body.error.fields,
        }),
        Err(_) => Err(ApiFailure {
            status,
            code: "http".into(),
            message: format!("the relay answered {status}"),
            fields: Vec::new(),
        }),
    }
}

pub fn parse<T: DeserializeOwned>(body: Result<String, ApiFailure>) -> Result<T, ApiFailure> {
    serde_json::from_str(&body?).map_err(ApiFailure::network)
}

pub async fn get<T: DeserializeOwned>(path: &str) -> Result<T, ApiFailure> {
    parse(fetch("GET", path, None, None).await)
}

pub async fn delete<T: DeserializeOwned>(path: &str) -> Result<T, ApiFailure> {
    parse(fetch("DELETE", path, None, None).await)
}

pub async fn post<B: Serialize, T: DeserializeOwned>(
    path: &str,
    body: &B,
) -> Result<T, ApiFailure> {
    let body = serde_json::to_string(body).map_err(ApiFailure::network)?;
    parse(fetch("POST", path, Some(body), None).await)
}

/// A request with a body already written as JSON.
pub async fn send<T: DeserializeOwned>(
    method: &str,
    path: &str,
    body: Option<String>,
) -> Result<T, ApiFailure> {
    parse(fetch(method, path, body, None).await)
}

/// A request in a learner's console workspace (header `X-Workspace`), its answer as text.
pub async fn fetch_in(
    method: &str,
    path: &str,
    body: Option<String>,
    workspace: &str,
) -> Result<String, ApiFailure> {
    fetch(method, path, body, Some(workspace)).await
}

/// The state of the live feed, for the connection indicator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Connection {
    Connecting,
    Live,
    /// Lost; the next attempt is in this many seconds.
    Retrying {
        in_secs: u64,
        attempt: u32,
    },
}

fn ws_url(since: Option<&str>) -> String {
    let location = web_sys::window().expect("a browser window").location();
    let scheme = match location.protocol().as_deref() {
        Ok("https:") => "wss",
        _ => "ws",
    };
    let host = location.host().unwrap_or_default();
    match since {
        Some(id) => format!("{scheme}://{host}/api/ws?since={id}"),
        None => format!("{scheme}://{host}/api/ws"),
    }
}

/// Keeps a WebSocket open for as long as the page lives. Every connection asks for what came
/// after the last id `last_id()` returns, so a reconnect neither skips nor repeats entries.
pub async fn follow_feed(
    last_id: impl Fn() -> Option<String>,
    on_message: impl Fn(ServerMessage),
    on_connection: impl Fn(Connection),
) {
    let mut attempt: u32 = 0;
    loop {
        on_connection(Connection::Connecting);
        if let Ok(socket) = WebSocket::open(&ws_url(last_id().as_deref())) {
            let (_, mut incoming) = socket.split();
            let mut slice_start = js_sys::Date::now();
            while let Some(Ok(Message::Text(text))) = incoming.next().await {
                // Frames that queued up while the page was busy are read one after the
                // other without a pause; past a few milliseconds of that, the page gets a
                // turn to render and take input first.
                if js_sys::Date::now() - slice_start > SLICE_MS {
                    gloo_timers::future::sleep(Duration::ZERO).await;
                    slice_start = js_sys::Date::now();
                }
                let Some(message) = parse_message(&text) else {
                    continue;
                };
                if matches!(message, ServerMessage::CaughtUp { .. }) {
                    attempt = 0;
                    on_connection(Connection::Live);
                }
                on_message(message);
            }
        }
        attempt += 1;
        let wait = backoff(attempt);
        on_connection(Connection::Retrying {
            in_secs: wait.as_secs().max(1),
            attempt,
        });
        gloo_timers::future::sleep(wait).await;
    }
}

/// A batch of entries, read straight into them.
#[derive(serde::Deserialize)]
struct Batch {
    entries: Vec<StreamEntry>,
}

/// A message of the feed. A batch (as the relay writes it, `kind` first) is read without
/// the detour serde takes for a tagged enum, which buffers the whole message as generic
/// content first: for hundreds of entries that costs more than reading them.
fn parse_message(text: &str) -> Option<ServerMessage> {
    if text.starts_with(r#"{"kind":"entries","#) {
        let batch: Batch = serde_json::from_str(text).ok()?;
        return Some(ServerMessage::Entries {
            entries: batch.entries,
        });
    }
    serde_json::from_str(text).ok()
}

/// How long (ms) the feed reads queued frames before it lets the page render.
const SLICE_MS: f64 = 8.0;

/// 0.5 s, 1 s, 2 s, ... capped at 8 s.
fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(500 * 2u64.pow(attempt.saturating_sub(1).min(4)))
}
