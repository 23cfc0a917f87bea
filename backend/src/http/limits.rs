//! Caps that keep one client (or a class of them) from exhausting the relay: open WebSockets
//! per address and in all, the expensive reads run at once relay-wide ([`HeavyReads`]), and
//! requests of one kind under way per address ([`PerClient`]).
//! Write requests are rate-limited per address by `tower_governor` in `routes/mod.rs`.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::Method;
use axum::response::IntoResponse;
use tokio_util::sync::CancellationToken;
use tower_governor::GovernorError;
use tower_governor::governor::GovernorConfigBuilder;
use tower_governor::key_extractor::PeerIpKeyExtractor;

use crate::http::error::ApiError;

/// Write requests per client address: a sustained rate and a burst above it.
#[derive(Debug, Clone, Copy)]
pub struct WriteLimit {
    pub per_second: u32,
    pub burst: u32,
}

impl WriteLimit {
    /// A layer refusing write requests (POST, PUT, PATCH, DELETE) over the limit with 429,
    /// keyed by the peer address. Reads are not limited: they cost a page of XRANGE at most.
    /// The limiter forgets idle addresses every minute until `stop`.
    pub fn apply<S: Clone + Send + Sync + 'static>(
        self,
        router: axum::Router<S>,
        stop: CancellationToken,
    ) -> axum::Router<S> {
        let per_second = u64::from(self.per_second.max(1));
        let config = GovernorConfigBuilder::default()
            // At most one request per nanosecond: above that, the rate is "no limit" anyway.
            .period(Duration::from_nanos((1_000_000_000 / per_second).max(1)))
            .burst_size(self.burst.max(1))
            .methods(vec![
                Method::POST,
                Method::PUT,
                Method::PATCH,
                Method::DELETE,
            ])
            .key_extractor(PeerIpKeyExtractor)
            .finish()
            .expect("period and burst are at least 1");
        let limiter = config.limiter().clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            loop {
                tokio::select! {
                    _ = tick.tick() => limiter.retain_recent(),
                    () = stop.cancelled() => return,
                }
            }
        });
        let WriteLimit { per_second, burst } = self;
        let layer = tower_governor::GovernorLayer::new(config).error_handler(move |e| {
            match e {
                GovernorError::TooManyRequests { wait_time, .. } => ApiError::TooManyRequests {
                    code: "rate_limited",
                    message: format!(
                        "too many write requests from your address (at most {per_second}/s, \
                         bursts of {burst}); try again in {wait_time} s"
                    ),
                    retry_after_secs: Some(wait_time.max(1)),
                },
                other => ApiError::Internal(anyhow::anyhow!("rate limiter: {other}")),
            }
            .into_response()
        });
        router.layer(layer)
    }
}

#[derive(Debug)]
pub struct ConnectionLimits {
    per_client: usize,
    total: usize,
    open: Mutex<Open>,
}

#[derive(Debug, Default)]
struct Open {
    total: usize,
    by_client: HashMap<IpAddr, usize>,
}

/// One open connection; dropping it frees the place.
#[derive(Debug)]
pub struct ConnectionPermit {
    limits: Arc<ConnectionLimits>,
    client: IpAddr,
}

impl ConnectionLimits {
    pub fn new(per_client: usize, total: usize) -> Arc<Self> {
        Arc::new(Self {
            per_client,
            total,
            open: Mutex::default(),
        })
    }

    /// A place for one more connection from `client`, or 429 saying which cap was hit.
    pub fn acquire(self: &Arc<Self>, client: IpAddr) -> Result<ConnectionPermit, ApiError> {
        let mut open = self.open.lock().expect("connection limits lock");
        if open.total >= self.total {
            return Err(ApiError::TooManyRequests {
                code: "too_many_connections",
                message: format!(
                    "the relay serves at most {} live feeds at once; try again shortly",
                    self.total
                ),
                retry_after_secs: Some(5),
            });
        }
        let mine = open.by_client.entry(client).or_default();
        if *mine >= self.per_client {
            return Err(ApiError::TooManyRequests {
                code: "too_many_connections",
                message: format!(
                    "{client} already has {} live feeds open, the most one address may have; \
                     close a tab first",
                    self.per_client
                ),
                retry_after_secs: Some(5),
            });
        }
        *mine += 1;
        open.total += 1;
        Ok(ConnectionPermit {
            limits: self.clone(),
            client,
        })
    }

    /// Connections open now, in all.
    pub fn open(&self) -> usize {
        self.open.lock().expect("connection limits lock").total
    }
}

impl Drop for ConnectionPermit {
    fn drop(&mut self) {
        let mut open = self.limits.open.lock().expect("connection limits lock");
        open.total -= 1;
        if let Some(n) = open.by_client.get_mut(&self.client) {
            *n -= 1;
            if *n == 0 {
                open.by_client.remove(&self.client);
            }
        }
    }
}

