//! Parsing an ICS text and expanding it into bookings for a window: RRULE with EXDATE and RDATE,
//! RECURRENCE-ID overrides (moved or cancelled occurrences), STATUS:CANCELLED, TZID (IANA or
//! Windows names), floating and all-day times. Pure: text and window in, bookings out.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use icalendar::parser::{Component, Property, read_calendar, unfold};
use klar_engine::model::{
    Booking, BookingId, BookingStatus, Person, ResourceId, SourceName, Window,
};
use tracing::warn;

use crate::sources::time::{local_to_utc, parse_time_zone};

/// What the events book and how to read floating times.
#[derive(Debug, Clone)]
pub struct Target {
    pub source: SourceName,
    pub resource: Option<String>,
    pub resource_name: Option<String>,
    pub location: Option<String>,
    pub time_zone: Tz,
}

/// A time as written: an instant, or a local wall-clock time with its zone (kept local so that
/// recurrence and durations follow the wall clock across DST).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum When {
    Utc(DateTime<Utc>),
    Local(NaiveDateTime, Tz),
    Date(NaiveDate, Tz),
}

impl When {
    fn utc(self) -> DateTime<Utc> {
        match self {
            When::Utc(t) => t,
            When::Local(n, tz) => local_to_utc(n, tz),
            When::Date(d, tz) => local_to_utc(d.and_hms_opt(0, 0, 0).expect("midnight exists"), tz),
        }
    }
    fn naive(self) -> NaiveDateTime {
        match self {
            When::Utc(t) => t.naive_utc(),
            When::Local(n, _) => n,
            When::Date(d, _) => d.and_hms_opt(0, 0, 0).expect("midnight exists"),
        }
    }
    fn tz(self) -> Tz {
        match self {
            When::Utc(_) => chrono_tz::UTC,
            When::Local(_, tz) | When::Date(_, tz) => tz,
        }
    }
}

/// An event's length, RFC 5545 style: `nominal` is counted on the wall clock (days and weeks of
/// a DURATION, and DTEND - DTSTART in one zone, so a 17:00-19:00 event stays so after a DST
/// change), `exact` on the instant (hours, minutes and seconds of a DURATION: `PT3H` is three
/// real hours, also across a DST change).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Length {
    nominal: chrono::Duration,
    exact: chrono::Duration,
}

impl Length {
    fn nominal(d: chrono::Duration) -> Length {
        Length {
            nominal: d,
            exact: chrono::Duration::zero(),
        }
    }
    fn exact(d: chrono::Duration) -> Length {
        Length {
            nominal: chrono::Duration::zero(),
            exact: d,
        }
    }
    /// The longest real time it can span (a nominal day is at most 25 hours).
    fn at_most(&self) -> Option<chrono::Duration> {
        let days = self.nominal.abs().num_days().checked_add(1)?;
        chrono::Duration::try_hours(days.checked_mul(25)?)?.checked_add(&self.exact.abs())
    }
}

struct Event<'a> {
    component: &'a Component<'a>,
    uid: String,
    start: When,
    length: Length,
    recurrence_id: Option<DateTime<Utc>>,
    cancelled: bool,
}

/// Parses `text` and returns the bookings overlapping `window`.
pub fn expand(text: &str, target: &Target, window: &Window) -> Result<Vec<Booking>, String> {
    let unfolded = unfold(text);
    if !unfolded.trim_start().starts_with("BEGIN:VCALENDAR") {
        return Err("not an iCalendar file (no BEGIN:VCALENDAR)".into());
    }
    let calendar = read_calendar(&unfolded).map_err(|e| first_line(&e))?;
    let default_tz = calendar
        .properties
        .iter()
        .find(|p| p.name.as_str().eq_ignore_ascii_case("X-WR-TIMEZONE"))
        .and_then(|p| parse_time_zone(p.val.as_str()))
        .unwrap_or(target.time_zone);
    let mut events = Vec::new();
    for c in calendar
        .components
        .iter()
        .filter(|c| c.name.as_str().eq_ignore_ascii_case("VEVENT"))
    {
        match event(c, default_tz) {
            Ok(e) => events.push(e),
            Err(e) => {
                return Err(format!(
                    "event {}: {e}",
                    prop(c, "UID")
                        .map(|p| p.val.as_str().to_owned())
                        .unwrap_or_default()
                ));
            }
        }
    }
    // Overrides by (UID, original start).
    let overrides: HashMap<(String, DateTime<Utc>), &Event> = events
        .iter()
        .filter_map(|e| e.recurrence_id.map(|r| ((e.uid.clone(), r), e)))
        .collect();
    let mut out = BTreeMap::new();
    for e in events.iter() {
        if let Some(rid) = e.recurrence_id {
            push(
                &mut out,
                booking(e, target, e.start.utc(), e.start.naive(), Some(rid)),
                window,
            );
            continue;
        }
        if prop(e.component, "RRULE").is_none() && prop(e.component, "RDATE").is_none() {
            push(
                &mut out,
                booking(e, target, e.start.utc(), e.start.naive(), None),
                window,
            );
            continue;
        }
        for (start, wall) in occurrences(e, window, default_tz)? {
            if overrides.contains_key(&(e.uid.clone(), start)) {
                continue;
            }
            push(
                &mut out,
                booking(e, target, start, wall, Some(start)),
                window,
            );
        }
    }
    Ok(out.into_values().flatten().collect())
}

