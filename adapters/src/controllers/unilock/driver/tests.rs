//! Driver tests: bindings, unions, defaults, overflow, ownership, readiness.

use chrono::TimeZone;
use klar_engine::model::{BookingId, DayKind, DoorLevel, Person, PersonKey, Secret, Window};
use klar_engine::plan::{PackRef, Plan, PlanEntry, PlannedWindow, Reason, Target};
use klar_engine::reconcile::{ProblemKind, ReconcileOptions, reconcile};
use klar_engine::rules::RuleLocation;

use super::*;
use crate::controllers::unilock::config::UnilockConfig;
use crate::controllers::unilock::protocol::{Credential, OpensRequest};
use crate::controllers::unilock::sim::tests::CONTROLLER;

fn config(extra: &str) -> UnilockConfig {
    let table: toml::Table = toml::from_str(&format!("{CONTROLLER}\n{extra}")).unwrap();
    UnilockConfig::from_table(&table).unwrap()
}

fn driver(extra: &str) -> UnilockDriver {
    let c = config(extra);
    UnilockDriver::new(
        c.installation(chrono_tz::Europe::Copenhagen).unwrap(),
        c.bindings,
    )
}

const BINDINGS: &str = r#"
[bindings]
"door:D-101" = { shared_exception = 12 }
"zone:Z-ADMIN" = { shared_exception = 12 }
"group:Mødegæster" = { person_group = "Mødegæster" }
"#;

fn local(d: u32, h: u32, m: u32) -> DateTime<Utc> {
    chrono_tz::Europe::Copenhagen
        .with_ymd_and_hms(2026, 11, d, h, m, 0)
        .unwrap()
        .with_timezone(&Utc)
}

fn w(a: (u32, u32), b: (u32, u32)) -> Window {
    Window::new(local(23, a.0, a.1), local(23, b.0, b.1)).unwrap()
}

fn reason(booking: &str) -> Reason {
    Reason {
        source: "halls".into(),
        booking: BookingId::new(booking),
        title: format!("Booking {booking}"),
        pack: "margins".into(),
        pack_version: "1.0.0".into(),
        rule: RuleLocation {
            file: "margins/rules/doors.rhai".into(),
            line: 7,
            column: 1,
        },
    }
}

fn plan(entries: Vec<(Target, Vec<Window>)>) -> Plan {
    let horizon = Window::new(local(23, 6, 0), local(25, 6, 0)).unwrap();
    let mut p = Plan::empty(
        "Test".into(),
        local(23, 6, 0),
        horizon,
        vec![PackRef {
            name: "margins".into(),
            version: "1.0.0".into(),
        }],
    );
    p.entries = entries
        .into_iter()
        .map(|(target, ws)| PlanEntry {
            target,
            windows: ws
                .into_iter()
                .map(|window| PlannedWindow {
                    window,
                    reasons: vec![reason("B-1")],
                })
                .collect(),
        })
        .collect();
    p.persons.insert(
        PersonKey::new("member:42"),
        Person {
            name: "Mette".into(),
            member_no: Some("42".into()),
            pin: Some(Secret::new("4711")),
            ..Person::default()
        },
    );
    p
}

fn booking_plan() -> Plan {
    plan(vec![
        (
            Target::Door {
                door: "D-101".into(),
                level: DoorLevel::Unlocked,
            },
            vec![w((9, 45), (11, 15))],
        ),
        (
            Target::Zone {
                zone: "Z-ADMIN".into(),
            },
            vec![w((9, 45), (11, 15))],
        ),
        (
            Target::Membership {
                person: PersonKey::new("member:42"),
                group: "Mødegæster".into(),
            },
            vec![w((10, 0), (11, 0))],
        ),
    ])
}

#[test]
fn bound_targets_unite_into_one_shared_exception_and_persons_get_validity() {
    let d = driver(BINDINGS);
    let desired = d.desired(&booking_plan());
    assert!(desired.problems.is_empty(), "{:?}", desired.problems);
    assert_eq!(
        desired.objects[&UnilockKey::SharedPeriods(12)],
        UnilockObject::Periods(vec![w((9, 45), (11, 15))])
    );
    let UnilockObject::Person(p) = &desired.objects[&UnilockKey::Person("member:42".into())] else {
        panic!()
    };
    assert_eq!(p.validity, vec![w((10, 0), (11, 0))]);
    assert_eq!(p.pin.as_ref().map(Secret::expose), Some("4711"));
    assert_eq!(
        p.memberships[0].valid,
        MembershipValidity::Periods {
            periods: vec![w((10, 0), (11, 0))]
        }
    );
    assert_eq!(desired.objects.len(), 2);
    assert!(
        !format!(
            "{}",
            desired.objects[&UnilockKey::Person("member:42".into())]
        )
        .contains("4711")
    );
}

