//! The Pronestor source against the fake Pronestor server over loopback HTTP.

mod common;

use std::time::Duration;

use common::*;
use klar_adapters::fake::pronestor::{
    ExpiredSessionStyle, FakePronestor, FakePronestorOptions, MethodNames, PronestorDateFormat,
};
use klar_adapters::fake::{FakeClock, FakeData, Fault};
use klar_adapters::sources::{Source, SourceError};
use klar_engine::model::BookingStatus;

const CANARY: &str = "canary-Pronestor-Pw-31337";
const NOW: &str = "2026-11-23T07:00:00Z";
const END: &str = "2026-11-25T07:00:00Z";

struct Setup {
    fake: FakePronestor,
    dir: tempfile::TempDir,
    http: klar_adapters::http::HttpClient,
}

async fn setup(empty: bool) -> Setup {
    let opts = FakePronestorOptions {
        seed: 7,
        clock: FakeClock::fixed(utc(NOW)),
        password: CANARY.into(),
        empty,
        ..FakePronestorOptions::default()
    };
    let fake = FakePronestor::start(opts).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_password(dir.path(), CANARY);
    Setup {
        fake,
        dir,
        http: client(),
    }
}

impl Setup {
    fn source(&self, extra: &str) -> Box<dyn Source> {
        let (user, _) = self.fake.credentials();
        let settings = format!(
            "url = '{}'\nusername = '{user}'\npassword_file = 'password'\n{extra}",
            self.fake.base_url()
        );
        build(
            "pronestor",
            "planner",
            &settings,
            self.dir.path(),
            &self.http,
        )
    }
    fn add(&self, room: u64, title: &str, from: &str, to: &str) -> u64 {
        self.fake
            .add_booking(FakeData::booking(room, title, utc(from), utc(to)))
    }
}

#[tokio::test]
async fn logs_in_and_reads_rooms_and_meetings_of_every_location() {
    let s = setup(false).await;
    let mut src = s.source("");
    let r = req(NOW, NOW, END);
    let out = src.poll(r).await.unwrap();
    let data = s.fake.data();
    let expected: Vec<_> = data
        .bookings
        .iter()
        .filter(|b| b.start < r.window.to && b.end > r.window.from)
        .collect();
    assert_eq!(out.bookings.len(), expected.len());
    for b in &out.bookings {
        let fb = expected
            .iter()
            .find(|f| format!("{}/{}", f.id, f.resource_id) == b.id.as_str())
            .unwrap();
        let room = data.resource(fb.resource_id).unwrap();
        assert_eq!((b.start, b.end), (fb.start, fb.end));
        assert_eq!(
            (b.setup_minutes, b.teardown_minutes),
            (room.preparation_minutes, room.follow_up_minutes)
        );
        assert_eq!(b.resource_name.as_deref(), Some(room.name.as_str()));
        assert_eq!(
            b.status,
            if fb.awaiting_approval {
                BookingStatus::Tentative
            } else {
                BookingStatus::Confirmed
            }
        );
        assert_eq!(
            b.responsible.as_ref().map(|p| p.name.clone()),
            fb.owner
                .as_ref()
                .map(|o| format!("{} {}", o.first_name, o.last_name))
        );
    }
    assert_eq!(s.fake.counters().logins, 1);
    // Only rooms are resources to bind; catering and equipment are marked.
    let resources = src.resources(utc(NOW)).await.unwrap();
    assert_eq!(resources.len(), 9);
    assert!(
        resources
            .iter()
            .any(|r| r.name == "Festsalen" && r.location.as_deref() == Some("Nørrebro Skole"))
    );
    assert!(resources.iter().any(|r| {
        r.name == "Kaffe og te"
            && r.details
                .contains(&("bookable".into(), "not a room".into()))
    }));
    // Restricting to one location.
    let mut one = s.source("locations = [2]");
    assert!(
        one.poll(r)
            .await
            .unwrap()
            .bookings
            .iter()
            .all(|b| b.location.as_deref() == Some("Rådhuset"))
    );
    let mut missing = s.source("locations = [3]");
    assert!(matches!(
        missing.poll(r).await.unwrap_err(),
        SourceError::Vendor(_)
    ));
}

