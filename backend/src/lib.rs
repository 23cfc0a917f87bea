//! The claimstream relay: claims as events on Redis Streams, served over HTTP and a WebSocket.
//!
//! The folders are layers, each using only those listed below it:
//! - [`infra`]: the relay's configuration and start-up, which wire everything together;
//! - [`http`]: the API and the WebSocket, translating requests into calls on the layers below;
//! - [`teaching`]: the learners' console, the lab, the demo's scenarios and traffic;
//! - [`workers`]: the consumer groups and what they do with each entry;
//! - [`events`]: event sourcing on the claims' streams: commands, replay, the live feed, the
//!   read model and retention;
//! - [`store`]: Redis itself: keys, connections, scripts, commands and their replies.

pub mod embedded_cluster;
pub mod events;
pub mod http;
pub mod infra;
pub mod store;
pub mod teaching;
pub mod workers;

pub use infra::config::Config;
pub use infra::startup::Application;
