//! The WinKAS source against the fake WinKAS server over loopback HTTP.

mod common;

use std::time::Duration;

use common::*;
use klar_adapters::fake::winkas::{
    FakeWinkas, FakeWinkasOptions, RequestTimeReading, WinkasDateFormat,
};
use klar_adapters::fake::{FakeClock, FakeData, Fault};
use klar_adapters::sources::{Source, SourceError};
use klar_engine::model::BookingStatus;

const CANARY: &str = "canary-Pa55word-7f3a91";
const NOW: &str = "2026-11-23T09:00:00Z";

struct Setup {
    fake: FakeWinkas,
    dir: tempfile::TempDir,
    http: klar_adapters::http::HttpClient,
}

async fn setup(empty: bool) -> Setup {
    let opts = FakeWinkasOptions {
        seed: 42,
        clock: FakeClock::fixed(utc(NOW)),
        password: CANARY.into(),
        empty,
        ..FakeWinkasOptions::default()
    };
    let fake = FakeWinkas::start(opts).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_password(dir.path(), CANARY);
    Setup {
        fake,
        dir,
        http: client(),
    }
}

impl Setup {
    fn settings(&self, extra: &str) -> String {
        let (user, _, code) = self.fake.credentials();
        format!(
            "url = '{}'\nusername = '{user}'\ncontract_code = '{code}'\npassword_file = 'password'\n{extra}",
            self.fake.base_url()
        )
    }
    fn source(&self, extra: &str) -> Box<dyn Source> {
        build(
            "winkas",
            "halls",
            &self.settings(extra),
            self.dir.path(),
            &self.http,
        )
    }
    fn add(&self, resource: u64, title: &str, from: &str, to: &str) -> u64 {
        self.fake
            .add_booking(FakeData::booking(resource, title, utc(from), utc(to)))
    }
}

#[tokio::test]
async fn logs_in_and_reads_the_generated_calendar() {
    let s = setup(false).await;
    let mut src = s.source("");
    let r = req(NOW, NOW, "2026-11-24T09:00:00Z");
    let out = src.poll(r).await.unwrap();
    let expected: Vec<_> = s
        .fake
        .bookings()
        .into_iter()
        .filter(|b| b.start < r.window.to && b.end > r.window.from)
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(out.bookings.len(), expected.len());
    for b in &out.bookings {
        let fb = expected
            .iter()
            .find(|f| f.id.to_string() == b.id.as_str())
            .expect("every booking comes from the fake");
        assert_eq!((b.start, b.end, &b.title), (fb.start, fb.end, &fb.title));
        assert_eq!(b.resource.as_str(), fb.resource_id.to_string());
        assert!(b.location.is_some() && b.resource_name.is_some());
        assert_eq!(
            b.responsible.as_ref().and_then(|p| p.member_no.clone()),
            fb.owner.as_ref().and_then(|o| o.member_no.clone())
        );
    }
    let c = s.fake.counters();
    assert_eq!(
        (c.refetches, c.password_logins),
        (1, 1),
        "refetch found no token, so one login"
    );
    // The token is reused: a second poll logs in no more.
    src.poll(r).await.unwrap();
    assert_eq!(s.fake.counters().password_logins, 1);
    // A restart reuses the last active token through refetchToken.
    let mut restarted = s.source("");
    restarted.poll(r).await.unwrap();
    let c = s.fake.counters();
    assert_eq!((c.refetches, c.password_logins), (2, 1));
    let rooms = restarted.resources(utc(NOW)).await.unwrap();
    assert_eq!(rooms.len(), 6);
    assert!(
        rooms
            .iter()
            .any(|r| r.name == "Hal 1" && r.location.as_deref() == Some("Nørrebrohallen"))
    );
}

