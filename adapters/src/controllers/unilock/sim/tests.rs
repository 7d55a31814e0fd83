//! Simulator tests: levels, special days, exceptions, shared exceptions, access, capacities.

use super::*;
use crate::controllers::unilock::config::UnilockConfig;
use crate::controllers::unilock::protocol::{Membership, OpensRequest};
use chrono::{Duration, TimeZone};
use klar_engine::model::{DoorLevel, Secret, Window};

pub(crate) const CONTROLLER: &str = r#"
kind = "unilock-sim"
[installation]
fictive_days = ["open_house"]
[installation.tables.office]
weekdays = ["00:00 locked", "07:00 card", "17:00 locked"]
weekend = ["00:00 locked"]
open_house = ["00:00 locked", "10:00 unlocked", "14:00 locked"]
[installation.tables.alarm]
all = ["00:00 armed", "07:00 disarmed", "17:00 armed"]
[installation.tables.lights]
all = ["00:00 off"]
[installation.doors."D-101"]
table = "office"
[installation.doors."D-102"]
table = "office"
[installation.zones."Z-ADMIN"]
table = "alarm"
[installation.outputs."K-101-LYS"]
table = "lights"
[installation.groups."Mødegæster"]
doors = ["D-101"]
[installation.shared_exceptions.12]
name = "Mødelokale 1"
doors = { "D-101" = "unlocked" }
zones = ["Z-ADMIN"]
outputs = ["K-101-LYS"]
"#;

pub(crate) fn installation() -> Installation {
    let table: toml::Table = toml::from_str(CONTROLLER).unwrap();
    UnilockConfig::from_table(&table)
        .unwrap()
        .installation(chrono_tz::Europe::Copenhagen)
        .unwrap()
}

/// Monday 23 November 2026, local time (UTC+1).
fn local(h: u32, m: u32) -> DateTime<Utc> {
    chrono_tz::Europe::Copenhagen
        .with_ymd_and_hms(2026, 11, 23, h, m, 0)
        .unwrap()
        .with_timezone(&Utc)
}

fn w(a: (u32, u32), b: (u32, u32)) -> Window {
    Window::new(local(a.0, a.1), local(b.0, b.1)).unwrap()
}

fn write(sim: &mut UnilockSimulator, write: Write) -> Result<(), SimError> {
    sim.write(&WriteRequest {
        at: local(6, 0),
        write,
    })
}

fn level(sim: &UnilockSimulator, door: &str, at: DateTime<Utc>) -> Value {
    sim.door(door, at).unwrap().value
}

const LOCKED: Value = Value::Level(DoorLevel::Locked);
const UNLOCKED: Value = Value::Level(DoorLevel::Unlocked);
const CARD: Value = Value::Level(DoorLevel::Card);

#[test]
fn weekly_table_and_special_days() {
    let mut sim = UnilockSimulator::new(installation());
    assert_eq!(level(&sim, "D-101", local(6, 59)), LOCKED);
    assert_eq!(level(&sim, "D-101", local(7, 0)), CARD);
    assert!(matches!(
        sim.door("D-101", local(8, 0)).unwrap().causes[0],
        Cause::Weekly { .. }
    ));
    let date = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
    write(
        &mut sim,
        Write::SetSpecialDay {
            date,
            day_type: DayType::Fictive(1),
            owner: "op".into(),
        },
    )
    .unwrap();
    assert_eq!(level(&sim, "D-101", local(11, 0)), UNLOCKED);
    write(
        &mut sim,
        Write::SetSpecialDay {
            date,
            day_type: DayType::Holiday,
            owner: "op".into(),
        },
    )
    .unwrap();
    // The table lists no holiday: the date's weekday applies.
    assert_eq!(level(&sim, "D-101", local(11, 0)), CARD);
    // Fictive types beyond those named, and dates beyond a year, are refused.
    let e = write(
        &mut sim,
        Write::SetSpecialDay {
            date,
            day_type: DayType::Fictive(2),
            owner: "op".into(),
        },
    )
    .unwrap_err();
    assert!(e.to_string().contains("fictive day type 2"), "{e}");
    let far = NaiveDate::from_ymd_opt(2027, 11, 24).unwrap();
    let e = write(
        &mut sim,
        Write::SetSpecialDay {
            date: far,
            day_type: DayType::Holiday,
            owner: "op".into(),
        },
    )
    .unwrap_err();
    assert!(matches!(e, SimError::Capacity(_)), "{e}");
    let ok = NaiveDate::from_ymd_opt(2027, 11, 23).unwrap();
    write(
        &mut sim,
        Write::SetSpecialDay {
            date: ok,
            day_type: DayType::Holiday,
            owner: "op".into(),
        },
    )
    .unwrap();
    // Another owner's day is not klar's to change.
    let e = write(
        &mut sim,
        Write::ClearSpecialDay {
            date,
            owner: "klar".into(),
        },
    )
    .unwrap_err();
    assert!(matches!(e, SimError::Owned(_)));
}