fn push(
    out: &mut BTreeMap<(DateTime<Utc>, String), Option<Booking>>,
    b: Option<Booking>,
    window: &Window,
) {
    if let Some(b) = b.filter(|b| b.start < window.to && window.from < b.end) {
        out.insert((b.start, b.id.0.clone()), Some(b));
    }
}

fn first_line(e: &str) -> String {
    format!(
        "cannot parse the calendar: {}",
        e.lines().next().unwrap_or(e)
    )
}

fn prop<'a>(c: &'a Component<'a>, name: &str) -> Option<&'a Property<'a>> {
    c.properties
        .iter()
        .find(|p| p.name.as_str().eq_ignore_ascii_case(name))
}

fn props<'a>(c: &'a Component<'a>, name: &'a str) -> impl Iterator<Item = &'a Property<'a>> + 'a {
    c.properties
        .iter()
        .filter(move |p| p.name.as_str().eq_ignore_ascii_case(name))
}

fn param<'a>(p: &'a Property<'a>, name: &str) -> Option<&'a str> {
    p.params
        .iter()
        .find(|x| x.key.as_str().eq_ignore_ascii_case(name))
        .and_then(|x| x.val.as_ref())
        .map(|v| v.as_str().trim_matches('"'))
}

/// Reads one date or date-time value with the property's TZID.
fn when(value: &str, p: &Property<'_>, default_tz: Tz) -> Result<When, String> {
    let v = value.trim();
    let tz = match param(p, "TZID") {
        Some(name) => parse_time_zone(name).unwrap_or_else(|| {
            warn!(
                tzid = name,
                "Unknown TZID; reading the time in the calendar's zone."
            );
            default_tz
        }),
        None => default_tz,
    };
    if v.len() == 8 {
        let d = NaiveDate::parse_from_str(v, "%Y%m%d").map_err(|_| format!("bad date {v:?}"))?;
        return Ok(When::Date(d, tz));
    }
    if let Some(z) = v.strip_suffix('Z') {
        let n = NaiveDateTime::parse_from_str(z, "%Y%m%dT%H%M%S")
            .map_err(|_| format!("bad date-time {v:?}"))?;
        return Ok(When::Utc(Utc.from_utc_datetime(&n)));
    }
    let n = NaiveDateTime::parse_from_str(v, "%Y%m%dT%H%M%S")
        .map_err(|_| format!("bad date-time {v:?}"))?;
    Ok(When::Local(n, tz))
}

