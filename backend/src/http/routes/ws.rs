//! `GET /api/ws?since=<id>`: the entries after `since` (catch-up), then new ones live, with no
//! gap and no duplicate at the seam. Without `since`, only what is appended from now on.
//! Entries ready together share a frame (`entries`), bounded in count and bytes.

use std::net::SocketAddr;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade, close_code};
use axum::extract::{ConnectInfo, State};
use axum::response::Response;
use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use shared::api::ServerMessage;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};

use crate::events::feed::{self, Frame};
use crate::http::error::ApiError;
use crate::http::extract::ApiQuery;
use crate::http::limits::ConnectionPermit;
use crate::http::state::AppState;
use crate::store::cursor::Cursor;
use crate::store::db::DbError;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(upgrade))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct WsQuery {
    since: Option<String>,
}

#[utoipa::path(get, path = "/ws", tag = "ws", params(WsQuery), responses((status = 101, description = "The live feed: every new entry as a `ServerMessage` JSON frame (or an array of them).")))]
async fn upgrade(
    State(state): State<AppState>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    ApiQuery(q): ApiQuery<WsQuery>,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    let since = q
        .since
        .map(|s| Cursor::parse(&s, state.db.partitions))
        .transpose()
        .map_err(|m| ApiError::bad_request("invalid_stream_id", format!("since: {m}")))?;
    let ws = ws.map_err(|r| ApiError::bad_request("websocket_required", r.body_text()))?;
    let permit = state.ws_limits.acquire(client.ip())?;
    let max = state.ws_max_message_bytes;
    Ok(ws
        .max_message_size(max)
        .max_frame_size(max)
        .on_upgrade(move |socket| serve(socket, state, since, permit)))
}

type Sink = SplitSink<WebSocket, Message>;

/// How long a client waits for the live feed's first read (Redis down at the relay's start).
const FEED_START_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Why sending stopped.
enum Stop {
    ClientGone,
    /// The client sent a message over the size cap, or broke the protocol.
    BadInput,
    Redis(DbError),
}

impl From<axum::Error> for Stop {
    fn from(_: axum::Error) -> Self {
        Stop::ClientGone
    }
}

impl From<DbError> for Stop {
    fn from(e: DbError) -> Self {
        Stop::Redis(e)
    }
}

async fn serve(
    socket: WebSocket,
    state: AppState,
    since: Option<Cursor>,
    _permit: ConnectionPermit,
) {
    ::metrics::counter!(crate::http::metrics::WS_CONNECTIONS).increment(1);
    let (mut sink, mut incoming) = socket.split();
    // The receive side only watches for the client leaving; clients send nothing we act on.
    // It ends with an error when a message is over the size cap (or not WebSocket at all).
    let mut receive = tokio::spawn(async move {
        loop {
            match incoming.next().await {
                Some(Ok(Message::Close(_))) | None => return Stop::ClientGone,
                Some(Ok(_)) => {}
                Some(Err(_)) => return Stop::BadInput,
            }
        }
    });
    let stopped = tokio::select! {
        r = send_entries(&mut sink, &state, since) => r,
        r = &mut receive => Err(r.unwrap_or(Stop::ClientGone)),
        () = state.shutdown.cancelled() => Ok(()),
    };
    let close = match stopped {
        Err(Stop::Redis(e)) => {
            // The client reconnects with `since` = its last id once Redis is back.
            let _ = send(
                &mut sink,
                &ServerMessage::Unavailable {
                    message: e.to_string(),
                },
            )
            .await;
            None
        }
        Err(Stop::BadInput) => Some(CloseFrame {
            code: close_code::POLICY,
            reason: format!(
                "this feed takes no input; messages over {} bytes close it",
                state.ws_max_message_bytes
            )
            .into(),
        }),
        _ => None,
    };
    let _ = sink.send(Message::Close(close)).await;
    receive.abort();
}

async fn send(sink: &mut Sink, message: &ServerMessage) -> Result<(), Stop> {
    let json = serde_json::to_string(message).expect("messages serialize");
    sink.send(Message::Text(json.into())).await?;
    Ok(())
}

