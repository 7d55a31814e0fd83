//! Fake Pronestor and WinKAS servers speaking the vendors' wire formats, quirks and failures,
//! for tests, the demo and commissioning without the real systems.
//!
//! Both serve data from one deterministic generator ([`data`]) around the time of an injectable
//! [`FakeClock`], bind `127.0.0.1:0` unless told otherwise, and can be taken down and brought
//! up again on the same port. Faults ([`Fault`]) are queued and each spoils one request.

pub mod data;
pub mod municipal;
pub mod pronestor;

pub mod winkas;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use data::{FakeBooking, FakeData, FakeLocation, FakePerson, FakeResource};

/// The fakes' notion of now: the wall clock, or a time the test sets and moves.
#[derive(Debug, Clone, Default)]
pub struct FakeClock {
    fixed: Arc<Mutex<Option<DateTime<Utc>>>>,
}

impl FakeClock {
    /// Follows the wall clock (for `klar fake` and the demo).
    pub fn system() -> Self {
        FakeClock::default()
    }

    /// Stands at `at` until set or advanced.
    pub fn fixed(at: DateTime<Utc>) -> Self {
        FakeClock {
            fixed: Arc::new(Mutex::new(Some(at))),
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.fixed
            .lock()
            .ok()
            .and_then(|f| *f)
            .unwrap_or_else(Utc::now)
    }

    pub fn set(&self, at: DateTime<Utc>) {
        if let Ok(mut f) = self.fixed.lock() {
            *f = Some(at);
        }
    }

    pub fn advance(&self, by: chrono::Duration) {
        let now = self.now();
        self.set(now + by);
    }
}

/// A fault that spoils the next request the fake answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// HTTP 500 with an IIS-style HTML error page.
    Html500,
    /// HTTP 503, with `Retry-After: <secs>` when given.
    Unavailable { retry_after_secs: Option<u64> },
    /// The answer comes only after this long.
    Slow(Duration),
    /// HTTP 200 with a body that is not valid JSON.
    MalformedJson,
    /// HTTP 200 carrying the vendor's own error answer: WinKAS's envelope with `WinKasStatus` 1
    /// and a message; Pronestor's ASP.NET error object (`{"Message": "An error has occurred."}`).
    ErrorEnvelope,
    /// Every session or token ends just before this request (a server restart, an admin reset):
    /// the request gets the vendor's expired-session answer.
    ExpiredSession,
    /// HTTP 200 with a JSON body of this many bytes (a runaway export, a hostile server): with a
    /// `Content-Length` when `declared`, else streamed in chunks with no length given.
    Huge { bytes: usize, declared: bool },
}

/// Faults waiting for requests, shared by a fake's handlers.
#[derive(Debug, Clone, Default)]
pub(crate) struct FaultQueue(Arc<Mutex<VecDeque<Fault>>>);

impl FaultQueue {
    pub(crate) fn push(&self, fault: Fault, times: usize) {
        if let Ok(mut q) = self.0.lock() {
            for _ in 0..times {
                q.push_back(fault.clone());
            }
        }
    }
    pub(crate) fn next(&self) -> Option<Fault> {
        self.0.lock().ok().and_then(|mut q| q.pop_front())
    }
    pub(crate) fn clear(&self) {
        if let Ok(mut q) = self.0.lock() {
            q.clear();
        }
    }
}