#[tokio::test]
async fn every_expired_session_style_leads_to_one_re_login() {
    let s = setup(true).await;
    s.add(
        101,
        "Lærermøde",
        "2026-11-23T13:00:00Z",
        "2026-11-23T14:00:00Z",
    );
    let mut src = s.source("");
    let r = req(NOW, NOW, END);
    assert_eq!(src.poll(r).await.unwrap().bookings.len(), 1);
    let mut logins = 1;
    for style in [
        ExpiredSessionStyle::Unauthorized,
        ExpiredSessionStyle::RedirectToLogin,
        ExpiredSessionStyle::LoginPage,
    ] {
        s.fake.set_expired_style(style);
        s.fake.expire_sessions();
        assert_eq!(src.poll(r).await.unwrap().bookings.len(), 1, "{style:?}");
        logins += 1;
        assert_eq!(s.fake.counters().logins, logins, "{style:?}");
    }
    // Injected as a fault: the same single re-login.
    s.fake.push_fault(Fault::ExpiredSession, 1);
    src.poll(r).await.unwrap();
    logins += 1;
    assert_eq!(s.fake.counters().logins, logins);
    // Expired on every request: a session error after one re-login, never a loop.
    s.fake.push_fault(Fault::ExpiredSession, 4);
    let e = src.poll(r).await.unwrap_err();
    assert!(
        matches!(e, SourceError::SessionExpired(_)) && e.is_transient(),
        "{e}"
    );
    logins += 1;
    assert_eq!(s.fake.counters().logins, logins);
    s.fake.clear_faults();
    // The session also lapses by time (20 minutes, sliding).
    s.fake.clock().advance(chrono::Duration::minutes(21));
    src.poll(r).await.unwrap();
    assert_eq!(s.fake.counters().logins, logins + 1);
}

#[tokio::test]
async fn a_rejected_login_is_not_transient_and_names_no_password() {
    let s = setup(true).await;
    let (logs, _guard) = capture_logs();
    write_password(s.dir.path(), "wrong-canary-77");
    let mut src = s.source("");
    let e = src.poll(req(NOW, NOW, END)).await.unwrap_err();
    assert!(
        matches!(e, SourceError::LoginRejected(_)) && !e.is_transient(),
        "{e}"
    );
    assert!(!format!("{e} {e:?} {}", logs.text()).contains("wrong-canary-77"));
}

#[tokio::test]
async fn every_date_format_gives_the_same_bookings_across_dst() {
    let s = setup(true).await;
    // 25 October 2026, the day the clocks go back: 17:00 local is 16:00 UTC.
    s.add(
        102,
        "Skolebestyrelsen",
        "2026-10-25T16:00:00Z",
        "2026-10-25T18:00:00Z",
    );
    // The early hour that happens once (01:30 local, CEST) and a morning meeting the day before.
    s.add(
        103,
        "Natøvelse",
        "2026-10-24T23:30:00Z",
        "2026-10-25T00:15:00Z",
    );
    s.add(
        104,
        "Lørdagsmøde",
        "2026-10-24T07:00:00Z",
        "2026-10-24T08:00:00Z",
    );
    let at = "2026-10-24T00:00:00Z";
    let r = req(at, at, "2026-10-26T00:00:00Z");
    let mut src = s.source("");
    let mut seen = Vec::new();
    for format in [
        PronestorDateFormat::MsDate,
        PronestorDateFormat::NaiveLocal,
        PronestorDateFormat::IsoOffset,
    ] {
        s.fake.set_date_format(format);
        let got: Vec<_> = src
            .poll(r)
            .await
            .unwrap()
            .bookings
            .into_iter()
            .map(|b| (b.title, b.start, b.end))
            .collect();
        seen.push(got);
    }
    assert_eq!(seen[0], seen[1]);
    assert_eq!(seen[0], seen[2]);
    assert_eq!(
        seen[0],
        vec![
            (
                "Lørdagsmøde".to_owned(),
                utc("2026-10-24T07:00:00Z"),
                utc("2026-10-24T08:00:00Z")
            ),
            (
                "Natøvelse".to_owned(),
                utc("2026-10-24T23:30:00Z"),
                utc("2026-10-25T00:15:00Z")
            ),
            (
                "Skolebestyrelsen".to_owned(),
                utc("2026-10-25T16:00:00Z"),
                utc("2026-10-25T18:00:00Z")
            ),
        ]
    );
}

