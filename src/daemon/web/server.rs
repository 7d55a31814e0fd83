//! The dashboard's HTTP server, built so that no client can starve the daemon: the core's
//! polls, store and controller share the process's open-file limit with every connection, and
//! an idle or slow connection holds one of those files.
//!
//! - Headers must arrive within `header_timeout` of connecting or of the previous answer
//!   (hyper's `header_read_timeout`): an idle keep-alive connection, a client that sends
//!   nothing and one that sends its headers a byte at a time are all closed then.
//! - A request's body and its answer must be done within `request_timeout` (tower-http's
//!   `TimeoutLayer`, 408), and an answer the client does not read is given up after as long
//!   (`tokio-io-timeout`'s write timeout).
//! - At most `limit` connections are open, the limit lowered to what the file limit leaves the
//!   core ([`connection_limit`]). At the limit, the longest-waiting connection that is not in
//!   a request (idle, or still sending its headers) is closed to make room, else the one whose
//!   request has run longest if that is longer than the header timeout (a body sent a byte at
//!   a time), so a flood cannot lock out `/readyz` or a person; when every one is in a short
//!   request, the new one gets a 503 and is closed at once.
//! - The soft file limit is raised to the hard one at start ([`raise_file_limit`]).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};
use tokio_io_timeout::TimeoutStream;
use tower::ServiceExt;

use crate::daemon::metrics::{ConnectionDrop, Metrics};

/// Files kept for the daemon's own use below the file limit: at least this many, or a quarter.
const RESERVED_FILES: u64 = 64;
/// The fewest connections the dashboard gets, however low the file limit.
const MIN_CONNECTIONS: usize = 4;
/// Request heads larger than this are refused (hyper answers 431): cookies and a token fit.
const MAX_HEAD_BYTES: usize = 32 * 1024;
/// At most one warning a minute about the connection limit or failing accepts.
const WARN_EVERY: Duration = Duration::from_secs(60);

/// The limits the server keeps.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub header_timeout: Duration,
    pub request_timeout: Duration,
    /// Connections open at once (already lowered for the file limit).
    pub connections: usize,
}

/// The process's open-file limit after [`raise_file_limit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileLimit {
    /// The soft limit at start.
    pub before: Option<u64>,
    /// The soft limit now (`None`: unlimited).
    pub now: Option<u64>,
}

/// Raises the soft open-file limit to the hard one, where the system allows it.
pub fn raise_file_limit() -> FileLimit {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    let before = limit.current;
    if limit.current != limit.maximum {
        let raised = Rlimit {
            current: limit.maximum,
            maximum: limit.maximum,
        };
        if let Err(e) = setrlimit(Resource::Nofile, raised) {
            tracing::debug!(error = %e, "Cannot raise the open-file limit.");
        }
    }
    FileLimit {
        before,
        now: getrlimit(Resource::Nofile).current,
    }
}

/// The connections the dashboard may hold: `configured`, lowered so that at least a quarter
/// of the file limit (and never fewer than 64 files) stays for the daemon's own files and
/// sockets.
pub fn connection_limit(configured: usize, file_limit: Option<u64>) -> usize {
    let Some(files) = file_limit else {
        return configured;
    };
    let reserve = RESERVED_FILES.max(files / 4);
    let left = usize::try_from(files.saturating_sub(reserve)).unwrap_or(usize::MAX);
    configured.min(left).max(MIN_CONNECTIONS)
}

/// Connections the kernel queues for us while we make room (a burst of a thousand must not be
/// dropped half-open, as the default 128 would).
const BACKLOG: u32 = 1024;

/// A listening socket on `addr` with a queue of [`BACKLOG`].
pub fn listen(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(BACKLOG)
}

