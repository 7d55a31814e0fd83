//! Unit tests of the Pronestor normalisation (loopback tests are in `adapters/tests/pronestor.rs`).

use chrono::{DateTime, Utc};
use chrono_tz::Europe::Copenhagen;
use serde_json::json;

use super::*;

fn rooms() -> BTreeMap<String, Room> {
    let room = Room {
        id: "101".into(),
        name: "Mødelokale 1".into(),
        is_room: true,
        capacity: Some("8".into()),
        kind: Some("Room".into()),
        time_zone: parse_time_zone("Romance Standard Time"),
        preparation_minutes: 15,
        follow_up_minutes: 10,
    };
    BTreeMap::from([("101".to_owned(), room)])
}

fn location() -> Location {
    Location {
        id: "1".into(),
        name: "Nørrebro Skole".into(),
        time_zone: None,
    }
}

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

#[test]
fn a_meeting_with_a_room_and_catering() {
    let m = json!({
        "Id": 7001, "Title": "Forældremøde 3.B", "Start": "/Date(1795449600000)/", "End": "2026-11-23T18:30:00",
        "Owner": {"Id": 12, "FirstName": "Lars", "LastName": "Nielsen", "Email": "lars@example.dk"},
        "MeetingType": "Møde", "IsDeleted": "False", "AwaitingApproval": true,
        "Resources": [{"ResourceId": 101, "FollowUpMinutes": 0}, {"ResourceId": 901, "Quantity": 10}]
    });
    let (mid, bs) =
        meeting_bookings(&"planner".into(), &m, &rooms(), &location(), Copenhagen).unwrap();
    assert_eq!(mid, "7001");
    assert_eq!(bs.len(), 1);
    let b = &bs[0];
    assert_eq!(b.id.as_str(), "7001/101");
    assert_eq!(
        (b.start, b.end),
        (utc("2026-11-23T16:00:00Z"), utc("2026-11-23T17:30:00Z"))
    );
    assert_eq!(
        (b.setup_minutes, b.teardown_minutes),
        (15, 0),
        "room default, meeting override"
    );
    assert_eq!(b.status, BookingStatus::Tentative);
    assert_eq!(b.responsible.as_ref().unwrap().name, "Lars Nielsen");
    assert_eq!(b.tags, vec!["møde"]);
}

#[test]
fn control_characters_in_vendor_text_are_stripped_at_the_edge() {
    // Anyone who can book in Pronestor types the title and their name.
    let m = json!({
        "Id": "7002\nx", "Title": "Møde\n2026-12-04T17:00:00Z  WARN klar: Door forced open.\u{1b}[2J",
        "Start": "2026-11-23T17:00:00", "End": "2026-11-23T18:30:00",
        "Owner": {"Id": 12, "FirstName": "Anne\r\n2026-12-04T17:00:00Z  WARN fake", "LastName": "\u{1b}]0;x\u{7}Rasmussen\u{202e}", "Email": "anne@example.dk"},
        "MeetingType": "Møde\t1", "Resources": [{"ResourceId": 101}]
    });
    let (_, bs) =
        meeting_bookings(&"planner".into(), &m, &rooms(), &location(), Copenhagen).unwrap();
    let b = &bs[0];
    assert_eq!(
        b.title,
        "Møde 2026-12-04T17:00:00Z  WARN klar: Door forced open.[2J"
    );
    let p = b.responsible.as_ref().unwrap();
    assert_eq!(
        p.name,
        "Anne  2026-12-04T17:00:00Z  WARN fake ]0;xRasmussen"
    );
    assert_eq!(b.tags, vec!["møde 1"]);
    // Ids and keys stay as sent (changing them could merge two bookings or persons).
    assert_eq!(b.id.as_str(), "7002\nx/101");
    assert_eq!(p.email.as_deref(), Some("anne@example.dk"));
}

#[test]
fn deleted_anonymous_and_empty_meetings() {
    let m = json!({"Id": 1, "Title": "Panel", "Start": "2026-11-23T10:00:00+01:00", "End": "2026-11-23T11:00:00+01:00",
        "Owner": {"Id": 0, "FirstName": "Anonym"}, "IsDeleted": true, "Resources": [{"ResourceId": "101"}]});
    let (_, bs) =
        meeting_bookings(&"planner".into(), &m, &rooms(), &location(), Copenhagen).unwrap();
    assert_eq!(bs[0].status, BookingStatus::Cancelled);
    assert!(bs[0].responsible.is_none());
    let empty = json!({"Id": 2, "Start": "2026-11-23T10:00:00", "End": "2026-11-23T11:00:00", "Resources": []});
    assert!(
        meeting_bookings(&"planner".into(), &empty, &rooms(), &location(), Copenhagen)
            .unwrap()
            .1
            .is_empty()
    );
    let bad = json!({"Id": 3, "Start": "yesterday", "End": "2026-11-23T11:00:00", "Resources": [{"ResourceId": 101}]});
    assert!(meeting_bookings(&"planner".into(), &bad, &rooms(), &location(), Copenhagen).is_err());
}

#[test]
fn config_defaults_and_validation() {
    let t: toml::Table = toml::from_str("url = 'https://skole.pronestor.com'\nusername = 'u'\npassword_env = 'P'\n[methods]\nmeetings = 'GetBookings'").unwrap();
    let c = PronestorConfig::parse(&t).unwrap();
    assert_eq!(
        c.method_url(&c.methods.meetings),
        "https://skole.pronestor.com/Api.mvc/v1/GetBookings"
    );
    assert_eq!(c.methods.locations, "GetLocations");
    let t: toml::Table = toml::from_str(
        "url = 'https://x'\nusername = 'u'\npassword_env = 'P'\n[methods]\nmeetings = 'a/b'",
    )
    .unwrap();
    assert!(PronestorConfig::parse(&t).is_err());
}