#[test]
fn shared_exception_drives_door_zone_and_output_half_open() {
    let mut sim = UnilockSimulator::new(installation());
    write(
        &mut sim,
        Write::SetSharedPeriods {
            id: 12,
            owner: "klar".into(),
            periods: vec![w((9, 45), (11, 15))],
        },
    )
    .unwrap();
    assert_eq!(level(&sim, "D-101", local(9, 44)), CARD);
    assert_eq!(level(&sim, "D-101", local(9, 45)), UNLOCKED);
    assert_eq!(level(&sim, "D-101", local(11, 14)), UNLOCKED);
    assert_eq!(level(&sim, "D-101", local(11, 15)), CARD);
    assert_eq!(
        level(&sim, "D-102", local(10, 0)),
        CARD,
        "the other door on the table is not driven"
    );
    assert_eq!(sim.zone("Z-ADMIN", local(6, 0)).unwrap().value, Value::On);
    assert_eq!(sim.zone("Z-ADMIN", local(10, 0)).unwrap().value, Value::Off);
    assert_eq!(
        sim.output("K-101-LYS", local(10, 0)).unwrap().value,
        Value::On
    );
    assert_eq!(
        sim.output("K-101-LYS", local(11, 15)).unwrap().value,
        Value::Off
    );
}

#[test]
fn owners_keep_their_own_periods_and_capacity_is_an_error() {
    let mut sim = UnilockSimulator::new(installation());
    write(
        &mut sim,
        Write::SetSharedPeriods {
            id: 12,
            owner: "op".into(),
            periods: vec![w((20, 0), (21, 0))],
        },
    )
    .unwrap();
    let many: Vec<Window> = (0..15).map(|i| w((1, i), (1, i + 1))).collect();
    write(
        &mut sim,
        Write::SetSharedPeriods {
            id: 12,
            owner: "klar".into(),
            periods: many.clone(),
        },
    )
    .unwrap();
    let mut too_many = many;
    too_many.push(w((2, 0), (3, 0)));
    let e = write(
        &mut sim,
        Write::SetSharedPeriods {
            id: 12,
            owner: "klar".into(),
            periods: too_many,
        },
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "capacity exceeded: shared exception 12 holds at most 16 periods; 17 asked (16 of klar, 1 of others)"
    );
    // klar clearing its periods leaves the operator's.
    write(
        &mut sim,
        Write::SetSharedPeriods {
            id: 12,
            owner: "klar".into(),
            periods: vec![],
        },
    )
    .unwrap();
    assert_eq!(sim.database().shared_exceptions[&12].len(), 1);
    assert_eq!(level(&sim, "D-101", local(20, 30)), UNLOCKED);
    // Nine exceptions on one table are refused.
    let nine: Vec<(Window, Value)> = (0..9).map(|i| (w((1, i), (1, i + 1)), UNLOCKED)).collect();
    let e = write(
        &mut sim,
        Write::SetTableExceptions {
            table: "office".into(),
            owner: "klar".into(),
            exceptions: nine,
        },
    )
    .unwrap_err();
    assert!(e.to_string().contains("at most 8 exceptions"), "{e}");
    let e = write(
        &mut sim,
        Write::SetTableExceptions {
            table: "office".into(),
            owner: "klar".into(),
            exceptions: vec![(w((1, 0), (2, 0)), Value::On)],
        },
    )
    .unwrap_err();
    assert!(matches!(e, SimError::Invalid(_)));
}

#[test]
fn precedence_most_secure_by_default_and_latest_start_as_a_setting() {
    let mut sim = UnilockSimulator::new(installation());
    write(
        &mut sim,
        Write::SetSharedPeriods {
            id: 12,
            owner: "klar".into(),
            periods: vec![w((9, 0), (12, 0))],
        },
    )
    .unwrap();
    write(
        &mut sim,
        Write::SetTableExceptions {
            table: "office".into(),
            owner: "op".into(),
            exceptions: vec![(w((8, 0), (10, 0)), LOCKED)],
        },
    )
    .unwrap();
    assert_eq!(level(&sim, "D-101", local(9, 30)), LOCKED);
    assert_eq!(level(&sim, "D-101", local(10, 30)), UNLOCKED);
    let mut inst = installation();
    inst.settings.door_precedence = Precedence::LatestStart;
    let latest = UnilockSimulator::with_database(inst, sim.database().clone());
    assert_eq!(level(&latest, "D-101", local(9, 30)), UNLOCKED);
}

fn person(pin: &str, card: Option<&str>, group: &str, window: Window) -> PersonRecord {
    PersonRecord {
        name: "Mette".into(),
        pin: Some(Secret::new(pin)),
        cards: card.map(Secret::new).into_iter().collect(),
        validity: vec![window],
        memberships: vec![Membership {
            group: group.into(),
            valid: MembershipValidity::Periods {
                periods: vec![window],
            },
        }],
        owner: "klar".into(),
    }
}

fn opens(
    sim: &UnilockSimulator,
    door: &str,
    pin: Option<&str>,
    card: Option<&str>,
    at: DateTime<Utc>,
) -> bool {
    let credential = Credential {
        pin: pin.map(Secret::new),
        card: card.map(Secret::new),
    };
    sim.opens(&OpensRequest {
        door: door.into(),
        at,
        credential,
    })
    .unwrap()
    .opens
}

