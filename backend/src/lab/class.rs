//! The instructor's class view: how many learners are at which step, counted from their
//! workspaces' state (no names: a workspace is all the relay knows of a learner).

use std::time::Duration;

use futures_util::{StreamExt, stream};
use shared::api::{ClassView, LabResponse, StepCount, ValidationResponse};

use crate::console::Workspace;
use crate::db::{Db, DbError};
use crate::lab::{self, Seen, observed};

/// Learners counted: those who used their workspace this recently ...
pub const WINDOW: Duration = Duration::from_secs(2 * 3600);
/// ... and at most this many of them, the most recent first.
pub const MAX_COUNTED: usize = 500;
/// Workspaces read at once.
const AT_ONCE: usize = 16;

pub async fn view(db: &Db, environment: &ValidationResponse) -> Result<ClassView, DbError> {
    let workspaces = Workspace::recent(db, WINDOW, MAX_COUNTED).await?;
    let learners = workspaces.len();
    // Owned values in each future, so the stream is `Send` for any lifetime the handler has.
    let labs: Vec<Result<LabResponse, DbError>> = stream::iter(workspaces)
        .map(|w| {
            let (db, environment) = (db.clone(), environment.clone());
            async move {
                let seen = observed::observe(&db, &w).await?;
                Ok(lab::evaluate(&Seen {
                    workspace: &seen,
                    environment: &environment,
                }))
            }
        })
        .buffer_unordered(AT_ONCE)
        .collect()
        .await;
    let labs = labs.into_iter().collect::<Result<Vec<_>, _>>()?;
    Ok(count(&labs, learners))
}

/// Each learner at the step of their first unfinished task.
fn count(labs: &[LabResponse], learners: usize) -> ClassView {
    let mut at_step: Vec<StepCount> = lab::steps()
        .map(|(step, title)| StepCount {
            step: step.to_owned(),
            title: title.to_owned(),
            learners: 0,
        })
        .collect();
    let mut finished = 0;
    for lab in labs {
        match lab
            .steps
            .iter()
            .position(|s| s.tasks.iter().any(|t| !t.done))
        {
            Some(at) => at_step[at].learners += 1,
            None => finished += 1,
        }
    }
    ClassView {
        learners,
        window_minutes: WINDOW.as_secs() / 60,
        at_step,
        finished,
    }
}
