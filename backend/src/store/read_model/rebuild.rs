//! The rebuild's side of the read model in Redis: its state in the projection's hash, the
//! fresh keys it fills, and the swap over the live ones. Every write is fenced by the
//! projector lease holder's token in a script, so a relay whose lease lapsed mid-rebuild can
//! neither unlink nor swap the keys of the relay that took over. When and from what to
//! rebuild is `events::projection::rebuild`'s.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::LazyLock;

use redis::Script;
use shared::api::{ActivityItem, ClaimView};
use shared::{Claim, Timestamp};

use crate::store::db::{Db, DbError, Refusal};
use crate::store::keys::{self, Model, Partition};
use crate::store::reply;
use crate::store::trace::Trace;

/// Claims written per command.
const PAGE: usize = 1000;

/// Asks the partition's projector to rebuild; `false` if already asked for or running.
pub async fn request(db: &Db, partition: Partition, at: Timestamp) -> Result<bool, DbError> {
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
    invocation.arg(at.to_string());
    Ok(db.script::<i64>(&invocation).await? == 1)
}

/// Whether the lease holder, between batches, should rebuild: one is asked for, or marked
/// running by a projector that no longer runs it (only the holder runs one, and the holder
/// asking is not running one; `rebuild_owner` names who started it).
pub async fn requested(db: &Db, partition: Partition) -> Result<bool, DbError> {
    let state: Option<String> = db
        .run(
            &mut Trace::off(),
            &["HGET", &partition.projection(), "rebuild_state"],
        )
        .await?;
    Ok(matches!(state.as_deref(), Some("requested" | "running")))
}

/// Marks the rebuild running under `owner` (and counts it in `rebuild_runs`) if `owner` holds
/// the lease: `Some` of the token the state named before (empty if none), `None` if not held.
pub async fn begin(
    db: &Db,
    partition: Partition,
    owner: &str,
    now: &str,
) -> Result<Option<String>, DbError> {
    static BEGIN: LazyLock<Script> = LazyLock::new(|| {
        Script::new(
            r"
-- KEYS: projection state, projector lease; ARGV: owner, when
if redis.call('GET', KEYS[2]) ~= ARGV[1] then
  return false
end
local previous = redis.call('HGET', KEYS[1], 'rebuild_owner') or ''
redis.call('HSET', KEYS[1], 'rebuild_state', 'running', 'rebuild_started_at', ARGV[2],
  'rebuild_owner', ARGV[1])
redis.call('HINCRBY', KEYS[1], 'rebuild_runs', 1)
return previous
",
        )
    });
    let mut invocation = BEGIN.key(partition.projection());
    invocation
        .key(partition.projector_lease())
        .arg(owner)
        .arg(now);
    db.script::<Option<String>>(&invocation).await
}

/// Unlinks the rebuild's keys, if `owner` still holds the lease; `false` if not.
pub async fn clear(db: &Db, partition: Partition, owner: &str) -> Result<bool, DbError> {
    let mut unlink = vec!["UNLINK".to_owned()];
    unlink.extend(partition.model(Model::Rebuild).all_keys());
    fenced(db, partition, owner, &[unlink]).await
}

/// Runs `commands` on the rebuild's keys in one script if `owner` still holds the lease;
/// `false` (and nothing run) if not.
async fn fenced(
    db: &Db,
    partition: Partition,
    owner: &str,
    commands: &[Vec<String>],
) -> Result<bool, DbError> {
    static FENCED: LazyLock<Script> = LazyLock::new(|| {
        Script::new(
            r"
-- KEYS: projector lease, then the keys the commands name
-- ARGV: owner, then per command its number of words and its words
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
local i = 2
while i <= #ARGV do
  local n = tonumber(ARGV[i])
  redis.call(unpack(ARGV, i + 1, i + n))
  i = i + n + 1
end
return 1
",
        )
    });
    let mut invocation = FENCED.key(partition.projector_lease());
    for key in partition.model(Model::Rebuild).all_keys() {
        invocation.key(key);
    }
    invocation.arg(owner);
    for command in commands {
        invocation.arg(command.len()).arg(command);
    }
    Ok(db.script::<i64>(&invocation).await? == 1)
}

