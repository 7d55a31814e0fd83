//! The controller tests' harness: a site with one room driving a UniLock installation, a native
//! "margins" rule pack (so these tests test the controller, not a rule runtime), bookings at
//! chosen local times, the embedded simulator with its state file, and `klar sim` processes.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use klar_adapters::controllers::unilock::protocol::{Credential, OpensRequest, Value};
use klar_adapters::controllers::unilock::{EmbeddedUnilock, UnilockSimulator, driver_for};
use klar_engine::model::{Booking, BookingStatus, DoorLevel, Effect, Person, Secret, Window};
use klar_engine::plan::{Plan, PlanInput, plan};
use klar_engine::reconcile::{Controller, CycleError, CycleReport, ReconcileOptions, sync_cycle};
use klar_engine::rules::{
    Decision, PackInfo, RuleError, RuleLocation, RuleRuntime, RuledEffect, RuntimeKind,
};
use klar_engine::site::SiteConfig;
use klar_engine::store::Store;

/// The site: room `halls:1` drives D-101 (through shared exception 12), zone Z-ADMIN (shared
/// exception 13) and the lights (a klar exception on their own table); its guests' group opens
/// D-101 and D-102.
pub const SITE: &str = r#"
[site]
name = "Testhallen"
time_zone = "Europe/Copenhagen"
horizon_hours = 48

[[sources]]
name = "halls"
kind = "local"

[rooms."halls:1"]
name = "Mødelokale 1"
doors = ["D-101"]
alarm_zone = "Z-ADMIN"
outputs = { lights = "K-101-LYS" }
person_groups = ["Mødegæster"]

[controller]
kind = "unilock-sim"

[controller.installation]
fictive_days = ["open_house"]

[controller.installation.tables.locked]
all = ["00:00 locked"]
[controller.installation.tables.office]
weekdays = ["00:00 locked", "07:00 card", "17:00 locked"]
weekend = ["00:00 locked"]
[controller.installation.tables.alarm]
all = ["00:00 armed"]
[controller.installation.tables.lights]
all = ["00:00 off"]

[controller.installation.doors."D-101"]
table = "locked"
[controller.installation.doors."D-102"]
table = "office"
[controller.installation.zones."Z-ADMIN"]
table = "alarm"
[controller.installation.outputs."K-101-LYS"]
table = "lights"
[controller.installation.groups."Mødegæster"]
doors = ["D-101", "D-102"]
[controller.installation.shared_exceptions.12]
name = "Mødelokale 1 dør"
doors = { "D-101" = "unlocked" }
[controller.installation.shared_exceptions.13]
name = "Administration alarm"
zones = ["Z-ADMIN"]

[controller.bindings]
"door:D-101" = { shared_exception = 12 }
"zone:Z-ADMIN" = { shared_exception = 13 }
"group:Mødegæster" = { person_group = "Mødegæster" }
"#;

/// The PIN of the bookings' responsible person.
pub const PIN: &str = "4711";
/// The person key klar uses for her.
pub const PERSON: &str = "halls:member:42";

/// A local time on Monday 23 November 2026 (Europe/Copenhagen, UTC+1).
pub fn local(h: u32, m: u32) -> DateTime<Utc> {
    chrono_tz::Europe::Copenhagen
        .with_ymd_and_hms(2026, 11, 23, h, m, 0)
        .unwrap()
        .with_timezone(&Utc)
}

/// A booking of room `halls:1` between two local times today, with Mette (PIN 4711) responsible.
pub fn booking(id: &str, start: (u32, u32), end: (u32, u32)) -> Booking {
    Booking {
        id: id.into(),
        source: "halls".into(),
        resource: "1".into(),
        resource_name: None,
        location: None,
        title: format!("Møde {id}"),
        start: local(start.0, start.1),
        end: local(end.0, end.1),
        setup_minutes: 0,
        teardown_minutes: 0,
        status: BookingStatus::Confirmed,
        responsible: Some(Person {
            name: "Mette Hansen".into(),
            member_no: Some("42".into()),
            pin: Some(Secret::new(PIN)),
            ..Person::default()
        }),
        attendees: vec![],
        tags: vec![],
        attrs: Default::default(),
    }
}

pub fn cancelled(mut b: Booking) -> Booking {
    b.status = BookingStatus::Cancelled;
    b
}

/// A native rule pack: doors unlocked, zone disarmed and lights on from 15 minutes before to
/// 15 minutes after; the responsible person in the room's groups for the booking itself.
pub struct Margins {
    info: PackInfo,
}

impl Margins {
    pub fn pack() -> Vec<Arc<dyn RuleRuntime>> {
        vec![Arc::new(Margins {
            info: PackInfo {
                name: "margins".into(),
                version: "1.0.0".into(),
                runtime: RuntimeKind::Rhai,
                dir: PathBuf::from("rules/margins"),
                settings: Default::default(),
            },
        })]
    }
}

fn rule(line: u32) -> RuleLocation {
    RuleLocation {
        file: "margins/rules/margins.rhai".into(),
        line,
        column: 5,
    }
}

