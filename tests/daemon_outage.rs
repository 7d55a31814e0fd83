//! A restart during a vendor outage: `klar run` loads the last good snapshot from the store, so
//! the known booking stays in force (its door still opens) although every poll fails; when the
//! vendor is back, a cancellation made meanwhile reaches the doors.

mod daemon_common;

use chrono::Utc;
use daemon_common::{Daemon, door_at, site, wait_for};
use klar_adapters::fake::FakeData;
use klar_adapters::fake::winkas::{FakeWinkas, FakeWinkasOptions};
use klar_engine::model::DoorLevel;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_during_an_outage_keeps_the_known_bookings() {
    let mut fake = FakeWinkas::start(FakeWinkasOptions {
        empty: true,
        ..FakeWinkasOptions::default()
    })
    .await
    .unwrap();
    let start = Utc::now() + chrono::Duration::minutes(90);
    let end = start + chrono::Duration::hours(1);
    let id = fake.add_booking(FakeData::booking(2, "Badminton", start, end));
    let s = site(&fake.base_url(), &fake.credentials().1);
    let config = &s.config;
    let during = start + chrono::Duration::minutes(10);

    let mut first = Daemon::start(config, "first.log");
    wait_for("the booking applied", &first, || {
        door_at(config, during) == Some(DoorLevel::Unlocked)
    });
    assert!(first.terminate().success());

    // The vendor goes down; klar restarts during the outage.
    fake.take_down().await;
    let mut second = Daemon::start(config, "second.log");
    wait_for("a failed poll and an applied plan", &second, || {
        let log = second.log();
        log.contains("Poll failed") && log.contains("Plan applied.")
    });
    // Every plan the restarted daemon applied still holds the booking from the store.
    assert_eq!(
        door_at(config, during),
        Some(DoorLevel::Unlocked),
        "{}",
        second.log()
    );
    assert!(second.log().contains("Last good snapshot loaded."));

    // Cancelled while klar could not see it; the vendor comes back; the door locks.
    fake.cancel_booking(id);
    fake.bring_up().await.unwrap();
    assert!(second.terminate().success());
    let third = Daemon::start(config, "third.log");
    wait_for("the cancellation applied", &third, || {
        door_at(config, during) == Some(DoorLevel::Locked)
    });
}