#[tokio::test]
async fn renews_before_expiry_and_logs_in_again_once_on_an_expired_token() {
    let s = setup(true).await;
    let mut src = s.source("refetch_token_on_start = false");
    src.poll(req(NOW, NOW, "2026-11-24T09:00:00Z"))
        .await
        .unwrap();
    assert_eq!(s.fake.counters().password_logins, 1);
    // 11h30 later: within the hour before the 12 h lifetime ends, the token is renewed.
    let later = "2026-11-23T20:30:00Z";
    s.fake.clock().set(utc(later));
    src.poll(req(later, later, "2026-11-24T20:30:00Z"))
        .await
        .unwrap();
    let c = s.fake.counters();
    assert_eq!((c.token_logins, c.password_logins), (1, 1));
    // The server forgets every token: one re-login, and the poll still succeeds.
    s.fake.expire_tokens();
    src.poll(req(later, later, "2026-11-24T20:30:00Z"))
        .await
        .unwrap();
    assert_eq!(s.fake.counters().password_logins, 2);
}

#[tokio::test]
async fn a_wrong_password_is_a_rejected_login_without_the_password() {
    let s = setup(true).await;
    let (logs, _guard) = capture_logs();
    write_password(s.dir.path(), "wrong-canary-secret-99");
    let mut src = s.source("");
    let e = src
        .poll(req(NOW, NOW, "2026-11-24T09:00:00Z"))
        .await
        .unwrap_err();
    assert!(matches!(e, SourceError::LoginRejected(_)), "{e}");
    assert!(!e.is_transient());
    assert!(!e.to_string().contains("wrong-canary-secret-99"));
    assert!(!logs.text().contains("wrong-canary-secret-99"));
}

#[tokio::test]
async fn every_date_format_and_status_spelling_gives_the_same_bookings() {
    let s = setup(true).await;
    s.add(
        1,
        "Håndbold U12",
        "2026-11-23T16:00:00Z",
        "2026-11-23T17:30:00Z",
    );
    s.add(
        2,
        "Badminton",
        "2026-11-23T19:00:00Z",
        "2026-11-23T21:00:00Z",
    );
    let mut src = s.source("");
    let r = req(NOW, NOW, "2026-11-24T09:00:00Z");
    let reference = src.poll(r).await.unwrap().bookings;
    assert_eq!(reference.len(), 2);
    assert_eq!(reference[0].start, utc("2026-11-23T16:00:00Z"));
    for format in [
        WinkasDateFormat::Danish,
        WinkasDateFormat::IsoLocal,
        WinkasDateFormat::IsoUtc,
    ] {
        for as_string in [false, true] {
            s.fake.set_date_format(format);
            s.fake.set_status_as_string(as_string);
            assert_eq!(
                src.poll(r).await.unwrap().bookings,
                reference,
                "{format:?} string={as_string}"
            );
        }
    }
}

#[tokio::test]
async fn dst_days_are_read_in_copenhagen_time() {
    let s = setup(true).await;
    // 25 October 2026: clocks go back at 03:00. 17:00 local is 16:00 UTC (CET).
    s.add(
        1,
        "Efterårsferie-træning",
        "2026-10-25T16:00:00Z",
        "2026-10-25T18:00:00Z",
    );
    // The day before, 17:00 local is 15:00 UTC (CEST).
    s.add(
        1,
        "Lørdagstræning",
        "2026-10-24T15:00:00Z",
        "2026-10-24T17:00:00Z",
    );
    // 29 March 2026: clocks go forward at 02:00. 08:00 local is 06:00 UTC.
    s.add(
        2,
        "Forårsstævne",
        "2026-03-29T06:00:00Z",
        "2026-03-29T10:00:00Z",
    );
    let mut src = s.source("");
    let at = "2026-10-24T08:00:00Z";
    let out = src.poll(req(at, at, "2026-10-26T08:00:00Z")).await.unwrap();
    let starts: Vec<_> = out.bookings.iter().map(|b| b.start).collect();
    assert_eq!(
        starts,
        vec![utc("2026-10-24T15:00:00Z"), utc("2026-10-25T16:00:00Z")]
    );
    let at = "2026-03-28T12:00:00Z";
    let out = src.poll(req(at, at, "2026-03-30T00:00:00Z")).await.unwrap();
    assert_eq!(out.bookings.len(), 1);
    assert_eq!(
        (out.bookings[0].start, out.bookings[0].end),
        (utc("2026-03-29T06:00:00Z"), utc("2026-03-29T10:00:00Z"))
    );
}

