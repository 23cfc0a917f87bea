//! End-to-end tests: the release build of the browser app (`dist/`, made by `cargo xtask test`)
//! in headless Chromium, against a relay and a redis-server of each test's own.
//!
//! `harness` starts the parts (Redis, the relay, chromedriver and Chromium), `page` reads and
//! drives the views by `data-testid`, `fixture` runs a spec with its browser, `specs` holds the
//! specs, a file per view.

mod fixture;
mod harness;
mod page;
mod specs;
