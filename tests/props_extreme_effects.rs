//! No effect a rule can return stops the planner, through both runtimes: a Rhai rule and a Wasm
//! guest (rules/wasm-fixtures/extremes) return, for a booking tagged `extreme`, windows and
//! dates at and past the calendar's edges and ids of any length, chosen by proptest. Whatever
//! they return, planning does not panic, the other booking in the same plan gets its door, and
//! the extreme booking either fails on its own (a bad output or a rule error) or keeps inside
//! the site's safety margins. The two cases from the issue (a far-future day type and a date
//! plus 99,999,999 days) are pinned as well.

mod common;
#[path = "common/wasm.rs"]
mod wasm;

use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use klar_engine::model::{Booking, DoorLevel};
use klar_engine::plan::{Plan, PlanInput, Target, plan};
use klar_engine::rules::RuleRuntime;
use klar_engine::rules::pack::{LoadOptions, load};
use klar_engine::site::SiteConfig;
use proptest::prelude::*;

use wasm::{at, booking};

/// A Rhai pack whose rule builds its effects from the site's settings for the pack.
fn rhai_pack(dir: &Path) -> Arc<dyn RuleRuntime> {
    let pack = dir.join("extremes");
    std::fs::create_dir_all(pack.join("rules")).expect("create the pack");
    std::fs::write(
        pack.join("pack.toml"),
        "name = \"extremes\"\nversion = \"0.1.0\"\nruntime = \"rhai\"\n\
         [settings]\nfrom_minutes = 0\nto_minutes = 0\nfrom_days = 0\nto_days = 0\n\
         date_text = \"2026-11-24\"\nid_len = 1\n",
    )
    .expect("write pack.toml");
    std::fs::write(
        pack.join("rules/extremes.rhai"),
        r#"fn decide(booking, room, ctx) {
    let door = room.doors[0];
    if !booking.has_tag("extreme") {
        return [unlock(door, booking.start, booking.end)];
    }
    let s = ctx.settings;
    let zone = "";
    for i in 0..s.id_len { zone += "Z"; }
    [
        unlock(door, booking.start + minutes(s.from_minutes), booking.end + minutes(s.to_minutes)),
        day_type(ctx.date + days(s.from_days), ctx.date + days(s.to_days), "holiday"),
        day_type(ctx.date, date(s.date_text), "open_house"),
        disarm(zone, booking.start, booking.end),
    ]
}
"#,
    )
    .expect("write the rule");
    load(&pack, &LoadOptions::default()).unwrap_or_else(|e| panic!("{e}"))
}

fn wasm_pack(dir: &Path) -> Arc<dyn RuleRuntime> {
    let pack = wasm::fixture_pack(dir, "extremes", "fixture-extremes");
    load(&pack, &LoadOptions::default()).unwrap_or_else(|e| panic!("{e}"))
}

/// The Wasm tests' site with these settings for the pack.
fn site(settings: &str) -> SiteConfig {
    let mut site = wasm::site();
    let table: toml::Table = toml::from_str(settings).expect("settings are TOML");
    site.rules.settings.insert("extremes".into(), table);
    site
}

fn bookings() -> Vec<Booking> {
    vec![
        booking(
            "X-1",
            "7",
            "2026-11-24T09:00:00+01:00",
            "2026-11-24T10:00:00+01:00",
            &["extreme"],
        ),
        booking(
            "B-2",
            "8",
            "2026-11-24T16:00:00+01:00",
            "2026-11-24T18:00:00+01:00",
            &[],
        ),
    ]
}

fn now() -> DateTime<Utc> {
    at("2026-11-24T07:00:00+01:00")
}

fn plan_with(pack: &Arc<dyn RuleRuntime>, settings: &str) -> Plan {
    let site = site(settings);
    plan(&PlanInput {
        bookings: &bookings(),
        packs: std::slice::from_ref(pack),
        site: &site,
        now: now(),
    })
}

/// What must hold whatever the extreme booking's rule returned.
fn check(p: &Plan) {
    // The other booking is decided, unharmed.
    assert!(
        p.errors.iter().all(|e| e.booking.as_str() == "X-1"),
        "{:#?}",
        p.errors
    );
    let door2 = Target::Door {
        door: "D-HAL-2".into(),
        level: DoorLevel::Unlocked,
    };
    assert_eq!(
        p.entry(&door2).map(|e| e.windows.len()),
        Some(1),
        "B-2's door: {:#?}",
        p.entries
    );
    // Every window ends inside the horizon, after it starts; the extreme booking's windows
    // keep inside its safety margins (two hours by default), its day types inside the dates
    // those touch.
    let x_start = at("2026-11-24T09:00:00+01:00");
    let x_end = at("2026-11-24T10:00:00+01:00");
    for e in &p.entries {
        for w in &e.windows {
            assert!(w.window.from < w.window.to);
            assert!(w.window.to <= p.horizon.to, "{} {}", e.target, w.window);
            if w.reasons.iter().all(|r| r.booking.as_str() == "X-1") {
                match e.target {
                    Target::Day { .. } => {
                        assert!(w.window.from >= at("2026-11-24T00:00:00+01:00"));
                        assert!(w.window.to <= at("2026-11-25T00:00:00+01:00"));
                    }
                    _ => {
                        assert!(
                            w.window.from >= x_start - Duration::hours(2),
                            "{}",
                            w.window
                        );
                        assert!(w.window.to <= x_end + Duration::hours(2), "{}", w.window);
                    }
                }
            }
        }
    }
}

