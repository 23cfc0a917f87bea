//! Talking to the relay: JSON over HTTP, and the live WebSocket feed with reconnects.

use std::time::Duration;

use futures_util::StreamExt;
use gloo_net::http::{Request, RequestBuilder};
use gloo_net::websocket::Message;
use gloo_net::websocket::futures::WebSocket;
use serde::Serialize;
use serde::de::DeserializeOwned;
use shared::FieldError;
use shared::api::{ErrorBody, ServerMessage};

/// Why a request did not succeed, in words a learner can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiFailure {
    pub status: u16,
    pub code: String,
    pub message: String,
    pub fields: Vec<FieldError>,
}

impl ApiFailure {
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
/// so each answer type adds only its own parsing to the app, not another copy of this.
async fn fetch(request: Result<Request, gloo_net::Error>) -> Result<String, ApiFailure> {
    let response = request
        .map_err(ApiFailure::network)?
        .send()
        .await
        .map_err(ApiFailure::network)?;
    let status = response.status();
    let text = response.text().await.map_err(ApiFailure::network)?;
    if response.ok() {
        return Ok(text);
    }
    match serde_json::from_str::<ErrorBody>(&text) {
        Ok(body) => Err(ApiFailure {
            status,
            code: body.error.code,
            message: body.error.message,
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

fn parse<T: DeserializeOwned>(body: Result<String, ApiFailure>) -> Result<T, ApiFailure> {
    serde_json::from_str(&body?).map_err(ApiFailure::network)
}

/// Adds the instructor token, if this browser holds one.
fn authorized(request: RequestBuilder) -> RequestBuilder {
    match crate::session::token() {
        Some(token) => request.header("Authorization", &format!("Bearer {token}")),
        None => request,
    }
}

pub async fn get<T: DeserializeOwned>(path: &str) -> Result<T, ApiFailure> {
    parse(fetch(authorized(Request::get(path)).build()).await)
}

pub async fn delete<T: DeserializeOwned>(path: &str) -> Result<T, ApiFailure> {
    // The relay takes state changes only as JSON, which other sites cannot send.
    let request = authorized(Request::delete(path)).header("Content-Type", "application/json");
    parse(fetch(request.build()).await)
}

pub async fn post<B: Serialize, T: DeserializeOwned>(
    path: &str,
    body: &B,
) -> Result<T, ApiFailure> {
    parse(fetch(authorized(Request::post(path)).json(body)).await)
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
            while let Some(Ok(Message::Text(text))) = incoming.next().await {
                let Ok(message) = serde_json::from_str::<ServerMessage>(&text) else {
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

/// 0.5 s, 1 s, 2 s, ... capped at 8 s.
fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(500 * 2u64.pow(attempt.saturating_sub(1).min(4)))
}
