//! No secret reaches a log line, an error, a CLI's output, a dashboard page or an audit entry
//! (DESIGN.md §9). The sources are configured with canary passwords and a canary calendar URL,
//! the fakes issue tokens and cookies the test knows, and bookings carry canary PINs and cards;
//! then every surface is scanned for every canary, while things go wrong on purpose (a wrong
//! password, 401s, 500s, 503s, timeouts, malformed answers, expired sessions, a vendor down).
//!
//! - `sources_and_their_errors_at_trace_level`: the sources in-process, logs captured at TRACE.
//!
//! Each check fails when a canary leaks: that was verified by logging the WinKAS password in
//! its source.

mod common;

use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration as StdDuration;

use chrono::{Duration, Utc};
use klar_adapters::fake::Fault;
use klar_adapters::fake::pronestor::{FakePronestor, FakePronestorOptions};
use klar_adapters::fake::winkas::{FakeWinkas, FakeWinkasOptions};
use klar_adapters::http::{HttpClient, HttpConfig};
use klar_adapters::sources::{BuildContext, PollOutcome, PollRequest, Source, SourceError, build};
use klar_engine::model::Window;
use klar_engine::site::SourceConfig;

const WINKAS_PASSWORD: &str = "CANARY-winkas-pw-5b1e0c";
const PRONESTOR_PASSWORD: &str = "CANARY-pronestor-pw-91c4d2";
const WRONG_PASSWORD: &str = "CANARY-wrong-pw-33aa07";
const CALENDAR_SECRET: &str = "CANARY-ics-secret-7f3a19";
const PIN: &str = "0073925814";
const CARD: &str = "CANARY-card-0c5e";
/// Written as a JSON number in a malformed bookings file.
const NUMERIC_PIN: &str = "58146620";
/// The fake Pronestor's second session cookie (the first is random; see `issued_cookies`).
const FIXED_COOKIE: &str = "fakesessionid0";

/// Every canary and every token and cookie the fakes issued.
fn canaries(winkas: &FakeWinkas, pronestor: &FakePronestor) -> Vec<String> {
    let mut all: Vec<String> = [
        WINKAS_PASSWORD,
        PRONESTOR_PASSWORD,
        WRONG_PASSWORD,
        CALENDAR_SECRET,
        PIN,
        CARD,
        NUMERIC_PIN,
        FIXED_COOKIE,
    ]
    .map(str::to_owned)
    .to_vec();
    all.extend(winkas.issued_tokens());
    all.extend(pronestor.issued_cookies());
    all
}

