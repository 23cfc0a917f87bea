//! What the benches share. Each bench includes it as a module of its own (`#[path]`); cargo
//! builds only `examples/*.rs` and `examples/*/main.rs` as examples, so nothing under
//! `support/` is one.
//!
//! `bench_groups` and `bench_cluster` include this file: both pre-load claims through the
//! relay's own path, drain them with the relay's consumers, and measure the same things (CPU
//! and the time waiting for a core of this process and of every redis-server, Redis's command
//! counters). `bench` includes only [`flags`] and [`cpu`], each on its own (and `http_load.rs`
//! and `node_stack.rs`, which are its alone): the rest would be dead code there, and an unused
//! item in an example is a warning like any other. So everything here and below is used by
//! both drain benches.

pub mod claims;
pub mod cpu;
pub mod drain;
pub mod flags;
pub mod measure;

use std::time::Duration;

use shared::Amount;

/// The most any single command, submit or consumer step may take.
pub const STEP_TIMEOUT: Duration = Duration::from_secs(10);
/// The most one drain may take; a drain that hits it is reported as such.
pub const RUN_TIMEOUT: Duration = Duration::from_secs(300);
/// How often a drain's progress is checked.
pub const POLL: Duration = Duration::from_millis(100);
/// The relay's default `--auto-approve-up-to`.
pub const APPROVE_UP_TO: Amount = Amount::from_cents(100_000);
/// Even claims: under [`APPROVE_UP_TO`], so `AutoReview` reviews and approves them.
pub const SMALL: Amount = Amount::from_cents(50_000);
/// Odd claims: over it, so they stay under review.
pub const LARGE: Amount = Amount::from_cents(500_000);
