//! Consumer groups as Redis reports them (`XINFO GROUPS`, `XINFO CONSUMERS`, the `XPENDING`
//! summary), read into types; creating a group idempotently, and removing a consumer only when
//! it owns no pending entries. It knows no group of the relay's by name.

use redis::Value;
use redis::streams::StreamInfoGroupsReply;

use crate::store::db::{Db, DbError, Refusal};
use crate::store::keys;
use crate::store::reply::{self, get, int, rows};
use crate::store::trace::Trace;

/// One group of one stream, from `XINFO GROUPS`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupInfo {
    pub name: String,
    pub consumers: u64,
    /// Entries delivered and not yet acknowledged.
    pub pending: u64,
    pub last_delivered_id: String,
    /// Entries the group has read; `None` when Redis cannot tell.
    pub entries_read: Option<u64>,
    /// Entries not yet delivered; `None` when Redis cannot tell (after an `XGROUP SETID`
    /// without `ENTRIESREAD`, or past a deleted entry).
    pub lag: Option<u64>,
}

impl GroupInfo {
    /// Each group in an `XINFO GROUPS` reply (say, one of a pipeline's), read by redis-rs's
    /// own `StreamInfoGroupsReply`; none from a reply of another shape.
    pub fn all_in(reply: &Value) -> Vec<Self> {
        let Ok(reply) = redis::from_redis_value::<StreamInfoGroupsReply>(reply.clone()) else {
            return Vec::new();
        };
        reply
            .groups
            .into_iter()
            .map(|g| Self {
                name: g.name,
                consumers: g.consumers as u64,
                pending: g.pending as u64,
                last_delivered_id: g.last_delivered_id,
                entries_read: g.entries_read.map(|n| n as u64),
                lag: g.lag.map(|n| n as u64),
            })
            .collect()
    }
}

/// One consumer of a group, from `XINFO CONSUMERS`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConsumerInfo {
    pub name: String,
    /// Entries delivered to it and not yet acknowledged.
    pub pending: u64,
    /// Since it last read or claimed anything.
    pub idle_ms: u64,
    /// Since it last read something successfully (Redis 7.2 and later); -1 when never.
    pub inactive_ms: Option<i64>,
}

impl ConsumerInfo {
    /// Each consumer in an `XINFO CONSUMERS` reply (say, one of a pipeline's).
    pub fn all_in(reply: &Value) -> Vec<Self> {
        rows(reply)
            .into_iter()
            .filter_map(|c| {
                Some(Self {
                    name: get(&c, "name").and_then(reply::text)?,
                    pending: int(get(&c, "pending")).unwrap_or(0).max(0) as u64,
                    idle_ms: int(get(&c, "idle")).unwrap_or(0).max(0) as u64,
                    inactive_ms: int(get(&c, "inactive")),
                })
            })
            .collect()
    }
}

/// What a group holds pending, from the summary form of `XPENDING`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PendingSummary {
    pub count: u64,
    /// The smallest pending id; none when nothing is pending.
    pub oldest: Option<String>,
    /// Each consumer holding entries, with how many.
    pub consumers: Vec<(String, u64)>,
}

/// One entry of a group's pending list, from the extended form of `XPENDING`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingEntry {
    pub id: String,
    pub consumer: String,
    pub idle_ms: u64,
    /// How many times it has been delivered.
    pub deliveries: u64,
}

impl PendingEntry {
    /// Each entry in an extended `XPENDING` reply (say, one of a pipeline's).
    pub fn all_in(reply: &Value) -> Vec<Self> {
        let Value::Array(rows) = reply else {
            return Vec::new();
        };
        rows.iter()
            .filter_map(|row| {
                let Value::Array(cols) = row else {
                    return None;
                };
                let num = |v: Option<&Value>| u64::try_from(int(v)?).ok();
                Some(Self {
                    id: reply::text(cols.first()?)?,
                    consumer: reply::text(cols.get(1)?)?,
                    idle_ms: num(cols.get(2))?,
                    deliveries: num(cols.get(3))?,
                })
            })
            .collect()
    }
}

