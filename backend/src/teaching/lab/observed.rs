//! What the lab watches in a learner's workspace, by the names the learner types; reading it
//! (bounded, in one script run) is `store::workspaces::observed`'s.

use crate::store::db::{Db, DbError};
use crate::store::workspaces::Workspace;
use crate::store::workspaces::observed::{self, Watched};
pub use crate::store::workspaces::observed::{Group, Observed};

/// The stream the lab works on, and the group it reads with.
pub const STREAM: &str = "claims:events";
pub const FAILED: &str = "claims:failed";
pub const PROCESSORS: &str = "claims-processors";
/// The groups the lab's tasks name: always read, however many others the learner made.
const LAB_GROUPS: [&str; 3] = [PROCESSORS, "claims-analytics", "claims-notifications"];

/// The workspace as the lab's checks see it.
pub async fn observe(db: &Db, workspace: &Workspace) -> Result<Observed, DbError> {
    let watched = Watched {
        stream: STREAM,
        failed: FAILED,
        processors: PROCESSORS,
        groups: &LAB_GROUPS,
    };
    observed::observe(db, workspace, &watched).await
}
