//! The instructor's class view: how many learners are at which step, counted from their
//! workspaces' state (no names: a workspace is all the relay knows of a learner). Counted at
//! most once per [`FRESH`], whoever asks, each workspace read in one bounded script run.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{StreamExt, stream};
use shared::Timestamp;
use shared::api::{ClassView, LabResponse, StepCount, ValidationResponse};

use crate::store::db::{Db, DbError};
use crate::store::workspaces::Workspace;
use crate::teaching::lab::{self, Seen, observed};

/// Learners counted: those who used their workspace this recently ...
pub const WINDOW: Duration = Duration::from_secs(2 * 3600);
/// ... and at most this many of them, the most recent first (each costs Redis a reply of a
/// few KB: `observed`).
pub const MAX_COUNTED: usize = 200;
/// A count is shared by every caller for this long.
pub const FRESH: Duration = Duration::from_secs(5);

/// The last count, shared: callers within [`FRESH`] of it get it as it is, and callers while
/// one is being made wait for that one.
#[derive(Clone, Default)]
pub struct ClassCache {
    last: Arc<tokio::sync::Mutex<Option<(Instant, ClassView)>>>,
}

impl ClassCache {
    pub async fn get_or_count<E>(
        &self,
        count: impl Future<Output = Result<ClassView, E>>,
    ) -> Result<ClassView, E> {
        let mut last = self.last.lock().await;
        if let Some((_, view)) = last.as_ref().filter(|(made, _)| made.elapsed() < FRESH) {
            return Ok(view.clone());
        }
        let view = count.await?;
        *last = Some((Instant::now(), view.clone()));
        Ok(view)
    }
}
/// Workspaces read at once.
const AT_ONCE: usize = 16;

/// The class as the workspaces used in the last [`WINDOW`] before `now` show it.
pub async fn view(
    db: &Db,
    now: Timestamp,
    environment: &ValidationResponse,
) -> Result<ClassView, DbError> {
    let workspaces = Workspace::recent(db, now, WINDOW, MAX_COUNTED).await?;
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
