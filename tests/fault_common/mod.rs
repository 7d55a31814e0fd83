//! The fault suite's harness: the daemon's cycle (poll a source, judge the answer with the
//! snapshot guard, keep the last good snapshot in the store, plan, apply, read back) driven step
//! by step with injected time, against the fake WinKAS server and the embedded UniLock
//! simulator; and the installation's state at a chosen instant as one line of text.
//!
//! The site is `tests/common/controller.rs`'s: room `halls:1` (WinKAS resource 1) drives door
//! D-101 (shared exception 12), zone Z-ADMIN (shared exception 13), the lights K-101-LYS (a klar
//! exception on their own table), and its guests' group opens D-101 and D-102. The fake's
//! bookings are owned by member 1042 of source `halls`, so the person is `halls:member:1042`.
#![allow(dead_code)]

#[path = "../common/controller.rs"]
pub mod controller;

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use klar_adapters::controllers::unilock::EmbeddedUnilock;
use klar_adapters::controllers::unilock::protocol::StateAt;
use klar_adapters::fake::FakeClock;
use klar_adapters::fake::winkas::{FakeWinkas, FakeWinkasOptions};
use klar_adapters::http::{HttpClient, HttpConfig};
use klar_adapters::sources::guard::{Health, Snapshot, SnapshotGuard};
use klar_adapters::sources::{self, BuildContext, PollRequest, Source};
use klar_engine::model::{Booking, Window};
use klar_engine::plan::{Plan, PlanInput, plan};
use klar_engine::reconcile::{ReconcileOptions, sync_cycle};
use klar_engine::rules::RuleRuntime;
use klar_engine::site::SourceConfig;

#[allow(unused_imports)]
pub use controller::{Margins, Site, local};

/// The person the fake's bookings give access to.
pub const PERSON: &str = "halls:member:1042";

/// A free TCP port on loopback (for a `klar sim` that must come back on the same port).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

/// What one cycle did.
#[derive(Debug)]
pub struct Cycle {
    pub health: Health,
    /// The bookings in force after the poll.
    pub bookings: Vec<Booking>,
    pub plan: Plan,
    /// Actions applied to the controller.
    pub actions: usize,
}

/// The daemon's steps for one WinKAS source, on a manual clock.
pub struct Rig {
    pub site: Site,
    pub fake: FakeWinkas,
    pub clock: FakeClock,
    pub controller: EmbeddedUnilock,
    pub packs: Vec<Arc<dyn RuleRuntime>>,
    source: Box<dyn Source>,
    guard: SnapshotGuard,
    last: Option<Snapshot>,
}

impl Rig {
    /// An empty fake WinKAS server at `t0`, the site with the native margins pack.
    pub async fn start(t0: DateTime<Utc>) -> Rig {
        Rig::with_site(t0, Site::new(), Margins::pack()).await
    }

    /// The same rig on another site and packs (the site must bind `halls:<resource>` rooms).
    pub async fn with_site(t0: DateTime<Utc>, site: Site, packs: Vec<Arc<dyn RuleRuntime>>) -> Rig {
        let clock = FakeClock::fixed(t0);
        let fake = FakeWinkas::start(FakeWinkasOptions {
            clock: clock.clone(),
            empty: true,
            ..FakeWinkasOptions::default()
        })
        .await
        .expect("the fake WinKAS server starts");
        let (user, password, code) = fake.credentials();
        std::fs::write(site.path("winkas.pw"), &password).expect("write the password file");
        let settings: toml::Table = toml::from_str(&format!(
            "url = '{}'\nusername = '{user}'\ncontract_code = '{code}'\npassword_file = 'winkas.pw'",
            fake.base_url()
        ))
        .expect("the source settings parse");
        let ctx = BuildContext {
            http: HttpClient::new(HttpConfig::for_tests()).expect("an HTTP client"),
            base_dir: site.dir.path().to_owned(),
            time_zone: chrono_tz::Europe::Copenhagen,
        };
        let source = sources::build(
            &SourceConfig {
                name: "halls".into(),
                kind: "winkas".into(),
                settings,
            },
            &ctx,
        )
        .expect("the WinKAS source builds");
        let controller = site.embedded();
        Rig {
            site,
            fake,
            clock,
            controller,
            packs,
            source,
            guard: SnapshotGuard::default(),
            last: None,
        }
    }

