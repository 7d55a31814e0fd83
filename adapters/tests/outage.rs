//! A source and the snapshot guard through an outage of the fake WinKAS server, a malformed
//! answer and an empty-calendar glitch, in simulated time.

mod common;

use chrono::{DateTime, Duration, Utc};
use common::*;
use klar_adapters::fake::winkas::{FakeWinkas, FakeWinkasOptions};
use klar_adapters::fake::{FakeClock, FakeData, Fault};
use klar_adapters::sources::guard::{Health, Snapshot, SnapshotGuard, Verdict};
use klar_adapters::sources::{PollRequest, Source};
use klar_engine::model::{BookingStatus, Window};

const T0: &str = "2026-11-23T15:00:00Z";

struct Poller {
    src: Box<dyn Source>,
    guard: SnapshotGuard,
    last: Option<Snapshot>,
}

impl Poller {
    async fn poll(&mut self, now: DateTime<Utc>) -> Verdict {
        let req = PollRequest {
            now,
            window: Window::new(now, now + Duration::hours(24)).unwrap(),
        };
        let result = self.src.poll(req).await;
        let v = self
            .guard
            .accept(&"halls".into(), self.last.as_ref(), result.as_ref(), now);
        if let Some(s) = &v.store {
            self.last = Some(s.clone());
        }
        v
    }
}

fn live_at(v: &Verdict, at: DateTime<Utc>) -> Vec<String> {
    v.bookings
        .iter()
        .filter(|b| b.status != BookingStatus::Cancelled && b.start <= at && at < b.end)
        .map(|b| b.title.clone())
        .collect()
}

#[tokio::test]
async fn an_hour_long_outage_keeps_the_known_bookings_and_new_ones_arrive_after() {
    let t0 = utc(T0);
    let clock = FakeClock::fixed(t0);
    let mut fake = FakeWinkas::start(FakeWinkasOptions {
        clock: clock.clone(),
        empty: true,
        ..FakeWinkasOptions::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_password(dir.path(), &fake.credentials().1);
    let (user, _, code) = fake.credentials();
    let settings = format!(
        "url = '{}'\nusername = '{user}'\ncontract_code = '{code}'\npassword_file = 'password'",
        fake.base_url()
    );
    let mut p = Poller {
        src: build("winkas", "halls", &settings, dir.path(), &client()),
        guard: SnapshotGuard::default(),
        last: None,
    };
    for (title, from, to) in [
        ("Håndbold U12", 30, 90),
        ("Badminton", 120, 240),
        ("Floorball", 300, 400),
        ("Volleyball", 420, 500),
    ] {
        fake.add_booking(FakeData::booking(
            1,
            title,
            t0 + Duration::minutes(from),
            t0 + Duration::minutes(to),
        ));
    }
    let v = p.poll(t0).await;
    assert_eq!((v.health.clone(), v.bookings.len()), (Health::Healthy, 4));

    // Down for an hour: four polls fail; the known bookings stay in force throughout.
    fake.take_down().await;
    fake.add_booking(FakeData::booking(
        2,
        "Ny booking",
        t0 + Duration::minutes(150),
        t0 + Duration::minutes(210),
    ));
    for step in 1..=4 {
        let now = t0 + Duration::minutes(15 * step);
        clock.set(now);
        let v = p.poll(now).await;
        assert!(
            matches!(v.health, Health::Degraded { transient: true, as_of: Some(at), .. } if at == t0),
            "{:?}",
            v.health
        );
        assert_eq!(v.bookings.len(), 4);
        if step >= 2 {
            assert_eq!(live_at(&v, now), vec!["Håndbold U12"]);
        }
    }
    // Back up: the new booking arrives, the old ones are still there.
    fake.bring_up().await.unwrap();
    let now = t0 + Duration::minutes(75);
    clock.set(now);
    let v = p.poll(now).await;
    assert_eq!(v.health, Health::Healthy);
    assert_eq!(
        live_at(&v, t0 + Duration::minutes(160)),
        vec!["Badminton", "Ny booking"]
    );

    // A malformed answer: the snapshot stays.
    fake.push_fault(Fault::MalformedJson, 1);
    let v = p.poll(now).await;
    assert!(matches!(&v.health, Health::Degraded { error, .. } if error.contains("not JSON")));
    assert_eq!(v.bookings.len(), 5);

    // An empty calendar at once: held back, then confirmed by the next poll.
    fake.clear_bookings();
    let v = p.poll(now).await;
    assert!(
        matches!(&v.health, Health::HeldBack { vanished, of: 5 } if vanished.len() == 5),
        "{:?}",
        v.health
    );
    assert!(
        v.bookings
            .iter()
            .all(|b| b.status == BookingStatus::Confirmed)
    );
    let later = now + Duration::minutes(15);
    let v = p.poll(later).await;
    assert_eq!(v.health, Health::Healthy);
    // Every booking that had not ended is cancelled; one that ended meanwhile (Håndbold, at
    // 90 minutes) is not: it stays as it was until its after-margins could have ended.
    assert!(
        v.bookings
            .iter()
            .all(|b| (b.status == BookingStatus::Cancelled) == (b.end > later))
    );
    assert!(v.bookings.iter().any(|b| b.end <= later));
}
