//! The shared HTTP client over loopback: the long first timeout per host, the body-size limit,
//! and URLs redacted in errors.

mod common;

use std::time::Duration;

use common::*;
use klar_adapters::fake::Fault;
use klar_adapters::fake::winkas::{FakeWinkas, FakeWinkasOptions};
use klar_adapters::http::{HttpClient, HttpConfig, HttpError, HttpRequest, RetryPolicy};

fn config() -> HttpConfig {
    HttpConfig {
        connect_timeout: Duration::from_millis(500),
        request_timeout: Duration::from_millis(150),
        first_request_timeout: Duration::from_millis(2000),
        max_body_bytes: 1024 * 1024,
        retry: RetryPolicy {
            max_attempts: 1,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(1),
            max_retry_after: Duration::from_millis(1),
        },
    }
}

#[tokio::test]
async fn a_cold_host_gets_the_long_first_timeout_then_the_short_one() {
    let fake = FakeWinkas::start(FakeWinkasOptions::default())
        .await
        .unwrap();
    let http = HttpClient::new(config()).unwrap();
    let url = format!("{}Authentication/Validate", fake.base_url());
    let req = HttpRequest::get(&url)
        .unwrap()
        .query(&[("token", "T0KEN-canary")]);
    fake.push_fault(Fault::Slow(Duration::from_millis(400)), 1);
    let resp = http.send(&req).await.unwrap();
    assert_eq!(resp.status, 200);
    fake.push_fault(Fault::Slow(Duration::from_millis(400)), 1);
    let e = http.send(&req).await.unwrap_err();
    assert!(matches!(e, HttpError::Timeout { after_ms: 150, .. }), "{e}");
    assert!(e.is_transient());
    assert!(
        e.to_string().contains("token=***") && !e.to_string().contains("T0KEN-canary"),
        "{e}"
    );
}

#[tokio::test]
async fn answers_over_the_size_limit_are_refused() {
    let fake = FakeWinkas::start(FakeWinkasOptions::default())
        .await
        .unwrap();
    let http = HttpClient::new(HttpConfig {
        max_body_bytes: 64,
        ..config()
    })
    .unwrap();
    let req = HttpRequest::get(&format!(
        "{}Authentication/Validate?token=x",
        fake.base_url()
    ))
    .unwrap();
    let e = http.send(&req).await.unwrap_err();
    assert!(matches!(e, HttpError::TooLarge { limit: 64, .. }), "{e}");
    assert!(!e.is_transient());
}

#[tokio::test]
async fn connection_refused_is_transient_and_retried_then_reported() {
    let mut fake = FakeWinkas::start(FakeWinkasOptions::default())
        .await
        .unwrap();
    let url = fake.base_url();
    fake.take_down().await;
    let (logs, _guard) = capture_logs();
    let http = client();
    let e = http
        .send(&HttpRequest::get(&format!("{url}Authentication/Validate")).unwrap())
        .await
        .unwrap_err();
    assert!(matches!(e, HttpError::Connect { attempts: 3, .. }), "{e}");
    assert_eq!(
        logs.text()
            .matches("Transient HTTP failure; retrying.")
            .count(),
        2
    );
}
