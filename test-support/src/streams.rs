//! Raw stream reads and writes straight to Redis, as `redis-cli` would send them: `XADD` (one,
//! or many in a pipeline, with the fields of valid events), `XRANGE`, the newest id, `XLEN`, a
//! group's lag, Redis's output bytes, and the claim index checked against the stream.

use std::collections::HashMap;

use redis::aio::ConnectionLike;

/// An entry as `XRANGE` gives it: its id and its fields in order.
pub type RawEntry = (String, Vec<(String, String)>);

/// Every entry of the stream at `key`.
pub async fn xrange(conn: &mut impl ConnectionLike, key: &str) -> Vec<RawEntry> {
    let reply: redis::Value = redis::cmd("XRANGE")
        .arg(key)
        .arg("-")
        .arg("+")
        .query_async(conn)
        .await
        .unwrap();
    backend::store::reply::entries(reply)
}

/// The id of the newest entry of the stream at `key`; panics if it is empty.
pub async fn newest_id(conn: &mut impl ConnectionLike, key: &str) -> String {
    let newest: redis::Value = redis::cmd("XREVRANGE")
        .arg(key)
        .arg("+")
        .arg("-")
        .arg("COUNT")
        .arg(1)
        .query_async(conn)
        .await
        .unwrap();
    backend::store::reply::entries(newest)
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("{key} is empty"))
        .0
}

pub async fn xlen(conn: &mut impl ConnectionLike, key: &str) -> u64 {
    redis::cmd("XLEN").arg(key).query_async(conn).await.unwrap()
}

/// Appends an entry as `redis-cli XADD key * field value ...` would; returns its id.
pub async fn xadd(conn: &mut impl ConnectionLike, key: &str, fields: &[(&str, &str)]) -> String {
    let mut cmd = redis::cmd("XADD");
    cmd.arg(key).arg("*");
    for (k, v) in fields {
        cmd.arg(*k).arg(*v);
    }
    cmd.query_async(conn).await.unwrap()
}

/// An entry to append: its id (`*` for the next one) and its fields in order.
pub type NewEntry = (String, Vec<(String, String)>);

/// Appends `entries` to the stream at `key` in one pipeline; returns their ids.
pub async fn xadd_pipelined(
    conn: &mut impl ConnectionLike,
    key: &str,
    entries: impl IntoIterator<Item = NewEntry>,
) -> Vec<String> {
    let mut pipe = redis::pipe();
    for (id, fields) in entries {
        pipe.cmd("XADD").arg(key).arg(id).arg(&fields);
    }
    pipe.query_async(conn).await.unwrap()
}

