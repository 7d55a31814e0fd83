//! The audit's rows and reasons: per booking from before the merge, only what the controller
//! holds, the reason from the booking.

use super::*;
use crate::model::{BookingStatus, ResourceId};
use crate::plan::{PackRef, PlanEntry, PlannedWindow, Reason};
use chrono::TimeZone;

fn at(h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, h, 0, 0).unwrap()
}

fn w(from: u32, to: u32) -> Window {
    Window::new(at(from), at(to)).unwrap()
}

fn zone() -> Target {
    Target::Zone { zone: "Z".into() }
}

fn rule() -> RuleLocation {
    RuleLocation {
        file: "r.rhai".into(),
        line: 3,
        column: 0,
    }
}

fn reason(booking: &str, own: Window) -> Reason {
    Reason {
        source: "s".into(),
        booking: booking.into(),
        title: String::new(),
        pack: "p".into(),
        pack_version: "1".into(),
        rule: rule(),
        window: Some(own),
    }
}

fn booked(from: u32, to: u32) -> Booked {
    Booked {
        start: at(from),
        end: at(to),
        resource: ResourceId::new("1"),
        status: BookingStatus::Confirmed,
        failed: false,
    }
}

/// A plan at `now` with the zone's merged windows made of these bookings' own windows.
fn plan(now: u32, bookings: &[(&str, Window, Booked)]) -> Plan {
    let mut p = Plan::empty(
        "t".into(),
        at(now),
        w(now, 23),
        vec![PackRef {
            name: "p".into(),
            version: "1".into(),
        }],
    );
    let merged = union(bookings.iter().map(|(_, own, _)| *own).collect());
    p.entries = vec![PlanEntry {
        target: zone(),
        windows: merged
            .into_iter()
            .map(|window| PlannedWindow {
                window,
                reasons: bookings
                    .iter()
                    .filter(|(_, own, _)| own.overlaps(&window) || own.touches(&window))
                    .filter(|(_, own, _)| own.from >= window.from && own.to <= window.to)
                    .map(|(b, own, _)| reason(b, *own))
                    .collect(),
            })
            .collect(),
    }];
    for (b, _, facts) in bookings {
        p.bookings
            .insert(("s".into(), BookingId::new(*b)), facts.clone());
    }
    p
}

fn everything(p: &Plan) -> BTreeMap<Target, Vec<Window>> {
    p.entries
        .iter()
        .map(|e| {
            (
                e.target.clone(),
                e.windows.iter().map(|w| w.window).collect(),
            )
        })
        .collect()
}

fn reasons(changes: &[AuditChange]) -> Vec<(&str, ChangeReason)> {
    changes
        .iter()
        .map(|c| (c.booking.as_str(), c.reason))
        .collect()
}

#[test]
fn each_booking_is_recorded_with_its_own_windows_not_the_merged_one() {
    // a 10-11 and b 11-12 touch and merge into 10-12; each keeps its own.
    let both = plan(
        8,
        &[
            ("a", w(10, 11), booked(10, 11)),
            ("b", w(11, 12), booked(11, 12)),
        ],
    );
    let rows = applied_windows(&both, &everything(&both));
    let own: Vec<(&str, Window)> = rows
        .iter()
        .map(|r| (r.booking.as_str(), r.window))
        .collect();
    assert_eq!(own, vec![("a", w(10, 11)), ("b", w(11, 12))]);
    // b cancelled: a untouched records nothing.
    let mut only_a = plan(9, &[("a", w(10, 11), booked(10, 11))]);
    let mut cancelled = booked(11, 12);
    cancelled.status = BookingStatus::Cancelled;
    only_a.bookings.insert(("s".into(), "b".into()), cancelled);
    let after = applied_windows(&only_a, &everything(&only_a));
    let changes = audit_changes(&rows, &after, &only_a);
    assert_eq!(reasons(&changes), vec![("b", ChangeReason::Cancelled)]);
}

