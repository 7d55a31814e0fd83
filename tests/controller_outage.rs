//! The controller as its own process (`klar sim`): down during a sync, the next sync brings it
//! everything with nothing lost; a restart keeps its database; a controller that does not answer
//! times out instead of hanging.

mod common;
#[path = "common/controller.rs"]
mod controller;

use std::time::{Duration, Instant};

use controller::{PIN, SimProcess, Site, booking, http_site, local};
use klar_adapters::controllers::unilock::{HttpUnilock, driver_for};
use klar_engine::reconcile::{ControllerError, CycleError, ReconcileError};

fn http(site: &Site) -> HttpUnilock {
    let (config, driver) = driver_for(&site.config).unwrap();
    HttpUnilock::new(
        driver,
        config.url.as_deref().unwrap(),
        Duration::from_millis(config.timeout_ms),
    )
    .unwrap()
}

#[test]
fn a_controller_down_during_a_sync_gets_everything_at_the_next() {
    let port = common::free_port();
    let site = Site::with(&http_site(port, 2000));
    let state_file = site.path("sim-state.json");
    let bookings = [
        booking("B-1", (10, 0), (11, 0)),
        booking("B-2", (13, 0), (14, 0)),
    ];
    let mut c = http(&site);

    // Down: the cycle fails as transient and records nothing.
    let e = site.sync(&mut c, &bookings, local(8, 0)).unwrap_err();
    assert!(e.is_transient(), "{e}");
    assert!(
        matches!(
            e,
            CycleError::Reconcile(ReconcileError::Controller {
                source: ControllerError::Unreachable(_),
                ..
            })
        ),
        "{e}"
    );
    assert!(!e.to_string().contains(PIN));
    assert!(site.store().applied("unilock-http").unwrap().is_empty());

    // Up: everything arrives.
    let sim = SimProcess::start(&site.config_path(), port, &state_file);
    let cycle = site.sync(&mut c, &bookings, local(8, 5)).unwrap();
    assert_eq!(cycle.report.actions.len(), 4);
    assert_eq!(sim.level("D-101", local(9, 50)), "unlocked");
    assert_eq!(sim.level("D-101", local(11, 15)), "locked");
    assert_eq!(sim.level("D-101", local(13, 30)), "unlocked");
    assert!(sim.pin_opens("D-102", PIN, local(10, 30)));
    assert!(!sim.pin_opens("D-102", PIN, local(11, 30)));

    // Restarted: it kept its database, and klar has nothing to redo.
    sim.stop();
    let sim = SimProcess::start(&site.config_path(), port, &state_file);
    assert_eq!(sim.level("D-101", local(9, 50)), "unlocked");
    let again = site.sync(&mut c, &bookings, local(8, 10)).unwrap();
    assert!(
        again.report.actions.is_empty(),
        "{:?}",
        again.report.actions
    );
    let db = c.database().unwrap();
    let (_, driver) = driver_for(&site.config).unwrap();
    let plan = site.plan(&bookings, local(8, 10));
    assert!(driver.readiness(&plan, &db).is_empty());
}

#[test]
fn a_controller_that_does_not_answer_times_out() {
    // Accepts connections and never answers.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let site = Site::with(&http_site(port, 300));
    let mut c = http(&site);
    let started = Instant::now();
    let e = site
        .sync(&mut c, &[booking("B-1", (10, 0), (11, 0))], local(8, 0))
        .unwrap_err();
    assert!(
        matches!(
            e,
            CycleError::Reconcile(ReconcileError::Controller {
                source: ControllerError::Timeout(_),
                ..
            })
        ),
        "{e}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    drop(listener);
}

/// Bookings of 5 minutes every 45 minutes from 05:00: their margin windows do not touch.
fn short_bookings(n: u32) -> Vec<klar_engine::model::Booking> {
    (0..n)
        .map(|i| {
            let start = 300 + 45 * i;
            booking(
                &format!("B-{i}"),
                (start / 60, start % 60),
                ((start + 5) / 60, (start + 5) % 60),
            )
        })
        .collect()
}

#[test]
fn overflow_is_reported_and_the_earliest_fit() {
    let port = common::free_port();
    let site = Site::with(&http_site(port, 2000));
    let sim = SimProcess::start(&site.config_path(), port, &site.path("sim-state.json"));
    let mut c = http(&site);
    // 17 bookings: shared exception 12 holds 16 periods; the earliest 16 go, the overflow is said.
    let cycle = site.sync(&mut c, &short_bookings(17), local(4, 0)).unwrap();
    let problems: Vec<String> = cycle
        .report
        .problems
        .iter()
        .map(ToString::to_string)
        .collect();
    assert!(
        problems
            .iter()
            .any(|p| p.contains("shared exception 12 needs 17 periods; UniLock has room for 16")),
        "{problems:?}"
    );
    assert_eq!(sim.level("D-101", local(5, 0)), "unlocked");
    assert_eq!(sim.level("D-101", local(17, 0)), "locked", "the 17th waits");
}

#[test]
fn klar_fits_into_the_room_an_operator_leaves_and_a_refusal_crosses_the_wire() {
    let port = common::free_port();
    let site = Site::with(&http_site(port, 2000));
    let sim = SimProcess::start(&site.config_path(), port, &site.path("sim-state.json"));
    let mut c = http(&site);

    // An operator fills shared exception 12 with 10 periods of their own: 6 of klar's 8 fit
    // beside them, the earliest; the other 2 wait and are said.
    let periods: Vec<serde_json::Value> = (0..10)
        .map(|i| serde_json::json!({"from": local(20, i * 2), "to": local(20, i * 2 + 1)}))
        .collect();
    let write = serde_json::json!({"at": local(4, 0), "op": "set_shared_periods", "id": 12, "owner": "adgangseditor", "periods": periods});
    let response = reqwest::blocking::Client::new()
        .post(format!("{}/v1/write", sim.url))
        .json(&write)
        .send()
        .unwrap();
    assert!(
        response.status().is_success(),
        "{}",
        response.text().unwrap()
    );
    let cycle = site.sync(&mut c, &short_bookings(8), local(4, 0)).unwrap();
    assert!(
        cycle.report.failures.is_empty(),
        "{:?}",
        cycle.report.failures
    );
    assert!(
        cycle.report.problems.iter().any(|p| p
            .to_string()
            .contains("shared exception 12 needs 8 periods; UniLock has room for 6")),
        "{:?}",
        cycle.report.problems
    );
    assert_eq!(sim.level("D-101", local(5, 0)), "unlocked");
    assert_eq!(sim.level("D-101", local(10, 15)), "locked", "the 7th waits");

    // A write the controller refuses all the same (the operator added more in between) comes
    // back as a refusal naming the limit, not a silent drop.
    use klar_adapters::controllers::unilock::{UnilockKey, UnilockObject};
    use klar_engine::model::Window;
    use klar_engine::reconcile::{Action, Controller, ControllerError};
    let windows: Vec<Window> = (0..8)
        .map(|i| Window::new(local(6 + i, 0), local(6 + i, 30)).unwrap())
        .collect();
    let e = c
        .apply(
            &Action::Create {
                key: UnilockKey::SharedPeriods(12),
                object: UnilockObject::Periods(windows),
            },
            local(4, 0),
        )
        .unwrap_err();
    assert!(matches!(e, ControllerError::Rejected(_)), "{e}");
    assert!(!e.is_transient());
    assert!(
        e.to_string().contains(
            "shared exception 12 holds at most 16 periods; 18 asked (8 of klar:testhallen, 10 of others)"
        ),
        "{e}"
    );
}
