//! Event sourcing on the claims' streams: carrying out commands, replaying the stream to a
//! point, the live feed of new entries, the CQRS read model and trimming. It speaks to Redis
//! only through [`crate::store`] and knows nothing of HTTP, the workers or the lab.

pub mod causes;
pub mod commands;
pub mod feed;
pub mod projection;
pub mod replay;
pub mod retention;
