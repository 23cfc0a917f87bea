//! Opening and making a learner's workspace for the console and the lab, and why either can
//! be refused. Where its keys live and what they hold is `store::workspaces`.

use shared::Timestamp;

use crate::store::db::{Db, DbError};
use crate::store::trace::Trace;
pub use crate::store::workspaces::{IDLE_EXPIRY, Place, Workspace, demo_streams};

use super::ConsoleLimits;

/// Why a workspace could not be made or opened.
#[derive(Debug, thiserror::Error)]
pub enum WorkspaceError {
    #[error("send the header X-Workspace with the id POST /api/workspaces gave")]
    Missing,
    #[error("X-Workspace is the 32-character id POST /api/workspaces gave")]
    Invalid,
    #[error(
        "no workspace {0}: it expired after {hours} hours unused, or never was; \
         POST /api/workspaces makes a new one",
        hours = IDLE_EXPIRY.as_secs() / 3600
    )]
    NotFound(String),
    /// Past a share of the address or the workspace, for `retry_after_secs`.
    #[error("{message}")]
    TooMany {
        code: &'static str,
        message: String,
        retry_after_secs: u64,
    },
    /// The relay holds as many workspaces as it may, none idle long enough to make room.
    #[error("{message}")]
    Full {
        message: String,
        retry_after_secs: u64,
    },
    #[error(transparent)]
    Db(#[from] DbError),
}

/// The workspace a request names (its `X-Workspace` header): refused when it names none or
/// cannot be one, not found when there is none (never made, or expired).
pub async fn open(db: &Db, id: Option<&str>) -> Result<Workspace, WorkspaceError> {
    let Some(id) = id else {
        return Err(WorkspaceError::Missing);
    };
    if !Workspace::valid_id(id) {
        return Err(WorkspaceError::Invalid);
    }
    Workspace::open(db, id)
        .await?
        .ok_or_else(|| WorkspaceError::NotFound(id.to_owned()))
}

/// A new workspace; 503 `workspaces_full` when the relay holds as many as it may and none has
/// been idle long enough to make room.
pub(super) async fn create(
    db: &Db,
    now: Timestamp,
    limits: &ConsoleLimits,
    trace: &mut Trace,
) -> Result<Workspace, WorkspaceError> {
    let capacity = crate::store::workspaces::Capacity {
        max_workspaces: limits.max_workspaces,
        evict_idle: limits.evict_idle,
    };
    Workspace::create(db, now, capacity, trace)
        .await?
        .ok_or_else(|| WorkspaceError::Full {
            message: format!(
                "the relay holds {} workspaces, its most, and each was used in the last {} \
                 minutes; one makes room once it has been idle that long",
                limits.max_workspaces,
                limits.evict_idle.as_secs() / 60
            ),
            retry_after_secs: 60,
        })
}
