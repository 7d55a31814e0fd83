//! The diff of two plans made by the real planner with a small Rhai pack.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use super::*;
use crate::plan::PlanInput;
use crate::rules::rhai::{RhaiRuntime, RuleSource};
use crate::rules::{PackInfo, RuleRuntime, RuntimeKind};

const SITE: &str = r#"
[site]
name = "Test"
public_holidays = "none"
[rooms."halls:7"]
name = "Hal 1"
doors = ["D-HAL"]
person_groups = ["Hal-brugere"]
[rooms."halls:8"]
name = "Hal 2"
doors = ["D-HAL2"]
"#;

fn site(text: &str) -> SiteConfig {
    SiteConfig::parse(text, std::path::Path::new("site.toml"), PathBuf::new()).unwrap()
}

fn pack(script: &str) -> Arc<dyn RuleRuntime> {
    let info = PackInfo {
        name: "t".into(),
        version: "1".into(),
        runtime: RuntimeKind::Rhai,
        dir: PathBuf::from("t"),
        settings: BTreeMap::new(),
    };
    Arc::new(
        RhaiRuntime::compile(
            info,
            &[RuleSource {
                name: "rules/doors.rhai".into(),
                path: PathBuf::from("t/rules/doors.rhai"),
                text: script.into(),
            }],
        )
        .unwrap_or_else(|e| panic!("{}", e[0])),
    )
}

/// Doors `level` from `before` minutes before to 15 after; the responsible person gets the
/// room's groups for the booking.
fn rule(before: u32, level: &str, extra: &str) -> String {
    format!(
        "fn decide(booking, room, ctx) {{\n    {extra}\n    let effects = [];\n    for door in room.doors {{ effects.push(door_mode(door, \"{level}\", booking.start - minutes({before}), booking.end + minutes(15))); }}\n    if booking.responsible != () && !room.person_groups.is_empty() {{ effects.push(grant(booking.responsible, room.person_groups, booking.start, booking.end)); }}\n    effects\n}}\n"
    )
}

fn bookings() -> Vec<Booking> {
    serde_json::from_value(serde_json::json!([
        {"id": "W-1", "source": "halls", "resource": "7", "title": "Håndbold",
         "start": "2026-11-23T16:00:00+01:00", "end": "2026-11-23T18:00:00+01:00",
         "responsible": {"name": "Mette Hansen", "member_no": "1042"}},
        {"id": "W-2", "source": "halls", "resource": "8", "title": "Yoga",
         "start": "2026-11-23T10:00:00+01:00", "end": "2026-11-23T11:00:00+01:00"},
        {"id": "W-3", "source": "halls", "resource": "9", "title": "Ubundet",
         "start": "2026-11-23T10:00:00+01:00", "end": "2026-11-23T11:00:00+01:00"}
    ]))
    .unwrap()
}

fn plan_of(script: &str, site: &SiteConfig, bookings: &[Booking]) -> Plan {
    let packs = [pack(script)];
    crate::plan::plan(&PlanInput {
        bookings,
        packs: &packs,
        site,
        now: chrono::DateTime::parse_from_rfc3339("2026-11-23T07:00:00+01:00")
            .unwrap()
            .with_timezone(&Utc),
    })
}

fn t(s: &str) -> DateTime<Utc> {
    chrono::DateTime::parse_from_rfc3339(s)
        .unwrap()
        .with_timezone(&Utc)
}

#[test]
fn the_same_plan_has_no_changes() {
    let s = site(SITE);
    let b = bookings();
    let p = plan_of(&rule(15, "unlocked", ""), &s, &b);
    let d = compare(&p, &p, &b, &[&s]);
    assert!(d.counts.is_empty(), "{d:?}");
    assert!(d.changes.is_empty() && d.rooms.is_empty());
    assert_eq!(d.counts.windows_before, 3);
    assert_eq!(d.counts.to_string(), "no change (3 windows)");
}

#[test]
fn a_longer_margin_moves_the_doors_windows_and_leaves_the_grant() {
    let s = site(SITE);
    let b = bookings();
    let before = plan_of(&rule(15, "unlocked", ""), &s, &b);
    let after = plan_of(&rule(45, "unlocked", ""), &s, &b);
    let d = compare(&before, &after, &b, &[&s]);
    assert_eq!(d.counts.moved, 2, "{d:?}");
    assert_eq!(d.counts.added + d.counts.removed + d.counts.level, 0);
    let hal = d.changes.iter().find(|c| c.object == "door D-HAL").unwrap();
    assert_eq!(hal.kind, ChangeKind::Moved);
    assert_eq!(hal.before.unwrap().from, t("2026-11-23T15:45:00+01:00"));
    assert_eq!(hal.after.unwrap().from, t("2026-11-23T15:15:00+01:00"));
    assert_eq!(hal.bookings[0].id.as_str(), "W-1");
    assert_eq!(d.rooms.len(), 2);
    assert_eq!(d.rooms[0].to_string(), "halls:7 Hal 1: 1 window moved");
    assert_eq!(d.counts.to_string(), "2 windows moved (of 3 windows)");
}

#[test]
fn another_level_is_a_level_change_and_a_failing_booking_is_named_by_cause() {
    let s = site(SITE);
    let b = bookings();
    let before = plan_of(&rule(15, "unlocked", ""), &s, &b);
    let after = plan_of(
        &rule(
            15,
            "card_pin",
            "if booking.title == \"Yoga\" { throw \"no yoga\"; }",
        ),
        &s,
        &b,
    );
    let d = compare(&before, &after, &b, &[&s]);
    let hal = d.changes.iter().find(|c| c.object == "door D-HAL").unwrap();
    assert_eq!(hal.kind, ChangeKind::Level);
    assert_eq!(
        (hal.level_before, hal.level_after),
        (Some(DoorLevel::Unlocked), Some(DoorLevel::CardPin))
    );
    // Yoga fails: its window goes, and it is listed once, by its cause.
    let hal2 = d
        .changes
        .iter()
        .find(|c| c.object == "door D-HAL2")
        .unwrap();
    assert_eq!(hal2.kind, ChangeKind::Removed);
    assert_eq!(d.newly_failing.len(), 1);
    assert_eq!(d.newly_failing[0].bookings[0].title, "Yoga");
    assert_eq!(d.counts.newly_failing, 1);
    let hal2_room = d.rooms.iter().find(|r| r.room == "halls:8").unwrap();
    assert_eq!(
        hal2_room.to_string(),
        "halls:8 Hal 2: 1 window removed, 1 booking newly fails its rules"
    );

    // And back: decided again, the window added.
    let back = compare(&after, &before, &b, &[&s]);
    assert_eq!(back.newly_decided.len(), 1);
    assert_eq!(back.counts.added, 1);
}

#[test]
fn a_room_no_longer_bound_lists_its_bookings() {
    let s = site(SITE);
    let unbound = site(&SITE.replace("[rooms.\"halls:8\"]", "[rooms.\"halls:9\"]"));
    let b = bookings();
    let script = rule(15, "unlocked", "");
    let d = compare(
        &plan_of(&script, &s, &b),
        &plan_of(&script, &unbound, &b),
        &b,
        &[&unbound, &s],
    );
    assert_eq!(d.newly_unbound[0].id.as_str(), "W-2");
    assert_eq!(d.newly_bound[0].id.as_str(), "W-3");
    // W-3 now opens Hal 2's door (the room is bound to resource 9) at W-2's time: the door
    // does what it did, so no window changed.
    assert!(d.changes.is_empty(), "{d:?}");
}
