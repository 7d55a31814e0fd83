//! Bookings on the two DST nights of 2026 in Europe/Copenhagen, read from WinKAS (Copenhagen
//! wall-clock times on the wire) and applied to the simulator: on the spring-forward night
//! (29 March, 02:00 -> 03:00) a 01:00-04:00 booking lasts two real hours and the door follows it
//! across the gap; on the fall-back night (25 October, 03:00 -> 02:00) a 00:00-04:00 booking
//! lasts five real hours and the door stays open through both 02:30s. The weekly tables follow
//! local time on the Monday after each change.

mod fault_common;

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Europe::Copenhagen;
use fault_common::{BOOKED, MARGIN, NORMAL_DAY, NORMAL_NIGHT, Rig, night};
use klar_adapters::fake::FakeData;
use klar_adapters::sources::guard::Health;

fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .expect("an RFC 3339 instant")
        .with_timezone(&Utc)
}

/// A Copenhagen wall-clock time that exists once.
fn cph(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Copenhagen
        .with_ymd_and_hms(y, mo, d, h, mi, 0)
        .single()
        .expect("an unambiguous local time")
        .with_timezone(&Utc)
}

/// A rig at `t0` whose WinKAS holds one booking `[start, end)`, polled once: the source is
/// healthy and reads the booking back from WinKAS's local time to the same instants.
async fn rig_with_booking(t0: DateTime<Utc>, start: DateTime<Utc>, end: DateTime<Utc>) -> Rig {
    let mut rig = Rig::start(t0).await;
    rig.fake
        .add_booking(FakeData::booking(1, "Natløb", start, end));
    let cycle = rig.cycle(t0).await;
    assert_eq!(cycle.health, Health::Healthy);
    assert_eq!(
        cycle.bookings[0].start, start,
        "read back from WinKAS's local time"
    );
    assert_eq!(cycle.bookings[0].end, end);
    rig
}

#[tokio::test]
async fn spring_forward_night() {
    let t0 = cph(2026, 3, 28, 22, 0);
    let (start, end) = (cph(2026, 3, 29, 1, 0), cph(2026, 3, 29, 4, 0));
    assert_eq!(
        (start, end),
        (utc("2026-03-29T00:00:00Z"), utc("2026-03-29T02:00:00Z"))
    );
    let rig = rig_with_booking(t0, start, end).await;

    for (at, expected, what) in [
        ("2026-03-28T23:40:00Z", NORMAL_NIGHT.to_owned(), "00:40 CET"),
        (
            "2026-03-28T23:50:00Z",
            night(MARGIN),
            "00:50 CET, the margin",
        ),
        ("2026-03-29T00:30:00Z", night(BOOKED), "01:30 CET"),
        (
            "2026-03-29T00:59:00Z",
            night(BOOKED),
            "01:59 CET, before the gap",
        ),
        (
            "2026-03-29T01:00:00Z",
            night(BOOKED),
            "03:00 CEST, after the gap",
        ),
        ("2026-03-29T01:59:00Z", night(BOOKED), "03:59 CEST"),
        (
            "2026-03-29T02:10:00Z",
            night(MARGIN),
            "04:10 CEST, the margin",
        ),
        (
            "2026-03-29T02:20:00Z",
            NORMAL_NIGHT.to_owned(),
            "04:20 CEST",
        ),
        // Monday: the office table's 07:00 step is 05:00 UTC in summer time.
        (
            "2026-03-30T04:59:00Z",
            NORMAL_NIGHT.to_owned(),
            "Monday 06:59 CEST",
        ),
        (
            "2026-03-30T05:00:00Z",
            NORMAL_DAY.to_owned(),
            "Monday 07:00 CEST",
        ),
    ] {
        assert_eq!(rig.state(utc(at)), expected, "{what}");
    }
}

#[tokio::test]
async fn fall_back_night() {
    let t0 = cph(2026, 10, 24, 22, 0);
    let (start, end) = (cph(2026, 10, 25, 0, 0), cph(2026, 10, 25, 4, 0));
    assert_eq!(
        (start, end),
        (utc("2026-10-24T22:00:00Z"), utc("2026-10-25T03:00:00Z"))
    );
    let rig = rig_with_booking(t0, start, end).await;

    for (at, expected, what) in [
        (
            "2026-10-24T21:40:00Z",
            NORMAL_NIGHT.to_owned(),
            "23:40 CEST",
        ),
        (
            "2026-10-24T21:50:00Z",
            night(MARGIN),
            "23:50 CEST, the margin",
        ),
        (
            "2026-10-24T22:00:00Z",
            night(BOOKED),
            "00:00 CEST, the start",
        ),
        (
            "2026-10-25T00:30:00Z",
            night(BOOKED),
            "the first 02:30 (CEST)",
        ),
        (
            "2026-10-25T01:30:00Z",
            night(BOOKED),
            "the second 02:30 (CET)",
        ),
        ("2026-10-25T02:59:00Z", night(BOOKED), "03:59 CET"),
        (
            "2026-10-25T03:10:00Z",
            night(MARGIN),
            "04:10 CET, the margin",
        ),
        ("2026-10-25T03:20:00Z", NORMAL_NIGHT.to_owned(), "04:20 CET"),
        // Monday: the office table's 07:00 step is 06:00 UTC in winter time.
        (
            "2026-10-26T05:59:00Z",
            NORMAL_NIGHT.to_owned(),
            "Monday 06:59 CET",
        ),
        (
            "2026-10-26T06:00:00Z",
            NORMAL_DAY.to_owned(),
            "Monday 07:00 CET",
        ),
    ] {
        assert_eq!(rig.state(utc(at)), expected, "{what}");
    }
    // The person's access is the booking's five real hours.
    let grant = rig
        .controller
        .simulator()
        .database()
        .persons
        .get(fault_common::PERSON)
        .expect("the person is created")
        .validity
        .clone();
    assert_eq!(
        serde_json::to_value(&grant).expect("periods serialise"),
        serde_json::json!([{"from": "2026-10-24T22:00:00Z", "to": "2026-10-25T03:00:00Z"}])
    );
}
