//! The iCalendar expansion, with UTC instants worked out by hand.
//!
//! Europe/Copenhagen is UTC+2 (CEST) until 03:00 local on Sunday 25 October 2026, and UTC+1
//! (CET) after. A weekly Tuesday 17:00-19:00 local booking is therefore 15:00-17:00Z on
//! 6, 13 and 20 October and 16:00-18:00Z from 27 October on.

use chrono::{DateTime, Utc};
use klar_engine::model::{BookingStatus, Window};

use super::expand::{Target, expand};

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn target() -> Target {
    Target {
        source: "hall".into(),
        resource: Some("hal-1".into()),
        resource_name: Some("Hal 1".into()),
        location: None,
        time_zone: chrono_tz::Europe::Copenhagen,
    }
}

fn feed(tzid: &str) -> String {
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Microsoft Corporation//Outlook 16.0 MIMEDIR//EN\r\n\
BEGIN:VEVENT\r\nUID:badminton-1\r\nSUMMARY:Badminton motion\r\n\
ORGANIZER;CN=Mette Hansen:mailto:mette.hansen@example.dk\r\n\
DTSTART;TZID={tzid}:20261006T170000\r\nDTEND;TZID={tzid}:20261006T190000\r\n\
RRULE:FREQ=WEEKLY;BYDAY=TU;UNTIL=20261117T170000\r\n\
EXDATE;TZID={tzid}:20261020T170000\r\nEND:VEVENT\r\n\
BEGIN:VEVENT\r\nUID:badminton-1\r\nRECURRENCE-ID;TZID={tzid}:20261103T170000\r\nSUMMARY:Badminton (flyttet)\r\n\
DTSTART;TZID={tzid}:20261104T180000\r\nDTEND;TZID={tzid}:20261104T200000\r\nEND:VEVENT\r\n\
BEGIN:VEVENT\r\nUID:badminton-1\r\nRECURRENCE-ID;TZID={tzid}:20261110T170000\r\nSTATUS:CANCELLED\r\nSUMMARY:Badminton\r\n\
DTSTART;TZID={tzid}:20261110T170000\r\nDTEND;TZID={tzid}:20261110T190000\r\nEND:VEVENT\r\n\
END:VCALENDAR\r\n"
    )
}

fn expected() -> Vec<(String, String, String, BookingStatus)> {
    let row = |id: &str, s: &str, e: &str, st| (id.to_owned(), s.to_owned(), e.to_owned(), st);
    vec![
        row(
            "badminton-1@20261006T150000Z",
            "2026-10-06T15:00:00+00:00",
            "2026-10-06T17:00:00+00:00",
            BookingStatus::Confirmed,
        ),
        row(
            "badminton-1@20261013T150000Z",
            "2026-10-13T15:00:00+00:00",
            "2026-10-13T17:00:00+00:00",
            BookingStatus::Confirmed,
        ),
        // 20 October: EXDATE, no booking at all.
        // 27 October: after the change to CET.
        row(
            "badminton-1@20261027T160000Z",
            "2026-10-27T16:00:00+00:00",
            "2026-10-27T18:00:00+00:00",
            BookingStatus::Confirmed,
        ),
        // 3 November moved to Wednesday 4 November 18:00-20:00 local; it keeps its id.
        row(
            "badminton-1@20261103T160000Z",
            "2026-11-04T17:00:00+00:00",
            "2026-11-04T19:00:00+00:00",
            BookingStatus::Confirmed,
        ),
        // 10 November cancelled by an override.
        row(
            "badminton-1@20261110T160000Z",
            "2026-11-10T16:00:00+00:00",
            "2026-11-10T18:00:00+00:00",
            BookingStatus::Cancelled,
        ),
        // 17 November: UNTIL is inclusive.
        row(
            "badminton-1@20261117T160000Z",
            "2026-11-17T16:00:00+00:00",
            "2026-11-17T18:00:00+00:00",
            BookingStatus::Confirmed,
        ),
    ]
}

