//! The controller (a `klar sim` process, spoken to over HTTP) dies in the middle of an apply,
//! after some of the cycle's writes got through, and comes back: the failed cycle is transient
//! and records nothing in the store, and the next one applies exactly what is missing. The end
//! state (the controller's database, every door, zone, output and person at chosen instants, the
//! store's applied windows and audit) is the same as an apply that was never interrupted, and a
//! further cycle changes nothing: nothing lost, nothing twice. Every cut is tried.

mod fault_common;

use std::time::Duration;

use chrono::{DateTime, Utc};
use fault_common::controller::{PIN, SimProcess, Site, booking, cancelled, http_site, local};
use fault_common::describe;
use klar_adapters::controllers::unilock::protocol::StateAt;
use klar_adapters::controllers::unilock::{HttpUnilock, UnilockKey, UnilockObject, driver_for};
use klar_engine::model::Booking;
use klar_engine::plan::Plan;
use klar_engine::reconcile::{
    Action, Controller, ControllerError, CycleError, Desired, Observed, ReconcileError,
};

fn first() -> Vec<Booking> {
    vec![
        booking("B-1", (10, 0), (11, 0)),
        booking("B-2", (13, 0), (14, 0)),
    ]
}

/// Everything changes: B-1 cancelled, B-2 moved, B-3 new.
fn second() -> Vec<Booking> {
    vec![
        cancelled(booking("B-1", (10, 0), (11, 0))),
        booking("B-2", (13, 30), (15, 0)),
        booking("B-3", (16, 0), (17, 0)),
    ]
}

fn http(site: &Site) -> HttpUnilock {
    let (config, driver) = driver_for(&site.config).expect("controller config");
    HttpUnilock::new(
        driver,
        config.url.as_deref().expect("a url"),
        Duration::from_millis(config.timeout_ms),
    )
    .expect("an HTTP controller")
}

/// The HTTP controller, whose server process is killed just before write number `cut` of the
/// cycle (counting from 0): the writes before it went through, the rest meet a closed port.
struct DiesAt {
    inner: HttpUnilock,
    left: usize,
    sim: Option<SimProcess>,
}

impl Controller for DiesAt {
    type Key = UnilockKey;
    type Object = UnilockObject;
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn desired(
        &self,
        plan: &Plan,
        observed: &Observed<UnilockKey, UnilockObject>,
    ) -> Desired<UnilockKey, UnilockObject> {
        self.inner.desired(plan, observed)
    }
    fn realized(
        &self,
        plan: &Plan,
        observed: &Observed<UnilockKey, UnilockObject>,
    ) -> std::collections::BTreeMap<klar_engine::plan::Target, Vec<klar_engine::model::Window>>
    {
        self.inner.realized(plan, observed)
    }
    fn narrows(&self, before: &UnilockObject, after: &UnilockObject) -> bool {
        self.inner.narrows(before, after)
    }
    fn observe(&mut self) -> Result<Observed<UnilockKey, UnilockObject>, ControllerError> {
        self.inner.observe()
    }
    fn apply(
        &mut self,
        action: &Action<UnilockKey, UnilockObject>,
        at: DateTime<Utc>,
    ) -> Result<(), ControllerError> {
        if self.left == 0 {
            if let Some(sim) = self.sim.take() {
                sim.stop();
            }
        } else {
            self.left -= 1;
        }
        self.inner.apply(action, at)
    }
}

/// What the server holds: its database and the state at each instant of the day that matters.
fn end_state(sim: &SimProcess) -> (serde_json::Value, Vec<String>) {
    let get = |path: String| -> reqwest::blocking::Response {
        reqwest::blocking::get(format!("{}{path}", sim.url)).expect("ask the simulator")
    };
    let db: serde_json::Value = get("/v1/database".into()).json().expect("the database");
    let states = [
        (9, 50),
        (10, 30),
        (13, 20),
        (13, 40),
        (14, 50),
        (15, 20),
        (16, 30),
    ]
    .into_iter()
    .map(|(h, m)| {
        let at = local(h, m).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let state: StateAt = get(format!("/v1/state?at={at}")).json().expect("a state");
        format!("{h:02}:{m:02} {}", describe(&state))
    })
    .collect();
    (db, states)
}

/// The store's applied windows and audit, without the audit's ids and instants.
fn store_lines(site: &Site) -> (String, Vec<String>) {
    let store = site.store();
    let applied = format!("{:?}", store.applied("unilock-http").expect("applied"));
    let audit = store
        .audit(1000)
        .expect("audit")
        .into_iter()
        .map(|a| {
            format!(
                "{} {} {} {:?} -> {:?}",
                a.reason.as_str(),
                a.target,
                a.booking,
                a.before,
                a.after
            )
        })
        .collect();
    (applied, audit)
}

fn start_sim(site: &Site, port: u16) -> SimProcess {
    SimProcess::start(&site.config_path(), port, &site.path("sim-state.json"))
}

fn new_site() -> (Site, u16) {
    let port = fault_common::free_port();
    (Site::with(&http_site(port, 2000)), port)
}

#[test]
fn a_controller_that_dies_mid_apply_converges_when_it_is_back() {
    // The reference: the same two cycles, never interrupted.
    let (reference, port) = new_site();
    let sim = start_sim(&reference, port);
    let mut c = http(&reference);
    reference
        .sync(&mut c, &first(), local(8, 0))
        .expect("first");
    let total = reference
        .sync(&mut c, &second(), local(8, 30))
        .expect("second")
        .report
        .actions
        .len();
    assert!(total >= 3, "{total}");
    let expected = end_state(&sim);
    let expected_store = store_lines(&reference);
    assert!(
        expected
            .1
            .iter()
            .any(|s| s.starts_with("16:30 D-101 unlocked")),
        "{:#?}",
        expected.1
    );
    drop(sim);

    for cut in 0..total {
        let (site, port) = new_site();
        let sim = start_sim(&site, port);
        site.sync(&mut http(&site), &first(), local(8, 0))
            .expect("first");
        let applied_before = store_lines(&site).0;

        let mut dying = DiesAt {
            inner: http(&site),
            left: cut,
            sim: Some(sim),
        };
        let e = site
            .sync(&mut dying, &second(), local(8, 30))
            .expect_err("the controller died");
        assert!(e.is_transient(), "cut {cut}: {e}");
        assert!(
            matches!(
                e,
                CycleError::Reconcile(ReconcileError::Controller {
                    source: ControllerError::Unreachable(_),
                    ..
                })
            ),
            "cut {cut}: {e}"
        );
        assert!(!e.to_string().contains(PIN), "cut {cut}: {e}");
        assert_eq!(
            store_lines(&site).0,
            applied_before,
            "cut {cut}: a failed cycle records nothing"
        );

        // Back, with the database it had when it died.
        let sim = start_sim(&site, port);
        let mut c = http(&site);
        let cycle = site
            .sync(&mut c, &second(), local(8, 30))
            .expect("recovery");
        assert_eq!(cycle.report.actions.len(), total - cut, "cut {cut}");
        assert_eq!(end_state(&sim), expected, "cut {cut}");
        assert_eq!(store_lines(&site), expected_store, "cut {cut}");
        let again = site.sync(&mut c, &second(), local(8, 30)).expect("again");
        assert!(
            again.report.actions.is_empty(),
            "cut {cut}: {:?}",
            again.report.actions
        );
    }
}
