//! The live feed of `claims:events`: one blocking `XREAD` loop per relay, fanned out to every
//! WebSocket client through a bounded broadcast channel. Whoever appends (this relay, another
//! relay, `redis-cli`), the entry reaches every client once.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::Utf8Bytes;
use redis::Value;
use shared::api::{ServerMessage, StreamEntry};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use crate::db::{self, Db, DbError};
use crate::entry_id::EntryId;
use crate::keys;
use crate::redis_cli::Trace;

/// How long one `XREAD` blocks before it loops (and notices shutdown).
const BLOCK: Duration = Duration::from_millis(2_000);
/// Entries one `XREAD` or catch-up page returns at most.
pub const PAGE: usize = 500;

/// One entry, serialized once for all clients.
#[derive(Debug)]
pub struct FeedItem {
    pub id: EntryId,
    /// The `ServerMessage::Entry` JSON; cloning it shares the bytes.
    pub json: Utf8Bytes,
}

impl FeedItem {
    pub fn new(id: EntryId, entry: StreamEntry) -> Self {
        let json = serde_json::to_string(&ServerMessage::Entry { entry })
            .expect("messages serialize")
            .into();
        Self { id, json }
    }
}

#[derive(Clone)]
pub struct Feed {
    tx: broadcast::Sender<Arc<FeedItem>>,
    /// The id the feed first read after, once it has one. A client subscribing before that
    /// could catch up past entries the feed then starts after, and never see them.
    started: Arc<tokio::sync::watch::Sender<Option<EntryId>>>,
    /// A test's hold on the next subscriber, between subscribing and catching up.
    seam: Arc<std::sync::Mutex<Option<SeamGate>>>,
}

/// Holds one subscriber at the seam: subscribed to the live feed, not yet caught up. Tests
/// append entries there, so they reach the client both ways and must be sent once.
#[derive(Debug)]
pub struct SeamGate {
    subscribed: tokio::sync::oneshot::Sender<()>,
    proceed: tokio::sync::oneshot::Receiver<()>,
}

/// The test's side of a [`SeamGate`].
#[derive(Debug)]
pub struct SeamHold {
    /// Resolves once the subscriber is at the seam.
    pub subscribed: tokio::sync::oneshot::Receiver<()>,
    /// Send to let it catch up.
    pub proceed: tokio::sync::oneshot::Sender<()>,
}

impl Feed {
    /// `client_buffer`: entries a client may fall behind the live feed before it is resumed
    /// from the stream. The buffer is shared by all clients, so memory does not grow with them.
    pub fn new(client_buffer: usize) -> Self {
        let (tx, _) = broadcast::channel(client_buffer.max(1));
        Self {
            tx,
            started: Arc::new(tokio::sync::watch::Sender::new(None)),
            seam: Arc::default(),
        }
    }

    /// Stops the next subscriber right after it subscribed, until the test lets it go.
    pub fn hold_next_subscriber(&self) -> SeamHold {
        let (subscribed_tx, subscribed) = tokio::sync::oneshot::channel();
        let (proceed, proceed_rx) = tokio::sync::oneshot::channel();
        *self.seam.lock().expect("seam lock") = Some(SeamGate {
            subscribed: subscribed_tx,
            proceed: proceed_rx,
        });
        SeamHold {
            subscribed,
            proceed,
        }
    }

    /// A receiver of every entry after the feed's start. Waits (up to `wait`) until the feed
    /// has started, so whatever a client catches up on after subscribing meets the live
    /// entries with no gap; `None` if it has not started by then (Redis unreachable).
    pub async fn subscribe(&self, wait: Duration) -> Option<broadcast::Receiver<Arc<FeedItem>>> {
        let mut started = self.started.subscribe();
        tokio::time::timeout(wait, started.wait_for(Option::is_some))
            .await
            .ok()?
            .ok()?;
        let receiver = self.tx.subscribe();
        let gate = self.seam.lock().expect("seam lock").take();
        if let Some(gate) = gate {
            let _ = gate.subscribed.send(());
            let _ = gate.proceed.await;
        }
        Some(receiver)
    }