fn run(tzid: &str, window: Window) -> Vec<(String, String, String, BookingStatus)> {
    expand(&feed(tzid), &target(), &window)
        .unwrap()
        .into_iter()
        .map(|b| (b.id.0, b.start.to_rfc3339(), b.end.to_rfc3339(), b.status))
        .collect()
}

#[test]
fn weekly_booking_across_dst_with_a_cancelled_and_a_moved_occurrence() {
    let all = Window::new(utc("2026-10-01T00:00:00Z"), utc("2026-12-01T00:00:00Z")).unwrap();
    assert_eq!(run("Europe/Copenhagen", all), expected());
    // Outlook writes Windows zone names in TZID.
    assert_eq!(run("Romance Standard Time", all), expected());
    assert_eq!(
        run("\"(UTC+01:00) Brussels, Copenhagen, Madrid, Paris\"", all),
        expected()
    );
}

#[test]
fn the_window_cuts_half_open() {
    // Ends exactly when the 27 October occurrence starts: that one is out; 13 October is in.
    let w = Window::new(utc("2026-10-13T16:59:00Z"), utc("2026-10-27T16:00:00Z")).unwrap();
    let ids: Vec<_> = run("Europe/Copenhagen", w)
        .into_iter()
        .map(|r| r.0)
        .collect();
    assert_eq!(ids, vec!["badminton-1@20261013T150000Z"]);
}

#[test]
fn single_all_day_utc_and_duration_events() {
    let text = "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:a\r\nSUMMARY:Åbent hus\r\nDTSTART;VALUE=DATE:20261025\r\nEND:VEVENT\r\n\
BEGIN:VEVENT\r\nUID:b\r\nSUMMARY:Møde\r\nDTSTART:20261023T080000Z\r\nDURATION:PT1H30M\r\nSTATUS:TENTATIVE\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    let w = Window::new(utc("2026-10-20T00:00:00Z"), utc("2026-10-30T00:00:00Z")).unwrap();
    let got = expand(text, &target(), &w).unwrap();
    assert_eq!(got.len(), 2);
    assert_eq!(
        (got[0].start, got[0].end, got[0].status),
        (
            utc("2026-10-23T08:00:00Z"),
            utc("2026-10-23T09:30:00Z"),
            BookingStatus::Tentative
        )
    );
    // The all-day event on the DST day is 25 hours long: local midnight to local midnight.
    assert_eq!(
        (got[1].start, got[1].end),
        (utc("2026-10-24T22:00:00Z"), utc("2026-10-25T23:00:00Z"))
    );
}

#[test]
fn control_characters_in_vendor_text_are_stripped_at_the_edge() {
    // A feed's SUMMARY, LOCATION and organizer's name are typed by whoever books.
    let text = "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:c\r\nSUMMARY:M\u{f8}de\\n2026-12-04T17:00:00Z  WARN fake\u{1b}[2J\r\n\
ORGANIZER;CN=Anne\u{1b}]0\u{202e}:mailto:anne@example.dk\r\nCATEGORIES:Klub\u{1b}[31m\r\n\
DTSTART:20261023T080000Z\r\nDTEND:20261023T090000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    let w = Window::new(utc("2026-10-20T00:00:00Z"), utc("2026-10-30T00:00:00Z")).unwrap();
    let got = expand(text, &target(), &w).unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].title, "M\u{f8}de 2026-12-04T17:00:00Z  WARN fake[2J");
    assert_eq!(got[0].responsible.as_ref().unwrap().name, "Anne]0");
    assert_eq!(got[0].tags, vec!["klub[31m"]);
}

