//! Reading streams by id range (`XRANGE`/`XREVRANGE`), one stream or several in one round
//! trip, each entry with its fields in the order they were written.

use crate::store::db::{Db, DbError};
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
