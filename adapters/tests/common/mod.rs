//! Shared harness for the adapter tests: log capture, a fast HTTP client, building sources from
//! TOML settings, and times.
#![allow(dead_code)]

use std::io::Write;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use klar_adapters::http::{HttpClient, HttpConfig};
use klar_adapters::sources::{self, BuildContext, PollRequest, Source};
use klar_engine::model::Window;
use klar_engine::site::SourceConfig;

/// Everything logged (all levels) while the guard lives, on this thread.
#[derive(Clone, Default)]
pub struct Logs(Arc<Mutex<Vec<u8>>>);

impl Logs {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

struct LogWriter(Arc<Mutex<Vec<u8>>>);

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Captures every log line of this thread (tests run on a current-thread runtime, so the fakes'
/// tasks and the client log here too).
pub fn capture_logs() -> (Logs, tracing::subscriber::DefaultGuard) {
    let logs = Logs::default();
    let sink = logs.0.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || LogWriter(sink.clone()))
        .finish();
    (logs, tracing::subscriber::set_default(subscriber))
}

pub fn client() -> HttpClient {
    HttpClient::new(HttpConfig::for_tests()).unwrap()
}

pub fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

pub fn window(from: &str, to: &str) -> Window {
    Window::new(utc(from), utc(to)).unwrap()
}

pub fn req(now: &str, from: &str, to: &str) -> PollRequest {
    PollRequest {
        now: utc(now),
        window: window(from, to),
    }
}

/// Builds a source from TOML settings, with the password written to a file in `dir`.
pub fn build(
    kind: &str,
    name: &str,
    settings: &str,
    dir: &std::path::Path,
    http: &HttpClient,
) -> Box<dyn Source> {
    build_result(kind, name, settings, dir, http).unwrap()
}

pub fn build_result(
    kind: &str,
    name: &str,
    settings: &str,
    dir: &std::path::Path,
    http: &HttpClient,
) -> Result<Box<dyn Source>, sources::SourceConfigError> {
    let settings: toml::Table = toml::from_str(settings).unwrap();
    let config = SourceConfig {
        name: name.into(),
        kind: kind.into(),
        settings,
    };
    let ctx = BuildContext {
        http: http.clone(),
        base_dir: dir.to_owned(),
        time_zone: chrono_tz::Europe::Copenhagen,
    };
    sources::build(&config, &ctx)
}

pub fn write_password(dir: &std::path::Path, password: &str) {
    std::fs::write(dir.join("password"), format!("{password}\n")).unwrap();
}
