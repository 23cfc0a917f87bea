//! Faults under load: a relay killed, a primary failed over. Nothing acknowledged is lost,
//! and what is left recovers by itself.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::harness::{Relay, Stack};

/// Submits claims through the relays in turn, 8 at a time, until `stop`; collects the ids
/// of the claims a relay acknowledged (201). A request a relay fails is not retried: the
/// claim may or may not exist, and only acknowledged ones are promised.
fn load(
    relays: Vec<Arc<Relay>>,
    acknowledged: Arc<Mutex<Vec<String>>>,
    stop: tokio_util::sync::CancellationToken,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut n = 0usize;
        while !stop.is_cancelled() {
            let batch: Vec<_> = (0..8)
                .map(|k| {
                    let relay = relays[(n + k) % relays.len()].clone();
                    let customer = format!("CUST-LOAD-{}", n + k);
                    tokio::spawn(async move { relay.try_submit(&customer).await })
                })
                .collect();
            n += 8;
            for submitted in batch {
                if let Ok(Some(claim)) = submitted.await {
                    acknowledged.lock().unwrap().push(claim);
                }
            }
        }
    })
}

/// Waits until `n` claims were acknowledged.
async fn until_acknowledged(acknowledged: &Mutex<Vec<String>>, n: usize) {
    tokio::time::timeout(Duration::from_secs(30), async {
        while acknowledged.lock().unwrap().len() < n {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{n} claims were not acknowledged within 30 s"));
}

/// Waits until claims-processors approved every claim (120.00 is under the auto-approval
/// limit): its entries were all handled, by whichever consumer ended up with them.
async fn until_all_approved(relay: &Relay, claims: &[String], within: Duration) {
    let deadline = tokio::time::Instant::now() + within;
    let mut waiting: Vec<&String> = claims.iter().collect();
    while !waiting.is_empty() {
        let mut still = Vec::new();
        for claim in waiting {
            if relay.status_of(claim).await.as_deref() != Some("approved") {
                still.push(claim);
            }
        }
        waiting = still;
        assert!(
            waiting.is_empty() || tokio::time::Instant::now() < deadline,
            "{} of {} acknowledged claims not approved within {within:?}, e.g. {}",
            waiting.len(),
            claims.len(),
            waiting[0]
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn killing_one_relay_under_load_loses_nothing_and_the_other_finishes_its_work() {
    let stack = Stack::start().await;
    let mut doomed = stack.relay_process().await;
    let mut survivor = stack.relay_process().await;
    let (doomed_relay, survivor_relay) = (doomed.relay.clone(), survivor.relay.clone());
    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    let stop = tokio_util::sync::CancellationToken::new();
    let loading = load(
        vec![doomed_relay, survivor_relay.clone()],
        acknowledged.clone(),
        stop.clone(),
    );
    until_acknowledged(&acknowledged, 150).await;
    doomed.kill().await;
    let at_kill = acknowledged.lock().unwrap().len();
    // The survivor goes on taking claims.
    until_acknowledged(&acknowledged, at_kill + 100).await;
    stop.cancel();
    loading.await.unwrap();
    let claims = acknowledged.lock().unwrap().clone();
    // Entries the killed relay's consumers had read and not acknowledged are taken over
    // (after 1 s idle) by the survivor's: every acknowledged claim gets approved.
    until_all_approved(&survivor_relay, &claims, Duration::from_secs(60)).await;
    survivor.kill().await;
    stack.cluster.stop().await.unwrap();
}

#[tokio::test]
async fn failing_over_a_primary_under_load_loses_no_acknowledged_claim() {
    let stack = Stack::start().await;
    let (one, other) = (
        Arc::new(stack.relay_with(fast).await),
        Arc::new(stack.relay_with(fast).await),
    );
    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    let stop = tokio_util::sync::CancellationToken::new();
    let loading = load(
        vec![one.clone(), other.clone()],
        acknowledged.clone(),
        stop.clone(),
    );
    until_acknowledged(&acknowledged, 150).await;
    // The primary of the first partition's slot hands over to its replica.
    let stream = backend::store::keys::Partitions::new(crate::harness::PARTITIONS)
        .unwrap()
        .all()
        .next()
        .unwrap()
        .events();
    let (primary, replicas) = stack.cluster.serving(&stream).await.unwrap();
    stack.cluster.fail_over_to(replicas[0]).await.unwrap();
    let (now_primary, _) = stack.cluster.serving(&stream).await.unwrap();
    assert_ne!(now_primary, primary, "the replica took over");
    let at_failover = acknowledged.lock().unwrap().len();
    // The relays follow the new primary by themselves: claims keep being acknowledged.
    until_acknowledged(&acknowledged, at_failover + 150).await;
    stop.cancel();
    loading.await.unwrap();
    let claims = acknowledged.lock().unwrap().clone();
    until_all_approved(&one, &claims, Duration::from_secs(60)).await;
    let one = Arc::into_inner(one).unwrap();
    let other = Arc::into_inner(other).unwrap();
    one.shutdown().await;
    other.shutdown().await;
    stack.cluster.stop().await.unwrap();
}

/// Consumer groups on, idle entries taken over after 1 s, no write limit in the way.
fn fast(config: &mut backend::Config) {
    config.workers = true;
    config.claim_idle_ms = 1000;
    config.write_rate_per_second = 100_000;
    config.write_burst = 100_000;
}