#[tokio::test]
async fn window_edges_are_half_open_and_the_wide_fetch_covers_either_reading() {
    let s = setup(true).await;
    s.add(
        3,
        "Ends at the window start",
        "2026-11-23T08:00:00Z",
        "2026-11-23T09:00:00Z",
    );
    s.add(
        3,
        "Straddles the start",
        "2026-11-23T08:30:00Z",
        "2026-11-23T09:30:00Z",
    );
    s.add(
        3,
        "Starts at the window end",
        "2026-11-24T09:00:00Z",
        "2026-11-24T10:00:00Z",
    );
    s.add(
        3,
        "Last minute",
        "2026-11-24T08:59:00Z",
        "2026-11-24T10:00:00Z",
    );
    let mut src = s.source("");
    let r = req(NOW, NOW, "2026-11-24T09:00:00Z");
    for reading in [
        RequestTimeReading::LocalWallClock,
        RequestTimeReading::AsWritten,
    ] {
        s.fake.set_request_time_reading(reading);
        let titles: Vec<_> = src
            .poll(r)
            .await
            .unwrap()
            .bookings
            .into_iter()
            .map(|b| b.title)
            .collect();
        assert_eq!(
            titles,
            vec!["Straddles the start", "Last minute"],
            "{reading:?}"
        );
    }
}

#[tokio::test]
async fn a_booking_that_disappears_is_cancelled_and_a_moved_one_follows() {
    let s = setup(true).await;
    let gone = s.add(
        4,
        "Aflyst træning",
        "2026-11-23T17:00:00Z",
        "2026-11-23T18:00:00Z",
    );
    let moved = s.add(
        5,
        "Flyttet møde",
        "2026-11-23T18:00:00Z",
        "2026-11-23T19:00:00Z",
    );
    let mut src = s.source("");
    let r = req(NOW, NOW, "2026-11-24T09:00:00Z");
    assert_eq!(src.poll(r).await.unwrap().bookings.len(), 2);
    s.fake.cancel_booking(gone);
    s.fake.move_booking(
        moved,
        utc("2026-11-23T19:00:00Z"),
        utc("2026-11-23T20:00:00Z"),
    );
    let out = src.poll(r).await.unwrap().bookings;
    let cancelled = out
        .iter()
        .find(|b| b.id.as_str() == gone.to_string())
        .unwrap();
    assert_eq!(cancelled.status, BookingStatus::Cancelled);
    let m = out
        .iter()
        .find(|b| b.id.as_str() == moved.to_string())
        .unwrap();
    assert_eq!(
        (m.status, m.start),
        (BookingStatus::Confirmed, utc("2026-11-23T19:00:00Z"))
    );
    // Once reported, the cancellation is not repeated.
    assert_eq!(src.poll(r).await.unwrap().bookings.len(), 1);
}

#[tokio::test]
async fn bookings_without_ids_or_owner() {
    let s = setup(true).await;
    let mut b = FakeData::booking(
        6,
        "Åbent hus",
        utc("2026-11-23T15:00:00Z"),
        utc("2026-11-23T17:00:00Z"),
    );
    b.owner = None;
    s.fake.add_booking(b);
    s.fake.set_booking_ids(false);
    let mut src = s.source("");
    let out = src
        .poll(req(NOW, NOW, "2026-11-24T09:00:00Z"))
        .await
        .unwrap()
        .bookings;
    assert_eq!(out.len(), 1);
    assert!(out[0].responsible.is_none());
    assert_eq!(
        out[0].id.as_str(),
        "6@20261123T1500Z-20261123T1700Z:Åbent hus"
    );
}

