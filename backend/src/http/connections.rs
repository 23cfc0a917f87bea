//! Accepting HTTP connections: the header-read, idle and request timeouts, the per-address cap
//! on connections that have not yet sent a whole request head, refusals logged once per
//! address a minute, and the file-descriptor limit raised at start.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::ConnectInfo;
use axum::response::IntoResponse;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, watch};
use tower::ServiceExt as _;

use crate::http::error::ApiError;

/// How the relay treats each connection (flags in `config.rs`).
#[derive(Debug, Clone, Copy)]
pub struct ConnectionSettings {
    /// A new connection must deliver its first request head within this.
    pub header_read_timeout: Duration,
    /// After a response, the next request head must be whole within this, or the
    /// connection is closed (an idle keep-alive connection is closed after it).
    pub idle_timeout: Duration,
    /// A request's answer must have started within this (its body may stream on; an
    /// upgraded WebSocket is no longer a request and is never cut).
    pub request_timeout: Duration,
    /// Connections one address may hold that have not yet sent a whole request head.
    pub max_pending_per_client: usize,
}

/// How often a refused address is named in the log at most.
const REFUSALS_LOGGED_EVERY: Duration = Duration::from_secs(60);

/// Connections per address that have not yet sent a whole request head, and the refusals
/// not yet logged.
#[derive(Debug)]
pub struct Pending {
    cap: usize,
    open: Mutex<HashMap<IpAddr, usize>>,
    refused: Mutex<HashMap<IpAddr, Refusals>>,
}

#[derive(Debug)]
struct Refusals {
    logged_at: Instant,
    since_logged: u64,
}

/// One connection still waiting for its first request head; dropping it frees the place.
#[derive(Debug)]
pub struct PendingPermit {
    pending: Arc<Pending>,
    client: IpAddr,
}

impl Pending {
    pub fn new(cap: usize) -> Arc<Self> {
        Arc::new(Self {
            cap,
            open: Mutex::default(),
            refused: Mutex::default(),
        })
    }

    /// A place for one more connection from `client`, or none (the refusal is logged, once
    /// per address a minute with the count since).
    pub fn admit(self: &Arc<Self>, client: IpAddr) -> Option<PendingPermit> {
        let mut open = self.open.lock().expect("pending connections lock");
        let mine = open.entry(client).or_default();
        if *mine >= self.cap {
            drop(open);
            self.note_refusal(client);
            return None;
        }
        *mine += 1;
        Some(PendingPermit {
            pending: self.clone(),
            client,
        })
    }

    /// Connections from `client` that have not yet sent a whole request head.
    pub fn held_by(&self, client: IpAddr) -> usize {
        let open = self.open.lock().expect("pending connections lock");
        open.get(&client).copied().unwrap_or(0)
    }

    fn note_refusal(&self, client: IpAddr) {
        let now = Instant::now();
        let mut refused = self.refused.lock().expect("refusals lock");
        if refused.len() > 1024 {
            refused.retain(|_, r| now.duration_since(r.logged_at) < REFUSALS_LOGGED_EVERY);
        }
        let first = !refused.contains_key(&client);
        let entry = refused.entry(client).or_insert(Refusals {
            logged_at: now,
            since_logged: 0,
        });
        entry.since_logged += 1;
        if first || now.duration_since(entry.logged_at) >= REFUSALS_LOGGED_EVERY {
            tracing::warn!(
                %client,
                refused = entry.since_logged,
                cap = self.cap,
                "refusing connections: this address already holds the most connections that \
                 have not sent a whole request (--max-pending-connections-per-client); \
                 logged again in a minute if it goes on"
            );
            entry.logged_at = now;
            entry.since_logged = 0;
        }
    }
}

impl Drop for PendingPermit {
    fn drop(&mut self) {
        let mut open = self.pending.open.lock().expect("pending connections lock");
        if let Some(n) = open.get_mut(&self.client) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.client);
            }
        }
    }
}

/// Raises the soft limit on open files to the hard limit, so that connections and not the
/// default 1,024 bound the relay; returns the limit now in force.
pub fn raise_file_limit() -> Option<u64> {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    if limit.current != limit.maximum {
        let raised = rustix::process::Rlimit {
            current: limit.maximum,
            maximum: limit.maximum,
        };
        if let Err(e) = setrlimit(Resource::Nofile, raised) {
            tracing::warn!(error = %e, soft = ?limit.current, "cannot raise the open-file limit");
            return limit.current;
        }
    }
    getrlimit(Resource::Nofile).current
}

