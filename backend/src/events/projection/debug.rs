//! The projection debugger: the projection stepped one event at a time through a scratch copy
//! of one partition's read model (`store::read_model::debug`), never the live one. The
//! scratch model starts as the entries before `from` fold it, applied a page at a time as the
//! projector applies batches; then each event from `from` on is folded (as a rebuild folds
//! it) and applied alone by the projector's own script, and the fields it may change are read
//! before and after. The answer is what the real projection does, with no second copy of its
//! rules to drift from it.

use std::collections::HashMap;
use std::time::Duration;

use shared::Claim;
use shared::api::{ClaimView, ModelChange, ProjectionDebugResponse, ProjectionStep, StreamEntry};

use super::activity::activity;
use crate::events::replay;
use crate::store::db::{Db, DbError};
use crate::store::keys::Partition;
use crate::store::read_model::Batch;
use crate::store::read_model::debug::Scratch;
use crate::store::streams::{self, Pages, Range};
use crate::store::trace::Trace;

/// Steps one request may ask for.
pub const MAX_STEPS: usize = 100;
/// Entries before `from` one request folds into its scratch model; more are refused.
pub const MAX_BEFORE: u64 = 10_000;
/// How long one request may take, scratch keys removed included.
pub const TIME: Duration = Duration::from_secs(5);
/// Entries before `from` applied to the scratch model per script run (the projector's batch).
const PAGE: usize = 500;

#[derive(Debug, thiserror::Error)]
pub enum DebugError {
    #[error("more than {MAX_BEFORE} entries come before {from} in the partition")]
    TooMuchBefore { from: String },
    #[error("stepping took longer than {0:?}")]
    TimedOut(Duration),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Steps through at most `steps` entries of `partition` from `from` (an entry id, or `-` for
/// the first), in a scratch model removed before this returns.
pub async fn debug(
    db: &Db,
    partition: Partition,
    from: &str,
    steps: usize,
) -> Result<ProjectionDebugResponse, DebugError> {
    let scratch = Scratch::new(partition);
    let outcome = tokio::time::timeout(TIME, run(db, partition, &scratch, from, steps)).await;
    let removed = scratch.remove(db).await;
    let answer = outcome.map_err(|_| DebugError::TimedOut(TIME))??;
    removed?;
    Ok(answer)
}

async fn run(
    db: &Db,
    partition: Partition,
    scratch: &Scratch,
    from: &str,
    steps: usize,
) -> Result<ProjectionDebugResponse, DebugError> {
    let stream = partition.events();
    let mut claims: HashMap<String, Claim> = HashMap::new();
    let mut folded_before = 0;
    if from != "-" {
        let mut pages = Pages::new(stream.clone(), &format!("({from}"), PAGE);
        while let Some(page) = pages.next(db, &mut Trace::off()).await? {
            folded_before += page.len() as u64;
            if folded_before > MAX_BEFORE {
                return Err(DebugError::TooMuchBefore {
                    from: from.to_owned(),
                });
            }
            let mut batch = Batch::default();
            let mut touched: Vec<String> = Vec::new();
            for (id, fields) in page {
                let mut entry = StreamEntry::decode(id, fields);
                replay::fold(&mut claims, &mut entry);
                touched.extend(replay::claim_of(&entry).map(str::to_owned));
                batch.activity.extend(activity(&entry));
                batch.last_id = entry.id;
            }
            if batch.last_id.is_empty() {
                break;
            }
            touched.sort_unstable();
            touched.dedup();
            batch.views = touched
                .iter()
                .filter_map(|c| claims.get(c).and_then(ClaimView::of))
                .collect();
            scratch.apply(db, &batch).await?;
        }
    }

    let range = Range {
        start: from,
        end: "+",
        count: steps + 1,
        rev: false,
    };
    let entries = streams::range(db, &mut Trace::off(), &[stream], range)
        .await?
        .pop()
        .unwrap_or_default();
    let next = entries.get(steps).map(|(id, _)| partition.marker(id));
    let mut answered = Vec::new();
    for (id, fields) in entries.into_iter().take(steps) {
        let mut entry = StreamEntry::decode(id, fields);
        replay::fold(&mut claims, &mut entry);
        let claim = replay::claim_of(&entry).map(str::to_owned);
        let view = claim
            .as_ref()
            .and_then(|c| claims.get(c))
            .and_then(ClaimView::of);
        let customer = view.as_ref().map(|v| v.customer_id.clone());
        let look = || scratch.look(db, claim.as_deref(), customer.as_deref());
        let before = look().await?;
        let batch = Batch {
            views: view.into_iter().collect(),
            activity: activity(&entry).into_iter().collect(),
            last_id: entry.id.clone(),
        };
        scratch.apply(db, &batch).await?;
        let after = look().await?;
        let changes = before
            .into_iter()
            .zip(after)
            .filter(|(b, a)| b.value != a.value)
            .map(|(b, a)| ModelChange::new(b.key, b.field, b.value, a.value))
            .collect();
        answered.push(ProjectionStep {
            entry: crate::events::feed::tagged(partition, entry),
            changes,
        });
    }
    Ok(ProjectionDebugResponse {
        partition: partition.shown(),
        folded_before,
        steps: answered,
        next,
    })
}