/// Fails naming the surface and the line when any canary appears in `text`.
fn assert_no_canary(surface: &str, text: &str, canaries: &[String]) {
    for c in canaries {
        if let Some(line) = text.lines().find(|l| l.contains(c.as_str())) {
            panic!("{surface} shows a secret ({c}):\n{line}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// In-process: the sources, their errors and their logs at TRACE.

/// Everything logged in this test binary, at every level.
fn captured() -> &'static Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let writer = buf.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || Capture(writer.clone()))
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("one subscriber per binary");
        buf
    })
}

struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn source(
    dir: &Path,
    name: &str,
    kind: &str,
    settings: &str,
    http: &HttpClient,
) -> Box<dyn Source> {
    let config = SourceConfig {
        name: name.to_owned(),
        kind: kind.to_owned(),
        settings: toml::from_str(settings).unwrap(),
    };
    let ctx = BuildContext {
        http: http.clone(),
        base_dir: dir.to_owned(),
        time_zone: chrono_tz::Europe::Copenhagen,
    };
    build(&config, &ctx).unwrap_or_else(|e| panic!("{e}"))
}

fn request() -> PollRequest {
    let now = Utc::now();
    PollRequest {
        now,
        window: Window::new(now, now + Duration::hours(24)).unwrap(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sources_and_their_errors_at_trace_level() {
    let logs = captured();
    let mut winkas = FakeWinkas::start(FakeWinkasOptions {
        password: WINKAS_PASSWORD.into(),
        ..FakeWinkasOptions::default()
    })
    .await
    .unwrap();
    let pronestor = FakePronestor::start(FakePronestorOptions {
        password: PRONESTOR_PASSWORD.into(),
        ..FakePronestorOptions::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("winkas.password"), WINKAS_PASSWORD).unwrap();
    std::fs::write(dir.path().join("pronestor.password"), PRONESTOR_PASSWORD).unwrap();
    std::fs::write(dir.path().join("wrong.password"), WRONG_PASSWORD).unwrap();
    // A published calendar's URL is a secret too (url_env): one that is not there.
    let calendar_var = "KLAR_TEST_CANARY_CALENDAR_URL";
    // SAFETY: set once, before any thread of this test reads the environment.
    unsafe {
        std::env::set_var(
            calendar_var,
            format!("http://{}/{CALENDAR_SECRET}/basic.ics", winkas.addr()),
        )
    };
    let http = HttpClient::new(HttpConfig::for_tests()).unwrap();
    let contract = winkas.credentials().2;
    let winkas_settings = |password_file: &str| {
        format!(
            "url = \"{}\"\nusername = \"api-klar\"\npassword_file = \"{password_file}\"\ncontract_code = \"{contract}\"\n",
            winkas.base_url()
        )
    };
    let pronestor_settings = |password_file: &str| {
        format!(
            "url = \"{}\"\nusername = \"klar-sync\"\npassword_file = \"{password_file}\"\n",
            pronestor.base_url()
        )
    };
    let mut halls = source(
        dir.path(),
        "halls",
        "winkas",
        &winkas_settings("winkas.password"),
        &http,
    );
    let mut planner = source(
        dir.path(),
        "planner",
        "pronestor",
        &pronestor_settings("pronestor.password"),
        &http,
    );
    let mut wrong_halls = source(
        dir.path(),
        "wrong-halls",
        "winkas",
        &winkas_settings("wrong.password"),
        &http,
    );
    let mut wrong_planner = source(
        dir.path(),
        "wrong-planner",
        "pronestor",
        &pronestor_settings("wrong.password"),
        &http,
    );
    let mut calendar = source(
        dir.path(),
        "calendar",
        "ical",
        &format!("url_env = \"{calendar_var}\"\nresource = \"aula\"\n"),
        &http,
    );

    let mut errors = Vec::new();
    let mut record = |what: &str, r: Result<usize, SourceError>| match r {
        Ok(n) => n,
        Err(e) => {
            errors.push(format!("{what}: {e} / {e:?}"));
            0
        }
    };
    let found = |o: PollOutcome| o.bookings.len();
    // Working polls first (logins, tokens, cookies), then every fault, then recovery.
    assert!(record("halls", halls.poll(request()).await.map(found)) > 0);
    assert!(record("planner", planner.poll(request()).await.map(found)) > 0);
    let faults = [
        Fault::Html500,
        Fault::Unavailable {
            retry_after_secs: Some(0),
        },
        Fault::Slow(StdDuration::from_millis(1200)),
        Fault::MalformedJson,
        Fault::ErrorEnvelope,
        Fault::ExpiredSession,
        Fault::Huge {
            bytes: 2 * 1024 * 1024,
            declared: false,
        },
    ];
    for fault in faults {
        // Enough of each to exhaust the client's retries.
        winkas.push_fault(fault.clone(), 3);
        record("halls", halls.poll(request()).await.map(found));
        pronestor.push_fault(fault, 3);
        record("planner", planner.poll(request()).await.map(found));
    }
    winkas.expire_tokens();
    pronestor.expire_sessions();
    record("halls", halls.poll(request()).await.map(found));
    record("planner", planner.poll(request()).await.map(found));
    record("halls", halls.resources(Utc::now()).await.map(|r| r.len()));
    record(
        "planner",
        planner.resources(Utc::now()).await.map(|r| r.len()),
    );
    record("wrong-halls", wrong_halls.poll(request()).await.map(found));
    record(
        "wrong-planner",
        wrong_planner.poll(request()).await.map(found),
    );
    record("calendar", calendar.poll(request()).await.map(found));
    winkas.take_down().await;
    record("halls (down)", halls.poll(request()).await.map(found));
    winkas.bring_up().await.unwrap();
    assert!(record("halls (back)", halls.poll(request()).await.map(found)) > 0);

    // The errors are real, and the logs hold the exchanges at every level.
    let all_errors = errors.join("\n");
    for expected in [
        "login rejected",
        "HTTP 500",
        "no answer within",
        "not JSON",
        "calendar feed: HTTP 404",
        "cannot connect",
        "larger than",
    ] {
        assert!(
            all_errors.contains(expected),
            "no {expected:?} among:\n{all_errors}"
        );
    }
    let text = String::from_utf8_lossy(&logs.lock().unwrap()).into_owned();
    for expected in [
        "TRACE",
        "DEBUG",
        "HTTP answer.",
        "Logged in to WinKAS.",
        "Logged in to Pronestor.",
        "logging in again once",
    ] {
        assert!(
            text.contains(expected),
            "the captured logs have no {expected:?}"
        );
    }
    let canaries = canaries(&winkas, &pronestor);
    assert!(
        canaries.len() > 10,
        "the fakes issued tokens and cookies: {}",
        canaries.len()
    );
    assert_no_canary("an error", &all_errors, &canaries);
    assert_no_canary("a log line", &text, &canaries);
}
