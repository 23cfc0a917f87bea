//! The JSON the relay and the browser exchange over HTTP and the WebSocket, a file per
//! resource as `backend/src/http/routes/` serves them (`error` is every route's error body).
//! These are wire types: plain strings and numbers, converted explicitly from the domain types.
//! Every type is re-exported here: `shared::api::X` names each of them.

mod analytics;
mod claims;
mod commands;
mod console;
mod dead_letters;
mod error;
mod groups;
mod health;
mod join;
mod lab;
mod memory;
mod projections;
mod quiz;
mod scenarios;
mod session;
mod state;
mod streams;
mod traffic;
mod validate;
mod ws;

pub use analytics::*;
pub use claims::*;
pub use commands::*;
pub use console::*;
pub use dead_letters::*;
pub use error::*;
pub use groups::*;
pub use health::*;
pub use join::*;
pub use lab::*;
pub use memory::*;
pub use projections::*;
pub use quiz::*;
pub use scenarios::*;
pub use session::*;
pub use state::*;
pub use streams::*;
pub use traffic::*;
pub use validate::*;
pub use ws::*;
