//! Property tests of every source parser that reads vendor input: no input makes one panic,
//! and what they promise holds (dates read back as written, no booking ends before it starts,
//! an ICS booking lies in the window asked for). Arbitrary text and JSON, and structured
//! near-valid payloads built from the vendors' own field names and date forms.
//!
//! The fuzz targets in `fuzz/` (scripts/fuzz) hunt the same parsers for longer; these run in
//! CI on a modest number of cases.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, LocalResult, TimeZone, Utc};
use chrono_tz::Tz;
use klar_engine::model::{Booking, SourceName, Window};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

use super::ical::{Target, expand};
use super::local::{LocalCalendar, bookings as local_bookings};
use super::pronestor::wire::list;
use super::pronestor::{
    Location, PronestorConfig, Room, meeting_bookings, parse_locations, parse_rooms,
};
use super::time::{parse_datetime, parse_time_zone};
use super::winkas::{Envelope, parse_events, parse_resource, parse_resources};

const ZONES: [Tz; 4] = [
    chrono_tz::Europe::Copenhagen,
    chrono_tz::UTC,
    chrono_tz::America::New_York,
    chrono_tz::Australia::Adelaide,
];

fn zone() -> impl Strategy<Value = Tz> {
    (0..ZONES.len()).prop_map(|i| ZONES[i])
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 6, 0, 0).unwrap()
}

