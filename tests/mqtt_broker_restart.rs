//! A broker outage: mosquitto is killed and started again on the same port without
//! persistence, so every retained message is gone. The driver reconnects and republishes the
//! state that holds *now* (an edge passed during the outage), which a new subscriber sees.

mod common;
#[path = "common/mosquitto.rs"]
mod mosquitto;

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use klar_adapters::controllers::mqtt::{ManualClock, MqttConfig, MqttController, MqttRunner};
use klar_engine::plan::Target;
use mosquitto::{Mosquitto, Subscriber, plan_of};
use tokio::sync::watch;

fn t(h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, h, m, 0).unwrap()
}

/// The driver reconnects with a backoff of at most 5 s; allow for two attempts.
const RECONNECT: Duration = Duration::from_secs(15);

#[test]
fn after_a_broker_restart_the_state_that_holds_now_is_republished() {
    let mut broker = Mosquitto::start();
    let mut config = MqttConfig::for_url(broker.url());
    config.targets = vec!["output:*".into(), "zone:Z-HAL".into()];
    let settings = config.resolve(Path::new(".")).unwrap();
    let controller = MqttController::new(&settings, BTreeSet::new()).unwrap();
    let plan = plan_of(
        t(8, 0),
        &[
            (
                Target::Output {
                    output: "K-HAL-VENT".into(),
                },
                t(9, 0),
                t(11, 0),
                "w1",
            ),
            (
                Target::Zone {
                    zone: "Z-HAL".into(),
                },
                t(8, 45),
                t(11, 15),
                "w1",
            ),
        ],
    );
    let clock = ManualClock::new(t(8, 0));
    let (plans_tx, plans_rx) = watch::channel(Some(Arc::new(plan)));
    let rt = tokio::runtime::Runtime::new().unwrap();
    let runner = rt.spawn(MqttRunner::new(controller, clock.clone()).run(plans_rx));

    let vent = "klar/output/K-HAL-VENT/state";
    let zone = "klar/zone/Z-HAL/state";
    let mut before = Subscriber::connect(&broker, "klar/#");
    before.expect(vent, "off");
    before.expect(zone, "normal");
    before.expect("klar/klar/status", "online");
    drop(before);

    // The broker dies. While it is down, two edges pass.
    broker.stop();
    clock.set(t(9, 5));
    broker.restart();

    // Wait until klar has reconnected and republished (a live subscriber sees it)...
    let mut after = Subscriber::connect(&broker, "klar/#");
    after.wait_for(vent, RECONNECT, |s| s.payload == "on");
    after.wait_for(zone, RECONNECT, |s| s.payload == "disarmed");
    after.wait_for("klar/klar/status", RECONNECT, |s| s.payload == "online");

    // ...then a subscriber arriving later gets it from the broker's retained store: only
    // klar's republish can have put it there.
    let mut late = Subscriber::connect(&broker, "klar/#");
    let seen = late.expect(vent, "on");
    assert!(seen.retained, "the state must be retained: {seen:?}");
    let seen = late.expect(zone, "disarmed");
    assert!(seen.retained, "{seen:?}");
    let schedule = late.wait_for("klar/output/K-HAL-VENT/schedule", RECONNECT, |_| true);
    assert!(schedule.retained);
    assert!(
        schedule
            .payload
            .contains(r#""from":"2026-11-23T09:00:00Z""#),
        "{schedule:?}"
    );

    // And the next edge still fires after the outage.
    clock.set(t(11, 0));
    after.expect(vent, "off");
    assert_eq!(after.latest(zone).unwrap().payload, "disarmed");

    drop(plans_tx);
    rt.block_on(runner).unwrap();
}
