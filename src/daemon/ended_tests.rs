//! A booking that ends is not a booking that was cancelled: the daemon's own poll, guard, plan
//! and apply steps, driven second by second on a manual clock, with a `local` source and the
//! school pack (the issue's live case). After 11:34 the after-margin of the door, the disarm,
//! the lights and the grant stay on the controller and go at their own ends, and the audit
//! calls nothing `cancelled`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use klar_adapters::controllers::unilock::driver::load_database;
use klar_adapters::controllers::unilock::protocol::{StateAt, Value};
use klar_adapters::controllers::unilock::{UnilockSimulator, driver_for};
use klar_adapters::http::HttpConfig;
use klar_engine::model::DoorLevel;

use super::clock::{Clock, ManualClock};
use super::core::{Core, Opened};

const SITE: &str = r#"
[site]
name = "Ended"
[rules]
packs = ["@PACK@"]
[[sources]]
name = "kalender"
kind = "local"
file = "calendar.toml"
[rooms."kalender:hal"]
name = "Hal"
doors = ["D-HAL"]
alarm_zone = "Z-HAL"
outputs = { lights = "K-LYS" }
person_groups = ["Hal-ansvarlige"]
[daemon]
near_every_seconds = 10
[controller]
kind = "unilock-sim"
[controller.installation.tables.locked]
all = ["00:00 locked"]
[controller.installation.doors."D-HAL"]
table = "locked"
[controller.installation.tables.armed]
all = ["00:00 armed"]
[controller.installation.zones."Z-HAL"]
table = "armed"
[controller.installation.tables.off]
all = ["00:00 off"]
[controller.installation.outputs."K-LYS"]
table = "off"
[controller.installation.groups."Hal-ansvarlige"]
doors = ["D-HAL"]
[controller.bindings]
"group:Hal-ansvarlige" = { person_group = "Hal-ansvarlige" }
"#;

/// Saturdays 11:20-11:34: a short meeting in the hall.
const CALENDAR: &str = r#"
[[standing]]
title = "Kort møde"
resource = "hal"
weekdays = ["lør"]
from = "11:20"
to = "11:34"
responsible = { name = "Mette Hansen", member_no = "1042" }
"#;

/// Saturday 28 November 2026 in Copenhagen.
fn local(h: u32, m: u32, s: u32) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(&format!("2026-11-28T{h:02}:{m:02}:{s:02}+01:00"))
        .expect("valid")
        .with_timezone(&Utc)
}

struct Rig {
    _dir: tempfile::TempDir,
    config: PathBuf,
    clock: ManualClock,
}

fn rig() -> Rig {
    let dir = tempfile::tempdir().expect("tempdir");
    let pack = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/school");
    let config = dir.path().join("site.toml");
    std::fs::write(&config, SITE.replace("@PACK@", &pack.display().to_string())).expect("write");
    std::fs::write(dir.path().join("calendar.toml"), CALENDAR).expect("write");
    Rig {
        _dir: dir,
        config,
        clock: ManualClock::new(local(11, 0, 0)),
    }
}

/// Everything the simulator's saved state holds at `at`.
fn state(config: &Path, at: DateTime<Utc>) -> StateAt {
    let site = klar_engine::site::SiteConfig::load(config).expect("site");
    let (_, driver) = driver_for(&site).expect("driver");
    let db = load_database(&config.with_file_name("klar.unilock-sim.json")).expect("state");
    UnilockSimulator::with_database(driver.installation().clone(), db).state_at(at)
}

/// The door's level, whether the zone is disarmed, the lights on and Mette's group valid.
fn summary(s: &StateAt) -> (DoorLevel, bool, bool, bool) {
    let level = match &s.doors[0].value {
        Value::Level(l) => *l,
        other => panic!("a door has a level, not {other:?}"),
    };
    // A zone is `Off` when disarmed; an output `On` when on.
    let disarmed = s.zones[0].value == Value::Off;
    let on = s.outputs[0].value == Value::On;
    let granted = s
        .grants
        .iter()
        .any(|g| g.groups.iter().any(|grp| grp == "Hal-ansvarlige"));
    (level, disarmed, on, granted)
}

/// The daemon's steps from the clock's time to `until`, one second at a time: each due poll,
/// then a plan and an apply when the bookings changed or a reconcile tick came.
async fn drive(rig: &Rig, opened: &mut Opened, until: DateTime<Utc>) {
    let tick = Duration::seconds(opened.core.settings.reconcile_every_seconds as i64);
    let mut last: Option<DateTime<Utc>> = None;
    let mut now = rig.clock.now();
    while now <= until {
        rig.clock.set(now);
        let mut changed = false;
        for poller in &mut opened.pollers {
            while let Some(scope) = poller.schedule.due(now) {
                changed |= opened.core.poll(poller, scope).await;
            }
        }
        if changed || last.is_none_or(|t| now - t >= tick) {
            let plan = opened.core.plan(now);
            let status = opened.core.apply(&mut opened.controller, &plan);
            assert_eq!(status.error, None);
            last = Some(now);
        }
        now += Duration::seconds(1);
    }
}

#[tokio::test]
async fn a_booking_that_ends_keeps_its_after_margins_and_nothing_is_cancelled() {
    let rig = rig();
    let mut opened = Core::open(
        &rig.config,
        Arc::new(rig.clock.clone()),
        HttpConfig::for_tests(),
    )
    .expect("opens");

    // Before and during the booking: the door at card + PIN (a Saturday), the zone disarmed,
    // the lights on, Mette's group valid.
    drive(&rig, &mut opened, local(11, 30, 0)).await;
    let during = summary(&state(&rig.config, local(11, 30, 0)));
    assert_eq!(during, (DoorLevel::CardPin, true, true, true));

    // Six seconds after the end (and well after: several near polls in which the source no
    // longer reports the booking), the booking is still in force as it was.
    drive(&rig, &mut opened, local(11, 36, 0)).await;
    // The controller holds the after-margins: lights until 11:39, door, alarm and group until
    // 11:49 (the school's margins: 5, 15, 15 and 15 minutes).
    let config = rig.config.clone();
    assert_eq!(
        summary(&state(&config, local(11, 34, 6))),
        (DoorLevel::CardPin, true, true, true)
    );
    assert_eq!(
        summary(&state(&config, local(11, 45, 0))),
        (DoorLevel::CardPin, true, false, true)
    );
    assert_eq!(
        summary(&state(&config, local(11, 49, 0))),
        (DoorLevel::Locked, false, false, false)
    );
    let bookings = opened.core.bookings();
    assert_eq!(bookings.len(), 1, "the ended booking stays in force");
    assert!(!bookings[0].is_cancelled());

    // After they have run out: the controller is back to normal, and the audit says each
    // window ended; nothing was cancelled.
    drive(&rig, &mut opened, local(11, 55, 0)).await;
    let audit = opened.core.with_store(|s| s.audit(100)).expect("the audit");
    let reasons: Vec<&str> = audit.iter().map(|a| a.reason.as_str()).collect();
    assert!(
        !reasons.contains(&"cancelled"),
        "nothing was cancelled: {reasons:?}"
    );
    assert!(reasons.contains(&"ended"), "{reasons:?}");
    assert_eq!(
        summary(&state(&config, local(11, 55, 0))),
        (DoorLevel::Locked, false, false, false)
    );
}
