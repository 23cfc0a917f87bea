//! The relay's HTTP face: the routes and the WebSocket, who may call what, the limits per
//! client, idempotency keys, the browser app's files, `/metrics`, the extractors and the one
//! [`error::ApiError`]. Handlers translate a request into a call on the layers below and its
//! result into an answer.

pub mod access;
pub mod assets;
pub mod connections;
pub mod error;
pub mod extract;
pub mod idempotency;
pub mod limits;
pub mod metrics;
pub mod routes;
pub mod state;
