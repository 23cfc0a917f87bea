//! Claims on Redis: loading one claim from its own index and snapshot (never a scan of the
//! stream), the atomic version-checked append, indexing entries other programs appended, and
//! the claim list read model.

mod append;
mod index;
mod load;
mod read_model;

pub use append::{Appended, append};
pub use index::{Indexed, catch_up};
pub use load::{LoadedClaim, Replay, load, load_until, save_snapshot};
pub use read_model::{ClaimPage, list, refresh};
