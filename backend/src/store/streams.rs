//! Reading streams: by id range (`XRANGE`/`XREVRANGE`), one stream or several in one round
//! trip, and blocking reads (`XREAD`, `XREADGROUP`) on a connection of their own; each entry
//! with its fields in the order they were written.

use std::time::Duration;

use redis::Value;

use crate::store::db::{Connection, Db, DbError};
use crate::store::reply;
use crate::store::trace::Trace;

/// An entry: its id and its fields, in order.
pub type Entry = (String, Vec<(String, String)>);

/// Which entries a read takes: from `start` to `end` (ids, `-`, `+`, or `(id` for after one),
/// at most `count`, newest first when `rev`.
#[derive(Debug, Clone, Copy)]
pub struct Range<'a> {
    pub start: &'a str,
    pub end: &'a str,
    pub count: usize,
    pub rev: bool,
}

/// `range` of each stream, in the streams' order.
pub async fn range(
    db: &Db,
    trace: &mut Trace,
    streams: &[String],
    range: Range<'_>,
) -> Result<Vec<Vec<Entry>>, DbError> {
    let count = range.count.to_string();
    let reads: Vec<Vec<&str>> = streams
        .iter()
        .map(|stream| {
            if range.rev {
                vec!["XREVRANGE", stream, range.end, range.start, "COUNT", &count]
            } else {
                vec!["XRANGE", stream, range.start, range.end, "COUNT", &count]
            }
        })
        .collect();
    let replies = match reads.as_slice() {
        [one] => vec![db.run(trace, one).await?],
        all => db.pipeline(trace, all).await?,
    };
    Ok(replies.into_iter().map(reply::entries).collect())
}

/// One stream read forward from its first entry through `end`, a page at a time.
pub struct Pages {
    stream: String,
    end: String,
    page: usize,
    after: Option<String>,
    done: bool,
}

impl Pages {
    pub fn new(stream: String, end: &str, page: usize) -> Self {
        Self {
            stream,
            end: end.to_owned(),
            page,
            after: None,
            done: false,
        }
    }

    /// The next page; none once a page has come back short (the stream's end is reached).
    pub async fn next(
        &mut self,
        db: &Db,
        trace: &mut Trace,
    ) -> Result<Option<Vec<Entry>>, DbError> {
        if self.done {
            return Ok(None);
        }
        let start = self
            .after
            .as_ref()
            .map_or("-".to_owned(), |id| format!("({id}"));
        let range = Range {
            start: &start,
            end: &self.end,
            count: self.page,
            rev: false,
        };
        let page = self::range(db, trace, std::slice::from_ref(&self.stream), range)
            .await?
            .pop()
            .unwrap_or_default();
        self.done = page.len() < self.page;
        self.after = page.last().map(|(id, _)| id.clone()).or(self.after.take());
        Ok(Some(page))
    }

    /// Whether the stream's end has been reached.
    pub fn done(&self) -> bool {
        self.done
    }
}

/// A connection of its own for blocking reads, so a read that waits holds up nothing else.
pub struct BlockingReader {
    db: Db,
    conn: Connection,
}

impl BlockingReader {
    /// One whose reads may block up to `block` (a reply later than that, plus a margin, is a
    /// lost connection).
    pub async fn open(db: &Db, block: Duration) -> Result<Self, DbError> {
        let conn = db
            .dedicated_connection(block + Duration::from_secs(3))
            .await?;
        Ok(Self {
            db: db.clone(),
            conn,
        })
    }

    /// `XREAD COUNT count BLOCK block STREAMS stream after`: up to `count` entries after
    /// `after`, waiting up to `block` for the first.
    pub async fn read(
        &mut self,
        trace: &mut Trace,
        stream: &str,
        after: &str,
        count: usize,
        block: Duration,
    ) -> Result<Vec<Entry>, DbError> {
        let (count, block) = (count.to_string(), block.as_millis().to_string());
        self.run(
            trace,
            &[
                "XREAD", "COUNT", &count, "BLOCK", &block, "STREAMS", stream, after,
            ],
        )
        .await
    }

    /// `XREADGROUP GROUP group consumer COUNT count [BLOCK block] STREAMS stream from`: new
    /// entries for the group (`from` `>`) or the consumer's own pending ones (`0`).
    #[allow(clippy::too_many_arguments)]
    pub async fn read_group(
        &mut self,
        trace: &mut Trace,
        stream: &str,
        group: &str,
        consumer: &str,
        from: &str,
        count: usize,
        block: Option<Duration>,
    ) -> Result<Vec<Entry>, DbError> {
        let count = count.to_string();
        let block = block.map(|b| b.as_millis().to_string());
        let mut args = vec!["XREADGROUP", "GROUP", group, consumer, "COUNT", &count];
        if let Some(block) = &block {
            args.extend(["BLOCK", block.as_str()]);
        }
        args.extend(["STREAMS", stream, from]);
        self.run(trace, &args).await
    }

    async fn run(&mut self, trace: &mut Trace, args: &[&str]) -> Result<Vec<Entry>, DbError> {
        let cmd = crate::store::db::command(args);
        trace.record(&cmd);
        let reply: Value = cmd
            .query_async(&mut self.conn)
            .await
            .map_err(|e| self.db.classify(e))?;
        Ok(reply::read_entries(reply))
    }
}

/// The length of each stream (0 for one that is not there), in one round trip.
pub async fn lengths(db: &Db, trace: &mut Trace, streams: &[String]) -> Result<Vec<u64>, DbError> {
    let commands: Vec<Vec<&str>> = streams.iter().map(|s| vec!["XLEN", s.as_str()]).collect();
    Ok(db
        .pipeline(trace, &commands)
        .await?
        .into_iter()
        .map(|n| reply::int(Some(&n)).unwrap_or(0).max(0) as u64)
        .collect())
}

/// The id of the stream's newest entry, if it has one.
pub async fn last_id(db: &Db, trace: &mut Trace, stream: &str) -> Result<Option<String>, DbError> {
    let newest = db
        .run(trace, &["XREVRANGE", stream, "+", "-", "COUNT", "1"])
        .await?;
    Ok(reply::entries(newest).into_iter().next().map(|(id, _)| id))
}

/// The entry `id` of the stream, if it is there.
pub async fn entry(
    db: &Db,
    trace: &mut Trace,
    stream: &str,
    id: &str,
) -> Result<Option<Entry>, DbError> {
    let found = db.run(trace, &["XRANGE", stream, id, id]).await?;
    Ok(reply::entries(found).into_iter().next())
}

/// Each stream's first entry id and its last one up to `until`, in one round trip.
pub async fn ends(
    db: &Db,
    trace: &mut Trace,
    streams: &[String],
    until: &str,
) -> Result<Vec<(Option<String>, Option<String>)>, DbError> {
    let reads: Vec<Vec<&str>> = streams
        .iter()
        .flat_map(|s| {
            [
                vec!["XRANGE", s.as_str(), "-", "+", "COUNT", "1"],
                vec!["XREVRANGE", s.as_str(), until, "-", "COUNT", "1"],
            ]
        })
        .collect();
    let mut ids = db
        .pipeline(trace, &reads)
        .await?
        .into_iter()
        .map(|r| reply::entries(r).into_iter().next().map(|(id, _)| id));
    let mut ends = Vec::with_capacity(streams.len());
    while let (Some(first), Some(last)) = (ids.next(), ids.next()) {
        ends.push((first, last));
    }
    Ok(ends)
}