fn event<'a>(c: &'a Component<'a>, default_tz: Tz) -> Result<Event<'a>, String> {
    let uid = prop(c, "UID")
        .map(|p| p.val.as_str().trim().to_owned())
        .filter(|u| !u.is_empty())
        .ok_or("no UID")?;
    let dtstart = prop(c, "DTSTART").ok_or("no DTSTART")?;
    let start = when(dtstart.val.as_str(), dtstart, default_tz)?;
    let length = if let Some(dtend) = prop(c, "DTEND") {
        let end = when(dtend.val.as_str(), dtend, default_tz)?;
        match (start, end) {
            (When::Utc(a), When::Utc(b)) => Length::exact(b - a),
            _ if start.tz() == end.tz() => Length::nominal(end.naive() - start.naive()),
            _ => Length::exact(end.utc() - start.utc()),
        }
    } else if let Some(d) = prop(c, "DURATION") {
        duration(d.val.as_str()).ok_or_else(|| format!("bad DURATION {:?}", d.val.as_str()))?
    } else if matches!(start, When::Date(..)) {
        Length::nominal(chrono::Duration::days(1))
    } else {
        Length::exact(chrono::Duration::zero())
    };
    let recurrence_id = match prop(c, "RECURRENCE-ID") {
        Some(p) => Some(when(p.val.as_str(), p, default_tz)?.utc()),
        None => None,
    };
    let cancelled =
        prop(c, "STATUS").is_some_and(|p| p.val.as_str().trim().eq_ignore_ascii_case("CANCELLED"));
    Ok(Event {
        component: c,
        uid,
        start,
        length,
        recurrence_id,
        cancelled,
    })
}

/// `PT2H`, `P1D`, `PT1H30M`, `P1W`, `-PT15M`: weeks and days are nominal, hours, minutes and
/// seconds exact (RFC 5545 3.3.6).
fn duration(text: &str) -> Option<Length> {
    let t = text.trim();
    let (sign, t) = match t.strip_prefix('-') {
        Some(rest) => (-1, rest),
        None => (1, t.strip_prefix('+').unwrap_or(t)),
    };
    let t = t.strip_prefix('P')?;
    let mut nominal = chrono::Duration::zero();
    let mut exact = chrono::Duration::zero();
    let mut number = String::new();
    let mut in_time = false;
    for ch in t.chars() {
        match ch {
            'T' => in_time = true,
            '0'..='9' => number.push(ch),
            unit => {
                let n: i64 = number.parse().ok()?;
                number.clear();
                // A length past chrono's range is a bad value, not a panic.
                match (unit, in_time) {
                    ('W', false) => {
                        nominal = nominal.checked_add(&chrono::Duration::try_weeks(n)?)?
                    }
                    ('D', false) => {
                        nominal = nominal.checked_add(&chrono::Duration::try_days(n)?)?
                    }
                    ('H', true) => exact = exact.checked_add(&chrono::Duration::try_hours(n)?)?,
                    ('M', true) => exact = exact.checked_add(&chrono::Duration::try_minutes(n)?)?,
                    ('S', true) => exact = exact.checked_add(&chrono::Duration::try_seconds(n)?)?,
                    _ => return None,
                }
            }
        }
    }
    number.is_empty().then_some(Length {
        nominal: nominal * sign,
        exact: exact * sign,
    })
}

/// The starts of a recurring event's occurrences that may overlap `window`, EXDATEs removed:
/// each as an instant and as the wall-clock time the rule gives it.
///
/// The rule is expanded on the wall clock (a weekly 17:00 stays 17:00 across DST), and each
/// wall-clock start becomes an instant by klar's one DST policy
/// ([`klar_engine::site::local_time`]): an occurrence in the spring gap starts when the gap
/// ends. (Letting the recurrence library place it would be another policy: it shifts by the
/// gap.)
fn occurrences(
    e: &Event<'_>,
    window: &Window,
    default_tz: Tz,
) -> Result<Vec<(DateTime<Utc>, NaiveDateTime)>, String> {
    let tz = e.start.tz();
    let floating = !matches!(e.start, When::Utc(_));
    // Wall-clock time of an instant, and the instant of a wall-clock time.
    let wall = |t: DateTime<Utc>| {
        if floating {
            t.with_timezone(&tz).naive_local()
        } else {
            t.naive_utc()
        }
    };
    let instant = |n: NaiveDateTime| {
        if floating {
            local_to_utc(n, tz)
        } else {
            n.and_utc()
        }
    };
    // The recurrence library sees wall-clock times as if they were UTC: no zone, no DST.
    let mut text = format!("DTSTART:{}", e.start.naive().format("%Y%m%dT%H%M%SZ"));
    for p in props(e.component, "RRULE") {
        text.push_str("\nRRULE:");
        text.push_str(&until_on_the_wall(p.val.as_str(), &wall));
    }
    let set: rrule::RRuleSet = text
        .parse()
        .map_err(|err: rrule::RRuleError| format!("RRULE: {err}"))?;
    let on_wall = |n: NaiveDateTime| n.and_utc().with_timezone(&rrule::Tz::UTC);
    let mut set = set;
    for p in props(e.component, "RDATE") {
        for v in p.val.as_str().split(',') {
            if let Ok(w) = when(v, p, default_tz) {
                set = set.rdate(on_wall(wall_of(w, e.start, &wall)));
            }
        }
    }
    for p in props(e.component, "EXDATE") {
        for v in p.val.as_str().split(',') {
            let w = when(v, p, default_tz)?;
            set = set.exdate(on_wall(wall_of(w, e.start, &wall)));
        }
    }
    // Wide enough that any occurrence overlapping the window is included (a day either side
    // for the zone's offset).
    let day = chrono::Duration::days(1);
    let from = e
        .length
        .at_most()
        .and_then(|length| length.checked_add(&day))
        .and_then(|back| wall(window.from).checked_sub_signed(back))
        .unwrap_or(NaiveDateTime::MIN);
    let to = wall(window.to)
        .checked_add_signed(day)
        .unwrap_or(NaiveDateTime::MAX);
    let set = set.after(on_wall(from)).before(on_wall(to));
    let result = set.all(u16::MAX);
    if result.limited {
        warn!(uid = %e.uid, "Recurrence expansion stopped at its limit; later occurrences are not read.");
    }
    Ok(result
        .dates
        .into_iter()
        .map(|d| {
            let n = d.naive_utc();
            (instant(n), n)
        })
        .collect())
}