async fn send_entries(
    sink: &mut Sink,
    state: &AppState,
    since: Option<Cursor>,
) -> Result<(), Stop> {
    // Subscribe before reading the stream: whatever is appended after the read reaches the
    // receiver, and anything in both is skipped by id.
    let Some(mut live) = state.feed.subscribe(FEED_START_WAIT).await else {
        return Err(Stop::Redis(DbError::Unavailable(state.db.location.clone())));
    };
    let mut groups = state.groups_feed.subscribe();
    let mut projection = state.projection_feed.subscribe();
    let mut last = match since {
        Some(cursor) => cursor,
        None => feed::last_ids(&state.db).await?,
    };
    catch_up(sink, state, &mut last).await?;
    send(
        sink,
        &ServerMessage::CaughtUp {
            last_id: last.to_string(),
        },
    )
    .await?;
    loop {
        let received = tokio::select! {
            r = live.recv() => r,
            changed = groups.changed() => {
                let latest = groups.borrow_and_update().clone();
                if let (Ok(()), Some(json)) = (changed, latest) {
                    sink.send(Message::Text(json)).await?;
                }
                continue;
            }
            changed = projection.changed() => {
                let latest = projection.borrow_and_update().clone();
                if let (Ok(()), Some(json)) = (changed, latest) {
                    sink.send(Message::Text(json)).await?;
                }
                continue;
            }
        };
        // A frame holds every entry ready now, up to the frame's bounds: a lone entry goes out
        // at once, and a burst (or what queued while the client was slow) in a few frames,
        // not a message an entry. No waiting for more: a timer here delayed every entry by
        // its wait and, under load, by far more.
        let mut frame = Frame::default();
        let mut next = Some(received);
        let mut ended = None;
        while let Some(received) = next.take() {
            match received {
                Ok(item) if item.id > last.at(item.partition) => {
                    if !frame.fits(&item.json) {
                        sink.send(Message::Text(frame.take())).await?;
                    }
                    frame.push(item.json.clone());
                    last.advance(item.partition, item.id);
                    if frame.is_full() {
                        sink.send(Message::Text(frame.take())).await?;
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    ended = Some(e);
                    break;
                }
            }
            next = match live.try_recv() {
                Ok(item) => Some(Ok(item)),
                Err(TryRecvError::Empty) => None,
                Err(TryRecvError::Lagged(n)) => Some(Err(RecvError::Lagged(n))),
                Err(TryRecvError::Closed) => Some(Err(RecvError::Closed)),
            };
        }
        if !frame.is_empty() {
            sink.send(Message::Text(frame.take())).await?;
        }
        match ended {
            None => {}
            Some(RecvError::Lagged(_)) => {
                send(
                    sink,
                    &ServerMessage::Lagged {
                        resume_from: last.to_string(),
                    },
                )
                .await?;
                live = state
                    .feed
                    .subscribe(FEED_START_WAIT)
                    .await
                    .expect("the feed started before this client subscribed");
                catch_up(sink, state, &mut last).await?;
            }
            Some(RecvError::Closed) => return Ok(()),
        }
    }
}

/// Sends every entry after the cursor, partition by partition, page by page, moving the
/// cursor past each one sent.
async fn catch_up(sink: &mut Sink, state: &AppState, cursor: &mut Cursor) -> Result<(), Stop> {
    for partition in state.db.partitions.all() {
        loop {
            let page = feed::page_after(&state.db, partition, cursor.at(partition)).await?;
            let full = page.len() == feed::PAGE;
            // A page is a frame, or a few if its entries are large.
            let mut frame = Frame::default();
            for (id, entry) in page {
                let json = feed::entry_json(&entry);
                if !frame.fits(&json) {
                    sink.send(Message::Text(frame.take())).await?;
                }
                frame.push(json);
                cursor.advance(partition, id);
            }
            if !frame.is_empty() {
                sink.send(Message::Text(frame.take())).await?;
            }
            if !full {
                break;
            }
        }
    }
    Ok(())
}
