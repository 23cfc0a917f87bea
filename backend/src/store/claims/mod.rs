//! Claims on Redis: loading one claim from its own index and snapshot (never a scan of the
//! stream), the atomic version-checked append, and indexing entries other programs appended.

mod append;
pub mod idempotency;
mod index;
mod load;

pub(in crate::store) use append::APPEND;
pub use append::{Appended, append, append_many};
pub use idempotency::IdempotencyMark;
pub use index::{Indexed, catch_up, catch_up_all};
pub use load::{
    HistoryPage, LoadedClaim, Replay, load, load_many, load_page, load_until, save_snapshot,
    snapshots,
};