#[test]
fn malformed_calendars_are_errors() {
    let w = Window::new(utc("2026-10-20T00:00:00Z"), utc("2026-10-30T00:00:00Z")).unwrap();
    assert!(expand("<html>login</html>", &target(), &w).is_err());
    let no_start =
        "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:x\r\nSUMMARY:x\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    assert!(
        expand(no_start, &target(), &w)
            .unwrap_err()
            .contains("DTSTART")
    );
}

fn one_event(lines: &str) -> String {
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:night-1\r\nSUMMARY:Nat\r\n{lines}END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
}

fn ends(text: &str) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let window = Window::new(utc("2026-10-20T00:00:00Z"), utc("2026-11-10T00:00:00Z")).unwrap();
    expand(text, &target(), &window)
        .unwrap()
        .iter()
        .map(|b| (b.start, b.end))
        .collect()
}

#[test]
fn a_duration_across_the_dst_change_counts_hours_on_the_instant_and_days_on_the_wall_clock() {
    // 25 October 2026, 01:30 CEST (23:30Z the day before). PT3H is three real hours: 02:30Z,
    // which the clock shows as 03:30 CET (the clock went back an hour at 03:00 CEST).
    let hours = one_event("DTSTART;TZID=Europe/Copenhagen:20261025T013000\r\nDURATION:PT3H\r\n");
    assert_eq!(
        ends(&hours),
        [(utc("2026-10-24T23:30:00Z"), utc("2026-10-25T02:30:00Z"))]
    );
    // P1D is one day of the calendar: 01:30 CET the next day, 25 real hours later.
    let day = one_event("DTSTART;TZID=Europe/Copenhagen:20261025T013000\r\nDURATION:P1D\r\n");
    assert_eq!(
        ends(&day),
        [(utc("2026-10-24T23:30:00Z"), utc("2026-10-26T00:30:00Z"))]
    );
    // Both: the day on the wall clock, then the hour on the instant.
    let both = one_event("DTSTART;TZID=Europe/Copenhagen:20261024T013000\r\nDURATION:P1DT1H\r\n");
    assert_eq!(
        ends(&both),
        [(utc("2026-10-23T23:30:00Z"), utc("2026-10-25T00:30:00Z"))]
    );
    // A time in the spring gap is the first instant after it (klar's one DST policy).
    let window = Window::new(utc("2027-03-27T00:00:00Z"), utc("2027-03-29T00:00:00Z")).unwrap();
    let gap = one_event(
        "DTSTART;TZID=Europe/Copenhagen:20270328T023000\r\nDTEND;TZID=Europe/Copenhagen:20270328T043000\r\n",
    );
    let got: Vec<_> = expand(&gap, &target(), &window)
        .unwrap()
        .iter()
        .map(|b| (b.start, b.end))
        .collect();
    assert_eq!(
        got,
        [(utc("2027-03-28T01:00:00Z"), utc("2027-03-28T02:30:00Z"))]
    );
}

#[test]
fn a_weekly_occurrence_in_the_spring_gap_starts_when_the_gap_ends() {
    let weekly = one_event(
        "DTSTART;TZID=Europe/Copenhagen:20270321T023000\r\nDTEND;TZID=Europe/Copenhagen:20270321T043000\r\nRRULE:FREQ=WEEKLY;COUNT=3\r\n",
    );
    let window = Window::new(utc("2027-03-20T00:00:00Z"), utc("2027-04-10T00:00:00Z")).unwrap();
    let got: Vec<_> = expand(&weekly, &target(), &window)
        .unwrap()
        .iter()
        .map(|b| (b.start, b.end))
        .collect();
    assert_eq!(
        got,
        [
            (utc("2027-03-21T01:30:00Z"), utc("2027-03-21T03:30:00Z")),
            // 28 March: 02:30 does not exist; the first instant after the gap is 03:00 CEST.
            (utc("2027-03-28T01:00:00Z"), utc("2027-03-28T02:30:00Z")),
            (utc("2027-04-04T00:30:00Z"), utc("2027-04-04T02:30:00Z")),
        ]
    );
}
