//! The bounds every effect a rule returns must keep, checked by both runtimes the same way: an
//! effect outside them fails its own booking (bad output), never the planner or the daemon.
//!
//! An effect lies within a year of its booking: every instant of its window within
//! [`REACH_DAYS`] of the booking's start and end, every date of a day type within as many days
//! of the booking's local dates. That keeps UniLock's special-day calendar (one year ahead) and
//! chrono's calendar out of reach of any rule, however wrong; the planner then cuts each window
//! to the site's declared margins (`[site.safety]`) and reports the cut.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;

use crate::model::{Booking, Effect};

/// How far from its booking an effect may reach, in days.
pub const REACH_DAYS: i64 = 366;

/// The most targets one pack's effects for one booking may name (a grant names one per group,
/// a deny one per door). Without it, 1,024 grants of 1,024 groups each, cheap to build, made a
/// million plan entries for one booking.
pub const MAX_TARGETS: usize = 4_096;

/// Whether one booking's effects from one pack name at most [`MAX_TARGETS`] targets.
pub fn check_count<'a>(effects: impl IntoIterator<Item = &'a Effect>) -> Result<(), String> {
    let targets: usize = effects
        .into_iter()
        .map(|e| match e {
            Effect::Grant { groups, .. } => groups.len(),
            Effect::Deny { doors, .. } => doors.len(),
            _ => 1,
        })
        .sum();
    if targets > MAX_TARGETS {
        return Err(format!(
            "the effects name {targets} targets (a grant one per group, a deny one per door); at most {MAX_TARGETS} are allowed"
        ));
    }
    Ok(())
}

/// Whether `effect` keeps the bounds for `booking` in `tz`; else what is wrong, for people.
pub fn check(effect: &Effect, booking: &Booking, tz: Tz) -> Result<(), String> {
    let reach = Duration::days(REACH_DAYS);
    match effect {
        Effect::DayType { from, to, .. } => {
            let first = booking.start.with_timezone(&tz).date_naive();
            let last = booking.end.with_timezone(&tz).date_naive();
            let earliest = first.checked_sub_signed(reach).unwrap_or(NaiveDate::MIN);
            let latest = last.checked_add_signed(reach).unwrap_or(NaiveDate::MAX);
            for d in [from, to] {
                if *d < earliest || *d > latest {
                    return Err(format!(
                        "{}: the date {d} is more than {REACH_DAYS} days from the booking's dates ({first} to {last})",
                        effect.kind()
                    ));
                }
            }
            Ok(())
        }
        other => {
            let w = other
                .window()
                .expect("every effect but a day type has a window");
            let earliest = booking
                .start
                .checked_sub_signed(reach)
                .unwrap_or(DateTime::<Utc>::MIN_UTC);
            let latest = booking
                .end
                .checked_add_signed(reach)
                .unwrap_or(DateTime::<Utc>::MAX_UTC);
            for t in [w.from, w.to] {
                if t < earliest || t > latest {
                    return Err(format!(
                        "{}: the instant {} is more than {REACH_DAYS} days from the booking ({} to {})",
                        other.kind(),
                        t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
                        booking
                            .start
                            .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
                        booking
                            .end
                            .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
                    ));
                }
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{BookingStatus, DayKind, Window};

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn booking() -> Booking {
        Booking {
            id: "A".into(),
            source: "s".into(),
            resource: "1".into(),
            resource_name: None,
            location: None,
            title: String::new(),
            start: utc("2026-11-23T10:00:00Z"),
            end: utc("2026-11-23T11:00:00Z"),
            setup_minutes: 0,
            teardown_minutes: 0,
            status: BookingStatus::Confirmed,
            responsible: None,
            attendees: vec![],
            tags: vec![],
            attrs: Default::default(),
        }
    }

    #[test]
    fn too_many_targets_are_refused() {
        let grant = |n: usize| Effect::Grant {
            person: "member:1".into(),
            groups: (0..n).map(|i| format!("G{i}").into()).collect(),
            window: Window::new(booking().start, booking().end).unwrap(),
        };
        assert!(check_count(&[grant(MAX_TARGETS)]).is_ok());
        let e = check_count(&[grant(MAX_TARGETS), grant(1)]).unwrap_err();
        assert!(e.contains("4097 targets"), "{e}");
    }

    #[test]
    fn effects_far_from_their_booking_are_refused() {
        let tz = chrono_tz::Europe::Copenhagen;
        let b = booking();
        let day = |from: NaiveDate, to: NaiveDate| Effect::DayType {
            from,
            to,
            day: DayKind::Holiday,
        };
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert!(check(&day(d("2026-11-23"), d("2027-11-24")), &b, tz).is_ok());
        let e = check(&day(d("2026-11-23"), NaiveDate::MAX), &b, tz).unwrap_err();
        assert!(e.contains("more than 366 days"), "{e}");
        assert!(check(&day(NaiveDate::MIN, d("2026-11-23")), &b, tz).is_err());
        let unlock = |from: DateTime<Utc>, to: DateTime<Utc>| Effect::DoorMode {
            door: "D".into(),
            level: crate::model::DoorLevel::Unlocked,
            window: Window::new(from, to).unwrap(),
        };
        assert!(check(&unlock(b.start, b.end), &b, tz).is_ok());
        assert!(check(&unlock(b.start, DateTime::<Utc>::MAX_UTC), &b, tz).is_err());
        assert!(check(&unlock(DateTime::<Utc>::MIN_UTC, b.end), &b, tz).is_err());
    }
}
