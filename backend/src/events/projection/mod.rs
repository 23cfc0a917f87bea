//! The CQRS read side: one projector (in the consumer group `claims-projections`) keeps the
//! read model in Redis from `claims:events`; the claim list, the board and the customer totals
//! read from it, while commands only append. Only one relay's projector reads at a time (a
//! lease), so the model is written in stream order and one batch at a time.

mod activity;
pub mod debug;
mod projector;
mod rebuild;
mod status;

pub use crate::store::read_model::{ClaimPage, list, position, wait_applied};
pub use projector::run;
pub use rebuild::{request as request_rebuild, run as rebuild};
pub use status::{behind, behind_in, read as read_status};