#[test]
fn unbound_doors_default_to_a_klar_exception_on_their_table() {
    let d = driver("");
    let unlock = |door: &str| {
        (
            Target::Door {
                door: door.into(),
                level: DoorLevel::Unlocked,
            },
            vec![w((9, 45), (11, 15))],
        )
    };
    // D-101 and D-102 both follow table "office": asked the same, one exception serves both.
    let p = plan(vec![
        unlock("D-101"),
        unlock("D-102"),
        unlock("D-999"),
        (
            Target::Output {
                output: "K-101-LYS".into(),
            },
            vec![w((9, 45), (11, 15))],
        ),
    ]);
    let desired = d.desired(&p);
    assert_eq!(
        desired.objects[&UnilockKey::TableExceptions("office".into())],
        UnilockObject::Exceptions(vec![(
            w((9, 45), (11, 15)),
            Value::Level(DoorLevel::Unlocked)
        )])
    );
    assert_eq!(
        desired.objects[&UnilockKey::TableExceptions("lights".into())],
        UnilockObject::Exceptions(vec![(w((9, 45), (11, 15)), Value::On)])
    );
    assert_eq!(desired.problems.len(), 1);
    assert_eq!(desired.problems[0].kind, ProblemKind::Unbound);
    assert!(desired.problems[0].message.contains("D-999"));
}

#[test]
fn a_shared_table_is_not_used_for_one_of_its_doors() {
    let d = driver("");
    // Only D-101 is asked for: an exception on "office" would open D-102 too.
    let p = plan(vec![(
        Target::Door {
            door: "D-101".into(),
            level: DoorLevel::Unlocked,
        },
        vec![w((9, 45), (11, 15))],
    )]);
    let desired = d.desired(&p);
    assert!(desired.objects.is_empty(), "{:?}", desired.objects);
    assert_eq!(desired.problems.len(), 1);
    assert!(
        desired.problems[0]
            .message
            .contains("shares table \"office\" with door D-102"),
        "{}",
        desired.problems[0]
    );
    // With a binding to a table the integrator takes the responsibility.
    let d = driver("[bindings]\n\"door:D-101\" = { table = \"office\" }\n");
    assert_eq!(d.desired(&p).objects.len(), 1);
}

#[test]
fn a_binding_whose_shared_exception_sets_another_level_is_reported() {
    let d = driver(BINDINGS);
    let p = plan(vec![(
        Target::Door {
            door: "D-101".into(),
            level: DoorLevel::CardPin,
        },
        vec![w((9, 45), (11, 15))],
    )]);
    let desired = d.desired(&p);
    assert!(desired.objects.is_empty());
    assert!(
        desired.problems[0]
            .message
            .contains("does not set door D-101 to card_pin"),
        "{}",
        desired.problems[0]
    );
}

#[test]
fn overflow_is_reported_and_the_earliest_fit() {
    let d = driver(BINDINGS);
    let windows: Vec<Window> = (0..20)
        .map(|i| w((6 + i / 2, (i % 2) * 30), (6 + i / 2, (i % 2) * 30 + 10)))
        .collect();
    let p = plan(vec![(
        Target::Door {
            door: "D-101".into(),
            level: DoorLevel::Unlocked,
        },
        windows.clone(),
    )]);
    let desired = d.desired(&p);
    assert_eq!(
        desired.objects[&UnilockKey::SharedPeriods(12)],
        UnilockObject::Periods(windows[..16].to_vec())
    );
    assert_eq!(desired.problems[0].kind, ProblemKind::Overflow);
    assert!(
        desired.problems[0]
            .message
            .contains("needs 20 periods; UniLock holds 16"),
        "{}",
        desired.problems[0]
    );
}

#[test]
fn special_days_map_to_day_types() {
    let d = driver("");
    let day = Window::new(local(24, 0, 0), local(26, 0, 0)).unwrap();
    let p = plan(vec![
        (
            Target::Day {
                day: DayKind::Special("open_house".into()),
            },
            vec![day],
        ),
        (
            Target::Day {
                day: DayKind::Special("festdag".into()),
            },
            vec![day],
        ),
    ]);
    let desired = d.desired(&p);
    let dates: Vec<_> = desired.objects.keys().cloned().collect();
    assert_eq!(
        dates,
        vec![
            UnilockKey::SpecialDay(NaiveDate::from_ymd_opt(2026, 11, 24).unwrap()),
            UnilockKey::SpecialDay(NaiveDate::from_ymd_opt(2026, 11, 25).unwrap())
        ]
    );
    assert!(desired.problems[0].message.contains("festdag"));
}

