//! Unit tests of the pure half: topics, payloads, the state at an instant, the next edge.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, TimeZone, Utc};
use klar_engine::model::{BookingId, DoorLevel, SourceName, Window};
use klar_engine::plan::{Plan, PlanEntry, PlannedWindow, Reason, Target};
use klar_engine::rules::RuleLocation;

use super::render::{self, escape_id, next_edge, parse_topic};
use super::*;

fn at(h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, h, m, 0).unwrap()
}

fn reason(booking: &str) -> Reason {
    Reason {
        source: SourceName::new("planner"),
        booking: BookingId::new(booking),
        title: "Bestyrelsesmøde hos Jens".into(),
        pack: "school".into(),
        pack_version: "1".into(),
        rule: RuleLocation {
            file: "doors.rhai".into(),
            line: 3,
            column: 1,
        },
        window: None,
    }
}

/// `(from, to, booking)`, hours and minutes.
type Span<'a> = ((u32, u32), (u32, u32), &'a str);

fn entry(target: Target, windows: &[Span<'_>]) -> PlanEntry {
    PlanEntry {
        target,
        windows: windows
            .iter()
            .map(|(a, b, booking)| PlannedWindow {
                window: Window::new(at(a.0, a.1), at(b.0, b.1)).unwrap(),
                reasons: vec![reason(booking)],
            })
            .collect(),
    }
}

fn plan() -> Plan {
    let mut p = Plan::empty(
        "Nørrebro Skole".into(),
        at(7, 0),
        Window::new(at(7, 0), at(7, 0) + Duration::hours(48)).unwrap(),
        vec![],
    );
    p.entries = vec![
        entry(
            Target::Door {
                door: "D-101".into(),
                level: DoorLevel::Unlocked,
            },
            &[((9, 0), (10, 0), "b1")],
        ),
        entry(
            Target::Door {
                door: "D-101".into(),
                level: DoorLevel::CardPin,
            },
            &[((10, 0), (12, 0), "b2")],
        ),
        entry(
            Target::Zone {
                zone: "Z-HAL".into(),
            },
            &[((8, 45), (12, 15), "b1")],
        ),
        entry(
            Target::Output {
                output: "K-101/LYS".into(),
            },
            &[((8, 50), (10, 10), "b1"), ((13, 0), (14, 0), "b3")],
        ),
    ];
    p
}

fn all() -> TargetFilter {
    TargetFilter::parse(&["door:*", "zone:*", "output:*"]).unwrap()
}

fn state(plan: &Plan, now: DateTime<Utc>, topic: &str) -> String {
    let d = render::desired(plan, now, &BTreeSet::new(), &all(), "klar");
    match d.objects.get(&MqttTopic(topic.into())) {
        Some(MqttPayload::State(s)) => s.clone(),
        other => panic!("{topic}: {other:?}"),
    }
}

#[test]
fn ids_are_escaped_into_one_safe_level() {
    assert_eq!(escape_id("K-101-LYS"), "K-101-LYS");
    assert_eq!(escape_id("Mødegæster"), "Mødegæster");
    assert_eq!(escape_id("a/b+c#d%e"), "a%2Fb%2Bc%23d%25e");
    assert_eq!(escape_id("$SYS"), "%24SYS");
    assert_eq!(escape_id("x$"), "x$");
    assert_eq!(escape_id("tab\there"), "tab%09here");
    // Injective: the escaped '%' keeps "a/b" and "a%2Fb" apart.
    assert_ne!(escape_id("a/b"), escape_id("a%2Fb"));
    assert_ne!(escape_id(""), escape_id("%"));
    for id in ["a/b", "+", "#", "$x", "", "%"] {
        let e = escape_id(id);
        assert!(
            !e.contains(['/', '+', '#']) && !e.starts_with('$'),
            "{id} -> {e}"
        );
    }
}

#[test]
fn states_change_exactly_at_window_edges() {
    let p = plan();
    let door = "klar/door/D-101/state";
    assert_eq!(state(&p, at(8, 59), door), "normal");
    assert_eq!(state(&p, at(9, 0), door), "unlocked");
    assert_eq!(state(&p, at(9, 59), door), "unlocked");
    assert_eq!(state(&p, at(10, 0), door), "card_pin");
    assert_eq!(state(&p, at(12, 0), door), "normal");
    let zone = "klar/zone/Z-HAL/state";
    assert_eq!(state(&p, at(8, 44), zone), "normal");
    assert_eq!(state(&p, at(8, 45), zone), "disarmed");
    assert_eq!(state(&p, at(12, 15), zone), "normal");
    let out = "klar/output/K-101%2FLYS/state";
    assert_eq!(state(&p, at(8, 49), out), "off");
    assert_eq!(state(&p, at(8, 50), out), "on");
    assert_eq!(state(&p, at(10, 10), out), "off");
    assert_eq!(state(&p, at(13, 30), out), "on");
}

#[test]
fn overlapping_door_levels_show_the_more_secure() {
    let mut p = plan();
    p.entries.push(entry(
        Target::Door {
            door: "D-101".into(),
            level: DoorLevel::Locked,
        },
        &[((9, 30), (9, 45), "b9")],
    ));
    assert_eq!(state(&p, at(9, 30), "klar/door/D-101/state"), "locked");
}

#[test]
fn next_edge_walks_every_start_and_end() {
    let p = plan();
    let mut edges = vec![];
    let mut t = at(0, 0);
    while let Some(e) = next_edge(&p, &all(), t) {
        edges.push(e);
        t = e;
    }
    let expect = [
        at(8, 45),
        at(8, 50),
        at(9, 0),
        at(10, 0),
        at(10, 10),
        at(12, 0),
        at(12, 15),
        at(13, 0),
        at(14, 0),
    ];
    assert_eq!(edges, expect);
    // Only the targets the filter owns count.
    let outputs = TargetFilter::parse(&["output:*"]).unwrap();
    assert_eq!(next_edge(&p, &outputs, at(8, 0)), Some(at(8, 50)));
    assert_eq!(next_edge(&p, &outputs, at(10, 10)), Some(at(13, 0)));
    assert_eq!(next_edge(&p, &outputs, at(14, 0)), None);
}

#[test]
fn schedules_carry_windows_and_booking_ids_but_no_titles() {
    let p = plan();
    let d = render::desired(&p, at(7, 0), &BTreeSet::new(), &all(), "site/nbs");
    let topic = MqttTopic("site/nbs/door/D-101/schedule".into());
    let MqttPayload::Schedule(doc) = &d.objects[&topic] else {
        panic!("not a schedule")
    };
    assert_eq!(doc.windows.len(), 2);
    assert_eq!(doc.windows[1].state, "card_pin");
    assert_eq!(doc.windows[1].bookings, ["planner:b2"]);
    let bytes = d.objects[&topic].to_bytes();
    let text = String::from_utf8(bytes.clone()).unwrap();
    assert!(text.contains(r#""from":"2026-11-23T10:00:00Z""#), "{text}");
    assert!(text.contains(r#""until":"2026-11-25T07:00:00Z""#), "{text}");
    assert!(!text.contains("Jens"), "{text}");
    // Read back, it is the same object: the diff sees no change.
    assert_eq!(
        MqttPayload::parse(Leaf::Schedule, &bytes),
        d.objects[&topic]
    );
    assert!(matches!(
        MqttPayload::parse(Leaf::Schedule, b"{not json"),
        MqttPayload::Unrecognised(_)
    ));
}

#[test]
fn known_targets_without_windows_publish_their_normal_state() {
    let p = plan();
    let known: BTreeSet<MqttTarget> = [MqttTarget {
        kind: Kind::Output,
        id: "K-202-VENT".into(),
    }]
    .into();
    let filter = TargetFilter::parse(&["output:*"]).unwrap();
    let d = render::desired(&p, at(9, 0), &known, &filter, "klar");
    let keys: Vec<&str> = d.objects.keys().map(|k| k.0.as_str()).collect();
    assert_eq!(
        keys,
        [
            "klar/output/K-101%2FLYS/schedule",
            "klar/output/K-101%2FLYS/state",
            "klar/output/K-202-VENT/schedule",
            "klar/output/K-202-VENT/state",
        ]
    );
    assert_eq!(
        d.objects[&MqttTopic("klar/output/K-202-VENT/state".into())],
        MqttPayload::State("off".into())
    );
}

#[test]
fn only_the_layout_is_klars() {
    assert_eq!(
        parse_topic("klar", "klar/door/D-1/state"),
        Some(Leaf::State)
    );
    assert_eq!(
        parse_topic("a/b", "a/b/output/K%2F1/schedule"),
        Some(Leaf::Schedule)
    );
    assert_eq!(parse_topic("klar", "klar/klar/status"), None);
    assert_eq!(parse_topic("klar", "klar/klar/sync"), None);
    assert_eq!(parse_topic("klar", "klar/lamp/x/state"), None);
    assert_eq!(parse_topic("klar", "klar/door/x/state/extra"), None);
    assert_eq!(parse_topic("klar", "klarx/door/x/state"), None);
}

#[test]
fn site_rooms_name_the_known_targets() {
    let text = r#"
        [site]
        name = "s"
        [rooms."planner:101"]
        doors = ["D-101"]
        alarm_zone = "Z-ADMIN"
        outputs = { lights = "K-101-LYS" }
    "#;
    let site = klar_engine::site::SiteConfig::parse(text, "site.toml".as_ref(), ".".into())
        .expect("config parses");
    let known = render::site_targets(&site);
    let names: Vec<String> = known.iter().map(|t| t.to_string()).collect();
    assert_eq!(names, ["door D-101", "zone Z-ADMIN", "output K-101-LYS"]);
}

#[test]
fn a_target_only_the_plan_names_has_topics_only_while_it_has_windows() {
    let p = plan();
    let filter = TargetFilter::parse(&["output:*"]).unwrap();
    let d = render::desired(&p, at(9, 0), &BTreeSet::new(), &filter, "klar");
    assert!(
        d.objects
            .contains_key(&MqttTopic("klar/output/K-101%2FLYS/state".into()))
    );
    let mut later = p.clone();
    later
        .entries
        .retain(|e| !matches!(e.target, Target::Output { .. }));
    let d = render::desired(&later, at(15, 0), &BTreeSet::new(), &filter, "klar");
    assert!(d.objects.is_empty(), "{:?}", d.objects.keys());
}
