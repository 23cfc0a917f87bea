//! A drain: a group created at the start of a stream, the relay's consumers run on it, and
//! the probe that tells when the group is past the pre-loaded entries.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use anyhow::Context;
use backend::store::db::Db;
use backend::store::entry_id::EntryId;
use backend::workers::handler::Injection;
use backend::workers::processors::AutoReview;
use backend::workers::{Consumer, ConsumerConfig, Outcome};
use redis::Value;
use redis::aio::ConnectionLike;
use tokio::sync::RwLock;
use tokio::task::JoinHandle;
use tokio::time::timeout;
use tokio_util::sync::CancellationToken;

use super::{APPROVE_UP_TO, STEP_TIMEOUT};
use backend::store::reply;

/// The last entry of the stream at `key`, which a drain must get past.
pub async fn last_entry(admin: &mut impl ConnectionLike, key: &str) -> anyhow::Result<EntryId> {
    let last: Value = redis::cmd("XREVRANGE")
        .arg(key)
        .arg("+")
        .arg("-")
        .arg("COUNT")
        .arg(1)
        .query_async(admin)
        .await?;
    reply::entries(last)
        .first()
        .with_context(|| format!("{key} is empty after the submit"))?
        .0
        .parse::<EntryId>()
        .map_err(anyhow::Error::msg)
}

/// Creates `group` on the stream at `key`, at its start: `groups::ensure` creates at `$`,
/// which would skip the pre-loaded entries.
pub async fn create_group(
    admin: &mut impl ConnectionLike,
    key: &str,
    group: &str,
) -> anyhow::Result<()> {
    let _: String = redis::cmd("XGROUP")
        .arg("CREATE")
        .arg(key)
        .arg(group)
        .arg("0")
        .arg("MKSTREAM")
        .query_async(admin)
        .await
        .with_context(|| format!("creating group {group} on {key}"))?;
    Ok(())
}

/// Sums of the consumers' outcomes.
#[derive(Default)]
pub struct Tally {
    pub delivered: AtomicU64,
    pub acked: AtomicU64,
    pub failed: AtomicU64,
}

impl Tally {
    fn add(&self, o: &Outcome) {
        self.delivered
            .fetch_add(o.delivered as u64, Ordering::Relaxed);
        self.acked.fetch_add(o.acked as u64, Ordering::Relaxed);
        self.failed.fetch_add(o.failed as u64, Ordering::Relaxed);
    }
}

/// The relay's claims-processors consumers of one drain, and what they share: the
/// [`AutoReview`] handler at [`APPROVE_UP_TO`], the fault injection (none), the tally of
/// their outcomes and the token that stops them.
pub struct Processors {
    group: &'static str,
    handler: Arc<AutoReview>,
    injection: Arc<RwLock<Injection>>,
    pub tally: Arc<Tally>,
    done: CancellationToken,
}

impl Processors {
    /// `Consumer` takes the group as `&'static str`.
    pub fn new(group: &'static str, db: &backend::store::db::Db) -> Self {
        Self {
            group,
            handler: Arc::new(AutoReview {
                claims: super::claims::claims(db),
                approve_up_to: APPROVE_UP_TO,
                clock: backend::store::clock::Clock::system(),
            }),
            injection: Arc::new(RwLock::new(Injection::default())),
            tally: Arc::new(Tally::default()),
            done: CancellationToken::new(),
        }
    }

    /// Consumer `processor-{n}` of the group, with the relay's default configuration.
    pub fn consumer(&self, db: &Db, n: usize) -> Consumer<AutoReview> {
        Consumer::new(
            db.clone(),
            self.group,
            format!("processor-{n}"),
            self.handler.clone(),
            ConsumerConfig::default(),
            self.injection.clone(),
        )
    }

    /// Runs `consumer`'s steps in a task of its own until [`Processors::stop`] or `deadline`,
    /// adding each step's outcome to the tally.
    pub fn spawn(
        &self,
        mut consumer: Consumer<AutoReview>,
        deadline: Instant,
    ) -> JoinHandle<anyhow::Result<()>> {
        let (tally, done) = (self.tally.clone(), self.done.clone());
        tokio::spawn(async move {
            // Steps are never cut short: a step that straddles the mark finishes.
            while !done.is_cancelled() && Instant::now() < deadline {
                let outcome = timeout(STEP_TIMEOUT, consumer.process_once())
                    .await
                    .context("a consumer step timed out")??;
                tally.add(&outcome);
            }
            Ok(())
        })
    }

    /// Stops the consumers' `tasks`, and waits for each to finish its step: the first error
    /// any of them met comes out here.
    pub async fn stop(&self, tasks: Vec<JoinHandle<anyhow::Result<()>>>) -> anyhow::Result<()> {
        self.done.cancel();
        for task in tasks {
            timeout(STEP_TIMEOUT * 2, task)
                .await
                .context("a consumer did not stop")???;
        }
        Ok(())
    }
}

/// Whether `group` has delivered past `end` on the stream at `key` and has none of the entries
/// up to `end` pending, and how many entries it has read so far.
pub async fn drained(
    probe: &mut impl ConnectionLike,
    key: &str,
    group: &str,
    end: EntryId,
) -> anyhow::Result<(bool, u64)> {
    let reply: Value = redis::cmd("XINFO")
        .arg("GROUPS")
        .arg(key)
        .query_async(probe)
        .await?;
    let info = group_info(&reply, group).with_context(|| format!("no group {group}"))?;
    let field = |name: &str| info.iter().find(|(k, _)| k == name).map(|(_, v)| *v);
    let last: EntryId = field("last-delivered-id")
        .and_then(reply::text)
        .context("no last-delivered-id")?
        .parse()
        .map_err(anyhow::Error::msg)?;
    let read = field("entries-read")
        .and_then(reply::text)
        .and_then(|t| t.parse().ok())
        .unwrap_or(0);
    if last < end {
        return Ok((false, read));
    }
    let pending: Value = redis::cmd("XPENDING")
        .arg(key)
        .arg(group)
        .arg("-")
        .arg(end.to_string())
        .arg(1)
        .query_async(probe)
        .await?;
    let none_pending = matches!(&pending, Value::Array(rows) if rows.is_empty());
    Ok((none_pending, read))
}

/// The fields of one group in an XINFO GROUPS reply.
fn group_info<'a>(reply: &'a Value, group: &str) -> Option<Vec<(String, &'a Value)>> {
    let Value::Array(groups) = reply else {
        return None;
    };
    groups.iter().find_map(|g| {
        let fields: Vec<(String, &Value)> = match g {
            Value::Array(flat) => flat
                .chunks(2)
                .filter_map(|kv| Some((reply::text(kv.first()?)?, kv.get(1)?)))
                .collect(),
            Value::Map(pairs) => pairs
                .iter()
                .filter_map(|(k, v)| Some((reply::text(k)?, v)))
                .collect(),
            _ => return None,
        };
        let name = fields
            .iter()
            .find(|(k, _)| k == "name")
            .and_then(|(_, v)| reply::text(v))?;
        (name == group).then_some(fields)
    })
}
