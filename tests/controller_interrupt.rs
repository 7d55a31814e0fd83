//! klar killed in the middle of an apply: the next sync converges to the same end state as an
//! apply that was never interrupted, whatever the number of actions that got through.

mod common;
#[path = "common/controller.rs"]
mod controller;

use controller::{Site, booking, cancelled, local};
use klar_engine::reconcile::{ReconcileError, ReconcileOptions, reconcile};

#[test]
fn an_interrupted_apply_converges_at_the_next_sync() {
    let first = [
        booking("B-1", (10, 0), (11, 0)),
        booking("B-2", (13, 0), (14, 0)),
    ];
    // The second cycle changes everything: B-1 cancelled, B-2 moved, B-3 new.
    let second = [
        cancelled(booking("B-1", (10, 0), (11, 0))),
        booking("B-2", (13, 30), (15, 0)),
        booking("B-3", (16, 0), (17, 0)),
    ];

    let reference = Site::new();
    let mut c = reference.embedded();
    reference.sync(&mut c, &first, local(8, 0)).unwrap();
    let total = reference
        .sync(&mut c, &second, local(8, 30))
        .unwrap()
        .report
        .actions
        .len();
    assert!(total >= 3, "{total}");
    let end_state = std::fs::read_to_string(reference.path("klar.unilock-sim.json")).unwrap();

    for cut in 0..total {
        let site = Site::new();
        let mut c = site.embedded();
        site.sync(&mut c, &first, local(8, 0)).unwrap();
        let plan = site.plan(&second, local(8, 30));
        let e = reconcile(
            &mut c,
            &plan,
            ReconcileOptions {
                at: local(8, 30),
                stop_after: Some(cut),
            },
        )
        .unwrap_err();
        assert_eq!(
            e,
            ReconcileError::Interrupted {
                controller: "unilock-sim".into(),
                applied: cut
            }
        );
        drop(c); // killed: only the state file survives
        let mut restarted = site.embedded();
        let cycle = site.sync(&mut restarted, &second, local(8, 30)).unwrap();
        assert_eq!(cycle.report.actions.len(), total - cut, "cut after {cut}");
        assert_eq!(
            std::fs::read_to_string(site.path("klar.unilock-sim.json")).unwrap(),
            end_state,
            "cut after {cut}"
        );
        assert!(
            site.sync(&mut restarted, &second, local(8, 30))
                .unwrap()
                .report
                .actions
                .is_empty()
        );
    }
}
