//! Freshness with injected time: the daemon's own schedule, poll, guard, plan and apply steps,
//! driven second by second on a manual clock against the fake WinKAS server (whose clock is
//! moved with it). No sleeps: simulated time only.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use klar_adapters::controllers::unilock::driver::load_database;
use klar_adapters::controllers::unilock::protocol::Value;
use klar_adapters::controllers::unilock::{UnilockSimulator, driver_for};
use klar_adapters::fake::winkas::{FakeWinkas, FakeWinkasOptions};
use klar_adapters::fake::{FakeClock, FakeData};
use klar_adapters::http::HttpConfig;
use klar_engine::model::DoorLevel;

use super::clock::ManualClock;
use super::core::{Core, Opened};

const SITE: &str = r#"
[site]
name = "Freshness"
[rules]
packs = ["@PACK@"]
[[sources]]
name = "halls"
kind = "winkas"
url = "@URL@"
username = "api-klar"
password_file = "winkas.password"
contract_code = "12345"
[rooms."halls:1"]
name = "Hal 1"
doors = ["D-HAL"]
[controller]
kind = "unilock-sim"
[controller.installation.tables.locked]
all = ["00:00 locked"]
[controller.installation.doors."D-HAL"]
table = "locked"
"#;

/// Monday 23 November 2026, 07:00 in Copenhagen.
fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-23T07:00:00+01:00")
        .expect("valid")
        .with_timezone(&Utc)
}

struct Rig {
    _dir: tempfile::TempDir,
    config: PathBuf,
    clock: ManualClock,
    fake_clock: FakeClock,
    fake: FakeWinkas,
}

async fn rig() -> Rig {
    let dir = tempfile::tempdir().expect("tempdir");
    let fake_clock = FakeClock::fixed(t0());
    let fake = FakeWinkas::start(FakeWinkasOptions {
        clock: fake_clock.clone(),
        empty: true,
        ..FakeWinkasOptions::default()
    })
    .await
    .expect("fake WinKAS starts");
    std::fs::write(dir.path().join("winkas.password"), fake.credentials().1).expect("write");
    let pack = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/margins");
    let config = dir.path().join("site.toml");
    std::fs::write(
        &config,
        SITE.replace("@PACK@", &pack.display().to_string())
            .replace("@URL@", &fake.base_url()),
    )
    .expect("write");
    Rig {
        _dir: dir,
        config,
        clock: ManualClock::new(t0()),
        fake_clock,
        fake,
    }
}

/// The door's level at `at` as the simulator's saved state says.
fn door_at(config: &Path, at: DateTime<Utc>) -> DoorLevel {
    let site = klar_engine::site::SiteConfig::load(config).expect("site");
    let (_, driver) = driver_for(&site).expect("driver");
    let db = load_database(&config.with_file_name("klar.unilock-sim.json")).expect("state");
    let sim = UnilockSimulator::with_database(driver.installation().clone(), db);
    match sim.door("D-HAL", at).expect("door").value {
        Value::Level(level) => level,
        other => panic!("a door has a level, not {other:?}"),
    }
}

/// Runs the daemon's steps from the clock's time for `seconds` simulated seconds, one second
/// at a time, as its tasks would: each due poll, then a plan and apply when bookings changed or
/// the reconcile tick came. Calls `event(second)` first each second. Returns the seconds at
/// which a plan was applied.
async fn drive(
    rig: &Rig,
    opened: &mut Opened,
    seconds: i64,
    mut event: impl FnMut(i64),
    mut done: impl FnMut() -> bool,
) -> Option<i64> {
    let tick = opened.core.settings.reconcile_every_seconds as i64;
    let mut last_plan: Option<DateTime<Utc>> = None;
    let start = rig.clock_now();
    for s in 0..=seconds {
        let now = start + Duration::seconds(s);
        rig.clock.set(now);
        rig.fake_clock.set(now);
        event(s);
        let mut changed = false;
        for poller in &mut opened.pollers {
            while let Some(scope) = poller.schedule.due(now) {
                changed |= opened.core.poll(poller, scope).await;
            }
        }
        let due = last_plan.is_none_or(|t| now - t >= Duration::seconds(tick));
        if changed || due {
            let plan = opened.core.plan(now);
            let status = opened.core.apply(&mut opened.controller, &plan);
            assert_eq!(status.error, None);
            last_plan = Some(now);
            if done() {
                return Some(s);
            }
        }
    }
    None
}

impl Rig {
    fn clock_now(&self) -> DateTime<Utc> {
        use super::clock::Clock;
        self.clock.now()
    }
}

fn open(rig: &Rig) -> Opened {
    Core::open(
        &rig.config,
        Arc::new(rig.clock.clone()),
        HttpConfig::for_tests(),
    )
    .expect("opens")
}

#[tokio::test]
async fn a_new_booking_reaches_the_simulator_within_60_seconds() {
    let rig = rig().await;
    let mut opened = open(&rig);
    // Settle: the first full poll and a few near polls with nothing booked.
    drive(&rig, &mut opened, 200, |_| {}, || false).await;

    // Added at every offset within one near-poll period, the worst case included; each starts
    // half an hour after it is added (the doors open 15 minutes before).
    let mut worst = 0;
    for offset in 0..45 {
        let start = rig.clock_now() + Duration::minutes(30);
        let end = start + Duration::hours(1);
        assert_eq!(door_at(&rig.config, start), DoorLevel::Locked);
        let added_at = rig.clock_now() + Duration::seconds(offset);
        let config = rig.config.clone();
        let id = std::cell::Cell::new(0);
        let reached = drive(
            &rig,
            &mut opened,
            120,
            |s| {
                if s == offset {
                    let b = FakeData::booking(1, "Håndbold", start, end);
                    id.set(rig.fake.add_booking(b));
                }
            },
            || door_at(&config, start) == DoorLevel::Unlocked,
        )
        .await
        .expect("the booking reaches the simulator");
        let latency = rig.clock_now() - added_at;
        assert!(reached >= offset);
        worst = worst.max(latency.num_seconds());
        assert!(
            latency <= Duration::seconds(60),
            "added at +{offset}s, applied after {latency}"
        );
        // Cancel it again: the door locks within 60 s too.
        let cancelled_at = rig.clock_now();
        rig.fake.cancel_booking(id.get());
        drive(
            &rig,
            &mut opened,
            120,
            |_| {},
            || door_at(&config, start) == DoorLevel::Locked,
        )
        .await
        .expect("the cancellation reaches the simulator");
        assert!(rig.clock_now() - cancelled_at <= Duration::seconds(60));
    }
    assert!(
        worst >= 40,
        "the worst case is one near-poll period: {worst}s"
    );
}

#[tokio::test]
async fn the_vendor_sees_this_many_requests_per_hour() {
    let rig = rig().await;
    let mut opened = open(&rig);
    let before = rig.fake.counters().data_calls;
    drive(&rig, &mut opened, 3600 - 1, |_| {}, || false).await;
    let calls = rig.fake.counters().data_calls - before;
    // Per poll: GetAllResources + GetAllResourceEventsInTimePeriod. Per hour: 4 full polls
    // (every 15 min) and 76 near polls (every 45 s, the slot of a full poll taken by it).
    assert_eq!(calls, 2 * (4 + 76), "data calls in one hour");
}
