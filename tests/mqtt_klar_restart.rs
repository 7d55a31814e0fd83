//! klar restarts: a new driver instance, knowing nothing but the plan and the clock, reads what
//! the broker holds and publishes the state that holds now; it clears topics of targets that
//! are gone, puts back a state someone else overwrote, and a second cycle changes nothing.

mod common;
#[path = "common/mosquitto.rs"]
mod mosquitto;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use klar_adapters::controllers::mqtt::{
    Kind, MqttConfig, MqttController, MqttSettings, MqttTarget,
};
use klar_engine::plan::Target;
use mosquitto::{Mosquitto, Subscriber, plan_of};

fn t(h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, h, m, 0).unwrap()
}

fn output(id: &str) -> Target {
    Target::Output { output: id.into() }
}

fn known(ids: &[&str]) -> BTreeSet<MqttTarget> {
    ids.iter()
        .map(|id| MqttTarget {
            kind: Kind::Output,
            id: (*id).into(),
        })
        .collect()
}

fn settings(broker: &Mosquitto) -> MqttSettings {
    MqttConfig::for_url(broker.url())
        .resolve(Path::new("."))
        .unwrap()
}

const CONNECT: Duration = Duration::from_secs(10);

#[test]
fn a_new_instance_publishes_the_state_that_holds_now() {
    let broker = Mosquitto::start();
    let settings = settings(&broker);
    let plan = plan_of(
        t(8, 0),
        &[
            (output("K-101-LYS"), t(9, 0), t(10, 0), "b1"),
            (output("K-OLD"), t(9, 0), t(10, 0), "b1"),
        ],
    );

    // The first klar, at 08:00.
    let mut first = MqttController::new(&settings, known(&["K-101-LYS"])).unwrap();
    first.wait_connected(CONNECT).unwrap();
    let report = first.publish_plan(&plan, t(8, 0)).unwrap();
    assert_eq!(
        report.actions.len(),
        4,
        "two topics for each of two outputs"
    );
    // Applying the same plan again is a no-op.
    let again = first.publish_plan(&plan, t(8, 30)).unwrap();
    assert!(again.actions.is_empty(), "{:?}", again.actions);

    let mut watcher = Subscriber::connect(&broker, "klar/#");
    watcher.expect("klar/output/K-101-LYS/state", "off");
    watcher.expect("klar/output/K-OLD/state", "off");

    // klar stops; it says so on its status topic.
    drop(first);
    watcher.expect("klar/klar/status", "offline");

    // klar starts again at 09:15 with a plan in which K-OLD no longer exists.
    let plan = plan_of(t(9, 15), &[(output("K-101-LYS"), t(9, 0), t(10, 0), "b1")]);
    let mut second = MqttController::new(&settings, known(&["K-101-LYS"])).unwrap();
    second.wait_connected(CONNECT).unwrap();
    let report = second.publish_plan(&plan, t(9, 15)).unwrap();
    let verbs: Vec<String> = report
        .actions
        .iter()
        .map(|a| format!("{} {}", a.verb(), a.key()))
        .collect();
    assert_eq!(
        verbs,
        [
            "delete klar/output/K-OLD/schedule",
            "delete klar/output/K-OLD/state",
            // The new plan's horizon reaches further: the schedule's `until` moved.
            "update klar/output/K-101-LYS/schedule",
            "update klar/output/K-101-LYS/state",
        ]
    );

    // A new subscriber sees the retained state that holds now, and nothing of K-OLD.
    let mut fresh = Subscriber::connect(&broker, "klar/#");
    let on = fresh.expect("klar/output/K-101-LYS/state", "on");
    assert!(on.retained);
    fresh.expect("klar/klar/status", "online");
    fresh.drain();
    assert!(
        fresh.seen.iter().all(|s| !s.topic.contains("K-OLD")),
        "{:?}",
        fresh.seen
    );

    // Someone overwrites klar's state by hand; the next cycle puts it back.
    fresh.publish_retained("klar/output/K-101-LYS/state", "off");
    fresh.expect("klar/output/K-101-LYS/state", "off");
    let report = second.publish_plan(&plan, t(9, 20)).unwrap();
    assert_eq!(report.actions.len(), 1, "{:?}", report.actions);
    fresh.expect("klar/output/K-101-LYS/state", "on");
}

#[test]
fn a_long_schedule_is_published_whole() {
    let broker = Mosquitto::start();
    let mut controller = MqttController::new(&settings(&broker), BTreeSet::new()).unwrap();
    controller.wait_connected(CONNECT).unwrap();
    // A sports hall booked in 10-minute slots: 200 windows, about 20 KiB of JSON.
    let windows: Vec<_> = (0..200)
        .map(|i| {
            let from = t(8, 0) + chrono::Duration::minutes(10 * i);
            let to = from + chrono::Duration::minutes(5);
            (output("K-HAL-LYS"), from, to, "slot")
        })
        .collect();
    let plan = plan_of(t(8, 0), &windows);
    controller.publish_plan(&plan, t(8, 1)).unwrap();
    let mut sub = Subscriber::connect(&broker, "klar/#");
    let schedule = sub.wait_for("klar/output/K-HAL-LYS/schedule", CONNECT, |_| true);
    assert!(
        schedule.payload.len() > 10 * 1024,
        "{}",
        schedule.payload.len()
    );
    let doc: serde_json::Value = serde_json::from_str(&schedule.payload).unwrap();
    assert_eq!(doc["windows"].as_array().unwrap().len(), 200);
    assert!(sub.expect("klar/output/K-HAL-LYS/state", "on").retained);
}
