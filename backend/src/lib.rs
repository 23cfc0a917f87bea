//! The claimstream relay: claims as events on Redis Streams, served over HTTP and a WebSocket.

pub mod access;
pub mod claim_store;
pub mod commands;
pub mod config;
pub mod connections;
pub mod console;
pub mod cursor;
pub mod db;
pub mod embedded_redis;
pub mod entry_id;
pub mod error;
pub mod extract;
pub mod feed;
pub mod idempotency;
pub mod keys;
pub mod lab;
pub mod lease;
pub mod limits;
pub mod projection;
pub mod redis_cli;
pub mod replay;
pub mod retention;
pub mod routes;
pub mod scenarios;
pub mod startup;
pub mod state;
pub mod traffic;
pub mod trends;
pub mod validate;
pub mod workers;

pub use config::Config;
pub use startup::Application;
