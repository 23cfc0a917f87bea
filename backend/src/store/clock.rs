//! The relay's one clock: every time it stamps on what it writes (events, letters, markers,
//! a workspace's last use) or reports comes from here. It is made once at start and passed
//! in, so nothing below reads the system's time by itself; a test can hold it still.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use shared::Timestamp;

/// The system's clock, or (for tests) one that stands where it is set.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    /// Milliseconds since 1970 a held clock shows; `None`: the system's time.
    held: Option<Arc<AtomicI64>>,
}

impl Clock {
    /// The system's time.
    pub fn system() -> Self {
        Self::default()
    }

    /// A clock that shows `at` until it is set again.
    #[cfg(any(test, feature = "test-support"))]
    pub fn held_at(at: Timestamp) -> Self {
        Self {
            held: Some(Arc::new(AtomicI64::new(at.unix_millis()))),
        }
    }

    /// Moves a held clock (and every copy of it) to `at`; the system's clock does not move.
    #[cfg(any(test, feature = "test-support"))]
    pub fn set(&self, at: Timestamp) {
        if let Some(held) = &self.held {
            held.store(at.unix_millis(), Ordering::Relaxed);
        }
    }

    pub fn now(&self) -> Timestamp {
        Timestamp::from_unix_millis(self.now_ms()).expect("the clock is between 1970 and 9999")
    }

    /// Milliseconds since 1970.
    pub fn now_ms(&self) -> i64 {
        match &self.held {
            Some(held) => held.load(Ordering::Relaxed),
            None => (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_clock_and_its_copies_show_where_it_was_set() {
        let at = |ms| Timestamp::from_unix_millis(ms).unwrap();
        let clock = Clock::held_at(at(1_000));
        let copy = clock.clone();
        assert_eq!(copy.now_ms(), 1_000);
        clock.set(at(2_500));
        assert_eq!(copy.now(), at(2_500));
    }

    #[test]
    fn the_system_clock_is_now() {
        let before = time::OffsetDateTime::now_utc().unix_timestamp() * 1000;
        let shown = Clock::system().now_ms();
        assert!((before..before + 60_000).contains(&shown), "{shown}");
    }
}
