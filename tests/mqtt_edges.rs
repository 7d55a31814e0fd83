//! MQTT at window edges: the scheduler, driven by an injected clock, changes the retained state
//! topics exactly at each edge, publishes schedules as JSON, and follows a changed plan.

mod common;
#[path = "common/mosquitto.rs"]
mod mosquitto;

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use klar_adapters::controllers::mqtt::{
    Kind, ManualClock, MqttConfig, MqttController, MqttRunner, MqttTarget,
};
use klar_engine::model::DoorLevel;
use klar_engine::plan::Target;
use mosquitto::{Mosquitto, Subscriber, plan_of};
use tokio::sync::watch;

fn t(h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, h, m, 0).unwrap()
}

fn output(id: &str) -> Target {
    Target::Output { output: id.into() }
}

fn door(id: &str, level: DoorLevel) -> Target {
    Target::Door {
        door: id.into(),
        level,
    }
}

#[test]
fn state_topics_change_at_window_edges_and_follow_a_new_plan() {
    let broker = Mosquitto::start();
    let mut config = MqttConfig::for_url(broker.url());
    config.prefix = "nbs/klar".into();
    config.targets = vec!["output:*".into(), "door:D-1*".into()];
    let settings = config.resolve(Path::new(".")).unwrap();
    // As the site's rooms would name them.
    let known: BTreeSet<MqttTarget> = [
        MqttTarget {
            kind: Kind::Output,
            id: "K-202-VENT".into(),
        },
        MqttTarget {
            kind: Kind::Door,
            id: "D-101".into(),
        },
    ]
    .into();
    let controller = MqttController::new(&settings, known).unwrap();

    let plan = plan_of(
        t(8, 0),
        &[
            (output("K-101/LYS"), t(9, 0), t(10, 0), "b1"),
            (door("D-101", DoorLevel::Unlocked), t(9, 30), t(11, 0), "b2"),
            // Not MQTT's: the filter owns outputs and doors D-1*.
            (door("D-201", DoorLevel::Unlocked), t(9, 0), t(10, 0), "b3"),
            (
                Target::Zone {
                    zone: "Z-HAL".into(),
                },
                t(9, 0),
                t(10, 0),
                "b1",
            ),
        ],
    );
    let mut sub = Subscriber::connect(&broker, "nbs/klar/#");
    let clock = ManualClock::new(t(8, 0));
    let (plans_tx, plans_rx) = watch::channel(Some(Arc::new(plan.clone())));
    let rt = tokio::runtime::Runtime::new().unwrap();
    let runner = rt.spawn(MqttRunner::new(controller, clock.clone()).run(plans_rx));

    let light = "nbs/klar/output/K-101%2FLYS/state";
    let vent = "nbs/klar/output/K-202-VENT/state";
    let d101 = "nbs/klar/door/D-101/state";

    // 08:00: nothing is on yet; a known output without windows says off.
    sub.expect(light, "off");
    sub.expect(vent, "off");
    sub.expect(d101, "normal");
    let schedule = sub.wait_for(
        "nbs/klar/door/D-101/schedule",
        std::time::Duration::from_secs(10),
        |_| true,
    );
    let doc: serde_json::Value = serde_json::from_str(&schedule.payload).unwrap();
    assert_eq!(doc["kind"], "door");
    assert_eq!(doc["id"], "D-101");
    assert_eq!(doc["normal"], "normal");
    assert_eq!(doc["until"], "2026-11-25T08:00:00Z");
    assert_eq!(
        doc["windows"],
        serde_json::json!([{
            "from": "2026-11-23T09:30:00Z",
            "to": "2026-11-23T11:00:00Z",
            "state": "unlocked",
            "bookings": ["planner:b2"],
        }])
    );
    assert!(!schedule.payload.contains("Jens"), "{}", schedule.payload);

    // 09:00: the light goes on; the door's window has not begun.
    clock.set(t(9, 0));
    sub.expect(light, "on");
    assert_eq!(sub.latest(d101).unwrap().payload, "normal");

    // 09:30: the door unlocks; the light stays on.
    clock.set(t(9, 30));
    sub.expect(d101, "unlocked");
    assert_eq!(sub.latest(light).unwrap().payload, "on");

    // 10:00: the light's window ends (half-open: off at exactly 10:00).
    clock.set(t(10, 0));
    sub.expect(light, "off");
    assert_eq!(sub.latest(d101).unwrap().payload, "unlocked");

    // 10:15: booking b2 is cancelled; the new plan returns the door to normal at once and its
    // schedule is empty.
    clock.set(t(10, 15));
    let cancelled = plan_of(
        t(10, 15),
        &[(output("K-101/LYS"), t(13, 0), t(14, 0), "b4")],
    );
    plans_tx.send_replace(Some(Arc::new(cancelled)));
    sub.expect(d101, "normal");
    let empty = sub.wait_for(
        "nbs/klar/door/D-101/schedule",
        std::time::Duration::from_secs(10),
        |s| s.payload.contains(r#""windows":[]"#),
    );
    assert!(empty.payload.contains(r#""until":"2026-11-25T10:15:00Z""#));

    // 13:00: the new window starts.
    clock.set(t(13, 0));
    sub.expect(light, "on");

    // Nothing outside the filter reached the broker.
    sub.drain();
    for seen in &sub.seen {
        assert!(
            !seen.topic.contains("/zone/") && !seen.topic.contains("D-201"),
            "{seen:?}"
        );
    }

    drop(plans_tx);
    let controller = rt.block_on(runner).unwrap();
    assert!(controller.is_connected());
}
