//! The consumer groups as Redis reports them, joined with what this relay knows.

use shared::Timestamp;
use shared::api::{ConsumerView, GroupView, GroupsResponse, PendingView, SampledStep};

use super::Workers;
use crate::store::db::{Db, DbError};
use crate::store::entry_id::EntryId;
use crate::store::groups;
use crate::store::keys::{self, Partition};
use crate::store::trace::Trace;

/// Pending entries listed per group.
const PENDING_SHOWN: usize = 50;

/// Each group's lag over every partition, added up (unknown if unknown in one), from
/// XINFO GROUPS: one command per partition.
pub async fn lags(db: &Db) -> Result<Vec<(String, Option<u64>)>, DbError> {
    let mut lags: Vec<(String, Option<u64>)> = Vec::new();
    for partition in db.partitions.all() {
        for g in groups::groups(db, &mut Trace::off(), &partition.events()).await? {
            match lags.iter_mut().find(|(n, _)| *n == g.name) {
                Some((_, sum)) => *sum = sum.zip(g.lag).map(|(a, b)| a + b),
                None => lags.push((g.name, g.lag)),
            }
        }
    }
    Ok(lags)
}

/// Every group over every partition: the figures added up (a consumer reads every partition,
/// so it counts once), with each partition's own alongside when there are several. `now`:
/// when it is read (how long ago a breaker opened).
pub async fn read(
    db: &Db,
    now: Timestamp,
    workers: Option<&Workers>,
    trace: &mut Trace,
) -> Result<GroupsResponse, DbError> {
    let mut total: Option<GroupsResponse> = None;
    let partitioned = db.partitions.count() > 1;
    for partition in db.partitions.all() {
        let mut one = read_partition(db, now, workers, trace, partition).await?;
        if partitioned {
            one.partition_lengths = vec![one.length];
            one.partition_dead_letters = vec![one.dead_letters];
            for g in &mut one.groups {
                g.partition_lags = vec![g.lag];
                g.partition_pending = vec![g.pending];
                g.partition_lag_ms = vec![g.lag_ms];
            }
        }
        total = Some(match total {
            None => {
                for g in &mut one.groups {
                    g.last_delivered_id = partition.marker(&g.last_delivered_id);
                }
                one
            }
            Some(sum) => add_up(sum, one, partition),
        });
    }
    let mut total = total.expect("at least one partition");
    if partitioned {
        total.stream = keys::EVENTS.to_owned();
        let count = db.partitions.count() as usize;
        for g in &mut total.groups {
            g.partition_lags.resize(count, None);
            g.partition_pending.resize(count, 0);
            g.partition_lag_ms.resize(count, 0);
        }
    }
    Ok(total)
}

/// Adds partition `p`'s figures to the sum of the ones before it.
fn add_up(mut sum: GroupsResponse, one: GroupsResponse, p: Partition) -> GroupsResponse {
    sum.length += one.length;
    sum.dead_letters += one.dead_letters;
    sum.partition_lengths.extend(one.partition_lengths);
    sum.partition_dead_letters
        .extend(one.partition_dead_letters);
    // Ids of different streams do not order; the newest by time stands for all.
    sum.last_id = crate::store::entry_id::newest(sum.last_id, one.last_id);
    for group in one.groups {
        let Some(into) = sum.groups.iter_mut().find(|g| g.name == group.name) else {
            // A group missing in the partitions before this one (not created there yet).
            let mut group = group;
            let before = p.index() as usize;
            group.partition_lags.splice(0..0, vec![None; before]);
            group.partition_pending.splice(0..0, vec![0; before]);
            group.partition_lag_ms.splice(0..0, vec![0; before]);
            sum.groups.push(group);
            continue;
        };
        into.partition_lags.extend(group.partition_lags);
        into.partition_pending.extend(group.partition_pending);
        into.partition_lag_ms.extend(group.partition_lag_ms);
        into.lag_ms = into.lag_ms.max(group.lag_ms);
        into.consumers = into.consumers.max(group.consumers);
        into.pending += group.pending;
        into.last_delivered_id = format!(
            "{},{}",
            into.last_delivered_id,
            p.marker(&group.last_delivered_id)
        );
        into.entries_read = into
            .entries_read
            .zip(group.entries_read)
            .map(|(a, b)| a + b);
        into.lag = into.lag.zip(group.lag).map(|(a, b)| a + b);
        for member in group.members {
            match into.members.iter_mut().find(|m| m.name == member.name) {
                Some(m) => {
                    m.pending += member.pending;
                    m.idle_ms = m.idle_ms.min(member.idle_ms);
                    m.running |= member.running;
                }
                None => into.members.push(member),
            }
        }
        into.pending_entries.extend(group.pending_entries);
        into.pending_entries.truncate(PENDING_SHOWN);
    }
    sum
}

