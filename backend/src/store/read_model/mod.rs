//! The read model in Redis: claim views by status and by submission time, totals per
//! customer, recent activity, and where the projection has come to (the keys are
//! `keys::Partition::model`'s and `projection`'s). The projector (`events::projection`) is its
//! only writer and decides what goes in; the API only reads it.

pub mod debug;
pub mod rebuild;

use std::collections::BTreeMap;
use std::sync::LazyLock;

use redis::Script;
use shared::ClaimStatus;
use shared::api::{ActivityItem, ClaimView, CustomerTotals, MoneyTotal};

use crate::store::db::{Db, DbError, Refusal};
use crate::store::entry_id::EntryId;
use crate::store::groups::GroupInfo;
use crate::store::keys::{self, ACTIVITY_KEPT, Model, Partition};
use crate::store::reply;
use crate::store::trace::Trace;

/// Applies one batch: each claim's new view (unless the model has that version already, so a
/// batch applied twice changes nothing), its customer's totals, the batch's activity, and the
/// position, in one atomic step.
const APPLY_SOURCE: &str = r"
-- KEYS: views, all claims, customers, activity, projection state
-- ARGV: status set prefix, activity kept, last entry id, view count,
--       then per view: claim id, version, score, status, customer, view json,
--       then activity count, then per item: entry id, item json
local function newer(a, b)
  local am, as = string.match(a, '^(%d+)-(%d+)$')
  local bm, bs = string.match(b, '^(%d+)-(%d+)$')
  return tonumber(am) > tonumber(bm) or (tonumber(am) == tonumber(bm) and tonumber(as) > tonumber(bs))
end
local function cents(amount)
  return tonumber((string.gsub(amount, '%.', '')))
end
local statuses = {'submitted', 'under_review', 'approved', 'paid', 'rejected'}
local i = 5
for _ = 1, tonumber(ARGV[4]) do
  local claim, version, score, status, customer, json =
    ARGV[i], tonumber(ARGV[i + 1]), ARGV[i + 2], ARGV[i + 3], ARGV[i + 4], ARGV[i + 5]
  i = i + 6
  local old_json = redis.call('HGET', KEYS[1], claim)
  local old = old_json and cjson.decode(old_json)
  if not old or old.version < version then
    redis.call('HSET', KEYS[1], claim, json)
    redis.call('ZADD', KEYS[2], score, claim)
    for _, s in ipairs(statuses) do
      if s == status then
        redis.call('ZADD', ARGV[1] .. s, score, claim)
      else
        redis.call('ZREM', ARGV[1] .. s, claim)
      end
    end
    local new = cjson.decode(json)
    local totals_json = redis.call('HGET', KEYS[3], customer)
    local t = totals_json and cjson.decode(totals_json) or {claims = 0, claimed = {}, paid = {}}
    if not old then
      t.claims = t.claims + 1
      t.claimed[new.currency] = (t.claimed[new.currency] or 0) + cents(new.amount)
    end
    if new.status == 'paid' and (not old or old.status ~= 'paid') then
      t.paid[new.currency] = (t.paid[new.currency] or 0) + cents(new.amount)
    end
    redis.call('HSET', KEYS[3], customer, cjson.encode(t))
  end
end
local position = redis.call('HGET', KEYS[5], 'position') or '0-0'
for _ = 1, tonumber(ARGV[i]) do
  if newer(ARGV[i + 1], position) then
    redis.call('LPUSH', KEYS[4], ARGV[i + 2])
  end
  i = i + 2
end
redis.call('LTRIM', KEYS[4], 0, tonumber(ARGV[2]) - 1)
if newer(ARGV[3], position) then
  redis.call('HSET', KEYS[5], 'position', ARGV[3])
end
return 1
";

static APPLY: LazyLock<Script> = LazyLock::new(|| Script::new(APPLY_SOURCE));