fn window() -> Window {
    Window::new(now() - Duration::days(1), now() + Duration::days(14)).unwrap()
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 192,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn assert_bookings_end(bookings: &[Booking]) -> Result<(), TestCaseError> {
    for b in bookings {
        prop_assert!(b.start < b.end, "booking {} ends before it starts", b.id);
    }
    Ok(())
}

/// Numbers that break naive arithmetic: zero, edges of the integer types, dates' edges.
fn edgy_number() -> BoxedStrategy<i64> {
    prop_oneof![
        Just(0),
        Just(-1),
        Just(i64::MAX),
        Just(i64::MIN),
        Just(i64::from(i32::MAX)),
        Just(8_210_298_412_799_999), // chrono's last millisecond
        Just(-8_334_632_851_200_000),
        -100i64..100,
        any::<i64>(),
    ]
    .boxed()
}

/// The date forms vendors send, filled with numbers in and out of range.
fn date_text() -> BoxedStrategy<String> {
    let n = || prop_oneof![0u32..100, Just(2026), 0u32..100_000];
    prop_oneof![
        edgy_number().prop_map(|ms| format!("/Date({ms})/")),
        (edgy_number(), -9999i32..9999).prop_map(|(ms, o)| format!("/Date({ms}{o:+05})/")),
        (n(), n(), n(), n(), n(), n()).prop_map(|(d, mo, y, h, mi, s)| format!(
            "{d:02}-{mo:02}-{y:04} {h:02}:{mi:02}:{s:02}"
        )),
        (n(), n(), n(), n(), n())
            .prop_map(|(y, mo, d, h, mi)| format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:00")),
        (n(), n(), n(), -99i32..99, 0u32..99).prop_map(|(y, mo, d, oh, om)| format!(
            "{y:04}-{mo:02}-{d:02}T12:00:00{oh:+03}:{om:02}"
        )),
        Just("+262143-12-31T23:59:59Z".to_owned()),
        Just("-262144-01-01T00:00:00Z".to_owned()),
        Just("29-03-2026 02:30:00".to_owned()),
        Just("25-10-2026 02:30:00".to_owned()),
        "\\PC{0,30}",
    ]
    .boxed()
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn the_date_parser_never_panics(text in "\\PC{0,40}", near in date_text(), tz in zone()) {
        let _ = parse_datetime(&text, tz);
        let _ = parse_datetime(&near, tz);
        let _ = parse_time_zone(&text);
        let _ = parse_time_zone(&near);
    }

    #[test]
    fn every_date_form_reads_back_as_the_instant_written(secs in 0i64..4_102_444_800, tz in zone()) {
        // 1970 .. 2100, whole seconds.
        let t = DateTime::from_timestamp(secs, 0).unwrap();
        prop_assert_eq!(parse_datetime(&format!("/Date({})/", t.timestamp_millis()), tz), Ok(t));
        prop_assert_eq!(parse_datetime(&format!("/Date({}+0100)/", t.timestamp_millis()), tz), Ok(t));
        prop_assert_eq!(parse_datetime(&t.to_rfc3339(), tz), Ok(t));
        let offset = t.with_timezone(&tz);
        prop_assert_eq!(parse_datetime(&offset.format("%Y-%m-%dT%H:%M:%S%:z").to_string(), tz), Ok(t));
        // Naive local forms: the instant itself, or the first of a repeated hour.
        let local = offset.naive_local();
        let ambiguous = matches!(tz.from_local_datetime(&local), LocalResult::Ambiguous(..));
        for form in ["%d-%m-%Y %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"] {
            let got = parse_datetime(&local.format(form).to_string(), tz).unwrap();
            prop_assert!(got == t || (ambiguous && got < t && t - got <= Duration::hours(1)), "{form}: {got} for {t}");
        }
    }
}

// ---- Pronestor and WinKAS: arbitrary JSON, and near-valid payloads ----

/// Field names both vendors use, so that random objects hit the parsers' paths.
const NAMES: &[&str] = &[
    "Id",
    "Name",
    "Title",
    "Subject",
    "Start",
    "End",
    "Stop",
    "IsDeleted",
    "AwaitingApproval",
    "Owner",
    "FirstName",
    "LastName",
    "Email",
    "Resources",
    "ResourceId",
    "TimeZone",
    "PreparationMinutes",
    "FollowUpMinutes",
    "ResourceType",
    "MeetingType",
    "Participants",
    "Data",
    "WinKasStatus",
    "WinkasErrorCode",
    "WinKasData",
    "WinKasMessage",
    "ResourceCalendarbookings",
    "ResourceCalendarbooking",
    "BookingOwner",
    "BookingType",
    "ResourceLocation",
    "MemberNumber",
    "CurrentToken",
];

fn leaf() -> BoxedStrategy<Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        edgy_number().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        Just(json!(u64::MAX)),
        date_text().prop_map(Value::String),
        prop_oneof![
            Just("True"),
            Just("False"),
            Just("1"),
            Just("0"),
            Just(""),
            Just("  "),
            Just("101"),
            Just("7"),
            Just("Room"),
            Just("Romance Standard Time"),
            Just("4294967296"),
            Just("-5"),
        ]
        .prop_map(|s| Value::String(s.to_owned())),
    ]
    .boxed()
}

fn json_value() -> BoxedStrategy<Value> {
    leaf()
        .prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::vec((prop::sample::select(NAMES), inner), 0..8).prop_map(|kv| {
                    Value::Object(
                        kv.into_iter()
                            .map(|(k, v)| (k.to_owned(), v))
                            .collect::<Map<_, _>>(),
                    )
                }),
            ]
        })
        .boxed()
}

/// A Pronestor meeting whose every field may be missing, mistyped or out of range.
fn near_meeting() -> impl Strategy<Value = Value> {
    let opt = |s: BoxedStrategy<Value>| prop::option::of(s);
    let entry = (
        prop::option::of(prop_oneof![
            Just(json!(101)),
            Just(json!("102")),
            Just(json!(999)),
            leaf()
        ]),
        opt(date_text().prop_map(Value::String).boxed()),
        opt(date_text().prop_map(Value::String).boxed()),
        opt(leaf().boxed()),
    )
        .prop_map(|(id, start, end, prep)| {
            let mut m = Map::new();
            m.extend(id.map(|v| ("ResourceId".to_owned(), v)));
            m.extend(start.map(|v| ("Start".to_owned(), v)));
            m.extend(end.map(|v| ("End".to_owned(), v)));
            m.extend(prep.map(|v| ("PreparationMinutes".to_owned(), v)));
            Value::Object(m)
        });
    (
        leaf(),
        date_text(),
        date_text(),
        leaf(),
        prop::collection::vec(entry, 0..4),
        json_value(),
    )
        .prop_map(|(id, start, end, deleted, resources, owner)| {
            json!({"Id": id, "Start": start, "End": end, "IsDeleted": deleted,
                   "Resources": resources, "Owner": owner, "Participants": [owner]})
        })
}