fn owned(fields: &[(&str, &str)]) -> Vec<(String, String)> {
    fields
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// The fields of a valid `claim_submitted` (v1), as the relay writes one.
pub fn submitted_fields(
    claim_id: &str,
    customer_id: &str,
    amount: &str,
    description: &str,
) -> Vec<(String, String)> {
    owned(&[
        ("type", "claim_submitted"),
        ("v", "1"),
        ("claim_id", claim_id),
        ("customer_id", customer_id),
        ("timestamp", "2026-11-23T10:00:00.000Z"),
        ("amount", amount),
        ("description", description),
    ])
}

/// The fields of a valid `claim_note_added` (v2) by the adjuster Ada.
pub fn note_fields(claim_id: &str, customer_id: &str, note: &str) -> Vec<(String, String)> {
    owned(&[
        ("type", "claim_note_added"),
        ("v", "2"),
        ("claim_id", claim_id),
        ("customer_id", customer_id),
        ("timestamp", "2026-11-23T10:00:00.000Z"),
        ("adjuster", "Ada"),
        ("note", note),
    ])
}

/// Appends `count` entries `n <i>` (i from 0) to the stream at `key`, `pipeline` to a round
/// trip.
pub async fn xadd_numbered(
    conn: &mut impl ConnectionLike,
    key: &str,
    count: usize,
    pipeline: usize,
) {
    for batch in 0..count.div_ceil(pipeline) {
        let mut pipe = redis::pipe();
        for i in batch * pipeline..((batch + 1) * pipeline).min(count) {
            pipe.cmd("XADD").arg(key).arg("*").arg("n").arg(i).ignore();
        }
        let () = pipe.query_async(conn).await.unwrap();
    }
}

/// A valid `claim_submitted` appended to `claims:events` as another program (or `redis-cli`)
/// would: not in the claim index. Returns its id.
pub async fn xadd_submitted(conn: &mut impl ConnectionLike, claim_id: &str) -> String {
    let fields = submitted_fields(claim_id, "CUST-9", "42.00", "typed in redis-cli");
    let entry = ("*".to_owned(), fields);
    xadd_pipelined(conn, backend::store::keys::EVENTS, [entry])
        .await
        .remove(0)
}

/// A `claim_submitted` as the lab's own scripts append it (v0: no `v`, `submitted_at`, whole
/// units), with a plain `XADD`. Returns its id.
pub async fn xadd_v0_submitted(
    conn: &mut impl ConnectionLike,
    claim_id: &str,
    amount: &str,
) -> String {
    xadd(
        conn,
        backend::store::keys::EVENTS,
        &[
            ("type", "claim_submitted"),
            ("claim_id", claim_id),
            ("customer_id", "C"),
            ("amount", amount),
            ("submitted_at", "2026-11-21T09:00:00.000Z"),
        ],
    )
    .await
}

/// How many entries `group` has been handed and not acknowledged on the stream at `key`: the
/// count in `XPENDING key group`'s summary.
pub async fn pending(conn: &mut impl ConnectionLike, key: &str, group: &str) -> i64 {
    let summary: redis::Value = redis::cmd("XPENDING")
        .arg(key)
        .arg(group)
        .query_async(conn)
        .await
        .unwrap();
    match summary {
        redis::Value::Array(fields) => match fields.first() {
            Some(redis::Value::Int(n)) => *n,
            other => panic!("XPENDING's count is an integer: {other:?}"),
        },
        other => panic!("XPENDING answers an array: {other:?}"),
    }
}

/// `group`'s lag on the stream at `key` as `XINFO GROUPS` gives it (`None` when Redis does not
/// know it); panics if there is no such group.
pub async fn group_lag(conn: &mut impl ConnectionLike, key: &str, group: &str) -> Option<u64> {
    let groups: Vec<HashMap<String, redis::Value>> = redis::cmd("XINFO")
        .arg("GROUPS")
        .arg(key)
        .query_async(conn)
        .await
        .unwrap();
    let found = groups
        .into_iter()
        .find(|g| g.get("name") == Some(&redis::Value::BulkString(group.into())))
        .unwrap_or_else(|| panic!("no group {group} on {key}"));
    match found.get("lag") {
        Some(redis::Value::Int(n)) => Some(*n as u64),
        _ => None,
    }
}

/// Bytes the server has sent to all its clients so far (`INFO stats`).
pub async fn output_bytes(conn: &mut impl ConnectionLike) -> u64 {
    info_field(conn, "stats", "total_net_output_bytes")
        .await
        .parse()
        .expect("total_net_output_bytes is a number")
}

/// One field of the server's `INFO section` reply (`process_id` of `server`, `used_memory` of
/// `memory` ...); panics if it has none.
pub async fn info_field(conn: &mut impl ConnectionLike, section: &str, name: &str) -> String {
    let info: String = redis::cmd("INFO")
        .arg(section)
        .query_async(conn)
        .await
        .unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .map(|v| v.trim().to_owned())
        .unwrap_or_else(|| panic!("INFO {section} has {name}"))
}

/// A raw entry's field, or "" when it has none.
pub fn field<'a>(fields: &'a [(String, String)], name: &str) -> &'a str {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map_or("", |(_, v)| v.as_str())
}

/// `(entry id, claim id)` of every entry of the stream at `key`, in order.
pub async fn claim_ids(conn: &mut impl ConnectionLike, key: &str) -> Vec<(String, String)> {
    xrange(conn, key)
        .await
        .into_iter()
        .map(|(id, fields)| {
            let claim = field(&fields, "claim_id").to_owned();
            (id, claim)
        })
        .collect()
}

/// Nothing half-written: each claim's index lists exactly its entries of `claims:events`, in
/// stream order. Returns them, by claim id.
pub async fn assert_every_entry_indexed(
    conn: &mut impl ConnectionLike,
) -> HashMap<String, Vec<String>> {
    let mut by_claim = HashMap::<String, Vec<String>>::new();
    for (id, fields) in xrange(conn, backend::store::keys::EVENTS).await {
        by_claim
            .entry(field(&fields, "claim_id").to_owned())
            .or_default()
            .push(id);
    }
    for (claim, ids) in &by_claim {
        let index: Vec<String> = redis::cmd("LRANGE")
            .arg(backend::store::keys::Partition::ONLY.history(claim))
            .arg(0)
            .arg(-1)
            .query_async(conn)
            .await
            .unwrap();
        assert_eq!(&index, ids, "index of {claim}");
    }
    by_claim
}
