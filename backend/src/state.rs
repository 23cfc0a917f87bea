use tokio_util::sync::CancellationToken;

use crate::db::Db;
use crate::feed::Feed;

/// What every handler can reach. Cheap to clone: each field is a handle.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub feed: Feed,
    /// Cancelled when the relay shuts down, so long-lived WebSockets end too.
    pub shutdown: CancellationToken,
}
