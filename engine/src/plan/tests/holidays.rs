//! The site's own holidays reach the controller as day types, without any booking or rule.

use super::*;

fn christmas_eve() -> DateTime<Utc> {
    dec(24, 6)
}

fn dec(d: u32, h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, d, h, 0, 0).unwrap()
}

fn holiday() -> Target {
    Target::Day {
        day: DayKind::Holiday,
    }
}

#[test]
fn public_holidays_inside_the_horizon_become_day_type_holiday() {
    // No bookings at all: Juledag and 2. juledag (25 and 26 December) are holidays on the
    // controller, local midnight to the horizon's end (before: nothing wrote them).
    let p = plan_at(&site(), &[], &[], christmas_eve());
    assert_eq!(windows(&p, &holiday()), vec![w(dec(24, 23), dec(26, 6))]);
    let names: Vec<&str> = p.entries[0].windows[0]
        .reasons
        .iter()
        .map(|r| r.title.as_str())
        .collect();
    assert_eq!(names, vec!["Juledag", "2. juledag"]);
    assert!(p.entries[0].windows[0].reasons.iter().all(is_site));
    // A site that does not want them.
    let off = site_with("write_holidays = false");
    assert!(plan_at(&off, &[], &[], christmas_eve()).entries.is_empty());
}

#[test]
fn holiday_periods_become_day_types_as_the_site_maps_them() {
    let ferie = |day_type: &str| {
        site_with(&format!(
            "public_holidays = \"none\"\n[[site.holiday_periods]]\nname = \"Juleferie\"\nfrom = 2026-12-21\nto = 2027-01-03\n{day_type}"
        ))
    };
    let p = plan_at(&ferie(""), &[], &[], christmas_eve());
    assert_eq!(windows(&p, &holiday()), vec![w(dec(23, 23), dec(26, 6))]);
    let p = plan_at(
        &ferie("day_type = \"skoleferie\""),
        &[],
        &[],
        christmas_eve(),
    );
    assert_eq!(
        windows(
            &p,
            &Target::Day {
                day: DayKind::Special("skoleferie".into())
            }
        ),
        vec![w(dec(23, 23), dec(26, 6))]
    );
    assert!(windows(&p, &holiday()).is_empty());
    let p = plan_at(&ferie("day_type = \"none\""), &[], &[], christmas_eve());
    assert!(p.entries.is_empty());
}

#[test]
fn a_rules_day_type_wins_over_the_sites_holiday_for_its_date() {
    // A Christmas concert's rule makes 25 December an open-house day: the site's holiday yields
    // on that date and the conflict is reported; 26 December stays a holiday.
    let rules = vec![named_pack("calendar", |_, _, ctx| {
        let d = ctx.local_start.date();
        Ok(vec![Effect::DayType {
            from: d,
            to: d,
            day: DayKind::Special("open_house".into()),
        }])
    })];
    let b = booking("XMAS", "1", dec(25, 15), dec(25, 17));
    let p = plan_at(&site(), &[b], &rules, christmas_eve());
    assert_eq!(windows(&p, &holiday()), vec![w(dec(25, 23), dec(26, 6))]);
    assert_eq!(
        windows(
            &p,
            &Target::Day {
                day: DayKind::Special("open_house".into())
            }
        ),
        vec![w(dec(24, 23), dec(25, 23))]
    );
    let c = p
        .conflicts
        .iter()
        .find(|c| c.target == holiday())
        .expect("reported");
    assert_eq!(c.winners[0].id.as_str(), "XMAS");
    assert_eq!(c.window, w(dec(24, 23), dec(25, 23)));
}