impl RuleRuntime for Margins {
    fn pack(&self) -> &PackInfo {
        &self.info
    }
    fn decide(&self, batch: &[Decision<'_>]) -> Vec<Result<Vec<RuledEffect>, RuleError>> {
        batch
            .iter()
            .map(|d| {
                let b = d.booking;
                let margin = Window::new(
                    b.start - Duration::minutes(15),
                    b.end + Duration::minutes(15),
                )
                .expect("start < end");
                let mut out = Vec::new();
                for door in &d.room.doors {
                    out.push(RuledEffect {
                        effect: Effect::DoorMode {
                            door: door.clone(),
                            level: DoorLevel::Unlocked,
                            window: margin,
                        },
                        rule: rule(3),
                        core: Default::default(),
                    });
                }
                if let Some(zone) = &d.room.alarm_zone {
                    out.push(RuledEffect {
                        effect: Effect::Disarm {
                            zone: zone.clone(),
                            window: margin,
                        },
                        rule: rule(6),
                        core: Default::default(),
                    });
                }
                for output in d.room.outputs.values() {
                    out.push(RuledEffect {
                        effect: Effect::SwitchOn {
                            output: output.clone(),
                            window: margin,
                        },
                        rule: rule(9),
                        core: Default::default(),
                    });
                }
                if let Some(person) = b.responsible.as_ref().and_then(Person::key) {
                    let window = b.window().expect("validated");
                    out.push(RuledEffect {
                        effect: Effect::Grant {
                            person,
                            groups: d.room.person_groups.clone(),
                            window,
                        },
                        rule: rule(12),
                        core: Default::default(),
                    });
                }
                Ok(out)
            })
            .collect()
    }
}

/// A scratch site: the config written into a temporary folder, with its store beside it.
pub struct Site {
    pub dir: tempfile::TempDir,
    pub config: SiteConfig,
}

impl Site {
    pub fn new() -> Site {
        Site::with(SITE)
    }

    pub fn with(text: &str) -> Site {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("site.toml");
        std::fs::write(&path, text).expect("write site.toml");
        let config = SiteConfig::load(&path).expect("the test site config is valid");
        Site { dir, config }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn config_path(&self) -> PathBuf {
        self.path("site.toml")
    }

    pub fn plan(&self, bookings: &[Booking], at: DateTime<Utc>) -> Plan {
        plan(&PlanInput {
            bookings,
            packs: &Margins::pack(),
            site: &self.config,
            now: at,
        })
    }

    pub fn store(&self) -> Store {
        Store::open(&self.path("klar.db")).expect("open the store")
    }

    /// The embedded simulator, its database in `klar.unilock-sim.json` beside the store.
    pub fn embedded(&self) -> EmbeddedUnilock {
        let (_, driver) = driver_for(&self.config).expect("controller config");
        EmbeddedUnilock::open(driver, Some(self.path("klar.unilock-sim.json")))
            .expect("open the simulator")
    }

    /// One sync cycle of `controller` with these bookings at `at`.
    pub fn sync<C: Controller + ?Sized>(
        &self,
        controller: &mut C,
        bookings: &[Booking],
        at: DateTime<Utc>,
    ) -> Result<CycleReport<C::Key, C::Object>, CycleError> {
        let plan = self.plan(bookings, at);
        sync_cycle(
            controller,
            &plan,
            &mut self.store(),
            ReconcileOptions::at(at),
        )
    }
}

/// A door's level on a simulator.
pub fn level(sim: &UnilockSimulator, door: &str, at: DateTime<Utc>) -> DoorLevel {
    match sim.door(door, at).expect("a known door").value {
        Value::Level(l) => l,
        other => panic!("door {door} has value {other}"),
    }
}

/// Whether a PIN opens a door on a simulator.
pub fn pin_opens(sim: &UnilockSimulator, door: &str, pin: &str, at: DateTime<Utc>) -> bool {
    let credential = Credential {
        pin: Some(Secret::new(pin)),
        card: None,
    };
    sim.opens(&OpensRequest {
        door: door.into(),
        at,
        credential,
    })
    .expect("a known door")
    .opens
}

/// A `klar sim` process on loopback; killed when dropped.
pub struct SimProcess {
    pub child: Child,
    pub url: String,
}

impl SimProcess {
    /// Starts `klar sim` and waits for its "listening on" line (no sleeping: it is printed once
    /// the socket is bound).
    pub fn start(config: &Path, port: u16, state_file: &Path) -> SimProcess {
        let mut child = Command::new(env!("CARGO_BIN_EXE_klar"))
            .args(["sim", "--config"])
            .arg(config)
            .args(["--port", &port.to_string(), "--state-file"])
            .arg(state_file)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start klar sim");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read klar sim's first line");
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("klar sim said {line:?}"))
            .to_owned();
        SimProcess { child, url }
    }

    pub fn stop(mut self) {
        self.kill();
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// A door's level as the server answers it.
    pub fn level(&self, door: &str, at: DateTime<Utc>) -> String {
        let url = format!(
            "{}/v1/doors/{door}?at={}",
            self.url,
            at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        );
        let v: serde_json::Value = reqwest::blocking::get(url)
            .expect("query the simulator")
            .json()
            .expect("json");
        v["value"].as_str().expect("a value").to_owned()
    }

    /// Whether a PIN opens a door, as the server answers it.
    pub fn pin_opens(&self, door: &str, pin: &str, at: DateTime<Utc>) -> bool {
        let body = serde_json::json!({"door": door, "at": at, "pin": pin});
        let v: serde_json::Value = reqwest::blocking::Client::new()
            .post(format!("{}/v1/opens", self.url))
            .json(&body)
            .send()
            .expect("query")
            .json()
            .expect("json");
        v["opens"].as_bool().expect("opens")
    }
}

impl Drop for SimProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The site config pointing at an HTTP controller on this port.
pub fn http_site(port: u16, timeout_ms: u64) -> String {
    SITE.replace(
        "[controller]\nkind = \"unilock-sim\"",
        &format!("[controller]\nkind = \"unilock-http\"\nurl = \"http://127.0.0.1:{port}\"\ntimeout_ms = {timeout_ms}"),
    )
}
