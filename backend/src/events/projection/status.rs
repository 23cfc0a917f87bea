//! The projection as the API reports it: its position, how far behind the stream it is, the
//! rebuild's progress, and the query models' heads.

use shared::api::{ProjectionPosition, ProjectionsResponse, RebuildProgress};

use crate::store::db::{Db, DbError, Refusal};
use crate::store::groups::GroupInfo;
use crate::store::keys::{self, Model, Partition};
use crate::store::read_model as model;
use crate::store::reply;
use crate::store::trace::Trace;

/// Customers and activity items shown.
const SHOWN: usize = 20;

/// The position, and the group's lag as XINFO GROUPS reports it, over every partition: the
/// lags add up; with several partitions the position lists each as `<partition>/<entry id>`.
pub async fn behind(db: &Db, trace: &mut Trace) -> Result<ProjectionPosition, DbError> {
    let mut positions = Vec::new();
    let mut lag_sum: Option<u64> = None;
    for partition in db.partitions.all() {
        let at = behind_in(db, trace, partition).await?;
        if let Some(lag) = at.behind {
            lag_sum = Some(lag_sum.unwrap_or(0) + lag);
        }
        if let Some(position) = at.position {
            positions.push(partition.marker(&position));
        }
    }
    Ok(ProjectionPosition {
        position: (!positions.is_empty()).then(|| positions.join(",")),
        behind: lag_sum,
    })
}

/// One partition's position and lag.
pub async fn behind_in(
    db: &Db,
    trace: &mut Trace,
    partition: Partition,
) -> Result<ProjectionPosition, DbError> {
    let (projection, stream) = (partition.projection(), partition.events());
    let replies = db
        .pipeline(
            trace,
            &[
                vec!["HGET", projection.as_str(), "position"],
                vec!["XINFO", "GROUPS", stream.as_str()],
            ],
        )
        .await;
    let replies = match replies {
        Ok(r) => r,
        // No stream yet, so no group: nothing to be behind on.
        Err(e) if e.refusal() == Some(Refusal::NoSuchKey) => {
            return Ok(ProjectionPosition::default());
        }
        Err(e) => return Err(e),
    };
    let lag = GroupInfo::all_in(&replies[1])
        .into_iter()
        .find(|g| g.name == keys::PROJECTIONS_GROUP)
        .and_then(|g| Some(g.lag? + g.pending));
    Ok(ProjectionPosition {
        position: reply::text(&replies[0]),
        behind: lag,
    })
}

pub async fn read(db: &Db, trace: &mut Trace) -> Result<ProjectionsResponse, DbError> {
    let at = behind(db, trace).await?;
    // Per partition: its projection state, newest entry, and claim count.
    let mut reads: Vec<Vec<String>> = Vec::new();
    for partition in db.partitions.all() {
        reads.push(vec!["HGETALL".into(), partition.projection()]);
        reads.push(vec![
            "XREVRANGE".into(),
            partition.events(),
            "+".into(),
            "-".into(),
            "COUNT".into(),
            "1".into(),
        ]);
        reads.push(vec![
            "ZCARD".into(),
            partition.model(Model::Live).all_claims(),
        ]);
    }
    let replies = db.pipeline(trace, &reads).await?;
    let mut states: Vec<Vec<(String, String)>> = Vec::new();
    let mut newest: Option<String> = None;
    let mut claims = 0;
    for part in replies.chunks(3) {
        states.push(redis::from_redis_value(part[0].clone()).unwrap_or_default());
        let last = reply::entries(part[1].clone())
            .first()
            .map(|(id, _)| id.clone());
        newest = crate::store::entry_id::newest(newest, last);
        claims += reply::int(Some(&part[2])).unwrap_or(0).max(0) as u64;
    }
    let fields = |name: &str| -> Vec<String> {
        states
            .iter()
            .filter_map(|state| {
                state
                    .iter()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.clone())
            })
            .collect()
    };
    // The rebuild as one: the least advanced state of any partition, counts added up.
    let state = ["failed", "running", "requested", "done"]
        .into_iter()
        .find(|s| fields("rebuild_state").iter().any(|f| f == s))
        .unwrap_or("idle");
    let number = |name: &str| -> u64 {
        fields(name)
            .iter()
            .filter_map(|v| v.parse::<u64>().ok())
            .sum()
    };
    let field = |name: &str| -> Option<String> {
        let mut all = fields(name);
        all.sort();
        match name {
            "rebuild_started_at" => all.first().cloned(),
            _ => all.last().cloned(),
        }
    };
    let rebuild = RebuildProgress {
        state: state.into(),
        replayed: number("rebuild_replayed"),
        total: number("rebuild_total"),
        started_at: field("rebuild_started_at"),
        finished_at: field("rebuild_finished_at"),
        error: field("rebuild_error"),
    };
    Ok(ProjectionsResponse {
        group: keys::PROJECTIONS_GROUP.to_owned(),
        position: at.position,
        behind: at.behind,
        stream_last_id: newest,
        claims,
        rebuild,
        customers: model::top_customers(db, trace, SHOWN).await?,
        recent: model::recent(db, trace, SHOWN).await?,
        redis: Vec::new(),
    })
}
