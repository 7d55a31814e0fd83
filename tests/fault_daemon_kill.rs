//! `kill -9` of `klar run` in the middle of an apply, and a restart. The controller is a real
//! `klar sim` process behind a small proxy in the test; the proxy lets the first writes of the
//! apply through, holds the next one, and the test SIGKILLs the daemon while that write is in
//! flight (so the kill lands mid-apply, deterministically, and the controller holds part of the
//! apply). After a restart the controller converges to exactly the database an uninterrupted
//! daemon produced, with only the missing writes applied and none twice, and the store's audit
//! matches the uninterrupted one.
//!
//! `klar run` is a real process on the real clock: the bookings lie two hours ahead and the
//! states are read at chosen instants inside them from the simulator's HTTP API.

mod daemon_common;
mod fault_common;

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use daemon_common::{Daemon, site_with};
use fault_common::controller::SimProcess;
use fault_common::describe;
use klar_adapters::controllers::unilock::protocol::StateAt;
use klar_adapters::fake::FakeData;
use klar_adapters::fake::winkas::{FakeWinkas, FakeWinkasOptions};
use klar_engine::store::Store;

/// Four halls, each door on a table of its own: an apply of four bookings is four writes.
const ROOMS: &str = r#"
[rooms."halls:1"]
name = "Hal 1"
doors = ["D-HAL1"]
[rooms."halls:3"]
name = "Gymnastiksal A"
doors = ["D-HAL3"]
[rooms."halls:4"]
name = "Springsal"
doors = ["D-HAL4"]
[controller.installation.tables.t1]
all = ["00:00 locked"]
[controller.installation.tables.t3]
all = ["00:00 locked"]
[controller.installation.tables.t4]
all = ["00:00 locked"]
[controller.installation.doors."D-HAL1"]
table = "t1"
[controller.installation.doors."D-HAL3"]
table = "t3"
[controller.installation.doors."D-HAL4"]
table = "t4"
"#;

/// A site folder on the fake, whose controller is `unilock-http` at `controller_url`.
fn http_site(fake: &FakeWinkas, controller_url: &str) -> daemon_common::SiteDir {
    let s = site_with(&fake.base_url(), &fake.credentials().1, ROOMS);
    let text = std::fs::read_to_string(&s.config).expect("read site.toml");
    let text = text.replace(
        "[controller]\nkind = \"unilock-sim\"",
        &format!(
            "[controller]\nkind = \"unilock-http\"\nurl = \"{controller_url}\"\ntimeout_ms = 5000"
        ),
    );
    assert!(text.contains("unilock-http"));
    std::fs::write(&s.config, text).expect("write site.toml");
    s
}

/// Forwards everything to the simulator; with `hold_after = Some(n)`, the write after the
/// first `n` is never answered (and the test is told).
#[derive(Clone)]
struct Proxy {
    upstream: String,
    client: reqwest::Client,
    writes: Arc<AtomicUsize>,
    hold_after: Arc<Mutex<Option<usize>>>,
    held: std::sync::mpsc::Sender<usize>,
}

