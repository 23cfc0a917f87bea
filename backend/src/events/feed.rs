//! The live feed of the claims' events: one blocking `XREAD` loop per partition in each relay
//! (one in all with one partition), fanned out to every WebSocket client through a bounded
//! broadcast channel. Whoever appends (this relay, another relay, `redis-cli`), the entry
//! reaches every client once, in order within its partition; across partitions there is no
//! order to keep.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::Utf8Bytes;
use shared::api::StreamEntry;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use crate::store::cursor::Cursor;
use crate::store::db::{Db, DbError};
use crate::store::entry_id::EntryId;
use crate::store::keys::Partition;
use crate::store::streams::{self, BlockingReader};
use crate::store::trace::Trace;

/// How long one `XREAD` blocks before it loops (and notices shutdown).
const BLOCK: Duration = Duration::from_millis(2_000);
/// Entries one `XREAD` or catch-up page returns at most.
pub const PAGE: usize = 500;

/// One entry, serialized once for all clients.
#[derive(Debug)]
pub struct FeedItem {
    pub partition: Partition,
    pub id: EntryId,
    /// The entry's JSON (a `StreamEntry`), framed by [`Frame`]; cloning it shares the bytes.
    pub json: Utf8Bytes,
}

impl FeedItem {
    pub fn new(partition: Partition, id: EntryId, entry: StreamEntry) -> Self {
        Self {
            partition,
            id,
            json: entry_json(&entry),
        }
    }
}

/// An entry as JSON, the piece a [`Frame`] is made of.
pub fn entry_json(entry: &StreamEntry) -> Utf8Bytes {
    serde_json::to_string(entry)
        .expect("entries serialize")
        .into()
}

/// Entries, already serialized, gathered into one WebSocket frame: a lone entry as
/// `ServerMessage::Entry`, several as `ServerMessage::Entries`, in the order pushed. Each
/// entry is serialized once for every client; a frame only joins the pieces.
#[derive(Debug, Default)]
pub struct Frame {
    pieces: Vec<Utf8Bytes>,
    bytes: usize,
}

impl Frame {
    /// Entries one frame carries at most (a catch-up page fits in one).
    pub const MAX_ENTRIES: usize = PAGE;
    /// Bytes of entries one frame carries at most, unless a single entry is larger.
    pub const MAX_BYTES: usize = 256 * 1024;

    /// Whether `json` fits in the frame within both bounds; an empty frame takes anything.
    pub fn fits(&self, json: &str) -> bool {
        self.pieces.is_empty()
            || (self.pieces.len() < Self::MAX_ENTRIES && self.bytes + json.len() <= Self::MAX_BYTES)
    }

    /// Whether no further entry fits.
    pub fn is_full(&self) -> bool {
        self.pieces.len() >= Self::MAX_ENTRIES || self.bytes >= Self::MAX_BYTES
    }

    pub fn is_empty(&self) -> bool {
        self.pieces.is_empty()
    }

    pub fn len(&self) -> usize {
        self.pieces.len()
    }

    pub fn push(&mut self, json: Utf8Bytes) {
        self.bytes += json.len();
        self.pieces.push(json);
    }

