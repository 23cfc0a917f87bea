//! Where Redis's memory goes, key by key: `MEMORY USAGE` and the length of each key the relay
//! keeps, and the claims' indexes (one list per claim) estimated from a sample.

use redis::Value;
use shared::api::{IndexMemory, KeyMemory};

use crate::store::db::{Db, DbError};
use crate::store::keys;
use crate::store::reply;
use crate::store::trace::Trace;

/// Claim indexes measured for the estimate.
const SAMPLED: usize = 50;

/// Each stream and read-model key of the relay: its bytes, and its length by its type.
pub async fn keys(db: &Db, trace: &mut Trace) -> Result<Vec<KeyMemory>, DbError> {
    let mut watched: Vec<String> = keys::known_streams(db.partitions);
    watched.extend([keys::FAILED_LOG.to_owned(), keys::COMMANDS.to_owned()]);
    for partition in db.partitions.all() {
        watched.extend(partition.model(keys::Model::Live).all_keys());
    }
    let usage: Vec<Vec<String>> = watched
        .iter()
        .flat_map(|k| {
            [
                vec!["MEMORY".to_owned(), "USAGE".to_owned(), k.clone()],
                vec!["TYPE".to_owned(), k.clone()],
            ]
        })
        .collect();
    let replies = db.pipeline(trace, &usage).await?;
    let mut lengths = Vec::new();
    for (key, pair) in watched.iter().zip(replies.chunks(2)) {
        let length = match reply::text(&pair[1]).as_deref() {
            Some("stream") => Some(vec!["XLEN", key.as_str()]),
            Some("hash") => Some(vec!["HLEN", key.as_str()]),
            Some("zset") => Some(vec!["ZCARD", key.as_str()]),
            Some("list") => Some(vec!["LLEN", key.as_str()]),
            _ => None,
        };
        lengths.push(length);
    }
    let counts: Vec<Vec<&str>> = lengths.iter().flatten().cloned().collect();
    let mut counted = if counts.is_empty() {
        Vec::new()
    } else {
        db.pipeline(trace, &counts).await?
    }
    .into_iter();
    Ok(watched
        .iter()
        .zip(replies.chunks(2))
        .zip(&lengths)
        .map(|((key, pair), length)| KeyMemory {
            key: key.clone(),
            bytes: reply::int(pair.first()).map(|b| b as u64),
            length: length
                .as_ref()
                .and_then(|_| counted.next())
                .and_then(|v| reply::int(Some(&v)))
                .map(|n| n as u64),
        })
        .collect())
}

/// The claims' indexes: how many there are, and their bytes estimated from a few measured in
/// each partition.
pub async fn indexes(db: &Db, trace: &mut Trace) -> Result<IndexMemory, DbError> {
    // The indexes: one list per claim; measure a few of each partition, multiply.
    let partitions: Vec<keys::Partition> = db.partitions.all().collect();
    let sets: Vec<String> = partitions
        .iter()
        .map(|p| p.model(keys::Model::Live).all_claims())
        .collect();
    let sample_n = (SAMPLED / partitions.len()).max(1).to_string();
    let reads: Vec<Vec<&str>> = sets
        .iter()
        .flat_map(|all| {
            [
                vec!["ZCARD", all.as_str()],
                vec!["ZRANDMEMBER", all.as_str(), sample_n.as_str()],
            ]
        })
        .collect();
    let replies = db.pipeline(trace, &reads).await?;
    let mut lists = 0;
    let mut histories: Vec<String> = Vec::new();
    for (partition, pair) in partitions.iter().zip(replies.chunks(2)) {
        lists += reply::int(pair.first()).unwrap_or(0) as u64;
        if let Some(Value::Array(ids)) = pair.get(1) {
            histories.extend(
                ids.iter()
                    .filter_map(reply::text)
                    .map(|c| partition.history(&c)),
            );
        }
    }
    let usage: Vec<Vec<&str>> = histories
        .iter()
        .map(|h| vec!["MEMORY", "USAGE", h.as_str()])
        .collect();
    let measured: Vec<u64> = if usage.is_empty() {
        Vec::new()
    } else {
        db.pipeline(trace, &usage)
            .await?
            .iter()
            .filter_map(|v| reply::int(Some(v)).map(|n| n as u64))
            .collect()
    };
    let estimated_bytes = match measured.len() as u64 {
        0 => 0,
        n => measured.iter().sum::<u64>() * lists / n,
    };
    Ok(IndexMemory {
        lists,
        sampled: measured.len() as u64,
        estimated_bytes,
    })
}