/// The stream's groups; none when the stream does not exist yet.
pub async fn groups(db: &Db, trace: &mut Trace, stream: &str) -> Result<Vec<GroupInfo>, DbError> {
    match db
        .run::<Value, _>(trace, &["XINFO", "GROUPS", stream])
        .await
    {
        Ok(reply) => Ok(GroupInfo::all_in(&reply)),
        Err(e) if e.refusal() == Some(Refusal::NoSuchKey) => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

/// The group's consumers (`NOGROUP` when the stream or the group does not exist).
pub async fn consumers(
    db: &Db,
    trace: &mut Trace,
    stream: &str,
    group: &str,
) -> Result<Vec<ConsumerInfo>, DbError> {
    let reply: Value = db
        .run(trace, &["XINFO", "CONSUMERS", stream, group])
        .await?;
    Ok(ConsumerInfo::all_in(&reply))
}

/// The group's first `count` pending entries, of one consumer or all.
pub async fn pending_entries(
    db: &Db,
    trace: &mut Trace,
    stream: &str,
    group: &str,
    count: usize,
    consumer: Option<&str>,
) -> Result<Vec<PendingEntry>, DbError> {
    let count = count.to_string();
    let mut args = vec!["XPENDING", stream, group, "-", "+", &count];
    args.extend(consumer);
    let reply: Value = db.run(trace, &args).await?;
    Ok(PendingEntry::all_in(&reply))
}

/// Moves up to `count` entries pending at least `min_idle_ms` to `consumer` (`XAUTOCLAIM ...
/// JUSTID`), scanning from `cursor`: the cursor to go on from ("0-0" when the scan reached the
/// end, none on an odd reply), and how many moved.
#[allow(clippy::too_many_arguments)]
pub async fn autoclaim(
    db: &Db,
    trace: &mut Trace,
    stream: &str,
    group: &str,
    consumer: &str,
    min_idle_ms: u64,
    cursor: &str,
    count: usize,
) -> Result<(Option<String>, usize), DbError> {
    let (idle, count) = (min_idle_ms.to_string(), count.to_string());
    let reply: Value = db
        .run(
            trace,
            &[
                "XAUTOCLAIM",
                stream,
                group,
                consumer,
                &idle,
                cursor,
                "COUNT",
                &count,
                "JUSTID",
            ],
        )
        .await?;
    Ok(match reply {
        Value::Array(parts) => (
            parts.first().and_then(reply::text),
            match parts.get(1) {
                Some(Value::Array(ids)) => ids.len(),
                _ => 0,
            },
        ),
        _ => (None, 0),
    })
}

/// The group's pending entries in sum: how many, and the oldest.
pub async fn pending_summary(
    db: &Db,
    trace: &mut Trace,
    stream: &str,
    group: &str,
) -> Result<PendingSummary, DbError> {
    let summary: Value = db.run(trace, &["XPENDING", stream, group]).await?;
    let Value::Array(parts) = summary else {
        return Ok(PendingSummary::default());
    };
    let consumers = match parts.get(3) {
        Some(Value::Array(consumers)) => consumers
            .iter()
            .filter_map(|c| match c {
                Value::Array(pair) => {
                    Some((reply::text(pair.first()?)?, int(pair.get(1))?.max(0) as u64))
                }
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    Ok(PendingSummary {
        count: int(parts.first()).unwrap_or(0).max(0) as u64,
        oldest: parts.get(1).and_then(reply::text),
        consumers,
    })
}

/// The head of a partition's events stream, with its dead letters' count.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Head {
    pub length: u64,
    pub last_id: Option<String>,
    pub dead_letters: u64,
}

/// `stream`'s length and newest id, and `failed`'s length, in one round trip.
pub async fn head(db: &Db, trace: &mut Trace, stream: &str, failed: &str) -> Result<Head, DbError> {
    let replies = db
        .pipeline(
            trace,
            &[
                vec!["XLEN", stream],
                vec!["XREVRANGE", stream, "+", "-", "COUNT", "1"],
                vec!["XLEN", failed],
            ],
        )
        .await?;
    Ok(Head {
        length: int(replies.first()).unwrap_or(0).max(0) as u64,
        last_id: replies.get(1).and_then(|v| {
            reply::entries(v.clone())
                .into_iter()
                .next()
                .map(|(id, _)| id)
        }),
        dead_letters: int(replies.get(2)).unwrap_or(0).max(0) as u64,
    })
}

/// One group's consumers, its first pending entries, the oldest entry it has not been given
/// yet, and its shared controls.
#[derive(Debug, Clone, Default)]
pub struct Details {
    pub consumers: Vec<ConsumerInfo>,
    pub pending: Vec<PendingEntry>,
    /// The id of the first entry after the group's last-delivered id; none when the group
    /// has had everything.
    pub next_undelivered: Option<String>,
    pub state: crate::store::group_state::Shared,
}

/// [`GroupInfo::name`]'s [`Details`] on `stream`, at most `pending_shown` pending entries, in
/// one round trip.
pub async fn details(
    db: &Db,
    trace: &mut Trace,
    stream: &str,
    group: &GroupInfo,
    pending_shown: usize,
) -> Result<Details, DbError> {
    let count = pending_shown.to_string();
    let controls = keys::controls(&group.name);
    let after = format!("({}", group.last_delivered_id);
    let name = group.name.as_str();
    let replies = db
        .pipeline(
            trace,
            &[
                vec!["XINFO", "CONSUMERS", stream, name],
                vec!["XPENDING", stream, name, "-", "+", count.as_str()],
                vec!["HGETALL", controls.as_str()],
                vec!["XRANGE", stream, after.as_str(), "+", "COUNT", "1"],
            ],
        )
        .await?;
    let fields: std::collections::HashMap<String, String> = replies
        .get(2)
        .and_then(|v| redis::from_redis_value(v.clone()).ok())
        .unwrap_or_default();
    Ok(Details {
        consumers: replies
            .first()
            .map(ConsumerInfo::all_in)
            .unwrap_or_default(),
        pending: replies.get(1).map(PendingEntry::all_in).unwrap_or_default(),
        next_undelivered: replies.get(3).and_then(|v| {
            reply::entries(v.clone())
                .into_iter()
                .next()
                .map(|(id, _)| id)
        }),
        state: crate::store::group_state::Shared::from_fields(&fields),
    })
}

/// Creates `group` at the start of `stream` (and the stream if missing); `true` if it did not
/// exist.
pub async fn create_at_start(db: &Db, stream: &str, group: &str) -> Result<bool, DbError> {
    let created = db
        .run::<(), _>(
            &mut Trace::off(),
            &["XGROUP", "CREATE", stream, group, "0", "MKSTREAM"],
        )
        .await;
    match created {
        Ok(()) => Ok(true),
        Err(e) if e.refusal() == Some(Refusal::BusyGroup) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Acknowledges `ids` for `group` on `stream` (`XACK`).
pub async fn ack(
    db: &Db,
    trace: &mut Trace,
    stream: &str,
    group: &str,
    ids: &[String],
) -> Result<(), DbError> {
    let mut xack = vec!["XACK", stream, group];
    xack.extend(ids.iter().map(String::as_str));
    db.run::<u64, _>(trace, &xack).await.map(drop)
}

/// Creates `group` on every partition's stream (and the stream if missing), reading from new
/// entries. A group that already exists (BUSYGROUP) is left as it is, with its cursor and
/// pending entries.
pub async fn ensure(db: &Db, group: &str) -> Result<(), DbError> {
    for partition in db.partitions.all() {
        let created: Result<String, DbError> = db
            .run(
                &mut Trace::off(),
                &[
                    "XGROUP",
                    "CREATE",
                    &partition.events(),
                    group,
                    "$",
                    "MKSTREAM",
                ],
            )
            .await;
        match created {
            Ok(_) => tracing::info!(
                group,
                partition = partition.index(),
                "created consumer group"
            ),
            Err(e) if e.refusal() == Some(Refusal::BusyGroup) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Removes a consumer from the group only if it owns no pending entries, atomically: a
/// `DELCONSUMER` with entries pending would drop them from the group's pending list for good.
static FORGET_IF_IDLE: std::sync::LazyLock<redis::Script> = std::sync::LazyLock::new(|| {
    redis::Script::new(
        r"
-- KEYS: stream; ARGV: group, consumer.
-- -1: it still owns entries; else DELCONSUMER's answer.
if #redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', 1, ARGV[2]) > 0 then
  return -1
end
return redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], ARGV[2])
",
    )
});

/// Whether `consumer` is gone from `group` in every partition (removed now, or never there).
/// A consumer that still owns pending entries stays until the others have claimed them.
pub async fn forget_if_idle(db: &Db, group: &str, consumer: &str) -> Result<bool, DbError> {
    let mut gone = true;
    for partition in db.partitions.all() {
        let mut invocation = FORGET_IF_IDLE.key(partition.events());
        invocation.arg(group).arg(consumer);
        gone &= db.script::<i64>(&invocation).await? >= 0;
    }
    if gone {
        // Its pause acknowledgement goes with it (a hash of the group's, in another slot).
        db.run::<i64, _>(&mut Trace::off(), &["HDEL", &keys::parked(group), consumer])
            .await?;
        tracing::info!(
            group,
            consumer,
            "removed a departed consumer from the group"
        );
    }
    Ok(gone)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(s: &str) -> Value {
        Value::BulkString(s.as_bytes().to_vec())
    }

    #[test]
    fn a_group_reads_from_resp2_pairs_with_unknown_lag_as_none() {
        let reply = Value::Array(vec![Value::Array(vec![
            bulk("name"),
            bulk("claims-analytics"),
            bulk("consumers"),
            Value::Int(2),
            bulk("pending"),
            Value::Int(3),
            bulk("last-delivered-id"),
            bulk("1-5"),
            bulk("entries-read"),
            Value::Int(5),
            bulk("lag"),
            Value::Nil,
        ])]);
        assert_eq!(
            GroupInfo::all_in(&reply),
            vec![GroupInfo {
                name: "claims-analytics".into(),
                consumers: 2,
                pending: 3,
                last_delivered_id: "1-5".into(),
                entries_read: Some(5),
                lag: None,
            }]
        );
    }

    #[test]
    fn pending_entries_read_from_the_extended_xpending_form() {
        let reply = Value::Array(vec![
            Value::Array(vec![
                bulk("1-1"),
                bulk("c1"),
                Value::Int(1500),
                Value::Int(3),
            ]),
            Value::Array(vec![bulk("1-2"), bulk("c2")]),
        ]);
        assert_eq!(
            PendingEntry::all_in(&reply),
            vec![PendingEntry {
                id: "1-1".into(),
                consumer: "c1".into(),
                idle_ms: 1500,
                deliveries: 3,
            }]
        );
    }

    #[test]
    fn a_consumer_reads_from_a_resp3_map() {
        let reply = Value::Array(vec![Value::Map(vec![
            (bulk("name"), bulk("worker-1")),
            (bulk("pending"), Value::Int(4)),
            (bulk("idle"), Value::Int(1200)),
            (bulk("inactive"), Value::Int(-1)),
        ])]);
        assert_eq!(
            ConsumerInfo::all_in(&reply),
            vec![ConsumerInfo {
                name: "worker-1".into(),
                pending: 4,
                idle_ms: 1200,
                inactive_ms: Some(-1),
            }]
        );
    }
}