async fn read_partition(
    db: &Db,
    now: Timestamp,
    workers: Option<&Workers>,
    trace: &mut Trace,
    partition: Partition,
) -> Result<GroupsResponse, DbError> {
    let (stream, failed) = (partition.events(), partition.failed());
    let groups::Head {
        length,
        last_id,
        dead_letters,
    } = groups::head(db, trace, &stream, &failed).await?;
    let mut views = Vec::new();
    for group in groups::groups(db, trace, &stream).await? {
        let details = groups::details(db, trace, &stream, &group, PENDING_SHOWN).await?;
        let name = group.name;
        // Entry ids start with Redis's clock at the append; a clock a little ahead reads as 0.
        let lag_ms = details
            .next_undelivered
            .as_deref()
            .and_then(|id| id.parse::<EntryId>().ok())
            .map_or(0, |id| {
                u64::try_from(now.unix_millis())
                    .unwrap_or(0)
                    .saturating_sub(id.ms)
            });
        let running = workers.map(|w| w.running(&name)).unwrap_or_default();
        let members = details
            .consumers
            .into_iter()
            .map(|c| ConsumerView {
                // The projector is no worker of this relay's: it runs if it read lately
                // (it reads at least twice a second).
                running: running.contains(&c.name)
                    || (name == keys::PROJECTIONS_GROUP && c.idle_ms < 5_000),
                name: c.name,
                pending: c.pending,
                idle_ms: c.idle_ms,
                inactive_ms: c.inactive_ms,
            })
            .collect();
        let pending_entries = details
            .pending
            .into_iter()
            .map(|r| PendingView {
                id: r.id,
                consumer: r.consumer,
                idle_ms: r.idle_ms,
                deliveries: r.deliveries,
            })
            .collect();
        let local = workers.and_then(|w| w.group(&name).ok());
        // Pause, injection and breaker as every process sees them; rates from this relay.
        let shared = details.state;
        let view = super::controls::GroupControls::default();
        view.apply(&shared, now);
        let (breaker, paused, poison_claim, fail_ratio) = (
            view.breaker_state().as_str().to_owned(),
            shared.paused,
            shared.injection.poison_claim,
            shared.injection.fail_ratio,
        );
        let (throughput, refused, sampled) = match local {
            Some(g) => (
                g.controls.throughput(),
                g.controls
                    .refused
                    .load(std::sync::atomic::Ordering::Relaxed),
                g.controls
                    .sample()
                    .map(|(ago, consumer, commands)| SampledStep {
                        consumer,
                        ago_ms: ago.as_millis() as u64,
                        commands,
                    }),
            ),
            None => (0.0, 0, None),
        };
        views.push(GroupView {
            consumers: group.consumers,
            pending: group.pending,
            last_delivered_id: group.last_delivered_id,
            entries_read: group.entries_read,
            lag: group.lag,
            lag_ms,
            in_relay: local.is_some(),
            breaker,
            paused,
            poison_claim,
            fail_ratio,
            throughput,
            refused,
            sampled,
            // Filled in from this relay's samples (`trends`).
            lag_trend: Vec::new(),
            catch_up_seconds: None,
            processing_ms: local.and_then(|g| g.controls.processing_ms()),
            error_rate: 0.0,
            members,
            pending_entries,
            partition_lags: Vec::new(),
            partition_pending: Vec::new(),
            partition_lag_ms: Vec::new(),
            name,
        });
    }
    Ok(GroupsResponse {
        stream,
        length,
        last_id,
        dead_letters,
        groups: views,
        partition_lengths: Vec::new(),
        partition_dead_letters: Vec::new(),
        redis: Vec::new(),
    })
}
