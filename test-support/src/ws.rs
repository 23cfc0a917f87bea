//! A WebSocket client of the relay's live feed (`/api/ws`): the next message, entries until
//! there are enough, `caught_up`, the socket closing. A batch (`entries`) reads as its
//! entries one by one, unless a test asks for frames as sent ([`WsClient::next_frame`]).

use std::collections::VecDeque;
use std::time::Duration;

use futures_util::StreamExt;
use shared::api::{ServerMessage, StreamEntry};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub struct WsClient {
    stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// The rest of the last batch read by [`WsClient::next`].
    batched: VecDeque<StreamEntry>,
}

impl From<WebSocketStream<MaybeTlsStream<TcpStream>>> for WsClient {
    fn from(stream: WebSocketStream<MaybeTlsStream<TcpStream>>) -> Self {
        Self {
            stream,
            batched: VecDeque::new(),
        }
    }
}

impl WsClient {
    /// Connects to the live feed of the relay at `address` (`host:port`), from `since` on.
    pub async fn connect(address: &str, since: Option<&str>) -> Self {
        let query = since.map(|s| format!("?since={s}")).unwrap_or_default();
        let (stream, _) = tokio_tungstenite::connect_async(format!("ws://{address}/api/ws{query}"))
            .await
            .expect("websocket connects");
        Self::from(stream)
    }

    /// The next message, or `None` if none comes within `wait`; the entries of a batch come
    /// one by one, each as an `entry`.
    pub async fn next(&mut self, wait: Duration) -> Option<ServerMessage> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some(entry) = self.batched.pop_front() {
                return Some(ServerMessage::Entry { entry });
            }
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next_frame(left).await? {
                ServerMessage::Entries { entries } => self.batched = entries.into(),
                other => return Some(other),
            }
        }
    }

    /// The next frame as the relay sent it (a batch whole), or `None` if none comes within
    /// `wait`. Mixing it with [`WsClient::next`] skips nothing: a batch `next` started on is
    /// finished first.
    pub async fn next_frame(&mut self, wait: Duration) -> Option<ServerMessage> {
        if !self.batched.is_empty() {
            let entries = std::mem::take(&mut self.batched).into();
            return Some(ServerMessage::Entries { entries });
        }
        loop {
            let msg = tokio::time::timeout(wait, self.stream.next())
                .await
                .ok()??
                .ok()?;
            match msg {
                Message::Text(text) => {
                    return Some(serde_json::from_str(&text).expect("server messages parse"));
                }
                Message::Close(_) => return None,
                _ => continue,
            }
        }
    }

    /// Whether the server closes the socket within `wait` (messages before that are skipped).
    pub async fn closes_within(&mut self, wait: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            match tokio::time::timeout_at(deadline, self.stream.next()).await {
                Err(_) => return false,
                Ok(None | Some(Err(_)) | Some(Ok(Message::Close(_)))) => return true,
                Ok(Some(Ok(_))) => continue,
            }
        }
    }

    /// Collects entries until `n` have arrived; panics if they do not within 10 s.
    pub async fn entries(&mut self, n: usize) -> Vec<StreamEntry> {
        let mut got = Vec::new();
        while got.len() < n {
            match self.next(Duration::from_secs(10)).await {
                Some(ServerMessage::Entry { entry }) => got.push(entry),
                Some(_) => {}
                None => panic!("only {} of {n} entries arrived", got.len()),
            }
        }
        got
    }

    pub async fn expect_caught_up(&mut self) -> String {
        loop {
            match self.next(Duration::from_secs(10)).await {
                Some(ServerMessage::CaughtUp { last_id }) => return last_id,
                Some(ServerMessage::Entry { .. }) => {}
                other => panic!("expected caught_up, got {other:?}"),
            }
        }
    }

    /// Collects entries until one satisfies `wanted`; panics if none does within `within`.
    pub async fn entry_where(
        &mut self,
        within: Duration,
        wanted: impl Fn(&StreamEntry) -> bool,
    ) -> StreamEntry {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next(left).await {
                Some(ServerMessage::Entry { entry }) if wanted(&entry) => return entry,
                Some(_) => {}
                None => panic!("no such entry within {within:?}"),
            }
        }
    }
}
