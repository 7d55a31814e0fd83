//! Property tests of the planner's invariants: every window ends inside the horizon, the union
//! is idempotent and independent of order, a cancelled booking contributes nothing, and no
//! input makes the planner panic.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use proptest::prelude::*;

use super::{PlanInput, Target, plan};
use crate::model::{Booking, BookingStatus, DoorId, DoorLevel, Effect, Window, union};
use crate::rules::{
    Decision, PackInfo, RuleError, RuleLocation, RuleRuntime, RuledEffect, RuntimeKind,
};
use crate::site::SiteConfig;

/// Unlocks with margins, or (tag `exam`) sets card+PIN, so door levels conflict.
struct Margins(PackInfo);

impl RuleRuntime for Margins {
    fn pack(&self) -> &PackInfo {
        &self.0
    }
    fn decide(&self, batch: &[Decision<'_>]) -> Vec<Result<Vec<RuledEffect>, RuleError>> {
        batch
            .iter()
            .map(|d| {
                let level = if d.booking.has_tag("exam") {
                    DoorLevel::CardPin
                } else {
                    DoorLevel::Unlocked
                };
                let window = Window::new(
                    d.booking.start - Duration::minutes(15),
                    d.booking.end + Duration::minutes(15),
                )
                .expect("a valid booking has start < end");
                let rule = RuleLocation {
                    file: "margins.rs".into(),
                    line: 1,
                    column: 0,
                };
                Ok(d.room
                    .doors
                    .iter()
                    .map(|door| RuledEffect {
                        effect: Effect::DoorMode {
                            door: door.clone(),
                            level,
                            window,
                        },
                        rule: rule.clone(),
                        core: Default::default(),
                    })
                    .collect())
            })
            .collect()
    }
}

fn packs() -> Vec<Arc<dyn RuleRuntime>> {
    let info = PackInfo {
        name: "margins".into(),
        version: "1".into(),
        runtime: RuntimeKind::Rhai,
        dir: PathBuf::new(),
        settings: Default::default(),
    };
    vec![Arc::new(Margins(info))]
}

fn site() -> SiteConfig {
    let text = r#"
[site]
name = "P"
horizon_hours = 24
[site.caps]
max_window_hours = 6
[[sources]]
name = "s"
kind = "local"
[rooms."s:1"]
doors = ["A", "B"]
[rooms."s:2"]
doors = ["B"]
"#;
    SiteConfig::parse(text, Path::new("p.toml"), PathBuf::new()).expect("a valid test config")
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 10, 24, 12, 0, 0).unwrap()
}

prop_compose! {
    fn booking()(id in 0u32..40, room in 1u32..4, start in -600i64..2400, len in -30i64..900,
                 cancelled in any::<bool>(), exam in proptest::bool::weighted(0.2)) -> Booking {
        let start = now() + Duration::minutes(start);
        Booking {
            id: format!("b{id}").into(),
            source: "s".into(),
            resource: room.to_string().into(),
            resource_name: None,
            location: None,
            title: String::new(),
            start,
            end: start + Duration::minutes(len),
            setup_minutes: 0,
            teardown_minutes: 0,
            status: if cancelled { BookingStatus::Cancelled } else { BookingStatus::Confirmed },
            responsible: None,
            attendees: vec![],
            tags: if exam { vec!["exam".into()] } else { vec![] },
            attrs: Default::default(),
        }
    }
}