/// Answers a fault the way an IIS front end would. `None` for `Slow` (after sleeping), which
/// lets the request go on.
pub(crate) async fn answer_fault(fault: Fault) -> Option<axum::response::Response> {
    use axum::http::{StatusCode, header};
    use axum::response::IntoResponse;
    match fault {
        Fault::Html500 => Some(
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                "<!DOCTYPE html><html><head><title>Runtime Error</title></head><body><h1>Server Error in '/' Application.</h1></body></html>",
            )
                .into_response(),
        ),
        Fault::Unavailable { retry_after_secs } => {
            let mut resp = (StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable").into_response();
            if let Some(secs) = retry_after_secs
                && let Ok(v) = secs.to_string().parse()
            {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
            Some(resp)
        }
        Fault::Slow(d) => {
            tokio::time::sleep(d).await;
            None
        }
        // The vendor-specific part is done by the fake before it calls this.
        Fault::ExpiredSession => None,
        Fault::ErrorEnvelope => Some(
            (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
                "{\"Message\": \"An error has occurred.\"}",
            )
                .into_response(),
        ),
        Fault::MalformedJson => Some(
            (StatusCode::OK, [(header::CONTENT_TYPE, "application/json; charset=utf-8")], "{\"WinKasData\": [{\"Id\": 1,")
                .into_response(),
        ),
        Fault::Huge { bytes, declared } => Some(huge_answer(bytes, declared)),
    }
}

/// A JSON array of `bytes` bytes: `[` and blanks, then `]`.
fn huge_answer(bytes: usize, declared: bool) -> axum::response::Response {
    use axum::http::{StatusCode, header};
    use axum::response::IntoResponse;
    const CHUNK: usize = 64 * 1024;
    static BLANKS: [u8; CHUNK] = [b' '; CHUNK];
    let json = [(header::CONTENT_TYPE, "application/json; charset=utf-8")];
    let inner = bytes.saturating_sub(2);
    if declared {
        let mut body = Vec::with_capacity(bytes);
        body.push(b'[');
        body.resize(inner + 1, b' ');
        body.push(b']');
        return (StatusCode::OK, json, body).into_response();
    }
    let mut chunks = vec![axum::body::Bytes::from_static(b"[")];
    let mut left = inner;
    while left > 0 {
        let n = left.min(CHUNK);
        chunks.push(axum::body::Bytes::from_static(&BLANKS[..n]));
        left -= n;
    }
    chunks.push(axum::body::Bytes::from_static(b"]"));
    let stream = futures_util::stream::iter(chunks.into_iter().map(Ok::<_, std::io::Error>));
    (StatusCode::OK, json, axum::body::Body::from_stream(stream)).into_response()
}

/// A loopback HTTP server that can be taken down and brought back up on the same port.
pub(crate) struct Served {
    addr: SocketAddr,
    router: axum::Router,
    running: Option<(oneshot::Sender<()>, JoinHandle<()>)>,
}

impl Served {
    pub(crate) async fn start(router: axum::Router, addr: SocketAddr) -> std::io::Result<Served> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let mut served = Served {
            addr,
            router,
            running: None,
        };
        served.spawn(listener);
        Ok(served)
    }

    fn spawn(&mut self, listener: TcpListener) {
        let (tx, rx) = oneshot::channel::<()>();
        let router = self.router.clone();
        let task = tokio::spawn(async move {
            let shutdown = async {
                let _ = rx.await;
            };
            if let Err(e) = axum::serve(listener, router)
                .with_graceful_shutdown(shutdown)
                .await
            {
                tracing::warn!(error = %e, "Fake server stopped with an error.");
            }
        });
        self.running = Some((tx, task));
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Closes the listener and every connection: clients now get "connection refused".
    pub(crate) async fn take_down(&mut self) {
        if let Some((tx, task)) = self.running.take() {
            let _ = tx.send(());
            let _ = task.await;
        }
    }

    /// Listens again on the same address.
    pub(crate) async fn bring_up(&mut self) -> std::io::Result<()> {
        if self.running.is_none() {
            let listener = TcpListener::bind(self.addr).await?;
            self.spawn(listener);
        }
        Ok(())
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some((tx, task)) = self.running.take() {
            let _ = tx.send(());
            task.abort();
        }
    }
}

/// Lower-cases a request path and removes doubled and trailing slashes: both vendors' routing
/// is case-insensitive and tolerant of slashes.
pub(crate) fn normalise_path(path: &str) -> String {
    let parts: Vec<String> = path
        .split('/')
        .filter(|p| !p.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    format!("/{}", parts.join("/"))
}