/// Serves `app` on `listener` with `limits` until `stop` turns true.
pub async fn serve(
    listener: TcpListener,
    app: axum::Router,
    limits: Limits,
    metrics: Arc<Metrics>,
    mut stop: watch::Receiver<bool>,
) {
    let app = app.layer(tower_http::timeout::TimeoutLayer::with_status_code(
        axum::http::StatusCode::REQUEST_TIMEOUT,
        limits.request_timeout,
    ));
    let connections = Arc::new(Connections::new(
        limits.connections,
        limits.header_timeout,
        metrics.clone(),
    ));
    let mut last_accept_warning: Option<Instant> = None;
    loop {
        // Room first, then take a connection from the kernel's queue: the web server never
        // holds more sockets than its limit, not even for the moment an evicted one takes
        // to close.
        let room = tokio::select! {
            room = connections.room() => room,
            _ = stop.wait_for(|s| *s) => return,
        };
        let accepted = tokio::select! {
            r = listener.accept() => r,
            _ = stop.wait_for(|s| *s) => return,
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // Out of files (EMFILE) or a connection reset before it was taken: wait a
                // little rather than spin; the core's own files come first.
                if last_accept_warning.is_none_or(|t| t.elapsed() >= WARN_EVERY) {
                    tracing::warn!(error = %e, "The dashboard cannot accept a connection; trying again shortly.");
                    last_accept_warning = Some(Instant::now());
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        if !room {
            metrics.web_connection_dropped(ConnectionDrop::Full);
            refuse(stream);
            continue;
        }
        let slot = connections.admit();
        tokio::spawn(connection(
            stream,
            peer,
            slot,
            app.clone(),
            limits,
            metrics.clone(),
            stop.clone(),
        ));
    }
}

/// A full server's answer to a connection it cannot take: a 503 if the socket takes it at
/// once, then closed.
fn refuse(stream: TcpStream) {
    let _ = stream.try_write(
        b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nRetry-After: 5\r\nContent-Type: text/plain\r\nContent-Length: 45\r\n\r\nthe dashboard has too many connections open\r\n",
    );
}

/// One connection: HTTP/1.1 with the header timeout, each request marked busy while the
/// router works on it, closed when evicted or when the server stops.
async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    slot: Slot,
    app: axum::Router,
    limits: Limits,
    metrics: Arc<Metrics>,
    mut stop: watch::Receiver<bool>,
) {
    let mut io = TimeoutStream::new(stream);
    io.set_write_timeout(Some(limits.request_timeout));
    let io = TokioIo::new(Box::pin(io));
    let busy = slot.busy.clone();
    let epoch = slot.connections.epoch;
    let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
        let mut req = req.map(axum::body::Body::new);
        req.extensions_mut().insert(ConnectInfo(peer));
        let working = Working::start(busy.clone(), epoch);
        let answer = app.clone().oneshot(req);
        async move {
            let answer = answer.await;
            drop(working);
            answer
        }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_header_size(MAX_HEAD_BYTES)
        .max_buf_size(MAX_HEAD_BYTES * 2)
        .serve_connection(io, service);
    let mut conn = std::pin::pin!(conn);
    let why = tokio::select! {
        r = conn.as_mut() => End::Done(r),
        _ = slot.evicted.notified() => End::Evicted,
        _ = stop.wait_for(|s| *s) => End::Stop,
    };
    let ended = match why {
        End::Done(r) => r,
        End::Evicted => {
            metrics.web_connection_dropped(ConnectionDrop::Evicted);
            return;
        }
        End::Stop => {
            conn.as_mut().graceful_shutdown();
            match tokio::time::timeout(limits.request_timeout, conn).await {
                Ok(r) => r,
                Err(_) => return,
            }
        }
    };
    if let Err(e) = ended
        && timed_out(&e)
    {
        metrics.web_connection_dropped(ConnectionDrop::Timeout);
    }
}

/// Why a connection's task stopped waiting on it.
enum End {
    Done(Result<(), hyper::Error>),
    Evicted,
    Stop,
}

/// Whether the connection ended by a header timeout or a write timeout.
fn timed_out(e: &hyper::Error) -> bool {
    if e.is_timeout() {
        return true;
    }
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::TimedOut
        {
            return true;
        }
        source = s.source();
    }
    false
}