#[test]
fn only_what_the_controller_holds_is_recorded() {
    let p = plan(8, &[("a", w(10, 12), booked(10, 12))]);
    // Nothing held (unbound, refused): nothing recorded, nothing "created".
    assert!(applied_windows(&p, &BTreeMap::new()).is_empty());
    // Part held (the rest waits for room): that part.
    let held = BTreeMap::from([(zone(), vec![w(10, 11)])]);
    let rows = applied_windows(&p, &held);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].window, w(10, 11));
    // The waiting part applied later: recorded then, as more of the booking.
    let later = applied_windows(&p, &everything(&p));
    let changes = audit_changes(&rows, &later, &p);
    assert_eq!(reasons(&changes), vec![("a", ChangeReason::Extended)]);
    assert_eq!(changes[0].after, vec![w(10, 12)]);
}

#[test]
fn the_reason_comes_from_the_booking() {
    let before_plan = plan(
        8,
        &[
            ("ended", w(8, 9), booked(8, 9)),
            ("gone-after-end", w(9, 11), booked(9, 10)),
            ("vanished", w(13, 14), booked(13, 14)),
            ("moved", w(15, 16), booked(15, 16)),
            ("broken", w(17, 18), booked(17, 18)),
            ("steady", w(19, 20), booked(19, 20)),
        ],
    );
    let before = applied_windows(&before_plan, &everything(&before_plan));

    let mut broken = booked(17, 18);
    broken.failed = true;
    let mut now_plan = plan(
        10,
        &[
            ("moved", w(15, 17), booked(15, 17)),
            ("steady", w(19, 20), booked(19, 20)),
        ],
    );
    // `ended` ran out; `gone-after-end` left its source after its end, while its after-margin
    // ran; `vanished` left its source before it started; `broken` fails a rule now.
    now_plan
        .bookings
        .insert(("s".into(), "ended".into()), booked(8, 9));
    now_plan
        .bookings
        .insert(("s".into(), "broken".into()), broken);
    let after = applied_windows(&now_plan, &everything(&now_plan));
    let changes = audit_changes(&before, &after, &now_plan);
    assert_eq!(
        reasons(&changes),
        vec![
            ("broken", ChangeReason::RuleError),
            ("ended", ChangeReason::Ended),
            ("gone-after-end", ChangeReason::Ended),
            ("moved", ChangeReason::Changed),
            ("vanished", ChangeReason::Cancelled),
        ]
    );

    // Another pack version gives the same booking another window: a rule change.
    let mut new_rules = plan(10, &[("steady", w(19, 21), booked(19, 20))]);
    new_rules.packs[0].version = "2".into();
    for e in &mut new_rules.entries {
        for w in &mut e.windows {
            for r in &mut w.reasons {
                r.pack_version = "2".into();
            }
        }
    }
    let steady_before: Vec<AppliedWindow> = before
        .iter()
        .filter(|r| r.booking.as_str() == "steady")
        .cloned()
        .collect();
    let changes = audit_changes(
        &steady_before,
        &applied_windows(&new_rules, &everything(&new_rules)),
        &new_rules,
    );
    assert_eq!(
        reasons(&changes),
        vec![("steady", ChangeReason::RuleChange)]
    );
}

#[test]
fn older_rows_read_and_expired_reads_as_ended() {
    let row = r#"{"target":{"kind":"zone","zone":"Z"},"source":"s","booking":"a","title":"","window":{"from":"2026-11-23T10:00:00Z","to":"2026-11-23T11:00:00Z"},"pack":"p","pack_version":"1","rule":{"file":"r.rhai","line":3,"column":0}}"#;
    let parsed: AppliedWindow = serde_json::from_str(row).unwrap();
    assert_eq!(parsed.booked, None);
    let reason: ChangeReason = serde_json::from_str("\"expired\"").unwrap();
    assert_eq!(reason, ChangeReason::Ended);
}