/// Serves `router` on `listener` until `shutdown` completes, then stops accepting, lets
/// requests in progress finish and returns when their connections are closed (upgraded
/// WebSockets are no longer connections here: they stop with the relay's own shutdown).
pub async fn serve(
    listener: TcpListener,
    router: axum::Router,
    settings: ConnectionSettings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let pending = Pending::new(settings.max_pending_per_client);
    let (signal_tx, signal_rx) = watch::channel(());
    tokio::spawn(async move {
        shutdown.await;
        drop(signal_rx);
    });
    let (close_tx, close_rx) = watch::channel(());
    let mut accept_error_logged: Option<Instant> = None;
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = signal_tx.closed() => break,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors (or the like): wait a moment rather than spin.
                if !is_connection_error(&e)
                    && accept_error_logged.is_none_or(|at| at.elapsed() >= REFUSALS_LOGGED_EVERY)
                {
                    tracing::error!(error = %e, "cannot accept connections; retrying");
                    accept_error_logged = Some(Instant::now());
                }
                if !is_connection_error(&e) {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                continue;
            }
        };
        let Some(permit) = pending.admit(peer.ip()) else {
            refuse(&stream, settings.max_pending_per_client);
            continue;
        };
        tokio::spawn(connection(
            stream,
            peer,
            router.clone(),
            settings,
            permit,
            signal_tx.clone(),
            close_rx.clone(),
        ));
    }
    drop(close_rx);
    drop(listener);
    close_tx.closed().await;
}

fn is_connection_error(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    matches!(
        e.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset
    )
}

/// Says 429 if the socket takes it at once, and closes.
fn refuse(stream: &TcpStream, cap: usize) {
    let body = format!(
        r#"{{"error":{{"code":"too_many_connections","message":"your address already holds {cap} connections that have not sent a whole request, the most one address may; finish or close some first"}}}}"#
    );
    let answer = format!(
        "HTTP/1.1 429 Too Many Requests\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nretry-after: 1\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.try_write(answer.as_bytes());
}

/// Serves one connection: closed if its first request head is not whole within the
/// header-read timeout, or a later one within the idle timeout.
async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    router: axum::Router,
    settings: ConnectionSettings,
    permit: PendingPermit,
    signal_tx: watch::Sender<()>,
    close_rx: watch::Receiver<()>,
) {
    let (head_tx, mut head_rx) = oneshot::channel::<()>();
    let first_head = Mutex::new(Some((permit, head_tx)));
    let request_timeout = settings.request_timeout;
    let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
        // The head is whole: the connection no longer counts as pending.
        if let Some((permit, head_tx)) = first_head.lock().expect("first head lock").take() {
            drop(permit);
            let _ = head_tx.send(());
        }
        let mut request = request.map(axum::body::Body::new);
        request.extensions_mut().insert(ConnectInfo(peer));
        let answer = router.clone().oneshot(request);
        async move {
            Ok::<_, Infallible>(match tokio::time::timeout(request_timeout, answer).await {
                Ok(Ok(response)) => response,
                Ok(Err(never)) => match never {},
                Err(_) => ApiError::RequestTimeout(request_timeout).into_response(),
            })
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(settings.idle_timeout);
    let mut conn = pin!(
        builder
            .serve_connection(TokioIo::new(stream), service)
            .with_upgrades()
    );
    let header_deadline = tokio::time::sleep(settings.header_read_timeout);
    let mut header_deadline = pin!(header_deadline);
    let mut head_seen = false;
    let mut signal_closed = pin!(signal_tx.closed());
    let mut shutting_down = false;
    loop {
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::trace!(%peer, error = %e, "connection ended");
                }
                break;
            }
            () = &mut header_deadline, if !head_seen => {
                tracing::debug!(%peer, "closing a connection that sent no whole request in time");
                break;
            }
            _ = &mut head_rx, if !head_seen => head_seen = true,
            () = &mut signal_closed, if !shutting_down => {
                shutting_down = true;
                conn.as_mut().graceful_shutdown();
            }
        }
    }
    drop(close_rx);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_places_are_counted_per_address_and_freed_on_drop() {
        let pending = Pending::new(2);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let a1 = pending.admit(a).unwrap();
        let _a2 = pending.admit(a).unwrap();
        assert!(pending.admit(a).is_none(), "a third from one address");
        let _b1 = pending.admit(b).unwrap();
        drop(a1);
        assert_eq!(pending.held_by(a), 1);
        pending.admit(a).unwrap();
    }

    #[test]
    fn the_file_limit_is_the_hard_limit_after_raising() {
        let now = raise_file_limit();
        let hard = rustix::process::getrlimit(rustix::process::Resource::Nofile).maximum;
        assert_eq!(now, hard);
    }
}