/// Mostly an ordinary value, sometimes one at or past an edge: each case then has one or two
/// extreme values and reaches the constructor that takes them (an error in an earlier
/// constructor would fail the booking before the extreme one is built).
fn mostly<T: Clone + std::fmt::Debug + 'static>(
    ordinary: impl Strategy<Value = T> + 'static,
    extreme: impl Strategy<Value = T> + 'static,
) -> BoxedStrategy<T> {
    prop_oneof![3 => ordinary, 1 => extreme].boxed()
}

/// A date as (year, month, day): mostly the booking's, else the calendar's edges or anything.
fn date() -> BoxedStrategy<(i32, u8, u8)> {
    mostly(
        Just((2026, 11, 24)),
        prop_oneof![
            3 => Just((262_142, 12, 31)),
            3 => Just((-262_143, 1, 1)),
            1 => Just((i32::MAX, 12, 31)),
            1 => (any::<i32>(), 0u8..14, 0u8..33),
        ],
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn extreme_effects_from_a_rhai_rule_never_stop_the_planner(
        from_minutes in mostly(-300i64..0, prop_oneof![Just(i64::MIN), Just(i64::MAX), any::<i64>()]),
        to_minutes in mostly(0i64..300, prop_oneof![Just(i64::MIN), Just(i64::MAX), any::<i64>()]),
        from_days in mostly(-2i64..1, prop_oneof![Just(i64::MIN), Just(i64::MAX), Just(99_999_999i64), -400i64..400]),
        to_days in mostly(0i64..2, prop_oneof![Just(i64::MIN), Just(i64::MAX), Just(99_999_999i64), -400i64..400]),
        date_text in mostly(Just("2026-11-24".to_owned()), prop_oneof![
            3 => Just("+262142-12-31".to_owned()), 3 => Just("-262143-01-01".to_owned()),
            1 => Just("9999-12-31".to_owned()), 1 => Just("0001-01-01".to_owned()),
            1 => Just("2027-11-24".to_owned()), 1 => ".{0,12}",
        ]),
        id_len in mostly(1i64..8, prop_oneof![Just(0i64), Just(4_096), Just(4_097), Just(100_000)]),
    ) {
        let tmp = tempfile::tempdir().expect("a scratch folder");
        let pack = rhai_pack(tmp.path());
        let settings = format!(
            "from_minutes = {from_minutes}\nto_minutes = {to_minutes}\nfrom_days = {from_days}\n\
             to_days = {to_days}\ndate_text = {}\nid_len = {id_len}\n",
            toml::Value::String(date_text)
        );
        check(&plan_with(&pack, &settings));
    }

    #[test]
    fn extreme_effects_from_a_wasm_guest_never_stop_the_planner(
        from_seconds in mostly(1_795_500_000i64..1_795_510_000, prop_oneof![Just(i64::MIN), Just(i64::MAX), any::<i64>()]),
        to_seconds in mostly(1_795_510_000i64..1_795_530_000, prop_oneof![Just(i64::MIN), Just(i64::MAX), any::<i64>()]),
        (from_year, from_month, from_day) in date(),
        (to_year, to_month, to_day) in date(),
        id_len in mostly(1i64..8, prop_oneof![Just(0i64), Just(4_096), Just(4_097), Just(65_536)]),
    ) {
        let tmp = tempfile::tempdir().expect("a scratch folder");
        let pack = wasm_pack(tmp.path());
        let settings = format!(
            "from_seconds = {from_seconds}\nto_seconds = {to_seconds}\n\
             from_year = {from_year}\nfrom_month = {from_month}\nfrom_day = {from_day}\n\
             to_year = {to_year}\nto_month = {to_month}\nto_day = {to_day}\nid_len = {id_len}\n"
        );
        check(&plan_with(&pack, &settings));
    }
}

/// The issue's two inputs: each fails its own booking (before: the planner panicked on
/// `NaiveDate + TimeDelta`, every tick, forever).
#[test]
fn a_far_future_day_type_and_a_date_past_the_calendar_fail_only_their_booking() {
    let tmp = tempfile::tempdir().expect("a scratch folder");
    let pack = rhai_pack(tmp.path());
    let far = plan_with(&pack, "date_text = \"+262142-12-31\"\n");
    check(&far);
    assert_eq!(far.errors.len(), 1, "{:#?}", far.errors);
    assert!(
        far.errors[0].message.contains("date(\"+262142-12-31\")"),
        "{}",
        far.errors[0]
    );
    let days = plan_with(&pack, "to_days = 99999999\n");
    check(&days);
    assert_eq!(days.errors.len(), 1, "{:#?}", days.errors);
    assert!(
        days.errors[0].message.contains("out of range"),
        "{}",
        days.errors[0]
    );
    // A year from now is inside the bounds a rule's effects keep, but not inside the safety
    // margins: the day type is cut to the booking's own date, and the cut is reported.
    let year = plan_with(&pack, "to_days = 366\n");
    check(&year);
    assert!(year.errors.is_empty(), "{:#?}", year.errors);
    assert!(
        year.adjustments
            .iter()
            .any(|a| a.booking.id.as_str() == "X-1" && matches!(a.target, Target::Day { .. })),
        "{:#?}",
        year.adjustments
    );
    // The Wasm guest's far-future date: bad output for that booking alone.
    let other = tempfile::tempdir().expect("a scratch folder");
    let wasm = wasm_pack(other.path());
    let p = plan_with(
        &wasm,
        "from_seconds = 1795500000\nto_seconds = 1795503600\nfrom_year = 2026\nfrom_month = 11\n\
         from_day = 24\nto_year = 262142\nto_month = 12\nto_day = 31\nid_len = 1\n",
    );
    check(&p);
    assert_eq!(p.errors.len(), 1, "{:#?}", p.errors);
    assert!(
        p.errors[0].message.contains("more than 366 days"),
        "{}",
        p.errors[0]
    );
}