/// Milliseconds since `epoch`, plus one (0 means "not in a request").
fn stamp(epoch: Instant) -> u64 {
    u64::try_from(epoch.elapsed().as_millis())
        .unwrap_or(u64::MAX - 1)
        .saturating_add(1)
}

/// Marks a connection in a request (since when) while the router works on it; idle again when
/// dropped. HTTP/1.1 serves one request at a time per connection.
struct Working(Arc<AtomicU64>);

impl Working {
    fn start(busy: Arc<AtomicU64>, epoch: Instant) -> Working {
        busy.store(stamp(epoch), Ordering::SeqCst);
        Working(busy)
    }
}

impl Drop for Working {
    fn drop(&mut self) {
        self.0.store(0, Ordering::SeqCst);
    }
}

/// The open connections, oldest first, and which of them are in a request.
struct Connections {
    limit: usize,
    /// A request running longer than this may be closed to make room.
    stale_after: Duration,
    /// What the connections' request stamps count from.
    epoch: Instant,
    metrics: Arc<Metrics>,
    inner: Mutex<Registry>,
    /// Told each time a connection's socket is closed.
    freed: Notify,
}

#[derive(Default)]
struct Registry {
    next: u64,
    open: BTreeMap<u64, Entry>,
    /// Evicted, told to close, socket not closed yet.
    closing: usize,
    last_warning: Option<Instant>,
}

struct Entry {
    /// When its request started ([`stamp`]); 0 while not in one.
    busy: Arc<AtomicU64>,
    evicted: Arc<Notify>,
}

/// A connection's place among the open ones; given back when dropped (after its socket).
struct Slot {
    id: u64,
    busy: Arc<AtomicU64>,
    evicted: Arc<Notify>,
    connections: Arc<Connections>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut r = self.connections.lock();
        if r.open.remove(&self.id).is_none() {
            r.closing = r.closing.saturating_sub(1);
        }
        self.connections.metrics.web_connections_open(r.open.len());
        drop(r);
        self.connections.freed.notify_waiters();
    }
}

