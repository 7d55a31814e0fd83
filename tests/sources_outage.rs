//! The fake WinKAS server goes down for an hour of simulated time: the doors still open and
//! close for the bookings known before the outage (the snapshot guard keeps them in force), and
//! a booking made during the outage arrives after it recovers. Source, guard, planner and the
//! embedded UniLock simulator, with time injected everywhere.

#[path = "common/controller.rs"]
mod controller;

use chrono::{DateTime, Duration, Utc};
use controller::{Site, level, local};
use klar_adapters::fake::winkas::{FakeWinkas, FakeWinkasOptions};
use klar_adapters::fake::{FakeClock, FakeData};
use klar_adapters::http::{HttpClient, HttpConfig};
use klar_adapters::sources::guard::{Health, Snapshot, SnapshotGuard};
use klar_adapters::sources::{self, BuildContext, PollRequest, Source};
use klar_engine::model::{Booking, DoorLevel, Window};
use klar_engine::site::SourceConfig;

struct Poller {
    source: Box<dyn Source>,
    guard: SnapshotGuard,
    last: Option<Snapshot>,
}

impl Poller {
    /// One poll of the next 24 hours; returns the bookings in force and the source's health.
    async fn poll(&mut self, now: DateTime<Utc>) -> (Vec<Booking>, Health) {
        let window = Window::new(now, now + Duration::hours(24)).unwrap();
        let result = self.source.poll(PollRequest { now, window }).await;
        let v = self
            .guard
            .accept(&"halls".into(), self.last.as_ref(), result.as_ref(), now);
        if let Some(s) = v.store {
            self.last = Some(s);
        }
        (v.bookings, v.health)
    }
}

#[tokio::test]
async fn an_hour_of_outage_keeps_doors_working_and_new_bookings_arrive_after() {
    let t0 = local(9, 0);
    let clock = FakeClock::fixed(t0);
    let mut fake = FakeWinkas::start(FakeWinkasOptions {
        clock: clock.clone(),
        empty: true,
        ..FakeWinkasOptions::default()
    })
    .await
    .unwrap();
    // Room "halls:1" is WinKAS resource 1; its door D-101 opens 15 minutes either side.
    fake.add_booking(FakeData::booking(
        1,
        "Håndbold U12",
        local(10, 0),
        local(11, 0),
    ));
    fake.add_booking(FakeData::booking(
        1,
        "Badminton",
        local(12, 0),
        local(13, 0),
    ));

    let site = Site::new();
    let (user, password, code) = fake.credentials();
    std::fs::write(site.path("winkas.pw"), &password).unwrap();
    let settings: toml::Table = toml::from_str(&format!(
        "url = '{}'\nusername = '{user}'\ncontract_code = '{code}'\npassword_file = 'winkas.pw'",
        fake.base_url()
    ))
    .unwrap();
    let ctx = BuildContext {
        http: HttpClient::new(HttpConfig::for_tests()).unwrap(),
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
    .unwrap();
    let mut poller = Poller {
        source,
        guard: SnapshotGuard::default(),
        last: None,
    };
    let mut controller = site.embedded();

    let (bookings, health) = poller.poll(t0).await;
    assert_eq!((health, bookings.len()), (Health::Healthy, 2));
    site.sync(&mut controller, &bookings, t0).unwrap();
    assert_eq!(
        level(controller.simulator(), "D-101", local(9, 50)),
        DoorLevel::Unlocked
    );

    // Down from 09:05 to 10:05; a booking is made in WinKAS meanwhile.
    fake.take_down().await;
    fake.add_booking(FakeData::booking(
        1,
        "Floorball",
        local(14, 0),
        local(15, 0),
    ));
    for minutes in [15, 30, 45, 60] {
        let now = t0 + Duration::minutes(minutes);
        clock.set(now);
        let (bookings, health) = poller.poll(now).await;
        assert!(
            matches!(
                health,
                Health::Degraded {
                    transient: true,
                    ..
                }
            ),
            "{health:?}"
        );
        site.sync(&mut controller, &bookings, now).unwrap();
        let sim = controller.simulator();
        // The known bookings' windows stay: open 09:45-11:15 and 11:45-13:15, locked between.
        assert_eq!(
            level(sim, "D-101", local(10, 30)),
            DoorLevel::Unlocked,
            "at +{minutes} min"
        );
        assert_eq!(level(sim, "D-101", local(11, 30)), DoorLevel::Locked);
        assert_eq!(level(sim, "D-101", local(12, 30)), DoorLevel::Unlocked);
        assert_eq!(
            level(sim, "D-101", local(14, 30)),
            DoorLevel::Locked,
            "not known yet"
        );
    }

    // Back at 10:05: the new booking arrives, the known ones stay.
    fake.bring_up().await.unwrap();
    let now = t0 + Duration::minutes(65);
    clock.set(now);
    let (bookings, health) = poller.poll(now).await;
    assert_eq!(health, Health::Healthy);
    site.sync(&mut controller, &bookings, now).unwrap();
    let sim = controller.simulator();
    assert_eq!(level(sim, "D-101", local(10, 30)), DoorLevel::Unlocked);
    assert_eq!(level(sim, "D-101", local(12, 30)), DoorLevel::Unlocked);
    assert_eq!(level(sim, "D-101", local(14, 30)), DoorLevel::Unlocked);
    assert_eq!(level(sim, "D-101", local(15, 30)), DoorLevel::Locked);
}
