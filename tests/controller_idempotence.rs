//! Applying the same plan twice changes nothing: no action, no audit entry, the same bytes in
//! the simulator's state file.

mod common;
#[path = "common/controller.rs"]
mod controller;

use controller::{Site, booking, local};

#[test]
fn the_same_plan_twice_is_a_no_op() {
    let site = Site::new();
    let bookings = [
        booking("B-1", (10, 0), (11, 0)),
        booking("B-2", (13, 0), (14, 0)),
    ];
    let mut c = site.embedded();
    let first = site.sync(&mut c, &bookings, local(8, 0)).unwrap();
    assert_eq!(
        first.report.actions.len(),
        4,
        "SE 12, SE 13, the lights' table, the person"
    );
    let state = std::fs::read(site.path("klar.unilock-sim.json")).unwrap();
    let audit = site.store().audit(100).unwrap().len();
    // Again, and again from a freshly opened controller (a new process).
    let second = site.sync(&mut c, &bookings, local(8, 0)).unwrap();
    assert!(
        second.report.actions.is_empty(),
        "{:?}",
        second.report.actions
    );
    assert!(second.changes.is_empty());
    let mut reopened = site.embedded();
    let third = site.sync(&mut reopened, &bookings, local(8, 5)).unwrap();
    assert!(
        third.report.actions.is_empty(),
        "{:?}",
        third.report.actions
    );
    assert_eq!(
        std::fs::read(site.path("klar.unilock-sim.json")).unwrap(),
        state
    );
    assert_eq!(site.store().audit(100).unwrap().len(), audit);
}
