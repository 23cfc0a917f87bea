//! Integration tests: the relay against a real redis-server that each test starts for itself
//! on a free loopback port, so tests run in parallel without sharing state.

mod access;
mod assets;
mod bad_input;
mod bounded_reads;
mod causes;
mod claims;
mod connections;
mod console;
mod dashboard;
mod dead_letters;
mod debugger;
mod embedded;
mod faults;
mod fixtures;
mod fuzz;
mod groups;
mod hints;
mod history;
mod hostile_console;
mod idempotency;
mod lab;
mod limits;
mod metrics;
mod outage;
mod projection;
mod quiz;
mod retention;
mod scenarios;
mod schema;
mod snippets;
mod soak;
mod traffic;
mod validate;
mod websocket;
mod workers;
