//! Slow and idle clients cannot starve the daemon. `klar run` on the demo's site with a low
//! file limit (soft 128, hard 256, through `prlimit`) takes 1,000 connections at once: idle
//! ones, ones that send their headers a line every half second, and ones that send a body a
//! byte at a time. klar raises its soft limit to the hard one, holds at most what the limit
//! leaves it (192), closes the longest-waiting idle connections to make room, and closes the
//! rest by their timeouts; all the while the core polls WinKAS and applies a new booking, and
//! `/readyz` answers.

mod dashboard_common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use dashboard_common::prom::parse;
use dashboard_common::{DemoSite, Klar, client, slot_ahead, wait_for};
use klar_adapters::fake::FakeData;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// klar's header timeout here, and its request timeout.
const HEADER_TIMEOUT: u64 = 10;
const REQUEST_TIMEOUT: u64 = 3;
/// The file limit klar starts with, and the hard one it may raise it to.
const SOFT: u64 = 128;
const HARD: u64 = 256;
/// What klar may hold with 256 files: 256 less a quarter (64) for itself.
const LIMIT: usize = 192;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Connects and sends nothing.
    Idle,
    /// Sends a request line, then a header line every 500 ms, never the blank line.
    SlowHeaders,
    /// Sends whole headers announcing a 1,000-byte form, then a byte every 500 ms.
    SlowBody,
}

/// How one connection ended.
#[derive(Debug)]
struct Ended {
    kind: Kind,
    /// From connected to closed by klar.
    open_for: Duration,
    /// What klar sent before closing, if anything.
    answer: String,
}

async fn hold(addr: SocketAddr, kind: Kind, connected: Arc<AtomicUsize>) -> Option<Ended> {
    let mut s = TcpStream::connect(addr).await.ok()?;
    connected.fetch_add(1, Ordering::SeqCst);
    let connected = Instant::now();
    let mut answer = Vec::new();
    let mut buf = [0u8; 1024];
    let (first, mut drip): (&[u8], &[u8]) = match kind {
        Kind::Idle => (b"", b""),
        Kind::SlowHeaders => (b"GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\n", b"X-Slow: 1\r\n"),
        Kind::SlowBody => (
            b"POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\n",
            b"t",
        ),
    };
    if s.write_all(first).await.is_err() {
        return Some(Ended {
            kind,
            open_for: connected.elapsed(),
            answer: String::new(),
        });
    }
    // The attacker's own pace: a line (or byte) every half second until klar closes.
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    tick.tick().await;
    loop {
        tokio::select! {
            r = s.read(&mut buf) => match r {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&buf[..n]),
            },
            _ = tick.tick(), if !drip.is_empty() => {
                if s.write_all(drip).await.is_err() {
                    drip = b"";
                }
            }
        }
        // Never longer than the test allows (klar should have closed long before).
        if connected.elapsed() > Duration::from_secs(HEADER_TIMEOUT * 4) {
            break;
        }
    }
    Some(Ended {
        kind,
        open_for: connected.elapsed(),
        answer: String::from_utf8_lossy(&answer).into_owned(),
    })
}

/// This test holds over a thousand sockets itself.
fn raise_own_file_limit() {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let l = getrlimit(Resource::Nofile);
    let _ = setrlimit(
        Resource::Nofile,
        Rlimit {
            current: l.maximum,
            maximum: l.maximum,
        },
    );
    let now = getrlimit(Resource::Nofile).current;
    assert!(
        now.is_none_or(|n| n >= 1200),
        "this test needs 1,200 open files (ulimit -n); the hard limit allows {now:?}"
    );
}

