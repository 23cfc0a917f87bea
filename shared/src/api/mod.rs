//! The JSON the relay and the browser exchange over HTTP and the WebSocket, a file per
//! resource. These are wire types: plain strings and numbers, converted explicitly from the
//! domain types. Every type is re-exported here: `shared::api::X` names each of them.

mod analytics;
mod claims;
mod console;
mod dead_letters;
mod environment;
mod error;
mod groups;
mod health;
mod instructor;
mod lab;
mod memory;
mod projections;
mod session;
mod state;
mod streams;
mod ws;

pub use analytics::*;
pub use claims::*;
pub use console::*;
pub use dead_letters::*;
pub use environment::*;
pub use error::*;
pub use groups::*;
pub use health::*;
pub use instructor::*;
pub use lab::*;
pub use memory::*;
pub use projections::*;
pub use session::*;
pub use state::*;
pub use streams::*;
pub use ws::*;
