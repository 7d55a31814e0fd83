//! Property tests of the planner with the real rules: the example school's site
//! (examples/school/site.toml: caps, holidays, five rooms) and its Rhai pack (rules/school:
//! doors, alarm zones, outputs, grants, denies, day types), fed bookings anywhere in time,
//! with any setup and teardown, tags and people, including the edges of the calendar.
//!
//! engine/src/plan/properties.rs proves the same invariants with a one-rule native runtime and
//! bookings near now; this file adds every effect kind the real pack gives, the site's caps, and
//! instants far from now:
//! - no input makes the planner (or a rule) panic;
//! - every window ends: from < to, inside the horizon, not in the past;
//! - windows of one target are sorted, disjoint and not touching (the union is idempotent);
//! - the plan does not depend on the bookings' order;
//! - a cancelled booking contributes nothing, and neither does an unusable one.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use chrono::{DateTime, Duration, TimeZone, Utc};
use klar_engine::model::{Booking, BookingStatus, Person, Secret, Window, union};
use klar_engine::plan::{Plan, PlanInput, Target, plan};
use klar_engine::rules::RuleRuntime;
use klar_engine::rules::pack::{LoadOptions, load};
use klar_engine::site::SiteConfig;
use proptest::prelude::*;

fn school() -> &'static (SiteConfig, Vec<Arc<dyn RuleRuntime>>) {
    static SCHOOL: OnceLock<(SiteConfig, Vec<Arc<dyn RuleRuntime>>)> = OnceLock::new();
    SCHOOL.get_or_init(|| {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/school/site.toml");
        let site = SiteConfig::load(&path).expect("examples/school/site.toml loads");
        let packs = site
            .rules
            .packs
            .iter()
            .map(|p| {
                load(
                    &site.resolve(p),
                    &LoadOptions {
                        deterministic: true,
                    },
                )
                .expect("the school pack loads")
            })
            .collect();
        (site, packs)
    })
}

/// Monday 23 November 2026, 06:00 UTC: the examples' morning.
fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 6, 0, 0).unwrap()
}

const ROOMS: [(&str, &str); 6] = [
    ("halls", "7"),
    ("halls", "8"),
    ("planner", "101"),
    ("planner", "102"),
    ("planner", "200"),
    ("planner", "999"), // bound to no room
];