/// Sets the rebuild's `fields` in the partition's projection hash (its state, counts, error).
pub async fn set_state(
    db: &Db,
    partition: Partition,
    fields: &[(&str, &str)],
) -> Result<(), DbError> {
    let key = partition.projection();
    let mut hset = vec!["HSET", key.as_str()];
    hset.extend(fields.iter().flat_map(|(k, v)| [*k, *v]));
    db.run::<i64, _>(&mut Trace::off(), &hset).await.map(|_| ())
}

/// Where the rebuild stops: the stream's last id and how many entries were ever added up to
/// it (Redis 7 and later), both read at once.
pub async fn end_of_stream(
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
        Err(e) if e.refusal() == Some(Refusal::NoSuchKey) => {
            return Ok((None, None, 0));
        }
        Err(e) => return Err(e),
    };
    let info = reply::fields(&replies[0]);
    let last = reply::get(&info, "last-generated-id").and_then(reply::text);
    let added = reply::int(reply::get(&info, "entries-added"));
    let len = reply::int(replies.get(1)).unwrap_or(0) as u64;
    Ok((last.filter(|l| l != "0-0"), added, len))
}

#[derive(Default, serde::Serialize)]
struct Totals {
    claims: u64,
    claimed: BTreeMap<String, i64>,
    paid: BTreeMap<String, i64>,
}

/// Writes the replayed model into the rebuild's keys, a page per fenced script; `false` as
/// soon as one is refused.
pub async fn write(
    db: &Db,
    partition: Partition,
    owner: &str,
    claims: &HashMap<String, Claim>,
    recent: &VecDeque<ActivityItem>,
) -> Result<bool, DbError> {
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
        if !fenced(db, partition, owner, &commands).await? {
            return Ok(false);
        }
    }
    let customers: Vec<(&str, Totals)> = customers.into_iter().collect();
    for chunk in customers.chunks(PAGE) {
        let mut hset = vec!["HSET".to_owned(), model.customers()];
        for (customer, totals) in chunk {
            hset.push((*customer).to_owned());
            hset.push(serde_json::to_string(totals).expect("totals serialize"));
        }
        if !fenced(db, partition, owner, &[hset]).await? {
            return Ok(false);
        }
    }
    if !recent.is_empty() {
        // Newest first, as the projector pushes them.
        let mut push = vec!["LPUSH".to_owned(), model.activity()];
        push.extend(
            recent
                .iter()
                .map(|i| serde_json::to_string(i).expect("items serialize")),
        );
        return fenced(db, partition, owner, &[push]).await;
    }
    Ok(true)
}

/// Renames the rebuilt keys over the live ones (a key the rebuild left empty removes the live
/// one), sets the position, moves the group to where the replay stopped and marks the rebuild
/// done (counted in `rebuild_swaps`): one step, taken only if `owner` still holds the lease.
pub async fn swap(
    db: &Db,
    partition: Partition,
    owner: &str,
    last: Option<&str>,
    added: Option<i64>,
    at: Timestamp,
) -> Result<bool, DbError> {
    static SWAP: LazyLock<Script> = LazyLock::new(|| {
        Script::new(
            r"
-- KEYS: projection state, events stream, projector lease, then rebuilt/live key pairs
-- ARGV: group, last id replayed ('' for none), entries added up to it ('' if unknown),
--       owner, when
if redis.call('GET', KEYS[3]) ~= ARGV[4] then
  return 0
end
for i = 4, #KEYS, 2 do
  if redis.call('EXISTS', KEYS[i]) == 1 then
    redis.call('RENAME', KEYS[i], KEYS[i + 1])
  else
    redis.call('DEL', KEYS[i + 1])
  end
end
redis.call('HSET', KEYS[1], 'rebuild_state', 'done', 'rebuild_finished_at', ARGV[5])
redis.call('HINCRBY', KEYS[1], 'rebuild_swaps', 1)
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
    invocation
        .key(partition.events())
        .key(partition.projector_lease());
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
        .arg(added.map(|a| a.to_string()).unwrap_or_default())
        .arg(owner)
        .arg(at.to_string());
    Ok(db.script::<i64>(&invocation).await? == 1)
}