#[tokio::test]
async fn transient_failures_are_retried() {
    let s = setup(true).await;
    s.add(
        1,
        "Hal-træning",
        "2026-11-23T16:00:00Z",
        "2026-11-23T17:00:00Z",
    );
    let mut src = s.source("");
    let r = req(NOW, NOW, "2026-11-24T09:00:00Z");
    let (logs, _guard) = capture_logs();
    s.fake.push_fault(Fault::Html500, 1);
    assert_eq!(src.poll(r).await.unwrap().bookings.len(), 1);
    s.fake.push_fault(
        Fault::Unavailable {
            retry_after_secs: Some(1),
        },
        2,
    );
    assert_eq!(src.poll(r).await.unwrap().bookings.len(), 1);
    // Retry-After: 1 s is honoured up to the configured cap (20 ms in tests).
    assert!(
        logs.text().contains("delay_ms=20 retry_after=true"),
        "{}",
        logs.text()
    );
    s.fake
        .push_fault(Fault::Slow(Duration::from_millis(1500)), 1);
    assert_eq!(src.poll(r).await.unwrap().bookings.len(), 1);
    assert!(logs.text().contains("no answer within"));
    // Every attempt fails: a transient error, never an empty list.
    s.fake.push_fault(Fault::Html500, 3);
    let e = src.poll(r).await.unwrap_err();
    assert!(e.is_transient(), "{e}");
    assert!(e.to_string().contains("HTTP 500"), "{e}");
}

#[tokio::test]
async fn a_malformed_answer_is_a_clear_error() {
    let s = setup(true).await;
    let mut src = s.source("");
    let r = req(NOW, NOW, "2026-11-24T09:00:00Z");
    src.poll(r).await.unwrap();
    s.fake.push_fault(Fault::MalformedJson, 1);
    let e = src.poll(r).await.unwrap_err();
    assert!(matches!(e, SourceError::Malformed { .. }), "{e}");
    assert!(e.to_string().contains("not JSON"), "{e}");
    assert!(e.is_transient());
}

#[tokio::test]
async fn the_server_down_then_up_again() {
    let mut s = setup(true).await;
    s.add(
        1,
        "Hal-træning",
        "2026-11-23T16:00:00Z",
        "2026-11-23T17:00:00Z",
    );
    let mut src = s.source("");
    let r = req(NOW, NOW, "2026-11-24T09:00:00Z");
    src.poll(r).await.unwrap();
    s.fake.take_down().await;
    let e = src.poll(r).await.unwrap_err();
    assert!(
        e.is_transient() && e.to_string().contains("cannot connect"),
        "{e}"
    );
    s.fake.bring_up().await.unwrap();
    assert_eq!(src.poll(r).await.unwrap().bookings.len(), 1);
}

#[tokio::test]
async fn no_secret_in_any_log_line_or_error() {
    let s = setup(false).await;
    let (logs, _guard) = capture_logs();
    let mut src = s.source("");
    let r = req(NOW, NOW, "2026-11-24T09:00:00Z");
    src.poll(r).await.unwrap();
    s.fake.expire_tokens();
    s.fake.push_fault(Fault::Html500, 1);
    src.poll(r).await.unwrap();
    s.fake.push_fault(Fault::MalformedJson, 1);
    let e = src.poll(r).await.unwrap_err();
    s.fake.push_fault(
        Fault::Unavailable {
            retry_after_secs: None,
        },
        3,
    );
    let e2 = src.poll(r).await.unwrap_err();
    let text = format!("{}\n{e}\n{e:?}\n{e2}\n{e2:?}", logs.text());
    assert!(text.contains("Logged in to WinKAS"), "logs were captured");
    assert!(!text.contains(CANARY));
    let tokens = s.fake.issued_tokens();
    assert!(tokens.len() >= 2);
    for t in tokens {
        assert!(!text.contains(&t));
        assert!(!text.contains(&t[3..40]), "not even part of a token");
    }
}