#[tokio::test]
async fn method_names_and_login_fields_are_configuration() {
    let s = setup(true).await;
    s.add(
        201,
        "Byrådsmøde",
        "2026-11-23T17:00:00Z",
        "2026-11-23T20:00:00Z",
    );
    s.fake.set_method_names(MethodNames {
        authenticate: "Login".into(),
        locations: "Locations".into(),
        resources: "Rooms".into(),
        meetings: "Bookings".into(),
    });
    let mut default_names = s.source("");
    assert!(default_names.poll(req(NOW, NOW, END)).await.is_err());
    let mut src = s.source(
        "[methods]\nauthenticate = 'Login'\nlocations = 'Locations'\nresources = 'Rooms'\nmeetings = 'Bookings'\n[login]\nbody = 'form'",
    );
    let out = src.poll(req(NOW, NOW, END)).await.unwrap();
    assert_eq!(out.bookings.len(), 1);
}

#[tokio::test]
async fn deleted_and_empty_meetings_are_cancelled_and_window_edges_hold() {
    let s = setup(true).await;
    let deleted = s.add(
        101,
        "Aflyst møde",
        "2026-11-23T09:00:00Z",
        "2026-11-23T10:00:00Z",
    );
    let emptied = s.add(
        102,
        "Mistet lokale",
        "2026-11-23T11:00:00Z",
        "2026-11-23T12:00:00Z",
    );
    let moved = s.add(
        103,
        "Flyttet",
        "2026-11-23T12:00:00Z",
        "2026-11-23T13:00:00Z",
    );
    s.add(
        104,
        "Slutter ved start",
        "2026-11-23T06:00:00Z",
        "2026-11-23T07:00:00Z",
    );
    s.add(104, "Starter ved slut", END, "2026-11-25T08:00:00Z");
    let mut no_owner = FakeData::booking(
        104,
        "Panelbooking",
        utc("2026-11-23T14:00:00Z"),
        utc("2026-11-23T14:30:00Z"),
    );
    no_owner.owner = None;
    let panel = s.fake.add_booking(no_owner);
    let mut src = s.source("");
    let r = req(NOW, NOW, END);
    let first = src.poll(r).await.unwrap().bookings;
    assert_eq!(first.len(), 4, "{first:#?}");
    assert!(
        first
            .iter()
            .find(|b| b.id.as_str() == format!("{panel}/104"))
            .unwrap()
            .responsible
            .is_none()
    );
    s.fake.cancel_booking(deleted);
    s.fake.empty_booking(emptied);
    s.fake.move_booking(
        moved,
        utc("2026-11-23T15:00:00Z"),
        utc("2026-11-23T16:00:00Z"),
    );
    let second = src.poll(r).await.unwrap().bookings;
    let status = |id: String| {
        second
            .iter()
            .find(|b| b.id.as_str() == id)
            .map(|b| b.status)
    };
    assert_eq!(
        status(format!("{deleted}/101")),
        Some(BookingStatus::Cancelled)
    );
    assert_eq!(
        status(format!("{emptied}/102")),
        Some(BookingStatus::Cancelled)
    );
    assert_eq!(
        status(format!("{moved}/103")),
        Some(BookingStatus::Confirmed)
    );
    assert_eq!(
        second
            .iter()
            .find(|b| b.id.as_str() == format!("{moved}/103"))
            .unwrap()
            .start,
        utc("2026-11-23T15:00:00Z")
    );
}