fn opens(c: &EmbeddedUnilock, pin: &str, at: DateTime<Utc>) -> bool {
    let credential = Credential {
        pin: Some(Secret::new(pin)),
        card: None,
    };
    c.simulator()
        .opens(&OpensRequest {
            door: "D-101".into(),
            at,
            credential,
        })
        .unwrap()
        .opens
}

#[test]
fn reconcile_against_the_embedded_simulator_end_to_end() {
    let d = driver(BINDINGS);
    let mut c = EmbeddedUnilock::open(d.clone(), None).unwrap();
    let p = booking_plan();
    let report = reconcile(&mut c, &p, ReconcileOptions::at(p.at)).unwrap();
    assert_eq!(report.actions.len(), 2);
    let sim = c.simulator();
    assert_eq!(
        sim.door("D-101", local(23, 9, 50)).unwrap().value,
        Value::Level(DoorLevel::Unlocked)
    );
    assert_eq!(
        sim.door("D-101", local(23, 11, 15)).unwrap().value,
        Value::Level(DoorLevel::Card)
    );
    assert_eq!(
        sim.zone("Z-ADMIN", local(23, 9, 50)).unwrap().value,
        Value::Off
    );
    assert!(d.readiness(&p, sim.database()).is_empty());
    // Twice: nothing.
    assert!(
        reconcile(&mut c, &p, ReconcileOptions::at(p.at))
            .unwrap()
            .actions
            .is_empty()
    );
    // Cancelled: everything of klar's goes, an operator's period stays.
    c.simulator_mut()
        .write(&WriteRequest {
            at: p.at,
            write: Write::SetSharedPeriods {
                id: 12,
                owner: "op".into(),
                periods: vec![w((20, 0), (21, 0))],
            },
        })
        .unwrap();
    let empty = plan(vec![]);
    let report = reconcile(&mut c, &empty, ReconcileOptions::at(p.at)).unwrap();
    assert_eq!(report.actions.len(), 2);
    assert_eq!(
        c.simulator().door("D-101", local(23, 9, 50)).unwrap().value,
        Value::Level(DoorLevel::Card)
    );
    assert_eq!(
        c.simulator()
            .door("D-101", local(23, 20, 30))
            .unwrap()
            .value,
        Value::Level(DoorLevel::Unlocked)
    );
    assert!(!opens(&c, "4711", local(23, 10, 30)));
}

#[test]
fn readiness_names_what_is_out_of_step() {
    let d = driver(BINDINGS);
    let p = booking_plan();
    let mut c = EmbeddedUnilock::open(d.clone(), None).unwrap();
    reconcile(&mut c, &p, ReconcileOptions::at(p.at)).unwrap();
    let mut db = c.simulator().database().clone();
    db.shared_exceptions.get_mut(&12).unwrap()[0].window = w((9, 45), (11, 0));
    db.persons.get_mut("member:42").unwrap().validity = vec![w((10, 0), (12, 0))];
    let issues = d.readiness(&p, &db);
    assert_eq!(issues.len(), 3, "{issues:?}");
    assert!(issues.iter().all(|i| !i.contains("4711")));
    let mut db = c.simulator().database().clone();
    db.persons.get_mut("member:42").unwrap().memberships.clear();
    assert_eq!(
        d.readiness(&p, &db),
        vec!["person member:42 is not a member of Mødegæster as booked".to_owned()]
    );
}

#[test]
fn a_person_another_owner_holds_is_reported_blocked_and_left_alone() {
    let d = driver(BINDINGS);
    let mut c = EmbeddedUnilock::open(d, None).unwrap();
    let mut theirs = PersonRecord {
        name: "Mette (hand-made)".into(),
        pin: Some(Secret::new("9999")),
        cards: vec![],
        validity: vec![],
        memberships: vec![],
        owner: "adgangseditor".into(),
    };
    c.simulator_mut()
        .write(&WriteRequest {
            at: local(23, 6, 0),
            write: Write::PutPerson {
                id: "member:42".into(),
                person: theirs.clone(),
            },
        })
        .unwrap();
    let p = booking_plan();
    let report = reconcile(&mut c, &p, ReconcileOptions::at(p.at)).unwrap();
    assert_eq!(
        report.actions.len(),
        1,
        "only the shared exception: {:?}",
        report.actions
    );
    assert!(
        report
            .problems
            .iter()
            .any(|pr| pr.kind == ProblemKind::Blocked && pr.message.contains("person member:42")),
        "{:?}",
        report.problems
    );
    theirs.owner = "adgangseditor".into();
    assert_eq!(c.simulator().database().persons["member:42"], theirs);
}
