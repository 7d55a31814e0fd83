//! A cancelled booking relocks the door at the next sync, and takes its PIN and alarm window
//! with it; an operator's own periods in the same shared exception stay.

mod common;
#[path = "common/controller.rs"]
mod controller;

use controller::{PIN, Site, booking, cancelled, level, local, pin_opens};
use klar_adapters::controllers::unilock::protocol::{Value, Write, WriteRequest};
use klar_engine::model::{DoorLevel, Window};
use klar_engine::reconcile::ChangeReason;

#[test]
fn cancelled_before_it_starts() {
    let site = Site::new();
    let mut c = site.embedded();
    site.sync(
        &mut c,
        &[
            booking("B-1", (10, 0), (11, 0)),
            booking("B-2", (13, 0), (14, 0)),
        ],
        local(8, 0),
    )
    .unwrap();
    // An operator's period in the same shared exception, which klar must leave alone.
    let evening = Window::new(local(19, 0), local(21, 0)).unwrap();
    c.simulator_mut()
        .write(&WriteRequest {
            at: local(8, 0),
            write: Write::SetSharedPeriods {
                id: 12,
                owner: "adgangseditor".into(),
                periods: vec![evening],
            },
        })
        .unwrap();
    assert_eq!(
        level(c.simulator(), "D-101", local(10, 30)),
        DoorLevel::Unlocked
    );

    let next = [
        cancelled(booking("B-1", (10, 0), (11, 0))),
        booking("B-2", (13, 0), (14, 0)),
    ];
    let cycle = site.sync(&mut c, &next, local(9, 0)).unwrap();
    assert!(!cycle.report.actions.is_empty());
    let sim = c.simulator();
    assert_eq!(level(sim, "D-101", local(9, 50)), DoorLevel::Locked);
    assert_eq!(level(sim, "D-101", local(10, 30)), DoorLevel::Locked);
    assert_eq!(sim.zone("Z-ADMIN", local(10, 30)).unwrap().value, Value::On);
    assert!(!pin_opens(sim, "D-102", PIN, local(10, 30)));
    // B-2 and the operator's evening are untouched.
    assert_eq!(level(sim, "D-101", local(13, 30)), DoorLevel::Unlocked);
    assert!(pin_opens(sim, "D-102", PIN, local(13, 30)));
    assert_eq!(level(sim, "D-101", local(20, 0)), DoorLevel::Unlocked);
    let audit = site.store().audit(100).unwrap();
    let cancelled: Vec<_> = audit
        .iter()
        .filter(|a| a.reason == ChangeReason::Cancelled)
        .collect();
    assert_eq!(cancelled.len(), 4, "{audit:?}");
    assert!(cancelled.iter().all(|a| a.booking == "B-1"));
}

#[test]
fn cancelled_while_it_runs_relocks_now() {
    let site = Site::new();
    let mut c = site.embedded();
    site.sync(&mut c, &[booking("B-1", (10, 0), (11, 0))], local(8, 0))
        .unwrap();
    assert_eq!(
        level(c.simulator(), "D-101", local(10, 31)),
        DoorLevel::Unlocked
    );
    site.sync(
        &mut c,
        &[cancelled(booking("B-1", (10, 0), (11, 0)))],
        local(10, 30),
    )
    .unwrap();
    assert_eq!(
        level(c.simulator(), "D-101", local(10, 31)),
        DoorLevel::Locked
    );
    assert!(!pin_opens(c.simulator(), "D-102", PIN, local(10, 31)));
    assert!(c.simulator().database().persons.is_empty());
    assert!(c.simulator().database().shared_exceptions.is_empty());
}