#[tokio::test]
async fn transient_failures_and_malformed_answers() {
    let s = setup(true).await;
    s.add(
        101,
        "Lærermøde",
        "2026-11-23T13:00:00Z",
        "2026-11-23T14:00:00Z",
    );
    let mut src = s.source("");
    let r = req(NOW, NOW, END);
    // A cold site: the first answer is slow, the retry succeeds.
    s.fake
        .push_fault(Fault::Slow(Duration::from_millis(1200)), 1);
    assert_eq!(src.poll(r).await.unwrap().bookings.len(), 1);
    s.fake.push_fault(Fault::Html500, 2);
    assert_eq!(src.poll(r).await.unwrap().bookings.len(), 1);
    s.fake.push_fault(
        Fault::Unavailable {
            retry_after_secs: Some(2),
        },
        1,
    );
    assert_eq!(src.poll(r).await.unwrap().bookings.len(), 1);
    s.fake.push_fault(
        Fault::Unavailable {
            retry_after_secs: None,
        },
        3,
    );
    let e = src.poll(r).await.unwrap_err();
    assert!(
        e.is_transient() && e.to_string().contains("HTTP 503"),
        "{e}"
    );
    s.fake.push_fault(Fault::MalformedJson, 1);
    let e = src.poll(r).await.unwrap_err();
    assert!(
        matches!(e, SourceError::Malformed { .. }) && e.to_string().contains("GetLocations"),
        "{e}"
    );
}

#[tokio::test]
async fn no_cookie_or_password_in_logs_or_errors() {
    let mut s = setup(false).await;
    let (logs, _guard) = capture_logs();
    let mut src = s.source("");
    let r = req(NOW, NOW, END);
    src.poll(r).await.unwrap();
    s.fake
        .set_expired_style(ExpiredSessionStyle::RedirectToLogin);
    s.fake.expire_sessions();
    src.poll(r).await.unwrap();
    s.fake.push_fault(Fault::MalformedJson, 1);
    let e1 = src.poll(r).await.unwrap_err();
    s.fake.take_down().await;
    let e2 = src.poll(r).await.unwrap_err();
    let text = format!("{}\n{e1}\n{e1:?}\n{e2}\n{e2:?}", logs.text());
    assert!(text.contains("Logged in to Pronestor"));
    assert!(!text.contains(CANARY));
    let cookies = s.fake.issued_cookies();
    assert_eq!(cookies.len(), 2);
    for c in cookies {
        assert!(!text.contains(&c[..24]));
    }
}

#[tokio::test]
async fn a_meeting_ending_before_it_starts_is_set_aside_and_the_others_are_read() {
    let s = setup(true).await;
    let mut src = s.source("");
    let good = s.add(
        101,
        "Lærermøde",
        "2026-11-23T09:00:00Z",
        "2026-11-23T10:00:00Z",
    );
    let known = s.add(
        102,
        "Bestyrelse",
        "2026-11-23T11:00:00Z",
        "2026-11-23T12:00:00Z",
    );
    let r = req(NOW, NOW, END);
    assert_eq!(src.poll(r).await.unwrap().bookings.len(), 2);

    // The known meeting is edited the wrong way round, and a new one is typed so too.
    assert!(s.fake.move_booking(
        known,
        utc("2026-11-23T12:00:00Z"),
        utc("2026-11-23T11:00:00Z")
    ));
    s.add(
        101,
        "Omvendt",
        "2026-11-23T15:00:00Z",
        "2026-11-23T14:00:00Z",
    );
    let out = src.poll(r).await.unwrap();
    let ids: Vec<&str> = out.bookings.iter().map(|b| b.id.as_str()).collect();
    assert_eq!(ids, [format!("{good}/101")]);
    assert_eq!(out.unusable.len(), 2, "{:?}", out.unusable);
    assert!(
        out.unusable
            .iter()
            .all(|u| u.problem.contains("is not after Start")),
        "{:?}",
        out.unusable
    );
    // What klar knew of the edited meeting is named, so the guard keeps it in force; the new
    // one was never known.
    let mut named: Vec<Vec<String>> = out
        .unusable
        .iter()
        .map(|u| u.ids.iter().map(|i| i.to_string()).collect())
        .collect();
    named.sort();
    assert_eq!(named, [vec![], vec![format!("{known}/102")]]);
}