async fn forward(State(p): State<Proxy>, method: Method, uri: Uri, body: Bytes) -> Response {
    if method == Method::POST && uri.path() == "/v1/write" {
        let n = p.writes.fetch_add(1, Ordering::SeqCst);
        let limit = *p.hold_after.lock().unwrap_or_else(|e| e.into_inner());
        if limit.is_some_and(|limit| n >= limit) {
            let _ = p.held.send(n);
            std::future::pending::<()>().await;
        }
    }
    let answer = p
        .client
        .request(method, format!("{}{uri}", p.upstream))
        .header(header::CONTENT_TYPE, "application/json")
        .body(body)
        .send()
        .await;
    match answer {
        Ok(r) => {
            let status = r.status();
            let bytes = r.bytes().await.unwrap_or_default();
            (status, [(header::CONTENT_TYPE, "application/json")], bytes).into_response()
        }
        Err(e) => (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    }
}

/// The simulator's database and the doors at the chosen instants.
async fn controller_state(
    sim_url: &str,
    instants: &[chrono::DateTime<Utc>],
) -> (serde_json::Value, Vec<String>) {
    let db: serde_json::Value = reqwest::get(format!("{sim_url}/v1/database"))
        .await
        .expect("GET /v1/database")
        .json()
        .await
        .expect("the database");
    let mut states = Vec::new();
    for at in instants {
        let at = at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let state: StateAt = reqwest::get(format!("{sim_url}/v1/state?at={at}"))
            .await
            .expect("GET /v1/state")
            .json()
            .await
            .expect("a state");
        states.push(describe(&state));
    }
    (db, states)
}

/// The audit without ids and instants.
fn audit(config: &Path) -> Vec<String> {
    let mut lines: Vec<String> = Store::open(&config.with_file_name("klar.db"))
        .expect("open the store")
        .audit(1000)
        .expect("read the audit")
        .into_iter()
        .map(|a| {
            format!(
                "{} {} {} {:?}",
                a.reason.as_str(),
                a.target,
                a.booking,
                a.after
            )
        })
        .collect();
    lines.sort();
    lines
}

/// Polls (bounded: real processes) until `check` holds; fails at once if the daemon exits.
async fn wait_until<F, Fut>(daemon: &mut Daemon, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if check().await {
            return;
        }
        if let Some(status) = daemon.child.try_wait().expect("the child's status") {
            panic!(
                "klar run exited ({status})\n--- its log ---\n{}",
                daemon.log()
            );
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}\n--- klar run's log ---\n{}",
            daemon.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until the daemon's log says a plan was applied.
async fn wait_for_apply(daemon: &mut Daemon) {
    let log = daemon.log.clone();
    wait_until(daemon, "an apply logged", || {
        let log = log.clone();
        async move {
            std::fs::read_to_string(&log)
                .unwrap_or_default()
                .contains("Plan applied.")
        }
    })
    .await;
}

fn applied_lines(log: &str) -> Vec<String> {
    log.lines()
        .filter(|l| l.contains(" Applied. "))
        .map(|l| l.split("action=").nth(1).unwrap_or(l).to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_apply_and_a_restart_converge_to_the_same_state() {
    let fake = FakeWinkas::start(FakeWinkasOptions {
        empty: true,
        ..FakeWinkasOptions::default()
    })
    .await
    .expect("the fake starts");
    let start = Utc::now() + chrono::Duration::hours(2);
    for (i, resource) in [1, 2, 3, 4].into_iter().enumerate() {
        let from = start + chrono::Duration::minutes(30 * i as i64);
        fake.add_booking(FakeData::booking(
            resource,
            "Træning",
            from,
            from + chrono::Duration::hours(1),
        ));
    }
    let instants: Vec<_> = [-20, 10, 40, 70, 100, 140]
        .into_iter()
        .map(|m| start + chrono::Duration::minutes(m))
        .collect();

    // The reference: an uninterrupted daemon on a simulator of its own.
    let reference_port = fault_common::free_port();
    let reference = http_site(&fake, &format!("http://127.0.0.1:{reference_port}"));
    let reference_sim = SimProcess::start(
        &reference.config,
        reference_port,
        &reference.config.with_file_name("sim.json"),
    );
    let mut daemon = Daemon::start(&reference.config, "reference.log");
    let log = daemon.log.clone();
    wait_until(&mut daemon, "the reference applied", || {
        let log = log.clone();
        async move { applied_lines(&std::fs::read_to_string(&log).unwrap_or_default()).len() == 4 }
    })
    .await;
    assert!(daemon.terminate().success());
    let expected = controller_state(&reference_sim.url, &instants).await;
    let expected_audit = audit(&reference.config);
    assert_eq!(expected_audit.len(), 4, "{expected_audit:#?}");
    assert_eq!(
        expected.1[1], "D-HAL1 unlocked, D-HAL2 locked, D-HAL3 locked, D-HAL4 locked",
        "{:#?}",
        expected.1
    );
    drop(reference_sim);

    // The site under test: klar run -> proxy -> klar sim.
    let sim_port = fault_common::free_port();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the proxy");
    let proxy_url = format!("http://{}", listener.local_addr().expect("its address"));
    let s = http_site(&fake, &proxy_url);
    let sim = SimProcess::start(&s.config, sim_port, &s.config.with_file_name("sim.json"));
    let (held_tx, held_rx) = std::sync::mpsc::channel();
    let proxy = Proxy {
        upstream: sim.url.clone(),
        client: reqwest::Client::new(),
        writes: Arc::new(AtomicUsize::new(0)),
        hold_after: Arc::new(Mutex::new(Some(2))),
        held: held_tx,
    };
    let router = axum::Router::new()
        .fallback(forward)
        .with_state(proxy.clone());
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });

    let mut first = Daemon::start(&s.config, "first.log");
    let held = tokio::task::spawn_blocking(move || held_rx.recv_timeout(Duration::from_secs(30)))
        .await
        .expect("the wait ends");
    assert_eq!(held, Ok(2), "the third write is held\n{}", first.log());
    // kill -9 while the third write is in flight.
    first.child.kill().expect("SIGKILL klar run");
    let status = first.child.wait().expect("its status");
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(9)
    );
    let half = controller_state(&sim.url, &instants).await;
    assert_ne!(half.0, expected.0, "two of four writes got through");
    assert_eq!(
        applied_lines(&first.log()).len(),
        0,
        "killed before it could say so"
    );

    // Restart with the controller reachable again.
    *proxy.hold_after.lock().unwrap_or_else(|e| e.into_inner()) = None;
    let mut second = Daemon::start(&s.config, "second.log");
    let url = sim.url.clone();
    let (want, at) = (expected.clone(), instants.clone());
    wait_until(&mut second, "the same state as the reference", || {
        let (url, want, at) = (url.clone(), want.clone(), at.clone());
        async move { controller_state(&url, &at).await == want }
    })
    .await;
    wait_for_apply(&mut second).await;
    let applied = applied_lines(&second.log());
    assert_eq!(applied.len(), 2, "only the missing writes: {applied:#?}");
    assert!(second.terminate().success());
    assert_eq!(audit(&s.config), expected_audit, "the audit, once each");

    // A third start has nothing to do.
    let mut third = Daemon::start(&s.config, "third.log");
    wait_for_apply(&mut third).await;
    assert!(third.terminate().success());
    assert_eq!(applied_lines(&third.log()), Vec::<String>::new());
    assert_eq!(controller_state(&sim.url, &instants).await, expected);
    assert_eq!(audit(&s.config), expected_audit);
}