    /// The frame's text, leaving the frame empty for the next one. Pieces are serde_json's
    /// output, so joining them with the message's tag around gives the same JSON
    /// `serde_json` writes for the `ServerMessage` (tested below).
    pub fn take(&mut self) -> Utf8Bytes {
        let pieces = std::mem::take(&mut self.pieces);
        self.bytes = 0;
        if let [one] = pieces.as_slice() {
            return format!(r#"{{"kind":"entry","entry":{}}}"#, one.as_str()).into();
        }
        let size = pieces.iter().map(|p| p.len() + 1).sum::<usize>() + 32;
        let mut text = String::with_capacity(size);
        text.push_str(r#"{"kind":"entries","entries":["#);
        for (i, piece) in pieces.iter().enumerate() {
            if i > 0 {
                text.push(',');
            }
            text.push_str(piece.as_str());
        }
        text.push_str("]}");
        text.into()
    }
}

#[derive(Clone)]
pub struct Feed {
    tx: broadcast::Sender<Arc<FeedItem>>,
    /// Where the feed first read after in every partition, once it has. A client
    /// subscribing before that could catch up past entries the feed then starts after, and
    /// never see them.
    started: Arc<tokio::sync::watch::Sender<Option<Cursor>>>,
    /// A test's hold on the next subscriber, between subscribing and catching up.
    #[cfg(feature = "test-support")]
    seam: Arc<std::sync::Mutex<Option<SeamGate>>>,
}

/// Holds one subscriber at the seam: subscribed to the live feed, not yet caught up. Tests
/// append entries there, so they reach the client both ways and must be sent once.
#[cfg(feature = "test-support")]
#[derive(Debug)]
pub struct SeamGate {
    subscribed: tokio::sync::oneshot::Sender<()>,
    proceed: tokio::sync::oneshot::Receiver<()>,
}

/// The test's side of a [`SeamGate`].
#[cfg(feature = "test-support")]
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
            #[cfg(feature = "test-support")]
            seam: Arc::default(),
        }
    }

    /// Stops the next subscriber right after it subscribed, until the test lets it go.
    #[cfg(feature = "test-support")]
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
        #[cfg(feature = "test-support")]
        {
            let gate = self.seam.lock().expect("seam lock").take();
            if let Some(gate) = gate {
                let _ = gate.subscribed.send(());
                let _ = gate.proceed.await;
            }
        }
        Some(receiver)
    }

    /// Where the feed started reading, once it has.
    pub fn started_after(&self) -> Option<Cursor> {
        self.started.borrow().clone()
    }

    /// Reads new entries of every partition until `stop` is cancelled.
    pub async fn run(self, db: Db, stop: CancellationToken) {
        let starts = Arc::new(std::sync::Mutex::new(vec![
            None;
            db.partitions.count() as usize
        ]));
        let readers: Vec<_> = db
            .partitions
            .all()
            .map(|partition| {
                let (feed, db, stop, starts) =
                    (self.clone(), db.clone(), stop.clone(), starts.clone());
                tokio::spawn(async move { feed.follow(db, partition, stop, starts).await })
            })
            .collect();
        for reader in readers {
            let _ = reader.await;
        }
    }

    /// Reads one partition's new entries until `stop` is cancelled, reconnecting with
    /// backoff while Redis is away and resuming after the last entry it published.
    async fn follow(
        self,
        db: Db,
        partition: Partition,
        stop: CancellationToken,
        starts: Arc<std::sync::Mutex<Vec<Option<EntryId>>>>,
    ) {
        let mut last: Option<EntryId> = None;
        let mut backoff = Duration::from_millis(100);
        while !stop.is_cancelled() {
            let result = tokio::select! {
                r = self.read_until_error(&db, partition, &mut last, &starts) => r,
                () = stop.cancelled() => return,
            };
            if let Err(e) = result {
                tracing::warn!(error = %e, partition = partition.index(), retry_in = ?backoff, "live feed lost Redis");
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

    async fn read_until_error(
        &self,
        db: &Db,
        partition: Partition,
        last: &mut Option<EntryId>,
        starts: &std::sync::Mutex<Vec<Option<EntryId>>>,
    ) -> Result<(), DbError> {
        let mut reader = BlockingReader::open(db, BLOCK).await?;
        let stream = partition.events();
        let mut after = match *last {
            Some(id) => id,
            None => last_id(db, partition).await?,
        };
        *last = Some(after);
        // Started once every partition's reader knows where it starts.
        let started: Option<Vec<EntryId>> = {
            let mut starts = starts.lock().expect("starts lock");
            starts[partition.index() as usize].get_or_insert(after);
            starts.iter().copied().collect()
        };
        if let Some(at) = started {
            let cursor = Cursor::from_ids(db.partitions, at);
            self.started
                .send_if_modified(|started| started.replace(cursor).is_none());
        }
        tracing::debug!(%after, partition = partition.index(), "live feed reading");
        loop {
            let read = reader
                .read(&mut Trace::off(), &stream, &after.to_string(), PAGE, BLOCK)
                .await?;
            for (id, entry) in decode(read) {
                after = id;
                *last = Some(id);
                // With nobody watching, skip the serializing too.
                if self.tx.receiver_count() > 0 {
                    let entry = tagged(partition, entry);
                    let _ = self.tx.send(Arc::new(FeedItem::new(partition, id, entry)));
                }
            }
        }
    }
}

/// Says which partition an entry is in, when there are several.
pub fn tagged(partition: Partition, mut entry: StreamEntry) -> StreamEntry {
    entry.partition = partition.shown();
    entry
}

/// The id of the partition's newest entry, or 0-0 for an empty or missing stream.
pub async fn last_id(db: &Db, partition: Partition) -> Result<EntryId, DbError> {
    let newest = streams::last_id(db, &mut Trace::off(), &partition.events()).await?;
    Ok(newest
        .and_then(|id| id.parse().ok())
        .unwrap_or(EntryId::ZERO))
}

/// The newest entry of every partition.
pub async fn last_ids(db: &Db) -> Result<Cursor, DbError> {
    let mut at = Vec::new();
    for partition in db.partitions.all() {
        at.push(last_id(db, partition).await?);
    }
    Ok(Cursor::from_ids(db.partitions, at))
}

/// Entries in every partition's events stream together.
pub async fn length(db: &Db, trace: &mut Trace) -> Result<u64, DbError> {
    let events: Vec<String> = db.partitions.all().map(Partition::events).collect();
    Ok(streams::lengths(db, trace, &events)
        .await?
        .into_iter()
        .sum())
}

/// One page of the partition's entries strictly after `after`, oldest first.
pub async fn page_after(
    db: &Db,
    partition: Partition,
    after: EntryId,
) -> Result<Vec<(EntryId, StreamEntry)>, DbError> {
    let start = format!("({after}");
    let range = streams::Range {
        start: &start,
        end: "+",
        count: PAGE,
        rev: false,
    };
    let page = streams::range(db, &mut Trace::off(), &[partition.events()], range)
        .await?
        .pop()
        .unwrap_or_default();
    Ok(decode(page)
        .into_iter()
        .map(|(id, entry)| (id, tagged(partition, entry)))
        .collect())
}

/// Entries as read, decoded, with their ids parsed (an entry whose id does not parse, which
/// Redis never sends, is left out).
pub fn decode(entries: Vec<(String, Vec<(String, String)>)>) -> Vec<(EntryId, StreamEntry)> {
    entries
        .into_iter()
        .filter_map(|(id, fields)| {
            let parsed = id.parse().ok()?;
            Some((parsed, StreamEntry::decode(id, fields)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use shared::api::ServerMessage;

    use super::*;

    fn entry(id: &str, value: &str) -> StreamEntry {
        StreamEntry::decode(id.into(), vec![("note".into(), value.into())])
    }

    fn parsed(frame: &mut Frame) -> ServerMessage {
        serde_json::from_str(frame.take().as_str()).expect("a frame parses")
    }

    #[test]
    fn a_lone_entry_is_framed_as_the_entry_message_serde_writes() {
        let e = entry("1-0", "a \"quoted\" ]} value");
        let mut frame = Frame::default();
        frame.push(entry_json(&e));
        let text = frame.take();
        assert_eq!(
            text.as_str(),
            serde_json::to_string(&ServerMessage::Entry { entry: e }).unwrap()
        );
        assert!(frame.is_empty());
    }

    #[test]
    fn several_entries_are_one_batch_in_the_order_pushed() {
        let entries: Vec<StreamEntry> = (1..=3).map(|n| entry(&format!("{n}-0"), "x")).collect();
        let mut frame = Frame::default();
        for e in &entries {
            frame.push(entry_json(e));
        }
        assert_eq!(parsed(&mut frame), ServerMessage::Entries { entries });
    }

    #[test]
    fn a_frame_is_bounded_in_entries_and_bytes_but_takes_one_entry_of_any_size() {
        let mut frame = Frame::default();
        let small = entry_json(&entry("1-0", "x"));
        for _ in 0..Frame::MAX_ENTRIES {
            assert!(frame.fits(&small));
            frame.push(small.clone());
        }
        assert!(frame.is_full());
        assert!(!frame.fits(&small));
        frame.take();

        let big = entry_json(&entry("2-0", &"y".repeat(Frame::MAX_BYTES)));
        assert!(frame.fits(&big), "an empty frame takes any entry");
        frame.push(big);
        assert!(frame.is_full());
        assert!(!frame.fits(&small));
        assert_eq!(frame.len(), 1);
    }
}
