//! A 10:00-11:00 booking with 15-minute margins: the door unlocks at 09:45 and locks at 11:15,
//! the alarm and lights follow, and the responsible person's PIN opens only within the booking.

mod common;
#[path = "common/controller.rs"]
mod controller;

use controller::{PERSON, PIN, Site, booking, level, local, pin_opens};
use klar_adapters::controllers::unilock::protocol::Value;
use klar_engine::model::DoorLevel;
use klar_engine::reconcile::ChangeReason;

#[test]
fn door_unlocked_at_0950_and_locked_again_at_1115() {
    let site = Site::new();
    let mut c = site.embedded();
    let bookings = [booking("B-1", (10, 0), (11, 0))];
    let cycle = site.sync(&mut c, &bookings, local(8, 0)).unwrap();
    assert!(
        cycle.report.problems.is_empty(),
        "{:?}",
        cycle.report.problems
    );
    let sim = c.simulator();
    assert_eq!(level(sim, "D-101", local(9, 44)), DoorLevel::Locked);
    assert_eq!(level(sim, "D-101", local(9, 45)), DoorLevel::Unlocked);
    assert_eq!(level(sim, "D-101", local(9, 50)), DoorLevel::Unlocked);
    assert_eq!(level(sim, "D-101", local(11, 14)), DoorLevel::Unlocked);
    assert_eq!(level(sim, "D-101", local(11, 15)), DoorLevel::Locked);
    assert_eq!(
        sim.zone("Z-ADMIN", local(9, 50)).unwrap().value,
        Value::Off,
        "disarmed"
    );
    assert_eq!(
        sim.zone("Z-ADMIN", local(11, 15)).unwrap().value,
        Value::On,
        "armed again"
    );
    assert_eq!(
        sim.output("K-101-LYS", local(9, 50)).unwrap().value,
        Value::On
    );
    assert_eq!(
        sim.output("K-101-LYS", local(11, 15)).unwrap().value,
        Value::Off
    );
    // Every change is in the audit log with booking, rule and pack version.
    let audit = site.store().audit(100).unwrap();
    assert_eq!(audit.len(), 4, "{audit:?}");
    assert!(audit.iter().all(|a| a.reason == ChangeReason::Created
        && a.booking == "B-1"
        && a.pack_version == "1.0.0"));
    assert!(
        audit.iter().any(
            |a| a.rule == "margins/rules/margins.rhai:3:5" && a.target == "door D-101 unlocked"
        )
    );
}

#[test]
fn the_pin_opens_during_the_booking_and_is_refused_after() {
    let site = Site::new();
    let mut c = site.embedded();
    site.sync(&mut c, &[booking("B-1", (10, 0), (11, 0))], local(8, 0))
        .unwrap();
    let sim = c.simulator();
    // D-102 is at card level in office hours: only a valid key opens it.
    assert_eq!(level(sim, "D-102", local(10, 30)), DoorLevel::Card);
    assert!(!pin_opens(sim, "D-102", PIN, local(9, 59)));
    assert!(pin_opens(sim, "D-102", PIN, local(10, 0)));
    assert!(pin_opens(sim, "D-102", PIN, local(10, 59)));
    assert!(!pin_opens(sim, "D-102", PIN, local(11, 0)));
    assert!(!pin_opens(sim, "D-102", PIN, local(12, 0)));
    assert!(!pin_opens(sim, "D-102", "1234", local(10, 30)));
    let grant = sim
        .grants(local(10, 30))
        .into_iter()
        .find(|g| g.person == PERSON)
        .unwrap();
    assert!(grant.pin_set);
    assert_eq!(grant.doors, vec!["D-101", "D-102"]);
}

#[test]
fn after_the_booking_the_next_sync_removes_klars_objects_as_expired() {
    let site = Site::new();
    let mut c = site.embedded();
    let bookings = [booking("B-1", (10, 0), (11, 0))];
    site.sync(&mut c, &bookings, local(8, 0)).unwrap();
    let cycle = site.sync(&mut c, &bookings, local(11, 30)).unwrap();
    assert_eq!(cycle.report.actions.len(), 4, "{:?}", cycle.report.actions);
    assert!(
        cycle
            .changes
            .iter()
            .all(|ch| ch.reason == ChangeReason::Ended),
        "{:?}",
        cycle.changes
    );
    let db = c.simulator().database();
    assert!(
        db.shared_exceptions.is_empty() && db.persons.is_empty() && db.table_exceptions.is_empty()
    );
    assert_eq!(
        level(c.simulator(), "D-101", local(11, 30)),
        DoorLevel::Locked
    );
}
