//! Local wall-clock time to instants: klar's one DST policy, used everywhere a local time
//! becomes an instant (rules' `ctx.at_local`, the caps' `earliest_local`, day types' midnights,
//! holidays, vendors' naive dates, iCalendar's local times).
//!
//! The policy: a local time is the **first instant at or after it**.
//! - Where the clock repeats an hour (autumn), the first of the two instants.
//! - Where the clock skips an hour (spring), the first instant after the gap: 02:30 on the
//!   spring-forward night is 03:00 in Copenhagen. A door never opens earlier than the local time
//!   asked for, and the window is never dropped.

use chrono::{DateTime, Duration, LocalResult, NaiveDate, NaiveDateTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;

/// The first instant at or after the local time `t` in `tz`; `None` only at the very edge of
/// chrono's calendar (no site meets it: bookings are limited to the years 1-9999).
pub fn instant_at_local(tz: Tz, t: NaiveDateTime) -> Option<DateTime<Utc>> {
    match tz.from_local_datetime(&t) {
        LocalResult::Single(dt) => return Some(dt.with_timezone(&Utc)),
        LocalResult::Ambiguous(first, _) => return Some(first.with_timezone(&Utc)),
        LocalResult::None => {}
    }
    // In a gap. Zone transitions fall on whole minutes, so the first local minute after `t`
    // that exists is where the gap ends, and everything from `t` up to it does not exist.
    // Gaps are at most a day (Samoa skipped one in 2011); past that, give up.
    let mut m = t.with_second(0)?.with_nanosecond(0)?;
    for _ in 0..=(24 * 60) {
        m = m.checked_add_signed(Duration::minutes(1))?;
        if let Some(dt) = tz.from_local_datetime(&m).earliest() {
            return Some(dt.with_timezone(&Utc));
        }
    }
    None
}

/// The first instant of a local date: its midnight, or the end of a gap at midnight.
pub fn local_midnight(tz: Tz, date: NaiveDate) -> Option<DateTime<Utc>> {
    instant_at_local(tz, date.and_hms_opt(0, 0, 0)?)
}

/// The local dates `[from, to)` touches, first and last.
pub fn local_dates(tz: Tz, from: DateTime<Utc>, to: DateTime<Utc>) -> (NaiveDate, NaiveDate) {
    let first = from.with_timezone(&tz).date_naive();
    // The last instant inside the half-open window.
    let last = (to - Duration::nanoseconds(1))
        .with_timezone(&tz)
        .date_naive()
        .max(first);
    (first, last)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::Europe::Copenhagen;

    fn local(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap()
    }
    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn a_time_in_the_spring_gap_is_the_first_instant_after_it() {
        // 2027-03-28: 02:00 -> 03:00 in Copenhagen (01:00Z).
        for t in [
            "2027-03-28 02:00:00",
            "2027-03-28 02:30:00",
            "2027-03-28 02:59:59",
        ] {
            assert_eq!(
                instant_at_local(Copenhagen, local(t)),
                Some(utc("2027-03-28T01:00:00Z")),
                "{t}"
            );
        }
        assert_eq!(
            instant_at_local(Copenhagen, local("2027-03-28 03:00:00")),
            Some(utc("2027-03-28T01:00:00Z"))
        );
        assert_eq!(
            instant_at_local(Copenhagen, local("2027-03-28 01:59:00")),
            Some(utc("2027-03-28T00:59:00Z"))
        );
    }

    #[test]
    fn a_repeated_time_in_autumn_is_the_first_of_the_two() {
        assert_eq!(
            instant_at_local(Copenhagen, local("2026-10-25 02:30:00")),
            Some(utc("2026-10-25T00:30:00Z"))
        );
    }

    #[test]
    fn midnights_and_dates_across_dst() {
        let d = NaiveDate::from_ymd_opt(2027, 3, 28).unwrap();
        assert_eq!(
            local_midnight(Copenhagen, d),
            Some(utc("2027-03-27T23:00:00Z"))
        );
        // A zone whose gap is at midnight: the day starts when the gap ends.
        let santiago: Tz = "America/Santiago".parse().unwrap();
        let gap_day = NaiveDate::from_ymd_opt(2022, 9, 11).unwrap();
        assert_eq!(
            local_midnight(santiago, gap_day),
            Some(utc("2022-09-11T04:00:00Z"))
        );
        assert_eq!(
            local_dates(
                Copenhagen,
                utc("2026-11-23T22:00:00Z"),
                utc("2026-11-23T23:00:00Z")
            ),
            (
                NaiveDate::from_ymd_opt(2026, 11, 23).unwrap(),
                NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
            ),
            "a window ending at local midnight does not touch the next day"
        );
        // The calendar's edges give an answer or none, never a panic.
        let _ = local_midnight(Copenhagen, NaiveDate::MAX);
        let _ = local_midnight(Copenhagen, NaiveDate::MIN);
        let _ = instant_at_local(Copenhagen, NaiveDateTime::MAX);
    }
}
