//! Property tests of the site config (`site.toml`): no text makes the parser or `validate`
//! panic, and a config that validates can be planned with at any instant without a panic (the
//! horizon, the caps and the holiday lookups take whatever numbers and dates it holds).

use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, TimeZone, Utc};
use proptest::prelude::*;

use super::SiteConfig;
use crate::model::{Booking, BookingStatus};
use crate::plan::{PlanInput, plan};

/// Mostly valid values (so that configs get past `validate` and reach the planner), with the
/// edges a typo or a copy-paste produces.
fn number() -> BoxedStrategy<String> {
    prop_oneof![
        8 => prop_oneof![
            Just("1".to_owned()),
            Just("48".to_owned()),
            Just("4294967295".to_owned()),
            (1u32..100_000).prop_map(|n| n.to_string()),
        ],
        1 => prop_oneof![
            Just("0".to_owned()),
            Just("4294967296".to_owned()),
            Just("-1".to_owned()),
            Just("\"12\"".to_owned()),
        ],
    ]
    .boxed()
}

fn date() -> BoxedStrategy<String> {
    prop_oneof![
        8 => prop_oneof![
            (2020u32..2030, 1u32..13, 1u32..29).prop_map(|(y, m, d)| format!("{y}-{m:02}-{d:02}")),
            Just("0000-01-01".to_owned()),
            Just("9999-12-31".to_owned()),
        ],
        1 => prop_oneof![
            Just("\"2026-02-30\"".to_owned()),
            Just("2026-12-21T10:00:00".to_owned()),
        ],
    ]
    .boxed()
}

fn time() -> BoxedStrategy<String> {
    prop_oneof![
        8 => prop_oneof![
            Just("\"05:00\"".to_owned()),
            Just("\"23:59\"".to_owned()),
            Just("00:00:00".to_owned()),
        ],
        1 => prop_oneof![Just("\"24:00\"".to_owned()), Just("\"5\"".to_owned())],
    ]
    .boxed()
}

fn zone() -> BoxedStrategy<String> {
    prop_oneof![
        8 => prop::sample::select(vec!["Europe/Copenhagen", "UTC", "Pacific/Kiritimati", "America/St_Johns"]),
        1 => prop::sample::select(vec!["Mars/Olympus", ""]),
    ]
    .prop_map(str::to_owned)
    .boxed()
}

fn site_text() -> impl Strategy<Value = String> {
    (
        (zone(), number(), prop_oneof![8 => prop::sample::select(vec!["dk", "none"]), 1 => Just("se")]),
        prop::collection::vec((date(), date()), 0..2),
        (prop::option::of(number()), prop::option::of(time())),
        prop::collection::vec(prop_oneof![8 => Just("halls"), 1 => prop::sample::select(vec!["planner", "", "a:b"])], 0..2),
        prop::collection::vec(prop_oneof![8 => prop::sample::select(vec!["halls:7", "halls:8"]), 1 => prop::sample::select(vec!["planner:", "x"])], 0..3),
    )
        .prop_map(|((tz, horizon, holidays), periods, (max, earliest), sources, rooms)| {
            let mut t = format!(
                "[site]\nname = \"P\"\ntime_zone = \"{tz}\"\nhorizon_hours = {horizon}\npublic_holidays = \"{holidays}\"\n"
            );
            for (i, (from, to)) in periods.iter().enumerate() {
                t.push_str(&format!("[[site.holiday_periods]]\nname = \"p{i}\"\nfrom = {from}\nto = {to}\n"));
            }
            t.push_str("[site.caps]\n");
            if let Some(m) = max {
                t.push_str(&format!("max_window_hours = {m}\n"));
            }
            if let Some(e) = earliest {
                t.push_str(&format!("earliest_local = {e}\n"));
            }
            for s in sources {
                t.push_str(&format!("[[sources]]\nname = \"{s}\"\nkind = \"local\"\n"));
            }
            for r in rooms {
                t.push_str(&format!("[rooms.\"{r}\"]\ndoors = [\"D\"]\n"));
            }
            t
        })
}

/// Instants the daemon's clock or `--at` (RFC 3339, four-digit years) can give.
fn instant() -> BoxedStrategy<DateTime<Utc>> {
    prop_oneof![
        (0i64..4_102_444_800).prop_map(|s| Utc.timestamp_opt(s, 0).unwrap()),
        Just(Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).unwrap()),
        Just(Utc.with_ymd_and_hms(0, 1, 1, 0, 0, 0).unwrap()),
    ]
    .boxed()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_text_is_parsed_without_panicking(text in "\\PC{0,300}") {
        if let Ok(site) = SiteConfig::parse(&text, Path::new("site.toml"), PathBuf::new()) {
            let _ = site.validate();
        }
    }

    #[test]
    fn a_valid_config_plans_at_any_instant_without_panicking(text in site_text(), now in instant(), len in 1i64..10_000) {
        let Ok(site) = SiteConfig::parse(&text, Path::new("site.toml"), PathBuf::new()) else {
            return Ok(());
        };
        if site.validate().is_err() {
            return Ok(());
        }
        for p in &site.site.holiday_periods {
            let _ = (site.holiday_period(p.from), site.public_holiday(p.to));
        }
        let start = now.checked_sub_signed(Duration::minutes(len)).unwrap_or(now);
        let booking = Booking {
            id: "b".into(),
            source: "halls".into(),
            resource: "7".into(),
            resource_name: None,
            location: None,
            title: String::new(),
            start,
            end: now.checked_add_signed(Duration::minutes(len)).unwrap_or(now),
            setup_minutes: 0,
            teardown_minutes: 0,
            status: BookingStatus::Confirmed,
            responsible: None,
            attendees: vec![],
            tags: vec![],
            attrs: Default::default(),
        };
        let p = plan(&PlanInput { bookings: &[booking], packs: &[], site: &site, now });
        prop_assert!(p.horizon.from < p.horizon.to);
        prop_assert_eq!(p.horizon.from, now);
    }
}