/// The expensive reads (a replay of the whole stream, a claim's history or trace, the class
/// view, a claim as of a point, a search, the projection debugger, a long read of the command
/// log): at most `at_once` of them run relay-wide; the others wait up to
/// `wait` for a place, then get 503 `busy`. So however many a client sends, Redis and the
/// shared connection serve only a few at a time, and cheap requests (`/api/health`) pass
/// between them.
#[derive(Debug, Clone)]
pub struct HeavyReads {
    places: Arc<tokio::sync::Semaphore>,
    at_once: usize,
    wait: Duration,
}

impl HeavyReads {
    pub fn new(at_once: usize, wait: Duration) -> Self {
        let at_once = at_once.max(1);
        Self {
            places: Arc::new(tokio::sync::Semaphore::new(at_once)),
            at_once,
            wait,
        }
    }

    /// A place for one expensive read (`what`, for the refusal), held until dropped; 503
    /// `busy` with `Retry-After` when none frees within the wait.
    pub async fn enter(&self, what: &str) -> Result<tokio::sync::OwnedSemaphorePermit, ApiError> {
        match tokio::time::timeout(self.wait, self.places.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(ApiError::Full {
                code: "busy",
                message: format!(
                    "the relay runs at most {} expensive reads ({what} among them) at once and \
                     none was free within {} ms; try again in a second",
                    self.at_once,
                    self.wait.as_millis()
                ),
                retry_after_secs: 1,
            }),
        }
    }
}

/// Requests of one kind under way from each client address, running or waiting for a place:
/// past `per_client`, 429 at once. So one address sending them in a loop, however many at a
/// time, holds at most that many places in the queue others wait in.
#[derive(Debug)]
pub struct PerClient {
    /// What is counted, for the refusal ("stream searches").
    what: &'static str,
    per_client: usize,
    open: Mutex<HashMap<IpAddr, usize>>,
}

/// One request under way; dropping it frees the place.
#[derive(Debug)]
pub struct PerClientPermit {
    limits: Arc<PerClient>,
    client: IpAddr,
}

impl PerClient {
    pub fn new(what: &'static str, per_client: usize) -> Arc<Self> {
        Arc::new(Self {
            what,
            per_client: per_client.max(1),
            open: Mutex::default(),
        })
    }

    /// A place for one more request from `client`, or 429 saying how many it has.
    pub fn enter(self: &Arc<Self>, client: IpAddr) -> Result<PerClientPermit, ApiError> {
        let mut open = self.open.lock().expect("per-client limits lock");
        let mine = open.entry(client).or_default();
        if *mine >= self.per_client {
            return Err(ApiError::TooManyRequests {
                code: "too_many_requests",
                message: format!(
                    "{client} already has {} {} under way, the most one address may have; \
                     wait for one to answer",
                    self.per_client, self.what
                ),
                retry_after_secs: Some(1),
            });
        }
        *mine += 1;
        Ok(PerClientPermit {
            limits: self.clone(),
            client,
        })
    }
}

impl Drop for PerClientPermit {
    fn drop(&mut self) {
        let mut open = self.limits.open.lock().expect("per-client limits lock");
        if let Some(n) = open.get_mut(&self.client) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.client);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn any_rate_the_flags_accept_makes_a_limiter() {
        for (per_second, burst) in [(0, 0), (1, 1), (50, 200), (u32::MAX, u32::MAX)] {
            let limit = WriteLimit { per_second, burst };
            let router: axum::Router = axum::Router::new();
            let _ = limit.apply(router, CancellationToken::new());
        }
    }

    #[test]
    fn places_are_counted_per_client_and_in_all_and_freed_on_drop() {
        let limits = ConnectionLimits::new(2, 3);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let a1 = limits.acquire(a).unwrap();
        let _a2 = limits.acquire(a).unwrap();
        assert!(limits.acquire(a).is_err(), "a third from one client");
        let _b1 = limits.acquire(b).unwrap();
        assert!(limits.acquire(b).is_err(), "a fourth in all");
        drop(a1);
        assert_eq!(limits.open(), 2);
        limits.acquire(b).unwrap();
    }

    #[test]
    fn requests_under_way_are_counted_per_client_and_freed_on_drop() {
        let searches = PerClient::new("stream searches", 2);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let a1 = searches.enter(a).unwrap();
        let _a2 = searches.enter(a).unwrap();
        let refused = searches.enter(a).unwrap_err();
        assert!(
            refused.to_string().contains("2 stream searches"),
            "{refused}"
        );
        let _b1 = searches.enter(b).unwrap();
        drop(a1);
        searches.enter(a).unwrap();
    }

    #[tokio::test]
    async fn a_heavy_read_past_the_places_waits_then_is_refused_as_busy() {
        let heavy = HeavyReads::new(1, Duration::from_millis(20));
        let held = heavy.enter("a replay").await.unwrap();
        let refused = heavy.enter("a replay").await.unwrap_err();
        assert!(
            matches!(refused, ApiError::Full { code: "busy", .. }),
            "{refused:?}"
        );
        assert!(refused.to_string().contains("at most 1"), "{refused}");
        drop(held);
        let _again = heavy.enter("a replay").await.unwrap();
    }
}