fn windows(bookings: &[Booking]) -> Vec<(Target, Vec<Window>)> {
    let site = site();
    let packs = packs();
    let p = plan(&PlanInput {
        bookings,
        packs: &packs,
        site: &site,
        now: now(),
    });
    p.entries
        .into_iter()
        .map(|e| (e.target, e.windows.into_iter().map(|w| w.window).collect()))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn every_window_ends_within_the_horizon_and_entries_are_disjoint(bookings in prop::collection::vec(booking(), 0..30)) {
        let site = site();
        let packs = packs();
        let p = plan(&PlanInput { bookings: &bookings, packs: &packs, site: &site, now: now() });
        for e in &p.entries {
            for w in &e.windows {
                prop_assert!(w.window.from < w.window.to);
                prop_assert!(w.window.to <= p.horizon.to, "{} ends after the horizon", w.window);
                prop_assert!(w.window.to > p.at, "a past window stayed");
                prop_assert!(!w.reasons.is_empty(), "every window has a reason");
            }
            for pair in e.windows.windows(2) {
                prop_assert!(pair[0].window.to < pair[1].window.from, "windows of one target neither overlap nor touch");
            }
        }
        // The more secure level wins: no door is at two levels at once.
        for a in &p.entries {
            for b in &p.entries {
                if let (Target::Door { door: da, level: la }, Target::Door { door: db, level: lb }) = (&a.target, &b.target)
                    && da == db && la != lb {
                    for wa in &a.windows {
                        for wb in &b.windows {
                            prop_assert!(!wa.window.overlaps(&wb.window), "door {} at two levels at once", da);
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn the_plan_does_not_depend_on_booking_order(bookings in prop::collection::vec(booking(), 0..30), seed in any::<u64>()) {
        let mut shuffled = bookings.clone();
        let n = shuffled.len();
        for i in (1..n).rev() {
            shuffled.swap(i, (seed.wrapping_mul(i as u64 + 7) % (i as u64 + 1)) as usize);
        }
        prop_assert_eq!(windows(&bookings), windows(&shuffled));
    }

    #[test]
    fn a_cancelled_booking_contributes_nothing(bookings in prop::collection::vec(booking(), 0..20), extra in booking()) {
        // Give the extra booking an id of its own, so it does not shadow another.
        let mut extra = extra;
        extra.id = "cancelled-extra".into();
        extra.status = BookingStatus::Cancelled;
        let mut with = bookings.clone();
        with.push(extra);
        prop_assert_eq!(windows(&bookings), windows(&with));
    }

    #[test]
    fn union_is_idempotent_and_order_independent(raw in prop::collection::vec((0i64..1000, 1i64..200), 0..40)) {
        let ws: Vec<Window> = raw.iter().map(|(s, l)| Window::new(now() + Duration::minutes(*s), now() + Duration::minutes(s + l)).unwrap()).collect();
        let once = union(ws.clone());
        prop_assert_eq!(union(once.clone()), once.clone());
        let mut reversed = ws.clone();
        reversed.reverse();
        prop_assert_eq!(union(reversed), once.clone());
        // The union covers exactly the instants some input covers.
        for minute in (0..1200).step_by(7) {
            let t = now() + Duration::minutes(minute);
            prop_assert_eq!(ws.iter().any(|w| w.contains(t)), once.iter().any(|w| w.contains(t)));
        }
    }
}

#[test]
fn doors_of_the_margins_pack_are_the_rooms_doors() {
    // A sanity check of the test's own rule, so the properties above test something.
    let b = Booking {
        id: "x".into(),
        source: "s".into(),
        resource: "1".into(),
        resource_name: None,
        location: None,
        title: String::new(),
        start: now() + Duration::hours(1),
        end: now() + Duration::hours(2),
        setup_minutes: 0,
        teardown_minutes: 0,
        status: BookingStatus::Confirmed,
        responsible: None,
        attendees: vec![],
        tags: vec![],
        attrs: Default::default(),
    };
    let got = windows(&[b]);
    let doors: Vec<_> = got.iter().map(|(t, _)| t.clone()).collect();
    assert_eq!(
        doors,
        vec![
            Target::Door {
                door: DoorId::new("A"),
                level: DoorLevel::Unlocked
            },
            Target::Door {
                door: DoorId::new("B"),
                level: DoorLevel::Unlocked
            }
        ]
    );
}