impl Connections {
    fn new(limit: usize, stale_after: Duration, metrics: Arc<Metrics>) -> Connections {
        metrics.web_connection_limit(limit);
        Connections {
            limit,
            stale_after,
            epoch: Instant::now(),
            metrics,
            inner: Mutex::new(Registry::default()),
            freed: Notify::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Registry> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits until a new connection fits: at once below the limit; at the limit, after the
    /// oldest connection that is not in a request has been closed to make room. False when
    /// every open connection is in a request (the new one is refused).
    async fn room(&self) -> bool {
        loop {
            let freed = self.freed.notified();
            {
                let mut r = self.lock();
                if r.open.len() + r.closing < self.limit {
                    return true;
                }
                if r.closing == 0 && !self.evict_oldest_idle(&mut r) {
                    return false;
                }
            }
            freed.await;
        }
    }

    /// Tells the oldest connection not in a request to close, else the one whose request has
    /// run longest if that is longer than `stale_after`; false when there is none.
    fn evict_oldest_idle(&self, r: &mut Registry) -> bool {
        let warn = r.last_warning.is_none_or(|t| t.elapsed() >= WARN_EVERY);
        if warn {
            r.last_warning = Some(Instant::now());
        }
        let stale_before = stamp(self.epoch)
            .saturating_sub(u64::try_from(self.stale_after.as_millis()).unwrap_or(u64::MAX));
        let idle = r
            .open
            .iter()
            .find(|(_, e)| e.busy.load(Ordering::SeqCst) == 0)
            .or_else(|| {
                r.open
                    .iter()
                    .map(|(id, e)| (id, e, e.busy.load(Ordering::SeqCst)))
                    .filter(|(_, _, since)| *since <= stale_before)
                    .min_by_key(|(_, _, since)| *since)
                    .map(|(id, e, _)| (id, e))
            })
            .map(|(id, _)| *id);
        match idle.and_then(|id| r.open.remove(&id)) {
            Some(oldest) => {
                r.closing += 1;
                oldest.evicted.notify_one();
                if warn {
                    tracing::warn!(
                        limit = self.limit,
                        "The dashboard's connection limit is reached; closing the longest-waiting idle connections to make room."
                    );
                }
                true
            }
            None => {
                if warn {
                    tracing::warn!(
                        limit = self.limit,
                        "The dashboard's connection limit is reached and every connection is in a request; refusing new ones."
                    );
                }
                false
            }
        }
    }

    /// A place for a connection [`Connections::room`] made room for.
    fn admit(self: &Arc<Self>) -> Slot {
        let mut r = self.lock();
        let id = r.next;
        r.next += 1;
        let busy = Arc::new(AtomicU64::new(0));
        let evicted = Arc::new(Notify::new());
        r.open.insert(
            id,
            Entry {
                busy: busy.clone(),
                evicted: evicted.clone(),
            },
        );
        self.metrics.web_connections_open(r.open.len());
        Slot {
            id,
            busy,
            evicted,
            connections: self.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_limit_leaves_room_for_the_core() {
        assert_eq!(connection_limit(256, None), 256);
        assert_eq!(connection_limit(256, Some(20_000)), 256);
        // 1024: a quarter (256) stays for the core.
        assert_eq!(connection_limit(1000, Some(1024)), 768);
        // 256: 64 stay.
        assert_eq!(connection_limit(1000, Some(256)), 192);
        // 96 (the probe's limit): 32 connections, 64 files for the core.
        assert_eq!(connection_limit(256, Some(96)), 32);
        // Absurdly low: a few connections all the same.
        assert_eq!(connection_limit(256, Some(50)), MIN_CONNECTIONS);
    }

    #[tokio::test]
    async fn at_the_limit_the_oldest_idle_connection_makes_room_and_busy_ones_are_kept() {
        let metrics = Arc::new(Metrics::default());
        let c = Arc::new(Connections::new(2, Duration::from_secs(3600), metrics));
        let busy = |s: &Slot| s.busy.store(stamp(c.epoch), Ordering::SeqCst);
        assert!(c.room().await);
        let a = c.admit();
        assert!(c.room().await);
        let b = c.admit();
        // a is in a request: b, the oldest idle one, is told to close; the room is made only
        // once its socket is closed (its slot dropped), never before.
        busy(&a);
        let mut room = std::pin::pin!(c.room());
        let waker = std::task::Waker::noop();
        let mut cx = std::task::Context::from_waker(waker);
        assert!(room.as_mut().poll(&mut cx).is_pending());
        assert!(!c.lock().open.contains_key(&b.id));
        assert!(c.lock().open.contains_key(&a.id));
        let told = b.evicted.notified();
        assert!(std::pin::pin!(told).poll(&mut cx).is_ready(), "b was told");
        assert!(
            room.as_mut().poll(&mut cx).is_pending(),
            "b's socket is still open"
        );
        drop(b);
        assert!(room.await);
        let third = c.admit();
        // Both open ones in a short request: no room.
        busy(&third);
        assert!(!c.room().await);
        // A connection that ends gives its place back.
        drop(a);
        assert!(c.room().await);
        let r = c.lock();
        assert_eq!(r.open.len() + r.closing, 1);
    }

    #[tokio::test]
    async fn a_request_that_runs_past_the_header_timeout_makes_room_when_none_is_idle() {
        let c = Arc::new(Connections::new(
            1,
            Duration::ZERO,
            Arc::new(Metrics::default()),
        ));
        assert!(c.room().await);
        let slow = c.admit();
        // A body sent a byte at a time: in a request, but for longer than allowed.
        slow.busy.store(1, Ordering::SeqCst);
        let mut room = std::pin::pin!(c.room());
        let waker = std::task::Waker::noop();
        let mut cx = std::task::Context::from_waker(waker);
        assert!(room.as_mut().poll(&mut cx).is_pending());
        assert!(
            c.lock().open.is_empty(),
            "the slow request was told to close"
        );
        drop(slow);
        assert!(room.await);
    }
}
