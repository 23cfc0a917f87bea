//! The API tests' own fixtures: what several of them set up the same way and no other test
//! binary needs (the rest is in `test_support`).

use backend::Config;
use backend::events::commands::{self, Cause, CommandError, Executed};
use backend::store::claims::{Claims, DEFAULT_SNAPSHOT_EVERY, IdempotencyMark};
use backend::store::db::Db;
use backend::store::embedded::Persistence;
use backend::store::trace::Trace;
use redis::aio::MultiplexedConnection;
use serde_json::Value;
use shared::snapshot::SnapshotEvery;
use shared::{Amount, Claim, ClaimCommand, ClaimId, Currency, CustomerId, Description};
use test_support::{RedisServer, Relay, TestApp, spawn_app_with};

/// A redis-server of the test's own with no relay in front, so nothing indexes or projects
/// behind the test's back; a relay's handle on it and a plain connection.
pub async fn bare_redis() -> (RedisServer, Db, MultiplexedConnection) {
    let redis = RedisServer::start(Persistence::None).await.unwrap();
    let db = Db::new(&redis.url()).unwrap();
    let conn = redis.connect().await;
    (redis, db, conn)
}

/// A relay on a Redis of its own with its consumer groups running, `consumers` per group,
/// `claims-processors` reviewing claims or not, and the rest of its config adjusted by
/// `adjust`.
pub async fn spawn_workers(
    consumers: usize,
    auto_review: bool,
    adjust: impl FnOnce(&mut Config),
) -> TestApp {
    spawn_app_with(|c| {
        c.workers = true;
        c.consumers = consumers;
        c.auto_review = auto_review;
        adjust(c);
    })
    .await
}

/// Consumer groups on, `claims-processors` not reviewing claims.
pub fn workers_without_review(config: &mut Config) {
    config.workers = true;
    config.auto_review = false;
}

/// A second relay on `app`'s Redis, its config adjusted by `adjust`.
pub async fn second_relay(app: &TestApp, adjust: impl FnOnce(&mut Config)) -> Relay {
    let mut config = test_support::relay::config(Some(app.redis_url()), None);
    adjust(&mut config);
    Relay::start(config).await
}

/// The claims in `db`, snapshotted as the relay does by default.
pub fn claims(db: &Db) -> Claims {
    Claims::new(db.clone(), SnapshotEvery(DEFAULT_SNAPSHOT_EVERY))
}

/// Submits claim `claim_id` of `cents` for `customer` the way `POST /api/claims` does, minus
/// HTTP (with the idempotency `mark` a request with a key has); what the command gave.
pub async fn submit_directly(
    db: &Db,
    claim_id: &str,
    customer: &str,
    cents: i64,
    description: &str,
    mark: Option<&IdempotencyMark>,
) -> Result<Executed, CommandError> {
    let command = ClaimCommand::SubmitClaim {
        claim_id: ClaimId::parse(claim_id).unwrap(),
        customer_id: CustomerId::parse(customer).unwrap(),
        amount: Amount::from_cents(cents),
        description: Description::parse(description).unwrap(),
        currency: Currency::BEFORE_V2,
        policy_number: None,
        at: backend::store::clock::Clock::system().now(),
    };
    commands::execute(
        &claims(db),
        &mut Trace::off(),
        &Claim::default(),
        &command,
        Cause {
            id: "req-FIXTURE",
            by: shared::api::CommandBy::Learner,
        },
        None,
        mark,
    )
    .await
}

/// The group called `name` in a `GET /api/groups` answer; panics if there is none.
pub fn group_named<'a>(groups: &'a Value, name: &str) -> &'a Value {
    groups["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == name)
        .unwrap_or_else(|| panic!("no group {name} in {groups}"))
}

/// A relay whose `claims-notifications` fails every entry and letters it after one delivery,
/// once its workers have started.
pub async fn letter_every_notification() -> TestApp {
    let app = spawn_workers(1, false, |c| c.max_deliveries = 1).await;
    test_support::until(
        std::time::Duration::from_secs(10),
        "the workers",
        async || {
            app.post(
                "/api/groups/claims-notifications/inject",
                &serde_json::json!({"fail_ratio": 1.0}),
            )
            .await
            .status()
                == 200
        },
    )
    .await;
    app
}

/// Sets what `group`'s consumers are made to fail (`POST /api/groups/{group}/inject`);
/// panics unless the relay says done.
pub async fn inject(app: &TestApp, group: &str, body: Value) {
    let r = app
        .post(&format!("/api/groups/{group}/inject"), &body)
        .await;
    assert_eq!(r.status(), 200);
}

/// The string `field` of each object in the JSON array `items`.
pub fn strings_at<'a>(items: &'a Value, field: &str) -> Vec<&'a str> {
    items
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item[field].as_str().unwrap())
        .collect()
}

/// [`workers_without_review`], then the rest of the relay's config adjusted by `adjust`.
pub async fn spawn_without_review(adjust: impl FnOnce(&mut Config)) -> TestApp {
    spawn_app_with(|c| {
        workers_without_review(c);
        adjust(c);
    })
    .await
}
