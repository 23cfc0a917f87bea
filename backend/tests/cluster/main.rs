//! Tests against a Redis Cluster of the test's own (three primaries, one replica each) with
//! several relays in front of it.

mod faults;
mod harness;
mod relays;