fn pronestor_config() -> PronestorConfig {
    let table: toml::Table = toml::from_str(
        "url = \"https://skole.pronestor.com\"\nusername = \"u\"\npassword_env = \"P\"\n",
    )
    .unwrap();
    PronestorConfig::parse(&table).unwrap()
}

fn pronestor_rooms() -> BTreeMap<String, Room> {
    ["101", "102"]
        .iter()
        .map(|id| {
            let room = Room {
                id: (*id).to_owned(),
                name: format!("Room {id}"),
                is_room: true,
                capacity: None,
                kind: None,
                time_zone: (*id == "102").then_some(chrono_tz::UTC),
                preparation_minutes: 15,
                follow_up_minutes: 5,
            };
            ((*id).to_owned(), room)
        })
        .collect()
}

/// A WinKAS answer whose entries may be missing fields or carry nonsense.
fn near_winkas() -> impl Strategy<Value = Value> {
    let entry = (
        date_text(),
        date_text(),
        leaf(),
        any::<bool>(),
        json_value(),
    )
        .prop_map(|(start, stop, id, nested, owner)| {
            let inner = json!({"Id": id, "Start": start, "Stop": stop, "Subject": "x"});
            if nested {
                json!({"ResourceCalendarbooking": inner, "BookingOwner": owner})
            } else {
                inner
            }
        });
    (
        leaf(),
        prop::collection::vec((leaf(), prop::collection::vec(entry, 0..4)), 0..3),
        any::<bool>(),
    )
        .prop_map(|(status, resources, wrapped)| {
            let list: Vec<Value> = resources
                .into_iter()
                .map(|(id, entries)| json!({"Id": id, "Name": "Hal", "ResourceCalendarbookings": entries}))
                .collect();
            if wrapped {
                json!({"WinKasStatus": status, "WinKasData": {"Resources": list}})
            } else {
                json!({"WinKasStatus": status, "Resources": list})
            }
        })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn pronestor_answers_never_panic(body in json_value(), meeting in near_meeting(), tz in zone()) {
        let config = pronestor_config();
        let rooms = pronestor_rooms();
        let location = Location { id: "1".into(), name: "Skolen".into(), time_zone: Some(tz) };
        let source = SourceName::new("planner");
        for body in [&body, &json!([meeting.clone()]), &json!({"Data": [meeting]})] {
            let _ = parse_locations("GetLocations", body);
            let _ = parse_rooms(&config, "GetResourcesByLocation", body);
            for m in list(body).into_iter().flatten() {
                if let Ok((_, bookings)) = meeting_bookings(&source, m, &rooms, &location, tz) {
                    assert_bookings_end(&bookings)?;
                }
            }
        }
    }

    #[test]
    fn winkas_answers_never_panic(body in json_value(), near in near_winkas(), tz in zone()) {
        for body in [body, near] {
            let Ok(env) = Envelope::parse(body.clone()) else { continue };
            let _ = (env.is_error(), env.payload("CurrentToken"));
            let resources = parse_resources(&env).unwrap_or_default();
            for r in body.as_array().into_iter().flatten() {
                let _ = parse_resource(r);
            }
            if let Ok((found, _unusable)) = parse_events(&SourceName::new("halls"), &env, &resources, tz) {
                assert_bookings_end(&found.into_values().collect::<Vec<_>>())?;
            }
        }
    }
}

// ---- iCalendar ----

