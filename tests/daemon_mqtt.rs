//! `klar run` with a second controller: with `[mqtt] targets = ["door:*"]` the doors' windows go
//! to a real mosquitto broker as retained schedules, UniLock gets the rest (so the door's table
//! there stays untouched), and a rule edit reaches the broker too.

mod common;
mod daemon_common;
#[path = "common/mosquitto.rs"]
mod mosquitto;

use std::time::Duration;

use chrono::Utc;
use daemon_common::{Daemon, door_at, rule, site_with, wait_for};
use klar_adapters::fake::FakeData;
use klar_adapters::fake::winkas::{FakeWinkas, FakeWinkasOptions};
use klar_engine::model::DoorLevel;
use mosquitto::{Mosquitto, Subscriber};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doors_owned_by_mqtt_are_published_there_and_follow_a_rule_edit() {
    let broker = Mosquitto::start();
    let fake = FakeWinkas::start(FakeWinkasOptions {
        empty: true,
        ..FakeWinkasOptions::default()
    })
    .await
    .unwrap();
    let start = Utc::now() + chrono::Duration::minutes(90);
    let end = start + chrono::Duration::hours(1);
    fake.add_booking(FakeData::booking(2, "Badminton", start, end));
    let mqtt = format!(
        "[mqtt]\nurl = \"{}\"\nprefix = \"test/klar\"\ntargets = [\"door:*\"]\n",
        broker.url()
    );
    let s = site_with(&fake.base_url(), &fake.credentials().1, &mqtt);
    let mut subscriber = Subscriber::connect(&broker, "test/klar/#");
    let mut daemon = Daemon::start(&s.config, "klar.log");
    let topic = "test/klar/door/D-HAL2/schedule";
    let rfc = |t: chrono::DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);

    let from15 = rfc(start - chrono::Duration::minutes(15));
    let seen = subscriber.wait_for(topic, Duration::from_secs(30), |m| {
        m.payload.contains(&from15)
    });
    assert!(seen.payload.contains("unlocked"), "{}", seen.payload);
    // UniLock was not asked for the door: MQTT owns it.
    wait_for("a plan applied to UniLock", &daemon, || {
        daemon.log().contains("Plan applied.")
    });
    assert_eq!(
        door_at(&s.config, start),
        Some(DoorLevel::Locked),
        "{}",
        daemon.log()
    );

    std::fs::write(&s.rule_file, rule(45)).unwrap();
    let from45 = rfc(start - chrono::Duration::minutes(45));
    subscriber.wait_for(topic, Duration::from_secs(30), |m| {
        m.payload.contains(&from45)
    });

    assert!(daemon.terminate().success(), "{}", daemon.log());
}
