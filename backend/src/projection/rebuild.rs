//! Rebuilding the read model from the first event. The projector does it itself, between
//! batches, so nothing else writes the model meanwhile: it folds every entry up to the
//! stream's newest into fresh keys, then renames them over the live ones and moves the group
//! past what it replayed, in one script. Readers see the old model until that step, then the
//! new one; entries appended meanwhile are projected right after it.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::LazyLock;

use redis::Script;
use shared::Claim;
use shared::api::{ActivityItem, ClaimView};

use super::projector::activity;
use crate::db::{self, Db, DbError};
use crate::keys::{self, ACTIVITY_KEPT, Model, Partition};
use crate::redis_cli::Trace;
use crate::replay::{self, Replayed};
use crate::workers::stats;

/// Claims written per command.
const PAGE: usize = 1000;

/// Asks every partition's projector to rebuild; `false` if a rebuild is already asked for or
/// running in one of them.
pub async fn request(db: &Db) -> Result<bool, DbError> {
    let mut all = true;
    for partition in db.partitions.all() {
        all &= request_one(db, partition).await?;
    }
    Ok(all)
}

/// Asks the partition's projector to rebuild; `false` if already asked for or running.
pub async fn request_one(db: &Db, partition: Partition) -> Result<bool, DbError> {
    static REQUEST: LazyLock<Script> = LazyLock::new(|| {
        Script::new(
            r"
-- KEYS: projection state; ARGV: when
local state = redis.call('HGET', KEYS[1], 'rebuild_state')
if state == 'requested' or state == 'running' then
  return 0
end
redis.call('HDEL', KEYS[1], 'rebuild_started_at', 'rebuild_finished_at', 'rebuild_error')
redis.call('HSET', KEYS[1], 'rebuild_state', 'requested', 'rebuild_replayed', 0,
  'rebuild_total', 0, 'rebuild_requested_at', ARGV[1])
return 1
",
        )
    });
    let mut invocation = REQUEST.key(partition.projection());
    invocation.arg(crate::commands::now().to_string());
    Ok(db.script::<i64>(&invocation).await? == 1)
}

pub(super) async fn requested(db: &Db, partition: Partition) -> Result<bool, DbError> {
    let state: Option<String> = db
        .run(
            &mut Trace::off(),
            &["HGET", &partition.projection(), "rebuild_state"],
        )
        .await?;
    Ok(matches!(state.as_deref(), Some("requested" | "running")))
}

pub(super) async fn run(db: &Db, partition: Partition) -> Result<(), DbError> {
    let now = crate::commands::now().to_string();
    set(
        db,
        partition,
        &[("rebuild_state", "running"), ("rebuild_started_at", &now)],
    )
    .await?;
    let started = std::time::Instant::now();
    match replay_and_swap(db, partition).await {
        Ok(replayed) => {
            tracing::info!(replayed, partition = partition.index(), took = ?started.elapsed(), "read model rebuilt");
            let now = crate::commands::now().to_string();
            set(
                db,
                partition,
                &[("rebuild_state", "done"), ("rebuild_finished_at", &now)],
            )
            .await
        }
        // Redis went away: ask again, so the next projector to hold the lease starts over.
        Err(e @ DbError::Unavailable(_)) => {
            let _ = set(db, partition, &[("rebuild_state", "requested")]).await;
            Err(e)
        }
        Err(e) => {
            tracing::error!(error = %e, "read model rebuild failed");
            let message = e.to_string();
            set(
                db,
                partition,
                &[("rebuild_state", "failed"), ("rebuild_error", &message)],
            )
            .await
        }
    }
}

async fn set(db: &Db, partition: Partition, fields: &[(&str, &str)]) -> Result<(), DbError> {
    let key = partition.projection();
    let mut hset = vec!["HSET", key.as_str()];
    hset.extend(fields.iter().flat_map(|(k, v)| [*k, *v]));
    db.run::<i64, _>(&mut Trace::off(), &hset).await.map(|_| ())
}

/// Where the rebuild stops: the stream's last id and how many entries were ever added up to
/// it (Redis 7 and later), both read at once.
async fn end_of_stream(
    db: &Db,
    stream: &str,
) -> Result<(Option<String>, Option<i64>, u64), DbError> {
    let reply = db
        .pipeline(
            &mut Trace::off(),
            &[vec!["XINFO", "STREAM", stream], vec!["XLEN", stream]],
        )
        .await;
    let replies = match reply {
        Ok(r) => r,
        // No stream yet: nothing to replay.
        Err(DbError::Redis(e)) if e.to_string().contains("no such key") => {
            return Ok((None, None, 0));
        }
        Err(e) => return Err(e),
    };
    let info = stats::fields(&replies[0]);
    let last = stats::get(&info, "last-generated-id").and_then(db::text);
    let added = stats::int(stats::get(&info, "entries-added"));
    let len = stats::int(replies.get(1)).unwrap_or(0) as u64;
    Ok((last.filter(|l| l != "0-0"), added, len))
}

