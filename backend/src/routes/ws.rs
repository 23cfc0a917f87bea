//! `GET /api/ws?since=<id>`: the entries after `since` (catch-up), then new ones live, with no
//! gap and no duplicate at the seam. Without `since`, only what is appended from now on.

use axum::Router;
use axum::extract::State;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use axum::routing::get;
use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use shared::api::ServerMessage;
use tokio::sync::broadcast::error::RecvError;

use crate::db::DbError;
use crate::entry_id::EntryId;
use crate::error::ApiError;
use crate::extract::ApiQuery;
use crate::feed;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/ws", get(upgrade))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WsQuery {
    since: Option<String>,
}

async fn upgrade(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<WsQuery>,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    let since = q
        .since
        .map(|s| s.parse::<EntryId>())
        .transpose()
        .map_err(|m| ApiError::bad_request("invalid_stream_id", format!("since: {m}")))?;
    let ws = ws.map_err(|r| ApiError::bad_request("websocket_required", r.body_text()))?;
    Ok(ws.on_upgrade(move |socket| serve(socket, state, since)))
}

type Sink = SplitSink<WebSocket, Message>;

/// Why sending stopped.
enum Stop {
    ClientGone,
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

async fn serve(socket: WebSocket, state: AppState, since: Option<EntryId>) {
    let (mut sink, mut incoming) = socket.split();
    // The receive side only watches for the client leaving; clients send nothing we act on.
    let mut receive = tokio::spawn(async move {
        while let Some(Ok(msg)) = incoming.next().await {
            if matches!(msg, Message::Close(_)) {
                break;
            }
        }
    });
    let stopped = tokio::select! {
        r = send_entries(&mut sink, &state, since) => r,
        _ = &mut receive => Err(Stop::ClientGone),
        () = state.shutdown.cancelled() => Ok(()),
    };
    if let Err(Stop::Redis(e)) = stopped {
        // The client reconnects with `since` = its last id once Redis is back.
        let _ = send(
            &mut sink,
            &ServerMessage::Unavailable {
                message: e.to_string(),
            },
        )
        .await;
    }
    let _ = sink.send(Message::Close(None)).await;
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
    since: Option<EntryId>,
) -> Result<(), Stop> {
    // Subscribe before reading the stream: whatever is appended after the read reaches the
    // receiver, and anything in both is skipped by id.
    let mut live = state.feed.subscribe();
    let mut groups = state.groups_feed.subscribe();
    let mut last = match since {
        Some(id) => id,
        None => feed::last_id(&state.db).await?,
    };
    last = catch_up(sink, state, last).await?;
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
        };
        match received {
            Ok(item) if item.id > last => {
                sink.send(Message::Text(item.json.clone())).await?;
                last = item.id;
            }
            Ok(_) => {}
            Err(RecvError::Lagged(_)) => {
                send(
                    sink,
                    &ServerMessage::Lagged {
                        resume_from: last.to_string(),
                    },
                )
                .await?;
                live = state.feed.subscribe();
                last = catch_up(sink, state, last).await?;
            }
            Err(RecvError::Closed) => return Ok(()),
        }
    }
}

/// Sends every entry after `after` page by page; returns the id of the last one sent.
async fn catch_up(sink: &mut Sink, state: &AppState, mut after: EntryId) -> Result<EntryId, Stop> {
    loop {
        let page = feed::page_after(&state.db, after).await?;
        let full = page.len() == feed::PAGE;
        for (id, entry) in page {
            send(sink, &ServerMessage::Entry { entry }).await?;
            after = id;
        }
        if !full {
            return Ok(after);
        }
    }
}