fn ics_value() -> impl Strategy<Value = String> {
    let n = |max: u32| 0..max;
    prop_oneof![
        (n(10_000), n(14), n(33)).prop_map(|(y, m, d)| format!("{y:04}{m:02}{d:02}")),
        (n(10_000), n(14), n(33), n(26), n(61))
            .prop_map(|(y, m, d, h, mi)| format!("{y:04}{m:02}{d:02}T{h:02}{mi:02}00")),
        (2025u32..2028, 1u32..13, 1u32..29, 0u32..24)
            .prop_map(|(y, m, d, h)| format!("{y}{m:02}{d:02}T{h:02}0000Z")),
        (2026u32..2027, 1u32..13, 1u32..29, 0u32..24)
            .prop_map(|(y, m, d, h)| format!("{y}{m:02}{d:02}T{h:02}3000")),
        Just("20261123T090000".to_owned()),
        Just("20260329T023000".to_owned()),
        Just("20261025T023000".to_owned()),
        Just("99991231T235959Z".to_owned()),
        Just("00000101".to_owned()),
        "\\PC{0,12}",
    ]
}

fn ics_duration() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("PT1H".to_owned()),
        Just("-PT15M".to_owned()),
        Just("P1W".to_owned()),
        Just("PT0S".to_owned()),
        any::<i64>().prop_map(|n| format!("P{}W", n.unsigned_abs())),
        any::<i64>().prop_map(|n| format!("PT{}S", n.unsigned_abs())),
        (any::<u32>(), any::<u32>()).prop_map(|(d, h)| format!("P{d}DT{h}H")),
        "[-+PTWDHMS0-9]{0,12}",
    ]
}

fn rrule() -> impl Strategy<Value = String> {
    (
        prop::sample::select(vec![
            "DAILY", "WEEKLY", "MONTHLY", "YEARLY", "HOURLY", "BOGUS",
        ]),
        prop::option::of(0u32..40),
        prop::option::of(prop_oneof![Just(0u32), 1u32..5, Just(u32::MAX)]),
        prop::option::of(ics_value()),
        prop::option::of(prop::sample::select(vec![
            "MO,TH", "TU", "1SU", "-1FR", "XX",
        ])),
    )
        .prop_map(|(freq, count, interval, until, byday)| {
            let mut r = format!("FREQ={freq}");
            if let Some(c) = count {
                r.push_str(&format!(";COUNT={c}"));
            }
            if let Some(i) = interval {
                r.push_str(&format!(";INTERVAL={i}"));
            }
            if let Some(u) = until {
                r.push_str(&format!(";UNTIL={u}"));
            }
            if let Some(b) = byday {
                r.push_str(&format!(";BYDAY={b}"));
            }
            r
        })
}

fn tzid() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just(";TZID=Europe/Copenhagen".to_owned()),
        Just(";TZID=Romance Standard Time".to_owned()),
        Just(";TZID=\"(UTC+01:00) Brussels, Copenhagen, Madrid, Paris\"".to_owned()),
        Just(";TZID=Mars/Olympus".to_owned()),
        Just(";VALUE=DATE".to_owned()),
    ]
}