/// What one batch changes in the model.
#[derive(Default)]
pub struct Batch {
    pub views: Vec<ClaimView>,
    pub activity: Vec<ActivityItem>,
    /// The last entry of the batch: the projection's position once it is applied.
    pub last_id: String,
}

pub async fn apply(db: &Db, partition: Partition, batch: &Batch) -> Result<(), DbError> {
    apply_to(
        db,
        &partition.model(Model::Live),
        &partition.projection(),
        batch,
    )
    .await
}

/// [`apply`] into `model`, whose position is kept in the hash `projection`: the same script,
/// so a scratch model (the projection debugger's) changes as the live one would.
async fn apply_to(
    db: &Db,
    model: &keys::ModelKeys,
    projection: &str,
    batch: &Batch,
) -> Result<(), DbError> {
    let mut invocation = APPLY.prepare_invoke();
    invocation
        .key(model.views())
        .key(model.all_claims())
        .key(model.customers())
        .key(model.activity())
        .key(projection)
        .arg(model.status_prefix())
        .arg(ACTIVITY_KEPT)
        .arg(&batch.last_id)
        .arg(batch.views.len());
    for view in &batch.views {
        let score = view
            .submitted_at
            .parse::<shared::Timestamp>()
            .map_or(0, |t| t.unix_millis());
        invocation
            .arg(&view.claim_id)
            .arg(view.version)
            .arg(score)
            .arg(view.status.as_str())
            .arg(&view.customer_id)
            .arg(serde_json::to_string(view).expect("views serialize"));
    }
    invocation.arg(batch.activity.len());
    for item in &batch.activity {
        invocation
            .arg(&item.entry_id)
            .arg(serde_json::to_string(item).expect("items serialize"));
    }
    db.script::<i64>(&invocation).await.map(|_| ())
}

pub struct ClaimPage {
    pub claims: Vec<ClaimView>,
    pub total: u64,
}

/// Newest first, over every partition: each partition's newest `offset + limit` by
/// submission time, merged. (Deep pages read more as they go; the API caps `limit`.)
pub async fn list(
    db: &Db,
    trace: &mut Trace,
    status: Option<ClaimStatus>,
    offset: u64,
    limit: u64,
) -> Result<ClaimPage, DbError> {
    let models: Vec<(Partition, String)> = db
        .partitions
        .all()
        .map(|p| {
            let model = p.model(Model::Live);
            (
                p,
                status.map_or_else(|| model.all_claims(), |s| model.by_status(s)),
            )
        })
        .collect();
    let stop = (offset + limit).saturating_sub(1).to_string();
    let mut reads: Vec<Vec<&str>> = Vec::new();
    for (_, set) in &models {
        reads.push(vec!["ZCARD", set.as_str()]);
        reads.push(vec![
            "ZREVRANGE",
            set.as_str(),
            "0",
            stop.as_str(),
            "WITHSCORES",
        ]);
    }
    let replies = db.pipeline(trace, &reads).await?;
    let mut total = 0;
    let mut newest: Vec<(i64, String, Partition)> = Vec::new();
    for ((partition, _), pair) in models.iter().zip(replies.chunks(2)) {
        total += redis::from_redis_value::<u64>(pair[0].clone()).unwrap_or(0);
        let scored: Vec<(String, f64)> =
            redis::from_redis_value(pair[1].clone()).unwrap_or_default();
        newest.extend(
            scored
                .into_iter()
                .map(|(id, score)| (score as i64, id, *partition)),
        );
    }
    // As ZREVRANGE orders one set: score, then member, both descending.
    newest.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| b.1.cmp(&a.1)));
    let page: Vec<(i64, String, Partition)> = newest
        .into_iter()
        .skip(offset as usize)
        .take(limit as usize)
        .collect();
    if page.is_empty() {
        return Ok(ClaimPage {
            claims: Vec::new(),
            total,
        });
    }
    let views: Vec<String> = page
        .iter()
        .map(|(_, _, p)| p.model(Model::Live).views())
        .collect();
    let reads: Vec<Vec<&str>> = page
        .iter()
        .zip(&views)
        .map(|((_, id, _), views)| vec!["HGET", views.as_str(), id.as_str()])
        .collect();
    let claims = db
        .pipeline(trace, &reads)
        .await?
        .iter()
        .filter_map(reply::text)
        .filter_map(|j| serde_json::from_str(&j).ok())
        .collect();
    Ok(ClaimPage { claims, total })
}

