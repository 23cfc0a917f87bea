//! Consumer groups on `claims:events`: each group reads the whole stream at its own pace, each
//! consumer in a group gets its own share, and an entry is acknowledged only once its effect is
//! in Redis.

pub mod analytics;
pub mod consumer;
pub mod controls;
pub mod handler;
pub mod markers;
pub mod notifications;
pub mod processors;
pub mod relay_slot;
pub mod replay;
pub mod standalone;
pub mod stats;
pub mod supervisor;
pub mod telemetry;
pub mod trends;

pub use consumer::{Consumer, ConsumerConfig, Outcome};
pub use handler::{Handled, Handler, HandlerError, Injection};
pub use supervisor::{StartError, WorkerError, WorkerSettings, Workers};
