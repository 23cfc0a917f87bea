//! What the backend's tests and benches share, written once: a real redis-server of the
//! caller's own (single or cluster), the relay on loopback ports, a typed client of its API,
//! raw stream reads and writes, its WebSocket feed, and waiting for a condition.
//!
//! Everything starts real processes on free loopback ports (never a mock), so callers can run
//! in parallel without sharing state.

pub mod api;
pub mod cluster;
pub mod node;
mod program;
pub mod python;
pub mod redis_server;
pub mod relay;
pub mod streams;
pub mod wait;
pub mod ws;

pub use api::{ApiClient, error_of, expect_error};
pub use cluster::EmbeddedCluster;
pub use redis_server::RedisServer;
pub use relay::{Relay, RelayProcess, TestApp, spawn_app, spawn_app_with, test_config};
pub use streams::field;
pub use wait::{eventually, poll, until};
pub use ws::WsClient;
