//! The instructor's class view: how many learners are at which step and task, for how long,
//! how many are stuck, and which mistakes the class makes, counted from their workspaces'
//! state (no names: a workspace is all the relay knows of a learner). Counted at most once per
//! [`FRESH`], whoever asks, each workspace read in one bounded script run and one `HMGET`.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{StreamExt, stream};
use shared::Timestamp;
use shared::api::{ClassView, LabResponse, MistakeCount, StepCount, TaskHeat, ValidationResponse};

use crate::store::db::{Db, DbError};
use crate::store::workspaces::Workspace;
use crate::store::workspaces::lines::ClassMarks;
use crate::teaching::console::mistakes::MISTAKES;
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

/// One learner as the class view counts them: their lab, checked, and their marks.
struct Learner {
    lab: LabResponse,
    marks: ClassMarks,
}

/// The class as the workspaces used in the last [`WINDOW`] before `now` show it; learners on
/// a task longer than `stuck_after` count as stuck.
pub async fn view(
    db: &Db,
    now: Timestamp,
    environment: &ValidationResponse,
    stuck_after: Duration,
) -> Result<ClassView, DbError> {
    let workspaces = Workspace::recent(db, now, WINDOW, MAX_COUNTED).await?;
    let learners = workspaces.len();
    let mistakes: Vec<&'static str> = MISTAKES.iter().map(|m| m.id).collect();
    // Owned values in each future, so the stream is `Send` for any lifetime the handler has.
    let read: Vec<Result<Learner, DbError>> = stream::iter(workspaces)
        .map(|w| {
            let (db, environment, mistakes) = (db.clone(), environment.clone(), mistakes.clone());
            async move {
                let seen = observed::observe(&db, &w).await?;
                let lab = lab::evaluate(&Seen {
                    workspace: &seen,
                    environment: &environment,
                });
                let marks = w.class_marks(&db, &mistakes).await?;
                Ok(Learner { lab, marks })
            }
        })
        .buffer_unordered(AT_ONCE)
        .collect()
        .await;
    let read = read.into_iter().collect::<Result<Vec<_>, _>>()?;
    Ok(count(&read, learners, &mistakes, now, stuck_after))
}

/// Each learner at the step and task of their first unfinished task, for as long as their
/// marks say; each mistake by the learners who made it.
fn count(
    read: &[Learner],
    learners: usize,
    mistakes: &[&str],
    now: Timestamp,
    stuck_after: Duration,
) -> ClassView {
    let labs: Vec<&LabResponse> = read.iter().map(|l| &l.lab).collect();
    let mut at_step: Vec<StepCount> = lab::steps()
        .map(|(step, title)| StepCount {
            step: step.to_owned(),
            title: title.to_owned(),
            learners: 0,
        })
        .collect();
    let mut finished = 0;
    for lab in &labs {
        match lab
            .steps
            .iter()
            .position(|s| s.tasks.iter().any(|t| !t.done))
        {
            Some(at) => at_step[at].learners += 1,
            None => finished += 1,
        }
    }
    let stuck_minutes = stuck_after.as_secs_f64() / 60.0;
    let tasks = lab::tasks()
        .map(|(step, task, title)| {
            // Minutes on it of each learner on it: `None` for one the lab page has not seen
            // arrive at it.
            let on_it: Vec<Option<f64>> = read
                .iter()
                .filter(|l| current_task(&l.lab) == Some(task))
                .map(|l| {
                    let (at, since) = l.marks.on_task.as_ref()?;
                    (at == task).then(|| (now.unix_millis() - since).max(0) as f64 / 60_000.0)
                })
                .collect();
            let mut known: Vec<f64> = on_it.iter().flatten().copied().collect();
            known.sort_by(f64::total_cmp);
            TaskHeat {
                step: step.to_owned(),
                task: task.to_owned(),
                title: title.to_owned(),
                learners: on_it.len(),
                median_minutes: median(&known),
                stuck: known.iter().filter(|&&m| m >= stuck_minutes).count(),
            }
        })
        .collect();
    let mut made: Vec<MistakeCount> = mistakes
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let counts = read
                .iter()
                .map(|l| l.marks.mistakes.get(i).copied().unwrap_or(0));
            MistakeCount {
                id: (*id).to_owned(),
                learners: counts.clone().filter(|&n| n > 0).count(),
                lines: counts.sum(),
            }
        })
        .filter(|m| m.learners > 0)
        .collect();
    made.sort_by_key(|m| std::cmp::Reverse((m.learners, m.lines)));
    ClassView {
        learners,
        window_minutes: WINDOW.as_secs() / 60,
        at_step,
        finished,
        tasks,
        stuck_after_minutes: stuck_minutes,
        mistakes: made,
    }
}

/// The task a learner is on: their first not done.
fn current_task(lab: &LabResponse) -> Option<&str> {
    lab.steps
        .iter()
        .flat_map(|s| &s.tasks)
        .find(|t| !t.done)
        .map(|t| t.id.as_str())
}

/// The median of sorted `values`.
fn median(sorted: &[f64]) -> Option<f64> {
    let n = sorted.len();
    match n {
        0 => None,
        _ if !n.is_multiple_of(2) => Some(sorted[n / 2]),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2.0),
    }
}