    /// One cycle at `now`: poll the next 24 hours, judge the answer, save a good snapshot in
    /// the store, plan from the bookings in force and apply the plan.
    pub async fn cycle(&mut self, now: DateTime<Utc>) -> Cycle {
        self.clock.set(now);
        let window = Window::new(now, now + Duration::hours(24)).expect("a day is a window");
        let result = self.source.poll(PollRequest { now, window }).await;
        let verdict = self
            .guard
            .accept(&"halls".into(), self.last.as_ref(), result.as_ref(), now);
        let store = self.site.store();
        if let Some(snapshot) = verdict.store {
            store
                .save_snapshot(&snapshot.source, now, &snapshot.bookings)
                .expect("save the snapshot");
            self.last = Some(snapshot);
        }
        let plan = plan(&PlanInput {
            bookings: &verdict.bookings,
            packs: &self.packs,
            site: &self.site.config,
            now,
        });
        let cycle = sync_cycle(
            &mut self.controller,
            &plan,
            &mut self.site.store(),
            ReconcileOptions::at(now),
        )
        .expect("the embedded controller applies the plan");
        Cycle {
            health: verdict.health,
            bookings: verdict.bookings,
            plan,
            actions: cycle.report.actions.len(),
        }
    }

    /// What holds on the controller at `at`, as one line (see [`describe`]).
    pub fn state(&self, at: DateTime<Utc>) -> String {
        describe(&self.controller.simulator().state_at(at))
    }

    /// The ids of the bookings in the store's last good snapshot of `halls`, with their status.
    pub fn stored(&self) -> Vec<String> {
        stored_bookings(&self.site)
    }
}

/// The store's last good snapshot of `halls`: `title status` per booking, in start order.
pub fn stored_bookings(site: &Site) -> Vec<String> {
    site.store()
        .snapshot(&"halls".into())
        .expect("read the store")
        .map(|s| {
            s.bookings
                .iter()
                .map(|b| format!("{} {:?}", b.title, b.status).to_lowercase())
                .collect()
        })
        .unwrap_or_default()
}

/// One line: every door, zone (`armed`/`disarmed`), output and each person's doors, e.g.
/// `D-101 unlocked, D-102 card, Z-ADMIN disarmed, K-101-LYS on, halls:member:1042 opens D-101`.
/// A person's doors are those their own keys would open then (never a locked door, never one
/// that wants a key they do not have).
/// Persons who open nothing are left out.
pub fn describe(state: &StateAt) -> String {
    let mut parts: Vec<String> = Vec::new();
    for d in &state.doors {
        parts.push(format!("{} {}", d.id, d.value));
    }
    for z in &state.zones {
        let v = match z.value.as_str() {
            "on" => "armed",
            "off" => "disarmed",
            other => other,
        };
        parts.push(format!("{} {v}", z.id));
    }
    for o in &state.outputs {
        parts.push(format!("{} {}", o.id, o.value));
    }
    for g in &state.grants {
        if g.valid && !g.doors.is_empty() {
            parts.push(format!("{} opens {}", g.person, g.doors.join(" ")));
        }
    }
    parts.join(", ")
}

/// The states of the test site at rest on a weekday between 07:00 and 17:00 (D-102 follows the
/// office table), and outside those hours.
pub const NORMAL_DAY: &str = "D-101 locked, D-102 card, Z-ADMIN armed, K-101-LYS off";
pub const NORMAL_NIGHT: &str = "D-101 locked, D-102 locked, Z-ADMIN armed, K-101-LYS off";
/// A booking of `halls:1` in its margins (15 min before and after), and during the booking
/// itself (the person's grant). WinKAS gives no PIN or card, so the person's keys open only what
/// is unlocked for everyone (D-102 at card level wants a key they do not have).
pub const MARGIN: &str = "D-101 unlocked, D-102 card, Z-ADMIN disarmed, K-101-LYS on";
pub const BOOKED: &str =
    "D-101 unlocked, D-102 card, Z-ADMIN disarmed, K-101-LYS on, halls:member:1042 opens D-101";

/// `state` outside office hours: D-102 locked by its office table (also all weekend).
pub fn night(state: &str) -> String {
    state.replace("D-102 card", "D-102 locked")
}