/// A start: mostly within the week around now (DST nights, holidays, midnight), sometimes at the
/// calendar's edges.
fn start() -> BoxedStrategy<DateTime<Utc>> {
    prop_oneof![
        8 => (-3 * 24 * 60i64..8 * 24 * 60).prop_map(|m| now() + Duration::minutes(m)),
        1 => prop::sample::select(vec![
            Utc.with_ymd_and_hms(2026, 12, 24, 16, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(2027, 3, 28, 0, 30, 0).unwrap(),
            Utc.with_ymd_and_hms(2026, 10, 25, 0, 30, 0).unwrap(),
            Utc.with_ymd_and_hms(9999, 12, 31, 22, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(0, 1, 1, 0, 0, 0).unwrap(),
            DateTime::<Utc>::MAX_UTC - Duration::hours(2),
            DateTime::<Utc>::MIN_UTC,
        ]),
    ]
    .boxed()
}

fn length() -> BoxedStrategy<Duration> {
    prop_oneof![
        8 => (-60i64..20 * 60).prop_map(Duration::minutes),
        1 => prop::sample::select(vec![Duration::days(40), Duration::zero(), Duration::hours(1)]),
    ]
    .boxed()
}

prop_compose! {
    fn booking()(
        id in 0u32..30,
        room in 0..ROOMS.len(),
        start in start(),
        len in length(),
        setup in prop_oneof![8 => 0u32..120, 1 => Just(u32::MAX)],
        teardown in prop_oneof![8 => 0u32..120, 1 => Just(u32::MAX)],
        status in prop::sample::select(vec![BookingStatus::Confirmed, BookingStatus::Tentative, BookingStatus::Cancelled]),
        tags in prop::collection::vec(prop::sample::select(vec!["club", "private", "open_house", "exam", "holiday_use"]), 0..3),
        person in prop::option::of((prop::sample::select(vec!["Mette Hansen", "", "Lars"]), prop::option::of("[0-9]{4}"))),
        title in prop::sample::select(vec!["Håndbold", "Åbent hus", "Forældremøde", ""]),
    ) -> Booking {
        let end = start.checked_add_signed(len).unwrap_or(start);
        Booking {
            id: format!("B-{id}").into(),
            source: ROOMS[room].0.into(),
            resource: ROOMS[room].1.into(),
            resource_name: None,
            location: None,
            title: title.to_owned(),
            start,
            end,
            setup_minutes: setup,
            teardown_minutes: teardown,
            status,
            responsible: person.map(|(name, pin)| Person {
                name: name.to_owned(),
                member_no: pin.clone(),
                pin: pin.map(Secret::new),
                ..Person::default()
            }),
            attendees: vec![],
            tags: tags.into_iter().map(str::to_owned).collect(),
            attrs: Default::default(),
        }
    }
}

fn make(bookings: &[Booking]) -> Plan {
    let (site, packs) = school();
    plan(&PlanInput {
        bookings,
        packs,
        site,
        now: now(),
    })
}

fn windows(p: &Plan) -> Vec<(Target, Vec<Window>)> {
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

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 96,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn every_window_ends_inside_the_horizon_with_the_real_rules(bookings in prop::collection::vec(booking(), 0..25)) {
        let p = make(&bookings);
        for e in &p.entries {
            for w in &e.windows {
                prop_assert!(w.window.from < w.window.to, "{:?}: empty window", e.target);
                prop_assert!(w.window.to <= p.horizon.to, "{:?}: {} ends past the horizon", e.target, w.window);
                prop_assert!(w.window.to > p.at, "{:?}: {} has ended", e.target, w.window);
                prop_assert!(!w.reasons.is_empty());
            }
            let ws: Vec<Window> = e.windows.iter().map(|w| w.window).collect();
            prop_assert_eq!(union(ws.clone()), ws, "{:?}: windows not merged", &e.target);
        }
        // Rejected bookings are exactly those that cannot be used.
        for r in &p.rejected {
            prop_assert!(bookings.iter().any(|b| b.id == r.booking.id));
        }
        for b in bookings.iter().filter(|b| b.end <= b.start) {
            prop_assert!(p.rejected.iter().any(|r| r.booking.id == b.id), "{} not rejected", b.id);
        }
    }

    #[test]
    fn the_plan_does_not_depend_on_the_bookings_order(bookings in prop::collection::vec(booking(), 0..20), seed in any::<u64>()) {
        // Ids are unique here: duplicates are resolved by start, then end (tested beside the planner).
        let mut bookings = bookings;
        for (i, b) in bookings.iter_mut().enumerate() {
            b.id = format!("B-{i}").into();
        }
        let mut shuffled = bookings.clone();
        let n = shuffled.len();
        for i in (1..n).rev() {
            shuffled.swap(i, (seed.wrapping_mul(i as u64 + 11) % (i as u64 + 1)) as usize);
        }
        prop_assert_eq!(windows(&make(&bookings)), windows(&make(&shuffled)));
    }

    #[test]
    fn a_cancelled_or_unusable_booking_contributes_nothing(bookings in prop::collection::vec(booking(), 0..15), extra in booking()) {
        let before = windows(&make(&bookings));
        let mut cancelled = extra.clone();
        cancelled.id = "extra".into();
        cancelled.status = BookingStatus::Cancelled;
        let mut with = bookings.clone();
        with.push(cancelled);
        prop_assert_eq!(&windows(&make(&with)), &before);
        // At the calendar's far edge: rejected as unusable, so it gives nothing either.
        let mut edge = extra;
        edge.id = "edge".into();
        edge.status = BookingStatus::Confirmed;
        edge.start = DateTime::<Utc>::MAX_UTC - Duration::minutes(30);
        edge.end = DateTime::<Utc>::MAX_UTC;
        let mut with = bookings;
        with.push(edge);
        prop_assert_eq!(&windows(&make(&with)), &before);
    }
}