async fn replay_and_swap(db: &Db, partition: Partition) -> Result<u64, DbError> {
    let stream = partition.events();
    let (last, added, total) = end_of_stream(db, &stream).await?;
    // Entries other programs appended are indexed first: they are replayed here, and the
    // group moves past them, so the projector would not meet them to index them later.
    crate::claim_store::catch_up(db, partition).await?;
    let total_s = total.to_string();
    set(
        db,
        partition,
        &[("rebuild_total", &total_s), ("rebuild_replayed", "0")],
    )
    .await?;
    let mut unlink = vec!["UNLINK".to_owned()];
    unlink.extend(partition.model(Model::Rebuild).all_keys());
    db.run::<i64, _>(&mut Trace::off(), &unlink).await?;

    let mut recent: VecDeque<ActivityItem> = VecDeque::with_capacity(ACTIVITY_KEPT);
    let replayed = match &last {
        None => Replayed::default(),
        Some(last) => {
            replay::replay(
                db,
                &mut Trace::off(),
                &stream,
                last,
                0,
                Some((&partition.projection(), "rebuild_replayed")),
                |entry| {
                    if let Some(item) = activity(entry) {
                        if recent.len() == ACTIVITY_KEPT {
                            recent.pop_front();
                        }
                        recent.push_back(item);
                    }
                },
            )
            .await?
        }
    };
    let claims = replayed.claims;
    let replayed = replayed.entries;
    write(db, partition, &claims, &recent).await?;
    swap(db, partition, last.as_deref(), added).await?;
    Ok(replayed)
}

#[derive(Default, serde::Serialize)]
struct Totals {
    claims: u64,
    claimed: BTreeMap<String, i64>,
    paid: BTreeMap<String, i64>,
}

async fn write(
    db: &Db,
    partition: Partition,
    claims: &HashMap<String, Claim>,
    recent: &VecDeque<ActivityItem>,
) -> Result<(), DbError> {
    let model = partition.model(Model::Rebuild);
    let views: Vec<ClaimView> = claims.values().filter_map(ClaimView::of).collect();
    let mut customers: HashMap<&str, Totals> = HashMap::new();
    for view in &views {
        let totals = customers.entry(&view.customer_id).or_default();
        let cents = view
            .amount
            .parse::<shared::Amount>()
            .map_or(0, |a| a.cents());
        totals.claims += 1;
        *totals.claimed.entry(view.currency.clone()).or_default() += cents;
        if view.status == shared::ClaimStatus::Paid {
            *totals.paid.entry(view.currency.clone()).or_default() += cents;
        }
    }
    for chunk in views.chunks(PAGE) {
        let mut commands: Vec<Vec<String>> = Vec::new();
        let mut hset = vec!["HSET".to_owned(), model.views()];
        let mut all = vec!["ZADD".to_owned(), model.all_claims()];
        let mut by_status: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for view in chunk {
            let score = view
                .submitted_at
                .parse::<shared::Timestamp>()
                .map_or(0, |t| t.unix_millis())
                .to_string();
            hset.push(view.claim_id.clone());
            hset.push(serde_json::to_string(view).expect("views serialize"));
            all.push(score.clone());
            all.push(view.claim_id.clone());
            let set = by_status
                .entry(model.by_status(view.status))
                .or_insert_with(|| vec!["ZADD".to_owned()]);
            if set.len() == 1 {
                set.push(model.by_status(view.status));
            }
            set.push(score);
            set.push(view.claim_id.clone());
        }
        commands.push(hset);
        commands.push(all);
        commands.extend(by_status.into_values());
        db.pipeline(&mut Trace::off(), &commands).await?;
    }
    let customers: Vec<(&str, Totals)> = customers.into_iter().collect();
    for chunk in customers.chunks(PAGE) {
        let mut hset = vec!["HSET".to_owned(), model.customers()];
        for (customer, totals) in chunk {
            hset.push((*customer).to_owned());
            hset.push(serde_json::to_string(totals).expect("totals serialize"));
        }
        db.run::<i64, _>(&mut Trace::off(), &hset).await?;
    }
    if !recent.is_empty() {
        // Newest first, as the projector pushes them.
        let mut push = vec!["LPUSH".to_owned(), model.activity()];
        push.extend(
            recent
                .iter()
                .map(|i| serde_json::to_string(i).expect("items serialize")),
        );
        db.run::<i64, _>(&mut Trace::off(), &push).await?;
    }
    Ok(())
}

/// Renames the rebuilt keys over the live ones (a key the rebuild left empty removes the live
/// one), sets the position, and moves the group to where the replay stopped: one step.
async fn swap(
    db: &Db,
    partition: Partition,
    last: Option<&str>,
    added: Option<i64>,
) -> Result<(), DbError> {
    static SWAP: LazyLock<Script> = LazyLock::new(|| {
        Script::new(
            r"
-- KEYS: projection state, events stream, then rebuilt/live key pairs
-- ARGV: group, last id replayed ('' for none), entries added up to it ('' if unknown)
for i = 3, #KEYS, 2 do
  if redis.call('EXISTS', KEYS[i]) == 1 then
    redis.call('RENAME', KEYS[i], KEYS[i + 1])
  else
    redis.call('DEL', KEYS[i + 1])
  end
end
if ARGV[2] == '' then
  redis.call('HDEL', KEYS[1], 'position')
  return 1
end
redis.call('HSET', KEYS[1], 'position', ARGV[2])
if ARGV[3] ~= '' then
  redis.call('XGROUP', 'SETID', KEYS[2], ARGV[1], ARGV[2], 'ENTRIESREAD', ARGV[3])
else
  redis.call('XGROUP', 'SETID', KEYS[2], ARGV[1], ARGV[2])
end
return 1
",
        )
    });
    let mut invocation = SWAP.key(partition.projection());
    invocation.key(partition.events());
    for (rebuilt, live) in partition
        .model(Model::Rebuild)
        .all_keys()
        .into_iter()
        .zip(partition.model(Model::Live).all_keys())
    {
        invocation.key(rebuilt).key(live);
    }
    invocation
        .arg(keys::PROJECTIONS_GROUP)
        .arg(last.unwrap_or_default())
        .arg(added.map(|a| a.to_string()).unwrap_or_default());
    db.script::<i64>(&invocation).await.map(|_| ())
}
