//! One way to show time to people: the site's local time with its UTC offset
//! (`2026-11-23 07:15 +01:00`), so a time read on a phone at the door needs no arithmetic and
//! an hour that the autumn night repeats is still one instant. JSON stays UTC (RFC 3339, serde's
//! default). The CLI (`klar diff`) and the dashboard (reloads) use these; `explain`, `state` and
//! the doors page can follow.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use klar_engine::model::Window;

/// `2026-11-23 07:15 +01:00`.
pub fn instant(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz)
        .format("%Y-%m-%d %H:%M %:z")
        .to_string()
}

/// A window, its end as short as it can be read unambiguously: `2026-11-23 07:15 .. 09:00
/// +01:00` on one day at one offset, else both ends in full.
pub fn window(w: &Window, tz: Tz) -> String {
    let (from, to) = (w.from.with_timezone(&tz), w.to.with_timezone(&tz));
    if from.date_naive() == to.date_naive() && from.offset() == to.offset() {
        format!(
            "{} .. {} {}",
            from.format("%Y-%m-%d %H:%M"),
            to.format("%H:%M"),
            from.format("%:z")
        )
    } else {
        format!("{} .. {}", instant(w.from, tz), instant(w.to, tz))
    }
}

/// `after` as short as it reads beside `before`: its times alone (`07:45 .. 09:45`) when both
/// lie on the same local day at the same offset, else in full.
pub fn window_beside(after: &Window, before: &Window, tz: Tz) -> String {
    let (a_from, a_to) = (after.from.with_timezone(&tz), after.to.with_timezone(&tz));
    let b_from = before.from.with_timezone(&tz);
    let one_day = a_from.date_naive() == a_to.date_naive()
        && a_from.date_naive() == b_from.date_naive()
        && a_from.offset() == a_to.offset()
        && a_from.offset() == b_from.offset();
    if one_day {
        format!("{} .. {}", a_from.format("%H:%M"), a_to.format("%H:%M"))
    } else {
        window(after, tz)
    }
}

/// How a window moved, in minutes: `opens 30 min earlier, closes 15 min later`.
pub fn shift(before: &Window, after: &Window) -> String {
    let minutes = |d: chrono::Duration| d.num_minutes();
    let mut parts = Vec::new();
    for (what, d) in [
        ("opens", minutes(after.from - before.from)),
        ("closes", minutes(after.to - before.to)),
    ] {
        if d != 0 {
            let way = if d < 0 { "earlier" } else { "later" };
            parts.push(format!("{what} {} {way}", span(d.unsigned_abs())));
        }
    }
    parts.join(", ")
}

/// `45 min`, `2 h`, `1 h 30 min`, `3 d`.
fn span(minutes: u64) -> String {
    match (minutes / 60, minutes % 60) {
        (0, m) => format!("{m} min"),
        (h, 0) if h % 24 == 0 => format!("{} d", h / 24),
        (h, 0) => format!("{h} h"),
        (h, m) => format!("{h} h {m} min"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn local_time_carries_its_offset() {
        let tz = chrono_tz::Europe::Copenhagen;
        assert_eq!(
            instant(t("2026-11-23T06:15:00Z"), tz),
            "2026-11-23 07:15 +01:00"
        );
        let w = Window::new(t("2026-11-23T06:15:00Z"), t("2026-11-23T08:00:00Z")).unwrap();
        assert_eq!(window(&w, tz), "2026-11-23 07:15 .. 09:00 +01:00");
        let later = Window::new(t("2026-11-23T05:45:00Z"), t("2026-11-23T08:00:00Z")).unwrap();
        assert_eq!(window_beside(&later, &w, tz), "06:45 .. 09:00");
        // The autumn night: 02:30 twice, told apart by the offset.
        let night = Window::new(t("2026-10-25T00:30:00Z"), t("2026-10-25T01:30:00Z")).unwrap();
        assert_eq!(
            window(&night, tz),
            "2026-10-25 02:30 +02:00 .. 2026-10-25 02:30 +01:00"
        );
    }

    #[test]
    fn shifts_read_as_earlier_and_later() {
        let a = Window::new(t("2026-11-23T06:15:00Z"), t("2026-11-23T08:00:00Z")).unwrap();
        let b = Window::new(t("2026-11-23T05:45:00Z"), t("2026-11-23T09:30:00Z")).unwrap();
        assert_eq!(
            shift(&a, &b),
            "opens 30 min earlier, closes 1 h 30 min later"
        );
        assert_eq!(
            shift(&b, &a),
            "opens 30 min later, closes 1 h 30 min earlier"
        );
    }
}
