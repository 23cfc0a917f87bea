//! End-to-end tests: the release build of the browser app (`dist/`, made by `cargo xtask test`)
//! in headless Chromium, against a relay and a redis-server of each test's own.

mod harness;
mod hostile;
mod page;
mod specs;