#[test]
fn a_thousand_idle_and_slow_connections_do_not_starve_the_core() {
    raise_own_file_limit();
    let site = DemoSite::start();
    site.edit_config(|s| {
        let s = s
            .replace("near_every_seconds = 45", "near_every_seconds = 1")
            .replace("near_ahead_minutes = 120", "near_ahead_minutes = 1440")
            .replace("reconcile_every_seconds = 60", "reconcile_every_seconds = 2");
        format!(
            "{s}\n[web]\nheader_timeout_seconds = {HEADER_TIMEOUT}\nrequest_timeout_seconds = {REQUEST_TIMEOUT}\n"
        )
    });
    let limit = format!("--nofile={SOFT}:{HARD}");
    let mut klar = Klar::start_under(&["prlimit", &limit, "--"], &site.config, "127.0.0.1:0", &[]);
    let url = klar.url();
    let http = client();
    wait_for("ready", || {
        (http.get(format!("{url}readyz")).send().ok()?.status() == 200).then_some(())
    });
    let log = klar.log();
    assert!(
        log.contains(&format!("file_limit={HARD} file_limit_at_start={SOFT}"))
            && log.contains(&format!("max_connections={LIMIT}")),
        "the soft limit raised to the hard one and the connection limit from it:\n{log}"
    );
    let addr: SocketAddr = url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .unwrap();

    // The flood: 1,000 connections at once, on the test's own runtime.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let started = Instant::now();
    let kinds: Vec<Kind> = (0..1000)
        .map(|i| match i % 100 {
            0..=1 => Kind::SlowBody,
            2..=49 => Kind::SlowHeaders,
            _ => Kind::Idle,
        })
        .collect();
    let connected = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = kinds
        .iter()
        .map(|k| runtime.spawn(hold(addr, *k, connected.clone())))
        .collect();
    wait_for("the flood connected", || {
        (connected.load(Ordering::SeqCst) == kinds.len()).then_some(())
    });

    // While it holds: the core polls WinKAS and applies a booking added now, and a new client
    // is answered (/readyz, /api/audit), each request on a fresh connection.
    let title = "Flood test";
    let start = slot_ahead(chrono::Utc::now());
    site.winkas.add_booking(FakeData::booking(
        2,
        title,
        start,
        start + chrono::Duration::hours(1),
    ));
    let fresh = || {
        reqwest::blocking::Client::builder()
            .pool_max_idle_per_host(0)
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap()
    };
    let metrics = |http: &reqwest::blocking::Client| {
        let text = http.get(format!("{url}metrics")).send().ok()?.text().ok()?;
        parse(&text).ok()
    };
    let readyz = wait_for("/readyz answering during the flood", || {
        let r = fresh().get(format!("{url}readyz")).send().ok()?;
        (r.status() == 200).then(|| r.text().unwrap())
    });
    assert!(readyz.starts_with("ready"), "{readyz}");
    wait_for("the connection limit reached", || {
        let m = metrics(&fresh())?;
        let open = m.get("klar_web_connections_open", &[])?;
        let evicted = m.get(
            "klar_web_connections_dropped_total",
            &[("reason", "evicted")],
        )?;
        (open >= (LIMIT - 2) as f64 && evicted >= 700.0).then_some(())
    });

    wait_for("the new booking applied during the flood", || {
        let r = fresh().get(format!("{url}api/audit")).send().ok()?;
        r.text().ok()?.contains(title).then_some(())
    });
    let applied_after = started.elapsed();
    assert!(
        applied_after < Duration::from_secs(HEADER_TIMEOUT),
        "the booking was applied {applied_after:?} after the flood began: not while it held"
    );

    // Every connection is closed by klar: the oldest idle ones to make room at once, the rest
    // by their timeouts; none outlives its timeout.
    let ended: Vec<Ended> = runtime.block_on(async {
        let mut out = Vec::new();
        for t in tasks {
            if let Some(e) = t.await.unwrap() {
                out.push(e);
            }
        }
        out
    });
    assert_eq!(ended.len(), 1000, "every connection was accepted");
    let late: Vec<&Ended> = ended
        .iter()
        .filter(|e| e.open_for > Duration::from_secs(HEADER_TIMEOUT + 3))
        .collect();
    assert!(late.is_empty(), "open past the header timeout: {late:?}");
    let held = ended
        .iter()
        .filter(|e| e.kind != Kind::SlowBody)
        .filter(|e| e.open_for >= Duration::from_millis(HEADER_TIMEOUT * 1000 - 500))
        .count();
    assert!(
        held >= LIMIT / 2,
        "only {held} connections were held until their header timeout"
    );
    // A slow body gets 408 at the request timeout (or its place was taken before).
    let bodies: Vec<&Ended> = ended.iter().filter(|e| e.kind == Kind::SlowBody).collect();
    assert!(
        bodies.iter().any(|e| e.answer.starts_with("HTTP/1.1 408")
            && e.open_for >= Duration::from_secs(REQUEST_TIMEOUT)),
        "{bodies:?}"
    );

    let m = metrics(&http).unwrap();
    let text = format!("{m:?}");
    let dropped = |reason: &str| {
        m.get("klar_web_connections_dropped_total", &[("reason", reason)])
            .unwrap()
    };
    assert!(dropped("evicted") >= 700.0, "{text}");
    assert!(dropped("timeout") >= (LIMIT / 2) as f64, "{text}");
    assert_eq!(m.get("klar_web_connection_limit", &[]), Some(LIMIT as f64));
    // The core never ran out of files: no poll, store or apply failed.
    let log = klar.log();
    for bad in [
        "Too many open files",
        "os error 24",
        "Apply failed",
        "Cannot save",
    ] {
        assert!(!log.contains(bad), "{bad}:\n{log}");
    }
    assert!(log.contains("connection limit is reached"), "{log}");
    // Still polling after the flood.
    let polls = |m: &dashboard_common::prom::Exposition| {
        m.get(
            "klar_polls_total",
            &[("source", "halls"), ("scope", "near"), ("outcome", "ok")],
        )
        .unwrap()
    };
    let before = polls(&m);
    wait_for("a near poll after the flood", || {
        (polls(&metrics(&http)?) > before).then_some(())
    });
}
