//! A published calendar's URL is a secret: given through `url_env`, it appears in no log line
//! and no error. (Its own test binary: it sets an environment variable.)

mod common;

use axum::http::StatusCode;
use common::*;

#[tokio::test]
async fn the_secret_url_never_reaches_logs_or_errors() {
    let app = axum::Router::new().fallback(|| async { (StatusCode::SERVICE_UNAVAILABLE, "busy") });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let secret = "s3cr3t-calendar-token-9f8e7d";
    let url = format!("http://{addr}/owa/calendar/{secret}/reachcalendar.ics");
    // SAFETY: this test binary has one test and sets the variable before any thread reads it.
    unsafe { std::env::set_var("KLAR_TEST_ICS_URL", &url) };
    let (logs, _guard) = capture_logs();
    let dir = tempfile::tempdir().unwrap();
    let mut src = build(
        "ical",
        "hall",
        "url_env = 'KLAR_TEST_ICS_URL'\nresource = 'hal-1'",
        dir.path(),
        &client(),
    );
    let e = src
        .poll(req(
            "2026-11-24T00:00:00Z",
            "2026-11-24T00:00:00Z",
            "2026-11-25T00:00:00Z",
        ))
        .await
        .unwrap_err();
    assert!(
        e.is_transient() && e.to_string().contains("HTTP 503"),
        "{e}"
    );
    let text = format!("{}\n{e}\n{e:?}", logs.text());
    assert!(
        text.contains("Transient HTTP failure; retrying."),
        "logs were captured: {text}"
    );
    assert!(!text.contains(secret), "{text}");
}
