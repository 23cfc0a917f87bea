//! Where Redis's memory goes: `INFO memory`, `MEMORY USAGE` of each stream and read-model
//! key, the claims' indexes estimated from a sample, and stream lengths over time.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use redis::Value;
use shared::api::{IndexMemory, KeyMemory, LengthSample, MemoryResponse};

use crate::http::error::ApiError;
use crate::http::state::AppState;
use crate::store::keys;
use crate::store::reply;
use crate::store::trace::Trace;

/// Claim indexes measured for the estimate.
const SAMPLED: usize = 50;
/// Length samples shown: one every five seconds of the relay's ten minutes.
const LENGTH_EVERY: usize = 5;

pub fn router() -> Router<AppState> {
    Router::new().route("/memory", get(memory))
}

async fn memory(State(state): State<AppState>) -> Result<Json<MemoryResponse>, ApiError> {
    let mut trace = Trace::default();
    // On a cluster, the figures add up over its primaries.
    let info = state.db.info(&mut trace, Some("memory")).await?;
    let number = |name: &str| info.sum(name);

    let mut watched: Vec<String> = keys::known_streams(state.db.partitions);
    watched.push(keys::FAILED_LOG.to_owned());
    for partition in state.db.partitions.all() {
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
    let replies = state.db.pipeline(&mut trace, &usage).await?;
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
        state.db.pipeline(&mut trace, &counts).await?
    }
    .into_iter();
    let keys_memory = watched
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
        .collect();

    // The indexes: one list per claim; measure a few of each partition, multiply.
    let partitions: Vec<keys::Partition> = state.db.partitions.all().collect();
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
    let replies = state.db.pipeline(&mut trace, &reads).await?;
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
        state
            .db
            .pipeline(&mut trace, &usage)
            .await?
            .iter()
            .filter_map(|v| reply::int(Some(v)).map(|n| n as u64))
            .collect()
    };
    let estimated_bytes = match measured.len() as u64 {
        0 => 0,
        n => measured.iter().sum::<u64>() * lists / n,
    };

    let samples = state.trends.samples();
    let lengths = samples
        .iter()
        .rev()
        .step_by(LENGTH_EVERY)
        .rev()
        .map(|s| LengthSample {
            at_ms: s.at_ms,
            lengths: s.lengths.clone(),
        })
        .collect();
    Ok(Json(MemoryResponse {
        used_bytes: number("used_memory"),
        peak_bytes: number("used_memory_peak"),
        maxmemory_bytes: number("maxmemory"),
        maxmemory_policy: info
            .field("maxmemory_policy")
            .unwrap_or("unknown")
            .to_owned(),
        keys: keys_memory,
        indexes: IndexMemory {
            lists,
            sampled: measured.len() as u64,
            estimated_bytes,
        },
        lengths,
        redis: trace.into_commands(),
    }))
}