#[test]
fn a_pin_opens_only_within_its_validity_and_deny_beats_grant() {
    let mut sim = UnilockSimulator::new(installation());
    write(
        &mut sim,
        Write::PutPerson {
            id: "p1".into(),
            person: person("4711", None, "Mødegæster", w((10, 0), (11, 0))),
        },
    )
    .unwrap();
    assert!(!opens(&sim, "D-101", Some("4711"), None, local(9, 59)));
    assert!(opens(&sim, "D-101", Some("4711"), None, local(10, 0)));
    assert!(!opens(&sim, "D-101", Some("4711"), None, local(11, 0)));
    assert!(
        !opens(&sim, "D-102", Some("4711"), None, local(10, 30)),
        "the group does not include D-102"
    );
    assert!(!opens(&sim, "D-101", Some("0000"), None, local(10, 30)));
    let refused = sim
        .opens(&OpensRequest {
            door: "D-101".into(),
            at: local(10, 30),
            credential: Credential {
                pin: Some(Secret::new("0000")),
                card: None,
            },
        })
        .unwrap();
    assert_eq!(refused.reason, "Nøgle afvist, ikke oprettet");
    write(
        &mut sim,
        Write::SetBlock {
            group: "Mødegæster".into(),
            door: "D-101".into(),
            owner: "klar".into(),
            periods: vec![w((10, 15), (10, 45))],
        },
    )
    .unwrap();
    assert!(!opens(&sim, "D-101", Some("4711"), None, local(10, 30)));
    assert!(opens(&sim, "D-101", Some("4711"), None, local(10, 50)));
    // A person with a card needs card and PIN at card_pin.
    write(
        &mut sim,
        Write::SetTableExceptions {
            table: "office".into(),
            owner: "op".into(),
            exceptions: vec![(w((10, 0), (11, 0)), Value::Level(DoorLevel::CardPin))],
        },
    )
    .unwrap();
    write(
        &mut sim,
        Write::PutPerson {
            id: "p2".into(),
            person: person("1234", Some("C-9"), "Mødegæster", w((10, 0), (11, 0))),
        },
    )
    .unwrap();
    assert!(!opens(&sim, "D-101", None, Some("C-9"), local(10, 50)));
    assert!(opens(
        &sim,
        "D-101",
        Some("1234"),
        Some("C-9"),
        local(10, 50)
    ));
    assert!(
        opens(&sim, "D-101", Some("4711"), None, local(10, 50)),
        "a PIN-only person"
    );
    // Another owner's person is never replaced.
    let mut foreign = person("1", None, "Mødegæster", w((10, 0), (11, 0)));
    foreign.owner = "op".into();
    let e = write(
        &mut sim,
        Write::PutPerson {
            id: "p1".into(),
            person: foreign,
        },
    )
    .unwrap_err();
    assert!(matches!(e, SimError::Owned(_)));
}

#[test]
fn person_capacities() {
    let mut sim = UnilockSimulator::new(installation());
    let mut p = person("4711", None, "Mødegæster", w((10, 0), (11, 0)));
    p.validity = (0..9).map(|i| w((1, i), (1, i + 1))).collect();
    let e = write(
        &mut sim,
        Write::PutPerson {
            id: "p".into(),
            person: p.clone(),
        },
    )
    .unwrap_err();
    assert!(e.to_string().contains("at most 8"), "{e}");
    assert!(!e.to_string().contains("4711"));
    p.validity.truncate(8);
    let base = local(0, 0);
    let periods: Vec<Window> = (0..51)
        .map(|i| {
            Window::new(
                base + Duration::hours(i),
                base + Duration::hours(i) + Duration::minutes(30),
            )
            .unwrap()
        })
        .collect();
    p.memberships[0].valid = MembershipValidity::Periods { periods };
    let e = write(
        &mut sim,
        Write::PutPerson {
            id: "p".into(),
            person: p,
        },
    )
    .unwrap_err();
    assert!(e.to_string().contains("at most 50"), "{e}");
}

#[test]
fn weekly_steps_are_local_time_across_dst() {
    let sim = UnilockSimulator::new(installation());
    let cph = chrono_tz::Europe::Copenhagen;
    // Spring forward (29 March 2026) and fall back (25 October 2026): 07:00 local is 05:00 and
    // 06:00 UTC.
    for (day, month, utc_hour) in [(29, 3, 5), (25, 10, 6)] {
        let seven = cph
            .with_ymd_and_hms(2026, month, day, 7, 0, 0)
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            seven,
            Utc.with_ymd_and_hms(2026, month, day, utc_hour, 0, 0)
                .unwrap()
        );
        assert_eq!(
            sim.zone("Z-ADMIN", seven - Duration::seconds(1))
                .unwrap()
                .value,
            Value::On
        );
        assert_eq!(sim.zone("Z-ADMIN", seven).unwrap().value, Value::Off);
    }
}
