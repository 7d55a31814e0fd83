//! Oversized vendor answers are cut off with an error: the sources, on the shared HTTP client
//! with klar's production settings (answers capped at 16 MiB), meet a fake WinKAS and a fake
//! Pronestor that answer 17 MiB, once with a `Content-Length` (refused before the body is read)
//! and once streamed with no length (cut off while reading). The poll fails with an error that
//! names the limit, is not retried and not transient, and shows no secret; the next poll works.

use std::path::Path;

use chrono::{Duration, Utc};
use klar_adapters::fake::Fault;
use klar_adapters::fake::pronestor::{FakePronestor, FakePronestorOptions};
use klar_adapters::fake::winkas::{FakeWinkas, FakeWinkasOptions};
use klar_adapters::http::{HttpClient, HttpConfig, HttpError};
use klar_adapters::sources::{BuildContext, PollRequest, Source, SourceError, build};
use klar_engine::model::Window;
use klar_engine::site::SourceConfig;

const MIB: usize = 1024 * 1024;

fn source(dir: &Path, kind: &str, url: &str, password: &str, extra: &str) -> Box<dyn Source> {
    std::fs::write(dir.join(format!("{kind}.password")), password).unwrap();
    let settings: toml::Table = toml::from_str(&format!(
        "url = \"{url}\"\nusername = \"{user}\"\npassword_file = \"{kind}.password\"\n{extra}",
        user = if kind == "winkas" {
            "api-klar"
        } else {
            "klar-sync"
        },
    ))
    .unwrap();
    let config = SourceConfig {
        name: kind.to_owned(),
        kind: kind.to_owned(),
        settings,
    };
    let ctx = BuildContext {
        // klar run's own settings: the limit under test is the one in production.
        http: HttpClient::new(HttpConfig::default()).unwrap(),
        base_dir: dir.to_owned(),
        time_zone: chrono_tz::Europe::Copenhagen,
    };
    build(&config, &ctx).unwrap()
}

fn request() -> PollRequest {
    let now = Utc::now();
    PollRequest {
        now,
        window: Window::new(now, now + Duration::hours(24)).unwrap(),
    }
}

/// Polls with a huge answer queued; the error must be the size limit's. (Had the client retried,
/// the second attempt would have found no fault and the poll would have succeeded.)
async fn assert_cut_off(source: &mut dyn Source, secrets: &[String]) {
    let limit = HttpConfig::default().max_body_bytes;
    assert_eq!(limit, 16 * MIB, "klar's production limit");
    let e = source.poll(request()).await.unwrap_err();
    assert!(
        matches!(&e, SourceError::Http(HttpError::TooLarge { limit: l, .. }) if *l == limit),
        "{e:?}"
    );
    assert!(
        !e.is_transient(),
        "a huge answer is not retried later as if the network hiccuped"
    );
    let text = e.to_string();
    assert!(
        text.contains("larger than the 16777216-byte limit"),
        "{text}"
    );
    for s in secrets {
        assert!(
            !text.contains(s.as_str()),
            "the error shows a secret: {text}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_winkas_answer_is_cut_off_with_an_error() {
    let fake = FakeWinkas::start(FakeWinkasOptions::default())
        .await
        .unwrap();
    let (_, password, contract) = fake.credentials();
    let dir = tempfile::tempdir().unwrap();
    let mut source = source(
        dir.path(),
        "winkas",
        &fake.base_url(),
        &password,
        &format!("contract_code = \"{contract}\""),
    );
    source.poll(request()).await.expect("a first poll logs in");
    for declared in [true, false] {
        fake.push_fault(
            Fault::Huge {
                bytes: 17 * MIB,
                declared,
            },
            1,
        );
        let mut secrets = vec![password.clone()];
        secrets.extend(fake.issued_tokens());
        assert_cut_off(source.as_mut(), &secrets).await;
    }
    let after = source.poll(request()).await.expect("the next poll works");
    assert!(!after.bookings.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_pronestor_answer_is_cut_off_with_an_error() {
    let fake = FakePronestor::start(FakePronestorOptions::default())
        .await
        .unwrap();
    let (_, password) = fake.credentials();
    let dir = tempfile::tempdir().unwrap();
    let mut source = source(dir.path(), "pronestor", &fake.base_url(), &password, "");
    source.poll(request()).await.expect("a first poll logs in");
    for declared in [true, false] {
        fake.push_fault(
            Fault::Huge {
                bytes: 17 * MIB,
                declared,
            },
            1,
        );
        let mut secrets = vec![password.clone()];
        secrets.extend(fake.issued_cookies());
        assert_cut_off(source.as_mut(), &secrets).await;
    }
    let after = source.poll(request()).await.expect("the next poll works");
    assert!(!after.bookings.is_empty());
}
