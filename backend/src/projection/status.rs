//! The projection as the API reports it: its position, how far behind the stream it is, the
//! rebuild's progress, and the query models' heads.

use redis::Value;
use shared::api::{ProjectionPosition, ProjectionsResponse, RebuildProgress};

use super::model;
use crate::db::{self, Db, DbError};
use crate::keys;
use crate::redis_cli::Trace;
use crate::workers::stats;

/// Customers and activity items shown.
const SHOWN: usize = 20;

/// The position, and the group's lag as XINFO GROUPS reports it.
pub async fn behind(db: &Db, trace: &mut Trace) -> Result<ProjectionPosition, DbError> {
    let replies = db
        .pipeline(
            trace,
            &[
                vec!["HGET", keys::projection().as_str(), "position"],
                vec!["XINFO", "GROUPS", keys::EVENTS],
            ],
        )
        .await;
    let replies = match replies {
        Ok(r) => r,
        // No stream yet, so no group: nothing to be behind on.
        Err(DbError::Redis(e)) if e.to_string().contains("no such key") => {
            return Ok(ProjectionPosition::default());
        }
        Err(e) => return Err(e),
    };
    let lag = stats::rows(&replies[1])
        .into_iter()
        .find(|g| {
            stats::get(g, "name").and_then(db::text).as_deref() == Some(keys::PROJECTIONS_GROUP)
        })
        .and_then(|g| {
            let lag = stats::int(stats::get(&g, "lag"))?;
            let pending = stats::int(stats::get(&g, "pending")).unwrap_or(0);
            Some((lag + pending) as u64)
        });
    Ok(ProjectionPosition {
        position: db::text(&replies[0]),
        behind: lag,
    })
}

pub async fn read(db: &Db, trace: &mut Trace) -> Result<ProjectionsResponse, DbError> {
    let at = behind(db, trace).await?;
    let replies = db
        .pipeline(
            trace,
            &[
                vec!["HGETALL", keys::projection().as_str()],
                vec!["XREVRANGE", keys::EVENTS, "+", "-", "COUNT", "1"],
                vec!["ZCARD", keys::all_claims().as_str()],
            ],
        )
        .await?;
    let state: Vec<(String, String)> =
        redis::from_redis_value(replies[0].clone()).unwrap_or_default();
    let field = |name: &str| {
        state
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let number = |name: &str| field(name).and_then(|v| v.parse().ok()).unwrap_or(0);
    let rebuild = RebuildProgress {
        state: field("rebuild_state").unwrap_or_else(|| "idle".into()),
        replayed: number("rebuild_replayed"),
        total: number("rebuild_total"),
        started_at: field("rebuild_started_at"),
        finished_at: field("rebuild_finished_at"),
        error: field("rebuild_error"),
    };
    let claims = match &replies[2] {
        Value::Int(n) => *n as u64,
        _ => 0,
    };
    Ok(ProjectionsResponse {
        group: keys::PROJECTIONS_GROUP.to_owned(),
        at,
        stream_last_id: db::entries(replies[1].clone())
            .first()
            .map(|(id, _)| id.clone()),
        claims,
        rebuild,
        customers: model::top_customers(db, trace, SHOWN).await?,
        recent: model::recent(db, trace, SHOWN).await?,
        redis: Vec::new(),
    })
}