/// The last entry applied in the partition, if any.
pub async fn position(
    db: &Db,
    trace: &mut Trace,
    partition: Partition,
) -> Result<Option<String>, DbError> {
    db.run(trace, &["HGET", &partition.projection(), "position"])
        .await
}

/// Waits until the partition's read model has applied `after` (read your writes), looking
/// every 10 ms until `deadline`; `Err` with where it stood if it had not by then. Only the
/// look that found it is kept in `trace`: the ones before it say nothing to a learner.
pub async fn wait_applied(
    db: &Db,
    trace: &mut Trace,
    partition: Partition,
    after: EntryId,
    deadline: tokio::time::Instant,
) -> Result<Result<(), Option<String>>, DbError> {
    loop {
        let mut look = if trace.is_on() {
            Trace::default()
        } else {
            Trace::off()
        };
        let at = position(db, &mut look, partition).await?;
        if at
            .as_deref()
            .and_then(|p| p.parse::<EntryId>().ok())
            .is_some_and(|p| p >= after)
        {
            trace.extend(look);
            return Ok(Ok(()));
        }
        if tokio::time::Instant::now() >= deadline {
            return Ok(Err(at));
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

/// The projection's position in the partition, and its group as `XINFO GROUPS` reports it
/// (none while the stream, and so the group, is not there).
pub async fn position_and_group(
    db: &Db,
    trace: &mut Trace,
    partition: Partition,
) -> Result<(Option<String>, Option<GroupInfo>), DbError> {
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
        Err(e) if e.refusal() == Some(Refusal::NoSuchKey) => return Ok((None, None)),
        Err(e) => return Err(e),
    };
    let group = GroupInfo::all_in(&replies[1])
        .into_iter()
        .find(|g| g.name == keys::PROJECTIONS_GROUP);
    Ok((reply::text(&replies[0]), group))
}

/// One partition's projection state (its hash's fields), newest entry and claim count.
#[derive(Debug, Clone, Default)]
pub struct PartitionState {
    pub fields: Vec<(String, String)>,
    pub newest: Option<String>,
    pub claims: u64,
}

/// Every partition's [`PartitionState`], in one round trip.
pub async fn states(db: &Db, trace: &mut Trace) -> Result<Vec<PartitionState>, DbError> {
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
    Ok(replies
        .chunks(3)
        .map(|part| PartitionState {
            fields: redis::from_redis_value(part[0].clone()).unwrap_or_default(),
            newest: reply::entries(part[1].clone())
                .into_iter()
                .next()
                .map(|(id, _)| id),
            claims: reply::int(Some(&part[2])).unwrap_or(0).max(0) as u64,
        })
        .collect())
}

/// Counts an entry left out of the model (`skipped` in the projection's hash).
pub async fn count_skipped(db: &Db, partition: Partition) -> Result<(), DbError> {
    db.run::<i64, _>(
        &mut Trace::off(),
        &["HINCRBY", &partition.projection(), "skipped", "1"],
    )
    .await
    .map(drop)
}

/// Unlinks the views an older version kept under the keys of its own layout.
pub async fn forget_earlier_layout(db: &Db, partition: Partition) -> Result<(), DbError> {
    db.run::<(), _>(&mut Trace::off(), &["UNLINK", &partition.views_before_v2()])
        .await
}

/// The customers with the most claims, most first.
pub async fn top_customers(
    db: &Db,
    trace: &mut Trace,
    n: usize,
) -> Result<Vec<CustomerTotals>, DbError> {
    let hashes: Vec<String> = db
        .partitions
        .all()
        .map(|p| p.model(Model::Live).customers())
        .collect();
    let reads: Vec<Vec<&str>> = hashes.iter().map(|h| vec!["HGETALL", h.as_str()]).collect();
    // A customer's claims may be in every partition: their totals add up.
    let mut by_customer: BTreeMap<String, CustomerTotals> = BTreeMap::new();
    for reply in db.pipeline(trace, &reads).await? {
        let all: Vec<(String, String)> = redis::from_redis_value(reply).unwrap_or_default();
        for totals in all.iter().filter_map(|(c, json)| customer_totals(c, json)) {
            match by_customer.get_mut(&totals.customer_id) {
                Some(sum) => add_totals(sum, totals),
                None => {
                    by_customer.insert(totals.customer_id.clone(), totals);
                }
            }
        }
    }
    let mut totals: Vec<CustomerTotals> = by_customer.into_values().collect();
    totals.sort_by(|a, b| {
        b.claims
            .cmp(&a.claims)
            .then_with(|| a.customer_id.cmp(&b.customer_id))
    });
    totals.truncate(n);
    Ok(totals)
}

fn customer_totals(customer: &str, json: &str) -> Option<CustomerTotals> {
    let value: serde_json::Value = serde_json::from_str(json).ok()?;
    let money = |field: &str| -> Vec<MoneyTotal> {
        let mut totals: Vec<MoneyTotal> = value[field]
            .as_object()
            .into_iter()
            .flatten()
            .filter_map(|(currency, cents)| {
                Some(MoneyTotal {
                    currency: currency.clone(),
                    amount: shared::Amount::from_cents(cents.as_i64()?).to_string(),
                })
            })
            .collect();
        totals.sort_by(|a, b| a.currency.cmp(&b.currency));
        totals
    };
    Some(CustomerTotals {
        customer_id: customer.to_owned(),
        claims: value["claims"].as_u64()?,
        claimed: money("claimed"),
        paid: money("paid"),
    })
}

fn add_totals(sum: &mut CustomerTotals, more: CustomerTotals) {
    sum.claims += more.claims;
    for (into, from) in [(&mut sum.claimed, more.claimed), (&mut sum.paid, more.paid)] {
        for money in from {
            let cents =
                |m: &MoneyTotal| m.amount.parse::<shared::Amount>().map_or(0, |a| a.cents());
            match into.iter_mut().find(|m| m.currency == money.currency) {
                Some(m) => {
                    m.amount = shared::Amount::from_cents(cents(m) + cents(&money)).to_string();
                }
                None => into.push(money),
            }
        }
        into.sort_by(|a, b| a.currency.cmp(&b.currency));
    }
}

/// The newest activity over every partition, newest first.
pub async fn recent(db: &Db, trace: &mut Trace, n: usize) -> Result<Vec<ActivityItem>, DbError> {
    let stop = n.saturating_sub(1).to_string();
    let lists: Vec<String> = db
        .partitions
        .all()
        .map(|p| p.model(Model::Live).activity())
        .collect();
    let reads: Vec<Vec<&str>> = lists
        .iter()
        .map(|l| vec!["LRANGE", l.as_str(), "0", stop.as_str()])
        .collect();
    let mut items: Vec<ActivityItem> = Vec::new();
    for reply in db.pipeline(trace, &reads).await? {
        let json: Vec<String> = redis::from_redis_value(reply).unwrap_or_default();
        items.extend(json.iter().filter_map(|j| serde_json::from_str(j).ok()));
    }
    // Entry ids start with their time in ms, so across partitions they order by time.
    items.sort_by_key(|i| std::cmp::Reverse(i.entry_id.parse::<EntryId>().unwrap_or_default()));
    items.truncate(n);
    Ok(items)
}
