//! Tests against a Redis Cluster of the test's own (three primaries, one replica each) with
//! several relays in front of it.

mod faults;
mod harness;
mod relays;
// Shared with the other test binary, which uses other parts of it.
#[allow(dead_code)]
#[path = "../support/ws_client.rs"]
mod ws_client;