/// The wall-clock time an RDATE or EXDATE names: an instant's, a local time's (read in its
/// own zone), or a date's at the event's start time of day.
fn wall_of(w: When, start: When, wall: &impl Fn(DateTime<Utc>) -> NaiveDateTime) -> NaiveDateTime {
    match w {
        When::Date(d, _) => d.and_time(start.naive().time()),
        When::Local(n, tz) if tz == start.tz() => n,
        other => wall(other.utc()),
    }
}

/// RRULE's UNTIL on the wall clock the expansion runs on: a UTC UNTIL becomes the event's
/// wall-clock time, a floating one is taken as written (a date: its last second).
fn until_on_the_wall(rule: &str, wall: &impl Fn(DateTime<Utc>) -> NaiveDateTime) -> String {
    rule.split(';')
        .map(|part| match part.split_once('=') {
            Some((k, v)) if k.eq_ignore_ascii_case("UNTIL") => {
                let naive = if let Some(z) = v.strip_suffix('Z') {
                    NaiveDateTime::parse_from_str(z, "%Y%m%dT%H%M%S")
                        .ok()
                        .map(|n| wall(n.and_utc()))
                } else if v.len() == 8 {
                    NaiveDate::parse_from_str(v, "%Y%m%d")
                        .ok()
                        .and_then(|d| d.and_hms_opt(23, 59, 59))
                } else {
                    NaiveDateTime::parse_from_str(v, "%Y%m%dT%H%M%S").ok()
                };
                match naive {
                    Some(n) => format!("UNTIL={}", n.format("%Y%m%dT%H%M%SZ")),
                    None => part.to_owned(),
                }
            }
            _ => part.to_owned(),
        })
        .collect::<Vec<_>>()
        .join(";")
}

fn text_prop(c: &Component<'_>, name: &str) -> Option<String> {
    prop(c, name)
        .map(|p| unescape(p.val.as_str()))
        .filter(|s| !s.is_empty())
}

fn unescape(s: &str) -> String {
    s.replace("\\n", " ")
        .replace("\\N", " ")
        .replace("\\,", ",")
        .replace("\\;", ";")
        .replace("\\\\", "\\")
        .trim()
        .to_owned()
}