fn vevent() -> impl Strategy<Value = String> {
    (
        prop::sample::select(vec!["a", "b", ""]),
        (tzid(), ics_value()),
        prop::option::of((tzid(), ics_value())),
        prop::option::of(ics_duration()),
        prop::option::of(rrule()),
        prop::collection::vec((tzid(), ics_value()), 0..3),
        prop::option::of((tzid(), ics_value())),
        prop::option::of(prop::sample::select(vec![
            "CANCELLED",
            "TENTATIVE",
            "CONFIRMED",
        ])),
        prop::option::of("[A-Za-z ,\\\\]{0,12}"),
    )
        .prop_map(
            |(uid, start, end, duration, rule, dates, rid, status, location)| {
                let mut e = format!(
                    "BEGIN:VEVENT\r\nUID:{uid}\r\nSUMMARY:Prøve\r\nDTSTART{}:{}\r\n",
                    start.0, start.1
                );
                if let Some((p, v)) = end {
                    e.push_str(&format!("DTEND{p}:{v}\r\n"));
                }
                if let Some(d) = duration {
                    e.push_str(&format!("DURATION:{d}\r\n"));
                }
                if let Some(r) = rule {
                    e.push_str(&format!("RRULE:{r}\r\n"));
                }
                for (i, (p, v)) in dates.iter().enumerate() {
                    let name = if i % 2 == 0 { "EXDATE" } else { "RDATE" };
                    e.push_str(&format!("{name}{p}:{v},{v}\r\n"));
                }
                if let Some((p, v)) = rid {
                    e.push_str(&format!("RECURRENCE-ID{p}:{v}\r\n"));
                }
                if let Some(s) = status {
                    e.push_str(&format!("STATUS:{s}\r\n"));
                }
                if let Some(l) = location {
                    e.push_str(&format!("LOCATION:{l}\r\n"));
                }
                e.push_str("ORGANIZER;CN=Mette:mailto:m@example.dk\r\nEND:VEVENT\r\n");
                e
            },
        )
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn ics_feeds_never_panic_and_give_bookings_in_the_window(
        events in prop::collection::vec(vevent(), 0..4),
        junk in "\\PC{0,60}",
        tz in zone(),
        shared in any::<bool>(),
    ) {
        let target = Target {
            source: SourceName::new("cal"),
            resource: (!shared).then(|| "1".to_owned()),
            resource_name: None,
            location: None,
            time_zone: tz,
        };
        let w = window();
        let _ = expand(&junk, &target, &w);
        let text = format!("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n{}END:VCALENDAR\r\n", events.concat());
        if let Ok(bookings) = expand(&text, &target, &w) {
            assert_bookings_end(&bookings)?;
            for b in &bookings {
                prop_assert!(b.start < w.to && w.from < b.end, "{} outside the window", b.id);
            }
        }
    }
}

// ---- the local calendar file ----

fn toml_date() -> impl Strategy<Value = String> {
    prop_oneof![
        (2025u32..2028, 1u32..13, 1u32..29).prop_map(|(y, m, d)| format!("{y}-{m:02}-{d:02}")),
        Just("9999-12-31".to_owned()),
        Just("0000-01-01".to_owned()),
        Just("2026-03-29".to_owned()),
        Just("2026-10-25".to_owned()),
    ]
}

fn toml_time() -> impl Strategy<Value = String> {
    prop_oneof![
        (0u32..24, prop::sample::select(vec![0u32, 30, 59]))
            .prop_map(|(h, m)| format!("\"{h:02}:{m:02}\"")),
        Just("\"02:30\"".to_owned()),
        Just("\"24:00\"".to_owned()),
        Just("07:30:00".to_owned()),
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn local_calendars_never_panic(
        text in "\\PC{0,80}",
        hol in (toml_date(), toml_date()),
        day in (toml_date(), toml_time(), toml_time()),
        standing in (toml_time(), toml_time(), toml_date(), toml_date(), toml_date()),
        tz in zone(),
    ) {
        let _ = LocalCalendar::parse(&text, "toml");
        let _ = LocalCalendar::parse(&text, "yaml");
        let file = format!(
            "[[holiday]]\nname = \"h\"\nfrom = {}\nto = {}\n\n\
             [[special_day]]\nname = \"s\"\ndate = {}\nkind = \"open_house\"\nfrom = {}\nto = {}\n\n\
             [[standing]]\ntitle = \"t\"\nresource = \"r\"\nweekdays = [\"man\", \"søn\"]\nfrom = {}\nto = {}\n\
             valid_from = {}\nvalid_to = {}\nexcept = [{}]\n",
            hol.0, hol.1, day.0, day.1, day.2, standing.0, standing.1, standing.2, standing.3, standing.4
        );
        if let Ok(cal) = LocalCalendar::parse(&file, "toml") {
            let _ = local_bookings(&cal, &SourceName::new("local"), "site", tz, &window());
        }
    }
}