    /// Where the feed started reading, once it has.
    pub fn started_after(&self) -> Option<EntryId> {
        *self.started.borrow()
    }

    /// Reads new entries until `stop` is cancelled, reconnecting with backoff while Redis is
    /// away and resuming after the last entry it published.
    pub async fn run(self, db: Db, stop: CancellationToken) {
        let mut last: Option<EntryId> = None;
        let mut backoff = Duration::from_millis(100);
        while !stop.is_cancelled() {
            let result = tokio::select! {
                r = self.read_until_error(&db, &mut last) => r,
                () = stop.cancelled() => return,
            };
            if let Err(e) = result {
                tracing::warn!(error = %e, retry_in = ?backoff, "live feed lost Redis");
                tokio::select! {
                    () = tokio::time::sleep(backoff) => {}
                    () = stop.cancelled() => return,
                }
                backoff = (backoff * 2).min(Duration::from_secs(2));
            } else {
                backoff = Duration::from_millis(100);
            }
        }
    }

    async fn read_until_error(&self, db: &Db, last: &mut Option<EntryId>) -> Result<(), DbError> {
        let mut conn = db
            .dedicated_connection(BLOCK + Duration::from_secs(3))
            .await?;
        let mut after = match *last {
            Some(id) => id,
            None => last_id(db).await?,
        };
        *last = Some(after);
        self.started
            .send_if_modified(|started| started.replace(after).is_none());
        tracing::debug!(%after, "live feed reading");
        loop {
            let reply: Value = redis::cmd("XREAD")
                .arg("COUNT")
                .arg(PAGE)
                .arg("BLOCK")
                .arg(BLOCK.as_millis() as u64)
                .arg("STREAMS")
                .arg(keys::EVENTS)
                .arg(after.to_string())
                .query_async(&mut conn)
                .await
                .map_err(|e| db.classify(e))?;
            for (id, entry) in xread_entries(reply) {
                after = id;
                *last = Some(id);
                // With nobody watching, skip the serializing too.
                if self.tx.receiver_count() > 0 {
                    let _ = self.tx.send(Arc::new(FeedItem::new(id, entry)));
                }
            }
        }
    }
}

/// The id of the newest entry, or 0-0 for an empty or missing stream.
pub async fn last_id(db: &Db) -> Result<EntryId, DbError> {
    let reply: Value = db
        .run(
            &mut Trace::off(),
            &["XREVRANGE", keys::EVENTS, "+", "-", "COUNT", "1"],
        )
        .await?;
    Ok(db::entries(reply)
        .first()
        .and_then(|(id, _)| id.parse().ok())
        .unwrap_or(EntryId::ZERO))
}

/// One page of entries strictly after `after`, oldest first.
pub async fn page_after(db: &Db, after: EntryId) -> Result<Vec<(EntryId, StreamEntry)>, DbError> {
    let start = format!("({after}");
    let count = PAGE.to_string();
    let reply: Value = db
        .run(
            &mut Trace::off(),
            &["XRANGE", keys::EVENTS, &start, "+", "COUNT", &count],
        )
        .await?;
    Ok(decode_entries(reply))
}

fn decode_entries(reply: Value) -> Vec<(EntryId, StreamEntry)> {
    db::entries(reply)
        .into_iter()
        .filter_map(|(id, fields)| {
            let parsed = id.parse().ok()?;
            Some((parsed, StreamEntry::decode(id, fields)))
        })
        .collect()
}

/// XREAD answers `[[key, [entries...]]]` (RESP2) or `{key: [entries...]}` (RESP3).
pub fn xread_entries(reply: Value) -> Vec<(EntryId, StreamEntry)> {
    match reply {
        Value::Array(streams) => streams
            .into_iter()
            .filter_map(|s| match s {
                Value::Array(kv) => kv.into_iter().nth(1),
                _ => None,
            })
            .flat_map(decode_entries)
            .collect(),
        Value::Map(streams) => streams
            .into_iter()
            .flat_map(|(_, v)| decode_entries(v))
            .collect(),
        _ => Vec::new(),
    }
}
