//! No secret reaches a log line, an error, a CLI's output, a dashboard page or an audit entry
//! (DESIGN.md §9). The sources are configured with canary passwords and a canary calendar URL,
//! the fakes issue tokens and cookies the test knows, and bookings carry canary PINs and cards;
//! then every surface is scanned for every canary, while things go wrong on purpose (a wrong
//! password, 401s, 500s, 503s, timeouts, malformed answers, expired sessions, a vendor down).
//!
//! - `sources_and_their_errors_at_trace_level`: the sources in-process, logs captured at TRACE.
//! - `klar_at_trace_level_cli_daemon_dashboard_and_store`: the binary: `klar plan/state/explain/
//!   sync` with PIN-bearing bookings, then `klar run` twice (RUST_LOG=trace) with the vendors
//!   failing and recovering, its dashboard pages and JSON, and the store's audit entries.
//!
//! Each check fails when a canary leaks: that was verified by logging the WinKAS password in
//! its source (at TRACE) and by printing a booking's PIN in `klar plan`.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration as StdDuration, Instant};

use chrono::{DateTime, Duration, Utc};
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

/// Fake WinKAS and Pronestor servers whose passwords are the canaries.
async fn fakes_with_canary_passwords() -> (FakeWinkas, FakePronestor) {
    let winkas = FakeWinkas::start(FakeWinkasOptions {
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
    (winkas, pronestor)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sources_and_their_errors_at_trace_level() {
    let logs = captured();
    let (mut winkas, pronestor) = fakes_with_canary_passwords().await;
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

// ---------------------------------------------------------------------------------------------
// The binary: CLI, daemon, dashboard and store.

#[path = "common/rules.rs"]
mod rules;

const SITE_TEMPLATE: &str = include_str!("../examples/demo/site.toml");
const CALENDAR_VAR: &str = "KLAR_CANARY_CALENDAR_URL";

/// The demo's site (the school pack) on the fakes, with the canary passwords in its secret
/// files, fast cadences, and a secret calendar URL from the environment.
fn site(dir: &Path, winkas: &FakeWinkas, pronestor: &FakePronestor) -> PathBuf {
    rules::copy_dir(
        &common::repo().join("rules/school"),
        &dir.join("rules/school"),
    );
    std::fs::create_dir_all(dir.join("secrets")).unwrap();
    std::fs::write(dir.join("secrets/winkas.password"), WINKAS_PASSWORD).unwrap();
    // Wrong at first: Pronestor refuses every login until the test writes the right one.
    std::fs::write(dir.join("secrets/pronestor.password"), WRONG_PASSWORD).unwrap();
    let calendar = format!(
        "\n[[sources]]\nname = \"calendar\"\nkind = \"ical\"\nurl_env = \"{CALENDAR_VAR}\"\nresource = \"aula\"\n"
    );
    let text = SITE_TEMPLATE
        .replace("@PRONESTOR_URL@", &pronestor.base_url())
        .replace("@WINKAS_URL@", &winkas.base_url())
        .replace(
            "contract_code = \"12345\"",
            &format!("contract_code = \"{}\"", winkas.credentials().2),
        )
        // On a public holiday the school pack grants nothing; the test must not depend on
        // the date it runs.
        .replace("public_holidays = \"dk\"", "public_holidays = \"none\"")
        .replace("near_every_seconds = 45", "near_every_seconds = 1")
        .replace(
            "reconcile_every_seconds = 60",
            "reconcile_every_seconds = 1",
        )
        + calendar.as_str()
        // The test asks for a sync every 100 ms while it waits; one a second is enough.
        + "\n[web]\nsync_cooldown_seconds = 1\n";
    assert!(text.contains("public_holidays = \"none\""));
    assert!(
        text.contains("near_every_seconds = 1"),
        "the demo's [daemon] table changed"
    );
    let config = dir.join("site.toml");
    std::fs::write(&config, text).unwrap();
    config
}

/// Two bookings of the halls, soon, whose responsible person has the canary PIN and card.
fn bookings_file(dir: &Path, start: DateTime<Utc>) -> PathBuf {
    let booking = |id: &str, resource: &str| {
        serde_json::json!({
            "id": id, "source": "halls", "resource": resource, "title": format!("Canary {id}"),
            "start": start.to_rfc3339(), "end": (start + Duration::hours(1)).to_rfc3339(),
            "tags": ["club", "ferie-ok"],
            "responsible": {"name": "Mette Canary", "member_no": "1042", "pin": PIN, "card": CARD},
        })
    };
    let path = dir.join("bookings.json");
    let list = serde_json::json!([booking("W-CANARY-1", "1"), booking("W-CANARY-2", "2")]);
    std::fs::write(&path, serde_json::to_string_pretty(&list).unwrap()).unwrap();
    path
}

/// Runs the binary at TRACE; its stdout and stderr together, and its exit code.
fn klar_at_trace(args: &[&str], calendar_url: &str) -> (Option<i32>, String) {
    let r = rules::run(
        common::klar()
            .args(args)
            .env("RUST_LOG", "trace")
            .env(CALENDAR_VAR, calendar_url),
    );
    (r.code, format!("{}\n{}", r.stdout, r.stderr))
}

/// `klar run` at TRACE, its stderr in a file.
struct Daemon {
    child: Child,
    log: PathBuf,
}

impl Daemon {
    /// `log`: outside the site's folder, which klar watches (at TRACE the watcher logs every
    /// write to a log file there, which writes to the log again, without end).
    fn start(config: &Path, log: PathBuf, calendar_url: &str) -> Daemon {
        let child = Command::new(env!("CARGO_BIN_EXE_klar"))
            .args(["run", "--config"])
            .arg(config)
            .args(["--listen", "127.0.0.1:0"])
            .env("RUST_LOG", "trace")
            .env(CALENDAR_VAR, calendar_url)
            .env_remove("KLAR_WEB_TOKEN")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("klar run starts");
        Daemon { child, log }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn url(&mut self) -> String {
        wait_for("the dashboard's URL", self, |d| {
            d.log()
                .split_whitespace()
                .find_map(|w| w.strip_prefix("dashboard=").map(str::to_owned))
        })
    }

    /// SIGTERM and the log of the whole run.
    fn stop(mut self) -> String {
        let pid = self.child.id().to_string();
        assert!(
            Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .unwrap()
                .success()
        );
        let status = self.child.wait().unwrap();
        assert!(status.success(), "klar run: {status}\n{}", self.log());
        self.log()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `check` every 100 ms for up to 60 s. A real process is involved, so a bounded wait
/// rather than injected time.
fn wait_for<T>(what: &str, daemon: &Daemon, mut check: impl FnMut(&Daemon) -> Option<T>) -> T {
    let deadline = Instant::now() + StdDuration::from_secs(60);
    loop {
        if let Some(v) = check(daemon) {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}\n--- log (end) ---\n{}",
            daemon
                .log()
                .lines()
                .rev()
                .take(40)
                .collect::<Vec<_>>()
                .join("\n")
        );
        std::thread::sleep(StdDuration::from_millis(100));
    }
}

const PAGES: &[&str] = &[
    "",
    "timeline",
    "doors",
    "bookings",
    "audit",
    "api/status",
    "api/plan",
    "api/bookings",
    "api/doors",
    "api/audit",
    "api/live",
    "reloads",
    "api/reloads",
    "api/diff",
    "doors/D-HAL-N",
    "explain?target=person:halls:member:1042",
    "explain?target=door:D-HAL-N",
    "metrics",
    "readyz",
];

/// Every page and JSON the dashboard serves, by path: the ones the brief names must answer 200.
fn pages(url: &str) -> Vec<(String, String)> {
    let http = reqwest::blocking::Client::builder()
        .timeout(StdDuration::from_secs(30))
        .build()
        .unwrap();
    let mut out = Vec::new();
    for page in PAGES {
        let r = http.get(format!("{url}{page}")).send().unwrap();
        let status = r.status().as_u16();
        let body = r.text().unwrap();
        if ["", "timeline", "doors", "bookings", "audit", "api/status"].contains(page) {
            assert_eq!(status, 200, "/{page}: {body}");
        }
        out.push((format!("/{page} ({status})"), body));
    }
    out
}

fn sync_now(url: &str) {
    let r = reqwest::blocking::Client::new()
        .post(format!("{url}api/sync"))
        .send()
        .unwrap();
    assert!(r.status().is_success(), "POST /api/sync: {}", r.status());
}

#[test]
fn klar_at_trace_level_cli_daemon_dashboard_and_store() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (mut winkas, pronestor) = runtime.block_on(fakes_with_canary_passwords());
    let tmp = tempfile::tempdir().unwrap();
    let logs = tempfile::tempdir().unwrap();
    let config = site(tmp.path(), &winkas, &pronestor);
    let cfg = config.to_str().unwrap();
    // The calendar feed is not there: its URL (a secret) must not appear in the error.
    let calendar_url = format!("http://{}/{CALENDAR_SECRET}/basic.ics", pronestor.addr());
    let now = Utc::now();
    let start = now + Duration::hours(2);
    let bookings = bookings_file(tmp.path(), start);
    let file = bookings.to_str().unwrap();
    let at = now.to_rfc3339();
    let during = (start + Duration::minutes(30)).to_rfc3339();
    let mut surfaces: Vec<(String, String)> = Vec::new();

    // 1. The command line, with the PIN-bearing bookings.
    for args in [
        vec!["plan", "--config", cfg, "--bookings", file, "--at", &at],
        vec![
            "plan",
            "--config",
            cfg,
            "--bookings",
            file,
            "--at",
            &at,
            "--format",
            "json",
        ],
        vec![
            "state",
            "--config",
            cfg,
            "--bookings",
            file,
            "--at",
            &during,
        ],
        vec![
            "explain",
            "person",
            "halls:member:1042",
            "--config",
            cfg,
            "--bookings",
            file,
            "--at",
            &during,
        ],
        vec![
            "explain",
            "door",
            "D-HAL-N",
            "--config",
            cfg,
            "--bookings",
            file,
            "--at",
            &during,
        ],
        vec!["sync", "--config", cfg, "--bookings", file, "--at", &at],
    ] {
        let (code, out) = klar_at_trace(&args, &calendar_url);
        assert_eq!(code, Some(0), "klar {}:\n{out}", args.join(" "));
        surfaces.push((format!("klar {}", args[..2].join(" ")), out));
    }
    let plan_json = &surfaces[1].1;
    assert!(
        plan_json.contains("member:1042") && plan_json.contains("Hal-ansvarlige"),
        "the canary person is granted (so the PIN travels to the controller): {plan_json}"
    );
    // The PIN did reach its one rightful reader: the controller (the simulator's state).
    let sim_state = std::fs::read_to_string(tmp.path().join("klar.unilock-sim.json")).unwrap();
    assert!(sim_state.contains(PIN) && sim_state.contains(CARD));
    // A malformed bookings file: the error names the place, not the PIN.
    let bad = tmp.path().join("bad.json");
    std::fs::write(
        &bad,
        format!("[{{\"id\": \"B\", \"source\": \"halls\", \"resource\": \"1\", \"start\": \"{at}\", \"end\": \"{during}\", \"responsible\": {{\"pin\": {NUMERIC_PIN}}}}}]"),
    )
    .unwrap();
    let (code, out) = klar_at_trace(
        &[
            "plan",
            "--config",
            cfg,
            "--bookings",
            bad.to_str().unwrap(),
            "--at",
            &at,
        ],
        &calendar_url,
    );
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("bad.json:1:"), "{out}");
    surfaces.push(("klar plan (malformed file)".into(), out));

    // 2. The daemon with WinKAS down and Pronestor refusing the password: the stored PIN-bearing
    // bookings stay in force and are shown on the dashboard.
    runtime.block_on(winkas.take_down());
    let mut daemon = Daemon::start(&config, logs.path().join("run-1.log"), &calendar_url);
    let url = daemon.url();
    wait_for("failed polls and an applied plan", &daemon, |d| {
        let log = d.log();
        (log.contains("Poll failed")
            && log.contains("login rejected")
            && log.contains("Plan applied."))
        .then_some(())
    });
    let first = pages(&url);
    let shown = &first
        .iter()
        .find(|(p, _)| p.starts_with("/bookings "))
        .unwrap()
        .1;
    assert!(
        shown.contains("Canary W-CANARY-1") && shown.contains("Mette Canary"),
        "{shown}"
    );
    surfaces.extend(first);
    // WinKAS comes back and misbehaves: 500s, a malformed answer, error envelopes, an expired
    // session; each makes klar log in again with the password, or fail and say so.
    runtime.block_on(winkas.bring_up()).unwrap();
    wait_for("a WinKAS login", &daemon, |d| {
        d.log().contains("Logged in to WinKAS.").then_some(())
    });
    winkas.push_fault(Fault::Html500, 4);
    winkas.push_fault(Fault::MalformedJson, 1);
    winkas.push_fault(Fault::ErrorEnvelope, 2);
    winkas.push_fault(Fault::ExpiredSession, 1);
    wait_for("WinKAS's faults met and a login again", &daemon, |d| {
        sync_now(&url);
        let log = d.log();
        (winkas.counters().password_logins >= 2
            && log.contains("logging in again once")
            && log.contains("WinKAS poll done."))
        .then_some(())
    });
    surfaces.push((
        "/api/status after the faults".into(),
        pages(&url).remove(5).1,
    ));
    surfaces.push(("klar run (1)".into(), daemon.stop()));

    // 3. Again with Pronestor's right password, and a session that expires.
    std::fs::write(
        tmp.path().join("secrets/pronestor.password"),
        PRONESTOR_PASSWORD,
    )
    .unwrap();
    let mut daemon = Daemon::start(&config, logs.path().join("run-2.log"), &calendar_url);
    let url = daemon.url();
    wait_for("a Pronestor login", &daemon, |d| {
        d.log().contains("Logged in to Pronestor.").then_some(())
    });
    pronestor.push_fault(Fault::ExpiredSession, 1);
    pronestor.push_fault(Fault::Html500, 4);
    wait_for("Pronestor logged in again", &daemon, |d| {
        sync_now(&url);
        (pronestor.counters().logins >= 2 && d.log().contains("Pronestor poll done.")).then_some(())
    });
    surfaces.extend(pages(&url));
    let log = daemon.stop();
    for expected in [
        " TRACE ",
        " DEBUG ",
        "HTTP answer.",
        "Logged in to WinKAS.",
        "calendar feed: HTTP 404",
    ] {
        assert!(
            log.contains(expected) || surfaces.iter().any(|(_, t)| t.contains(expected)),
            "no {expected:?} in the daemon's logs"
        );
    }
    surfaces.push(("klar run (2)".into(), log));

    // 4. What the store kept: state and explain from its snapshots, and the audit entries.
    for args in [
        vec!["state", "--config", cfg, "--at", &during],
        vec![
            "explain",
            "person",
            "halls:member:1042",
            "--config",
            cfg,
            "--at",
            &during,
        ],
    ] {
        let (_, out) = klar_at_trace(&args, &calendar_url);
        surfaces.push((format!("klar {} (store)", args[..2].join(" ")), out));
    }
    let store = klar_engine::store::Store::open(&tmp.path().join("klar.db")).unwrap();
    let audit = store.audit(100_000).unwrap();
    assert!(
        audit.iter().any(|a| a.booking == "W-CANARY-1"),
        "the canary bookings are audited"
    );
    surfaces.push((
        "the store's audit entries".into(),
        serde_json::to_string_pretty(&audit).unwrap(),
    ));

    // Every surface, every canary.
    let canaries = canaries(&winkas, &pronestor);
    assert!(!winkas.issued_tokens().is_empty() && !pronestor.issued_cookies().is_empty());
    for (surface, text) in &surfaces {
        assert_no_canary(surface, text, &canaries);
    }
}
