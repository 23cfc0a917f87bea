//! The projection as the API reports it: its position, how far behind the stream it is, the
//! rebuild's progress, and the query models' heads.

use shared::api::{ProjectionPosition, ProjectionsResponse, RebuildProgress};

use crate::store::db::{Db, DbError};
use crate::store::keys::{self, Partition};
use crate::store::read_model as model;
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
    let (position, group) = model::position_and_group(db, trace, partition).await?;
    let lag = group.and_then(|g| Some(g.lag? + g.pending));
    Ok(ProjectionPosition {
        position,
        behind: lag,
    })
}

pub async fn read(db: &Db, trace: &mut Trace) -> Result<ProjectionsResponse, DbError> {
    let at = behind(db, trace).await?;
    let parts = model::states(db, trace).await?;
    let claims = parts.iter().map(|p| p.claims).sum();
    let newest = parts.iter().fold(None, |newest, p| {
        crate::store::entry_id::newest(newest, p.newest.clone())
    });
    let states: Vec<Vec<(String, String)>> = parts.into_iter().map(|p| p.fields).collect();
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