/// The booking of one occurrence starting at `start`, which the event's rule (or its own
/// DTSTART) writes as `wall` on the wall clock.
fn booking(
    e: &Event<'_>,
    target: &Target,
    start: DateTime<Utc>,
    wall: NaiveDateTime,
    recurrence: Option<DateTime<Utc>>,
) -> Option<Booking> {
    // The nominal part follows the wall clock from the occurrence's local start, the exact part
    // the instant after it. An end past chrono's range (an absurd length) gives no booking
    // rather than a panic.
    let end = match e.start {
        When::Utc(_) => start
            .checked_add_signed(e.length.nominal)?
            .checked_add_signed(e.length.exact)?,
        // From the wall-clock start as written, even where it lies in a DST gap.
        other => local_to_utc(wall.checked_add_signed(e.length.nominal)?, other.tz())
            .checked_add_signed(e.length.exact)?,
    };
    if end <= start {
        return None;
    }
    let location = text_prop(e.component, "LOCATION");
    let resource = match &target.resource {
        Some(r) => r.clone(),
        None => location.clone()?,
    };
    let id = match recurrence {
        Some(r) => format!("{}@{}", e.uid, r.format("%Y%m%dT%H%M%SZ")),
        None => e.uid.clone(),
    };
    let responsible = prop(e.component, "ORGANIZER").and_then(|p| {
        let email = p
            .val
            .as_str()
            .trim()
            .strip_prefix("mailto:")
            .or_else(|| p.val.as_str().trim().strip_prefix("MAILTO:"))
            .map(str::to_owned);
        let person = Person {
            name: param(p, "CN").unwrap_or_default().to_owned(),
            email,
            ..Person::default()
        };
        person.key().map(|_| person)
    });
    let status = if e.cancelled {
        BookingStatus::Cancelled
    } else if prop(e.component, "STATUS")
        .is_some_and(|p| p.val.as_str().trim().eq_ignore_ascii_case("TENTATIVE"))
    {
        BookingStatus::Tentative
    } else {
        BookingStatus::Confirmed
    };
    let attendees = props(e.component, "ATTENDEE")
        .filter_map(|p| {
            param(p, "CN")
                .map(str::to_owned)
                .or_else(|| p.val.as_str().strip_prefix("mailto:").map(str::to_owned))
        })
        .collect();
    let tags = text_prop(e.component, "CATEGORIES")
        .map(|c| {
            c.split(',')
                .map(|t| t.trim().to_lowercase())
                .filter(|t| !t.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let mut attrs = BTreeMap::new();
    attrs.insert("ical.uid".to_owned(), e.uid.clone());
    if let Some(r) = recurrence {
        attrs.insert("ical.recurrence_id".to_owned(), r.to_rfc3339());
    }
    let mut booking = Booking {
        id: BookingId::new(id),
        source: target.source.clone(),
        resource: ResourceId::new(resource),
        resource_name: target.resource_name.clone().or_else(|| {
            if target.resource.is_none() {
                location.clone()
            } else {
                None
            }
        }),
        location: target.location.clone().or(location),
        title: text_prop(e.component, "SUMMARY").unwrap_or_default(),
        start,
        end,
        setup_minutes: 0,
        teardown_minutes: 0,
        status,
        responsible,
        attendees,
        tags,
        attrs,
    };
    // Vendor text made safe to show and log (`crate::sources::text`).
    crate::sources::text::clean_booking(&mut booking);
    Some(booking)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        let m = chrono::Duration::minutes;
        assert_eq!(duration("PT1H30M"), Some(Length::exact(m(90))));
        assert_eq!(
            duration("P1W"),
            Some(Length::nominal(chrono::Duration::weeks(1)))
        );
        assert_eq!(
            duration("P1DT2H"),
            Some(Length {
                nominal: chrono::Duration::days(1),
                exact: m(120)
            })
        );
        assert_eq!(duration("-PT15M"), Some(Length::exact(m(-15))));
        assert_eq!(duration("1H"), None);
        assert_eq!(duration("P15250284453W"), None);
        assert_eq!(duration("P999999999999999D"), None);
    }

    #[test]
    fn until_goes_on_the_wall_clock() {
        let tz = chrono_tz::Europe::Copenhagen;
        let wall = |t: DateTime<Utc>| t.with_timezone(&tz).naive_local();
        // Floating: as written. UTC: the event's wall-clock time (17:00 CET).
        assert_eq!(
            until_on_the_wall("FREQ=WEEKLY;UNTIL=20261110T170000;BYDAY=TU", &wall),
            "FREQ=WEEKLY;UNTIL=20261110T170000Z;BYDAY=TU"
        );
        assert_eq!(
            until_on_the_wall("FREQ=DAILY;UNTIL=20261110T160000Z", &wall),
            "FREQ=DAILY;UNTIL=20261110T170000Z"
        );
        assert_eq!(
            until_on_the_wall("FREQ=DAILY;UNTIL=20261110", &wall),
            "FREQ=DAILY;UNTIL=20261110T235959Z"
        );
    }
}
