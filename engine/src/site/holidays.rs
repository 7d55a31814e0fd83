//! Danish public holidays (helligdage), computed, including the Easter-based ones.

use chrono::{Datelike, Days, NaiveDate};

/// Easter Sunday of `year` (Gregorian; the anonymous "Meeus/Jones/Butcher" algorithm).
pub fn easter_sunday(year: i32) -> NaiveDate {
    let a = year % 19;
    let b = year / 100;
    let c = year % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    NaiveDate::from_ymd_opt(year, month as u32, day as u32)
        .expect("the algorithm yields a valid date")
}

/// The Danish public holidays of `year`, with their Danish names, in date order.
///
/// Store bededag (General Prayer Day) was abolished from 2024 and is included only before.
pub fn danish_public_holidays(year: i32) -> Vec<(NaiveDate, &'static str)> {
    let easter = easter_sunday(year);
    let rel = |days: i64| {
        if days >= 0 {
            easter.checked_add_days(Days::new(days as u64))
        } else {
            easter.checked_sub_days(Days::new((-days) as u64))
        }
        .expect("within chrono's range")
    };
    let fixed = |m: u32, d: u32| {
        NaiveDate::from_ymd_opt(year, m, d).expect("a fixed holiday is a valid date")
    };
    let mut days = vec![
        (fixed(1, 1), "Nytårsdag"),
        (rel(-3), "Skærtorsdag"),
        (rel(-2), "Langfredag"),
        (rel(0), "Påskedag"),
        (rel(1), "2. påskedag"),
        (rel(39), "Kristi himmelfartsdag"),
        (rel(49), "Pinsedag"),
        (rel(50), "2. pinsedag"),
        (fixed(12, 25), "Juledag"),
        (fixed(12, 26), "2. juledag"),
    ];
    if year < 2024 {
        days.push((rel(26), "Store bededag"));
    }
    days.sort();
    days
}

/// The Danish public holiday on `date`, if it is one.
pub fn danish_public_holiday(date: NaiveDate) -> Option<&'static str> {
    danish_public_holidays(date.year())
        .into_iter()
        .find(|(d, _)| *d == date)
        .map(|(_, name)| name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn easter_dates_match_the_almanac() {
        assert_eq!(easter_sunday(2024), d(2024, 3, 31));
        assert_eq!(easter_sunday(2025), d(2025, 4, 20));
        assert_eq!(easter_sunday(2026), d(2026, 4, 5));
        assert_eq!(easter_sunday(2027), d(2027, 3, 28));
        assert_eq!(easter_sunday(2038), d(2038, 4, 25));
    }

    #[test]
    fn holidays_of_2027() {
        assert_eq!(danish_public_holiday(d(2027, 3, 25)), Some("Skærtorsdag"));
        assert_eq!(danish_public_holiday(d(2027, 3, 26)), Some("Langfredag"));
        assert_eq!(
            danish_public_holiday(d(2027, 5, 6)),
            Some("Kristi himmelfartsdag")
        );
        assert_eq!(danish_public_holiday(d(2027, 5, 17)), Some("2. pinsedag"));
        assert_eq!(danish_public_holiday(d(2027, 12, 24)), None);
    }

    #[test]
    fn store_bededag_only_before_2024() {
        assert_eq!(danish_public_holiday(d(2023, 5, 5)), Some("Store bededag"));
        assert_eq!(danish_public_holiday(d(2026, 5, 1)), None);
        assert_eq!(danish_public_holidays(2026).len(), 10);
    }
}
