//! Unit tests of the WinKAS normalisation (the loopback tests are in `adapters/tests/winkas.rs`).

use chrono::{DateTime, Utc};
use chrono_tz::Europe::Copenhagen;
use serde_json::json;

use super::*;

fn res() -> WinkasResource {
    parse_resource(&json!({"Id": 3, "Name": "Hal 1", "ResourceLocation": {"Id": 1, "Name": "Nørrebrohallen", "Address": "Nørrebrogade 208"}}))
        .unwrap()
}

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

#[test]
fn entry_with_owner_and_danish_dates() {
    let e = json!({
        "ResourceCalendarbooking": {"Id": 901, "Subject": "Håndbold U12", "Start": "01-10-2025 17:00:00", "Stop": "01-10-2025 18:30:00", "BookingType": "Sæson"},
        "BookingOwner": {"FirstName": "Mette", "LastName": "Hansen", "MemberNumber": 1042, "Mobile": "+45 20304050"}
    });
    let b = to_booking(&"halls".into(), &res(), &e, Copenhagen).unwrap();
    assert_eq!(b.id.as_str(), "901");
    assert_eq!(b.start, utc("2025-10-01T15:00:00Z"));
    assert_eq!(b.end, utc("2025-10-01T16:30:00Z"));
    assert_eq!(b.location.as_deref(), Some("Nørrebrohallen"));
    let p = b.responsible.unwrap();
    assert_eq!(
        (p.name.as_str(), p.member_no.as_deref()),
        ("Mette Hansen", Some("1042"))
    );
    assert_eq!(b.tags, vec!["sæson"]);
}

#[test]
fn control_characters_in_vendor_text_are_stripped_at_the_edge() {
    // Any club member types their own name in WinKAS.
    let r = parse_resource(&json!({"Id": 4, "Name": "Hal\n2", "ResourceLocation": {"Name": "Nørrebro\u{1b}[2Jhallen", "Address": "Gade\r\n1"}})).unwrap();
    assert_eq!(
        (r.name.as_str(), r.location.as_deref(), r.address.as_deref()),
        ("Hal 2", Some("Nørrebro[2Jhallen"), Some("Gade  1"))
    );
    let e = json!({
        "ResourceCalendarbooking": {"Id": 902, "Subject": "Yoga\n2026-12-04T17:00:00Z ERROR klar: Store damaged.", "Start": "2026-01-05T18:00:00", "Stop": "2026-01-05T19:00:00", "BookingType": "Sæson\u{7}"},
        "BookingOwner": {"FirstName": "Mette\n2026-12-04T17:00:00Z  WARN klar: fake", "LastName": "\u{1b}[2JHansen\u{2028}", "MemberNumber": 1042}
    });
    let b = to_booking(&"halls".into(), &r, &e, Copenhagen).unwrap();
    assert_eq!(
        b.title,
        "Yoga 2026-12-04T17:00:00Z ERROR klar: Store damaged."
    );
    assert_eq!(
        b.responsible.as_ref().unwrap().name,
        "Mette 2026-12-04T17:00:00Z  WARN klar: fake [2JHansen"
    );
    assert_eq!(b.resource_name.as_deref(), Some("Hal 2"));
    assert_eq!(b.attrs["winkas.booking_type"], "Sæson");
    assert!(!format!("{b:?}").contains('\u{1b}'));
}

#[test]
fn entry_without_id_or_owner_is_keyed_by_its_content() {
    let e = json!({"ResourceCalendarbooking": {"Subject": "Yoga", "Start": "2026-01-05T18:00:00", "Stop": "2026-01-05T19:00:00"}, "BookingOwner": null});
    let b = to_booking(&"halls".into(), &res(), &e, Copenhagen).unwrap();
    assert_eq!(b.id.as_str(), "3@20260105T1700Z-20260105T1800Z:Yoga");
    assert!(b.responsible.is_none());
}

#[test]
fn bad_entries_are_errors_not_skipped() {
    let e = json!({"ResourceCalendarbooking": {"Subject": "X", "Start": "soon", "Stop": "01-10-2025 18:30:00"}});
    assert!(
        to_booking(&"halls".into(), &res(), &e, Copenhagen)
            .unwrap_err()
            .contains("soon")
    );
    let e = json!({"ResourceCalendarbooking": {"Subject": "X", "Start": "01-10-2025 18:30:00", "Stop": "01-10-2025 18:30:00"}});
    assert!(to_booking(&"halls".into(), &res(), &e, Copenhagen).is_err());
}

#[test]
fn config_validation() {
    let t: toml::Table =
        toml::from_str("username = 'u'\ncontract_code = 12345\npassword_env = 'X'").unwrap();
    let c = WinkasConfig::parse(&t).unwrap();
    assert_eq!(c.contract_code, "12345");
    assert_eq!(c.base(), "https://air.winkas.net/api/");
    let t: toml::Table =
        toml::from_str("username = 'u'\ncontract_code = '1'\npassword = 'inline'").unwrap();
    assert!(
        WinkasConfig::parse(&t).is_err(),
        "inline passwords are refused"
    );
    let t: toml::Table = toml::from_str(
        "username = 'u'\ncontract_code = '1'\npassword_env = 'X'\ntoken_lifetime_hours = 30",
    )
    .unwrap();
    assert!(WinkasConfig::parse(&t).unwrap_err().contains("24"));
}
