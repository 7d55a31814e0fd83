//! `[site.safety]`: the longest margins a booking's windows may have before its start and after
//! its end, and what follows from them: how far a booking reaches, and how long a booking that
//! has ended stays in force (so its after-margins end on their own).

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::local_time::{local_dates, local_midnight};
use crate::model::{Booking, Window};

/// The largest margin a site may declare: a week.
pub const MAX_MARGIN_MINUTES: u32 = 7 * 24 * 60;

/// The site's declared maximum margins. The planner cuts every window a booking causes to
/// `[start - max_before, end + max_after)` (day types: to the local dates that period touches)
/// and reports the cut; nothing a rule asks for opens earlier or stays open longer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Safety {
    #[serde(default = "two_hours")]
    pub max_before_minutes: u32,
    #[serde(default = "two_hours")]
    pub max_after_minutes: u32,
}

fn two_hours() -> u32 {
    120
}

impl Default for Safety {
    fn default() -> Self {
        Safety {
            max_before_minutes: two_hours(),
            max_after_minutes: two_hours(),
        }
    }
}

impl Safety {
    pub fn validate(&self) -> Result<(), String> {
        for (name, value) in [
            ("max_before_minutes", self.max_before_minutes),
            ("max_after_minutes", self.max_after_minutes),
        ] {
            if value > MAX_MARGIN_MINUTES {
                return Err(format!(
                    "site.safety.{name} must be at most {MAX_MARGIN_MINUTES} (a week), not {value}"
                ));
            }
        }
        Ok(())
    }

    pub fn before(&self) -> Duration {
        Duration::minutes(i64::from(self.max_before_minutes))
    }

    pub fn after(&self) -> Duration {
        Duration::minutes(i64::from(self.max_after_minutes))
    }

    /// How far a booking's windows may reach: `[start - max_before, end + max_after)`. Saturates
    /// at the calendar's edges (a usable booking is far from them).
    pub fn reach(&self, booking: &Booking) -> Window {
        let from = booking
            .start
            .checked_sub_signed(self.before())
            .unwrap_or(DateTime::<Utc>::MIN_UTC);
        let to = booking
            .end
            .checked_add_signed(self.after())
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        Window::new(from, to).unwrap_or_else(|_| {
            // Only a booking that ends before it starts (never a usable one) gets here.
            let at = from.min(DateTime::<Utc>::MAX_UTC - Duration::seconds(1));
            Window::new(at, at + Duration::seconds(1)).expect("a second before the end of time")
        })
    }
}

/// How long a booking stays in force: until the last window it can have caused has ended.
/// The source guard keeps a booking that has ended (it is not cancelled) and the planner still
/// decides it until then; the planner drops only the windows that have ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Retention {
    pub time_zone: Tz,
    pub safety: Safety,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            time_zone: chrono_tz::Europe::Copenhagen,
            safety: Safety::default(),
        }
    }
}

impl Retention {
    /// The end of the last window `booking` can cause: the local midnight after the last date
    /// its reach touches (a day type lasts the whole day), never before the reach's end.
    pub fn until(&self, booking: &Booking) -> DateTime<Utc> {
        let reach = self.safety.reach(booking);
        let (_, last) = local_dates(self.time_zone, reach.from, reach.to);
        last.succ_opt()
            .and_then(|next| local_midnight(self.time_zone, next))
            .unwrap_or(reach.to)
            .max(reach.to)
    }

    /// Whether `booking` can still cause a window at or after `now`.
    pub fn in_force(&self, booking: &Booking, now: DateTime<Utc>) -> bool {
        self.until(booking) > now
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::BookingStatus;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn booking(start: &str, end: &str) -> Booking {
        Booking {
            id: "A".into(),
            source: "s".into(),
            resource: "1".into(),
            resource_name: None,
            location: None,
            title: String::new(),
            start: utc(start),
            end: utc(end),
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
    fn a_booking_stays_in_force_until_the_day_its_after_margin_reaches_has_ended() {
        let r = Retention::default();
        // 11:20-11:34 local (10:20Z-10:34Z): an after-margin ends by 13:34; a day type for the
        // day by local midnight.
        let b = booking("2026-11-23T10:20:00Z", "2026-11-23T10:34:00Z");
        assert_eq!(r.until(&b), utc("2026-11-23T23:00:00Z"));
        assert!(r.in_force(&b, utc("2026-11-23T22:59:59Z")));
        assert!(!r.in_force(&b, utc("2026-11-23T23:00:00Z")));
        // 22:30-23:30 local: the after-margin reaches 01:30 the next day.
        let late = booking("2026-11-23T21:30:00Z", "2026-11-23T22:30:00Z");
        assert_eq!(r.until(&late), utc("2026-11-24T23:00:00Z"));
    }

    #[test]
    fn margins_past_a_week_are_refused() {
        let s = Safety {
            max_before_minutes: MAX_MARGIN_MINUTES + 1,
            ..Safety::default()
        };
        assert!(s.validate().unwrap_err().contains("max_before_minutes"));
    }
}
