//! The plan's persons: keys scoped by source, records that disagree kept apart, credentials only
//! from the bookings that grant, grants that cannot work reported.

use super::tests::{booking, margins, pack, run, utc};
use super::*;
use crate::model::{BookingStatus, GroupId, Person, PersonKey, Secret};

fn with_person(mut b: Booking, name: &str, member: &str, pin: Option<&str>) -> Booking {
    b.responsible = Some(Person {
        name: name.into(),
        member_no: Some(member.into()),
        pin: pin.map(Secret::new),
        ..Person::default()
    });
    b
}

fn member(person: &str) -> Target {
    Target::Membership {
        person: PersonKey::new(person),
        group: GroupId::new("Hal"),
    }
}

fn windows(p: &Plan, t: &Target) -> Vec<Window> {
    p.entry(t)
        .map(|e| e.windows.iter().map(|w| w.window).collect())
        .unwrap_or_default()
}

#[test]
fn a_person_is_keyed_by_the_source_that_names_them() {
    let p = run(
        &[booking("A", "1", utc(23, 9, 0), utc(23, 10, 0))],
        &pack(margins),
    );
    assert_eq!(windows(&p, &member("halls:member:42")).len(), 1);
    assert_eq!(
        PersonKey::in_source(&"halls".into(), &PersonKey::new("member:1042")).as_str(),
        "halls:member:1042"
    );
}

#[test]
fn two_people_under_one_member_number_are_kept_apart() {
    // Mette (W-10, Monday) and Karl (W-11, Tuesday) of two clubs, both member 1042.
    let mette = with_person(
        booking("W-10", "1", utc(23, 16, 0), utc(23, 17, 0)),
        "Mette Hansen",
        "1042",
        Some("4711"),
    );
    let karl = with_person(
        booking("W-11", "1", utc(24, 9, 0), utc(24, 10, 0)),
        "Karl Jensen",
        "1042",
        Some("8080"),
    );
    for input in [vec![mette.clone(), karl.clone()], vec![karl, mette]] {
        let p = run(&input, &pack(margins));
        assert!(
            p.entry(&member("halls:member:1042")).is_none(),
            "not merged"
        );
        let m = PersonKey::new("halls:member:1042#W-10");
        let k = PersonKey::new("halls:member:1042#W-11");
        assert_eq!(
            windows(&p, &member(m.as_str())),
            vec![Window::new(utc(23, 16, 0), utc(23, 17, 0)).unwrap()]
        );
        assert_eq!(
            windows(&p, &member(k.as_str())),
            vec![Window::new(utc(24, 9, 0), utc(24, 10, 0)).unwrap()]
        );
        assert_eq!(p.persons[&m].pin.as_ref().unwrap().expose(), "4711");
        assert_eq!(p.persons[&k].pin.as_ref().unwrap().expose(), "8080");
        assert_eq!(p.persons[&m].name, "Mette Hansen");
        let conflicts: Vec<&PlanWarning> = p
            .warnings
            .iter()
            .filter(|w| w.kind == WarningKind::PersonConflict)
            .collect();
        assert_eq!(conflicts.len(), 1, "{:?}", p.warnings);
        assert_eq!(conflicts[0].person.as_str(), "halls:member:1042");
        let text = serde_json::to_string(&p).unwrap();
        assert!(!text.contains("4711") && !text.contains("8080"), "{text}");
    }
}

#[test]
fn credentials_come_only_from_the_bookings_that_grant() {
    let granted = with_person(
        booking("A", "1", utc(23, 16, 0), utc(23, 17, 0)),
        "Mette Hansen",
        "1042",
        Some("4711"),
    );
    // Later in the input, under the same key: a cancelled booking, a rejected one, and a second
    // copy of A that starts later (the planner uses the first). None of their PINs may win.
    let mut cancelled = with_person(
        booking("B", "1", utc(24, 16, 0), utc(24, 17, 0)),
        "Mette Hansen",
        "1042",
        Some("9999"),
    );
    cancelled.status = BookingStatus::Cancelled;
    let rejected = with_person(
        booking("C", "1", utc(24, 18, 0), utc(24, 17, 0)),
        "Mette Hansen",
        "1042",
        Some("8888"),
    );
    let copy = with_person(
        booking("A", "1", utc(23, 18, 0), utc(23, 19, 0)),
        "Mette Hansen",
        "1042",
        Some("7777"),
    );
    let p = run(&[granted, cancelled, rejected, copy], &pack(margins));
    let key = PersonKey::new("halls:member:1042");
    assert_eq!(p.persons[&key].pin.as_ref().unwrap().expose(), "4711");
    assert!(
        p.warnings
            .iter()
            .all(|w| w.kind != WarningKind::PersonConflict),
        "{:?}",
        p.warnings
    );
}

#[test]
fn a_grant_without_pin_or_card_is_reported() {
    let nobody = with_person(
        booking("A", "1", utc(23, 16, 0), utc(23, 17, 0)),
        "Lise Mortensen",
        "7",
        None,
    );
    let p = run(&[nobody], &pack(margins));
    assert_eq!(p.warnings.len(), 1, "{:?}", p.warnings);
    assert_eq!(p.warnings[0].kind, WarningKind::NoCredentials);
    assert_eq!(p.warnings[0].person.as_str(), "halls:member:7");
    assert_eq!(p.warnings[0].bookings[0].id.as_str(), "A");
    let json = serde_json::to_value(&p).unwrap();
    assert_eq!(json["warnings"][0]["kind"], "no_credentials");
}
