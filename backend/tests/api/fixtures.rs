//! The API tests' own fixtures: what several of them set up the same way and no other test
//! binary needs (the rest is in `test_support`).

use backend::db::Db;
use backend::embedded_redis::Persistence;
use redis::aio::MultiplexedConnection;
use test_support::RedisServer;

/// A redis-server of the test's own with no relay in front, so nothing indexes or projects
/// behind the test's back; a relay's handle on it and a plain connection.
pub async fn bare_redis() -> (RedisServer, Db, MultiplexedConnection) {
    let redis = RedisServer::start(Persistence::None).await.unwrap();
    let db = Db::new(&redis.url()).unwrap();
    let conn = redis.connect().await;
    (redis, db, conn)
}
