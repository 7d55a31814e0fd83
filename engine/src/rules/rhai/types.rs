//! The values a Rhai rule sees: instants, durations and dates, and read-only views of the
//! booking, the room and the context. Registered with getters only; no setters.
//!
//! Every instant knows the site's zone, so `.hour`, `.minute`, `.weekday` and `.date` are local
//! time, while `+`, `-` and comparisons work on the true instant (correct across DST changes).

use std::sync::Arc;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, Timelike, Utc};
use chrono_tz::Tz;
use rhai::{Array, Dynamic, EvalAltResult, INT, ImmutableString, Map, Position};

use crate::model::{Booking, Person};
use crate::rules::Ctx;
use crate::site::Room;

/// An instant, in UTC, with the site's zone for its local getters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Instant {
    pub utc: DateTime<Utc>,
    pub tz: Tz,
}

impl Instant {
    fn local(&self) -> DateTime<Tz> {
        self.utc.with_timezone(&self.tz)
    }

    /// The instant at a local date and time, by the site's one DST policy
    /// ([`crate::site::local_time`]): in a gap, the first instant after it; where the clock
    /// repeats an hour, the earlier of the two. `None` outside the years a rule may use.
    pub fn at_local(tz: Tz, date: NaiveDate, time: NaiveTime) -> Option<Instant> {
        if !date_in_range(date) {
            return None;
        }
        crate::site::local_time::instant_at_local(tz, date.and_time(time))
            .filter(|utc| instant_in_range(*utc))
            .map(|utc| Instant { utc, tz })
    }
}

/// The years a rule's instants and dates may lie in: 2 to 9998, inside a booking's 1 to 9999 so
/// that local time never leaves chrono's calendar. Arithmetic that leaves them is an error in
/// the rule (it fails its booking), never a panic in the planner. (The effects themselves are
/// bounded much closer to their booking: [`crate::rules::bounds`].)
const YEARS: std::ops::RangeInclusive<i32> = 2..=9998;

pub fn date_in_range(d: NaiveDate) -> bool {
    YEARS.contains(&d.year())
}

pub fn instant_in_range(t: DateTime<Utc>) -> bool {
    YEARS.contains(&t.year())
}

impl std::fmt::Display for Instant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.local().format("%Y-%m-%d %H:%M %:z"))
    }
}

/// A length of time: `minutes(15)`, `hours(2)`, `days(1)`, or the difference of two instants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Span(pub Duration);

impl std::fmt::Display for Span {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let minutes = self.0.num_minutes();
        if minutes % 60 == 0 {
            write!(f, "{}h", minutes / 60)
        } else {
            write!(f, "{minutes}min")
        }
    }
}

/// A local date (`ctx.local_start.date`, `date("2026-12-24")`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Date(pub NaiveDate);

/// The booking as a rule sees it: no PIN, no card.
#[derive(Debug, Clone)]
pub struct BookingView(pub Arc<BookingData>);

#[derive(Debug)]
pub struct BookingData {
    /// The booking without its responsible person (see `responsible`).
    pub booking: Booking,
    /// A [`PersonView`], or `()`.
    pub responsible: Dynamic,
    pub tz: Tz,
}

impl BookingView {
    pub fn new(booking: &Booking, tz: Tz) -> BookingView {
        let mut booking = booking.clone();
        let responsible = booking
            .responsible
            .take()
            .map_or(Dynamic::UNIT, |p| Dynamic::from(PersonView::new(p)));
        BookingView(Arc::new(BookingData {
            booking,
            responsible,
            tz,
        }))
    }
}

/// The booking's responsible person: name, contact, key; whether a PIN or card is known.
#[derive(Debug, Clone)]
pub struct PersonView(pub Arc<PersonData>);

#[derive(Debug)]
pub struct PersonData {
    /// Without credentials.
    pub person: Person,
    pub has_pin: bool,
    pub has_card: bool,
    /// The person's key as text, or `()`.
    pub key: Dynamic,
}

impl PersonView {
    fn new(mut person: Person) -> PersonView {
        // Rules never see credentials; only whether there are any.
        let has_pin = person.pin.take().is_some();
        let has_card = person.card.take().is_some();
        let key = person.key().map_or(Dynamic::UNIT, |k| text(&k.0));
        PersonView(Arc::new(PersonData {
            person,
            has_pin,
            has_card,
            key,
        }))
    }

    /// The person's key, if they have one.
    pub fn key(&self) -> Option<crate::model::PersonKey> {
        // Made once in `new`; `Person::key` formats a new string each time.
        self.0
            .key
            .read_lock::<ImmutableString>()
            .map(|k| crate::model::PersonKey(k.to_string()))
    }
}

/// The room's configuration, converted once per batch.
#[derive(Debug, Clone)]
pub struct RoomView(pub Arc<RoomData>);

#[derive(Debug)]
pub struct RoomData {
    pub key: Dynamic,
    pub name: Dynamic,
    pub doors: Array,
    pub alarm_zone: Dynamic,
    pub outputs: Map,
    pub person_groups: Array,
    pub shared_exceptions: Array,
    pub tags: Vec<String>,
}

impl RoomView {
    pub fn new(room: &Room) -> RoomView {
        RoomView(Arc::new(RoomData {
            key: text(&room.key),
            name: text(&room.name),
            doors: texts(room.doors.iter().map(|d| d.as_str())),
            alarm_zone: optional_text(room.alarm_zone.as_ref().map(|z| z.as_str())),
            outputs: room
                .outputs
                .iter()
                .map(|(k, o)| (k.as_str().into(), text(o.as_str())))
                .collect(),
            person_groups: texts(room.person_groups.iter().map(|g| g.as_str())),
            shared_exceptions: room
                .shared_exceptions
                .iter()
                .map(|&id| Dynamic::from_int(INT::from(id)))
                .collect(),
            tags: room.tags.clone(),
        }))
    }
}

/// The context: local times, holidays, the pack's settings.
#[derive(Debug, Clone)]
pub struct CtxView(pub Arc<CtxData>);

#[derive(Debug)]
pub struct CtxData {
    pub tz: Tz,
    pub local_start: Instant,
    pub local_end: Instant,
    pub weekday: INT,
    pub date: Date,
    pub is_holiday: bool,
    pub public_holiday: Dynamic,
    pub holiday_period: Dynamic,
    pub settings: Settings,
}

impl CtxView {
    /// The context of `booking`; `ctx.local_start` and `ctx.local_end` are its start and end.
    pub fn new(ctx: &Ctx, booking: &Booking, settings: Settings) -> CtxView {
        let tz = ctx.time_zone;
        CtxView(Arc::new(CtxData {
            tz,
            local_start: Instant {
                utc: booking.start,
                tz,
            },
            local_end: Instant {
                utc: booking.end,
                tz,
            },
            weekday: INT::from(ctx.weekday()),
            date: Date(ctx.local_start.date()),
            is_holiday: ctx.is_holiday,
            public_holiday: optional_text(ctx.public_holiday.as_deref()),
            holiday_period: optional_text(ctx.holiday_period.as_deref()),
            settings,
        }))
    }
}

/// The pack's settings, read-only: `ctx.settings.margin_minutes` or `ctx.settings["x"]`. A
/// setting that does not exist is an error, so a typo does not read as `()`.
#[derive(Debug, Clone)]
pub struct Settings(pub Arc<Map>);

impl Settings {
    pub fn new(settings: &std::collections::BTreeMap<String, toml::Value>) -> Settings {
        Settings(Arc::new(settings_map(settings)))
    }
}

/// A pack's settings as a Rhai object map. Floats (the scripts have none) become strings.
pub fn settings_map(settings: &std::collections::BTreeMap<String, toml::Value>) -> Map {
    settings
        .iter()
        .map(|(k, v)| (k.as_str().into(), toml_to_dynamic(v)))
        .collect()
}

fn toml_to_dynamic(v: &toml::Value) -> Dynamic {
    match v {
        toml::Value::String(s) => Dynamic::from(ImmutableString::from(s.as_str())),
        toml::Value::Integer(i) => Dynamic::from_int(*i),
        toml::Value::Boolean(b) => Dynamic::from_bool(*b),
        toml::Value::Float(f) => Dynamic::from(ImmutableString::from(f.to_string())),
        toml::Value::Datetime(d) => Dynamic::from(ImmutableString::from(d.to_string())),
        toml::Value::Array(a) => Dynamic::from_array(a.iter().map(toml_to_dynamic).collect()),
        toml::Value::Table(t) => Dynamic::from_map(
            t.iter()
                .map(|(k, v)| (k.as_str().into(), toml_to_dynamic(v)))
                .collect(),
        ),
    }
}

fn text(s: &str) -> Dynamic {
    Dynamic::from(ImmutableString::from(s))
}

fn optional_text(s: Option<&str>) -> Dynamic {
    s.map_or(Dynamic::UNIT, text)
}

fn texts<'a>(items: impl IntoIterator<Item = &'a str>) -> Array {
    items.into_iter().map(text).collect()
}

/// A script error at `pos` with a message for people.
pub fn script_error(message: impl Into<String>, pos: Position) -> Box<EvalAltResult> {
    Box::new(EvalAltResult::ErrorRuntime(
        Dynamic::from(ImmutableString::from(message.into())),
        pos,
    ))
}

fn out_of_range(call: &rhai::NativeCallContext) -> Box<EvalAltResult> {
    script_error(
        format!("{}: the time is out of range", call.fn_name()),
        call.call_position(),
    )
}

fn times(call: &rhai::NativeCallContext, a: Span, n: INT) -> Result<Span, Box<EvalAltResult>> {
    i32::try_from(n)
        .ok()
        .and_then(|n| a.0.checked_mul(n))
        .map(Span)
        .ok_or_else(|| out_of_range(call))
}

/// Parses `"07:45"` (or `"07:45:30"`).
pub fn parse_time(s: &str) -> Option<NaiveTime> {
    NaiveTime::parse_from_str(s.trim(), "%H:%M")
        .or_else(|_| NaiveTime::parse_from_str(s.trim(), "%H:%M:%S"))
        .ok()
}

/// Parses `"2026-12-24"`; a date outside the years a rule may use is no date.
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .ok()
        .filter(|d| date_in_range(*d))
}

/// Registers a getter for each of a pack's settings, so `ctx.settings.margin_minutes` is a
/// property read. Without it Rhai looks for a getter, formats an error saying there is none,
/// and only then falls back to the indexer: most of the cost of reading a setting. Settings the
/// site adds beyond the pack's own still read through the indexer.
pub fn register_settings<'a>(engine: &mut rhai::Engine, names: impl IntoIterator<Item = &'a str>) {
    for name in names {
        if !rhai::is_valid_identifier(name) {
            continue; // only reachable as ctx.settings["..."]
        }
        let key = name.to_owned();
        engine.register_get(
            name,
            move |s: &mut Settings| -> Result<Dynamic, Box<EvalAltResult>> {
                s.0.get(key.as_str())
                    .cloned()
                    .ok_or_else(|| missing_setting(s, &key, Position::NONE))
            },
        );
    }
}

fn missing_setting(s: &Settings, name: &str, pos: Position) -> Box<EvalAltResult> {
    let known: Vec<&str> = s.0.keys().map(|k| k.as_str()).collect();
    script_error(
        format!(
            "ctx.settings has no {name:?}; the pack's settings are: {}",
            known.join(", ")
        ),
        pos,
    )
}

/// Registers the types, their getters and operators.
pub fn register(engine: &mut rhai::Engine) {
    register_time(engine);
    register_booking(engine);
    register_room(engine);
    register_ctx(engine);
}

fn register_time(engine: &mut rhai::Engine) {
    use rhai::NativeCallContext;

    engine
        .register_type_with_name::<Instant>("Instant")
        .register_get("hour", |t: &mut Instant| INT::from(t.local().hour()))
        .register_get("minute", |t: &mut Instant| INT::from(t.local().minute()))
        .register_get("weekday", |t: &mut Instant| {
            INT::from(t.local().weekday().number_from_monday())
        })
        .register_get("date", |t: &mut Instant| Date(t.local().date_naive()))
        .register_get("time", |t: &mut Instant| {
            ImmutableString::from(t.local().format("%H:%M").to_string())
        })
        .register_get("utc", |t: &mut Instant| {
            ImmutableString::from(
                t.utc
                    .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
                    .to_string(),
            )
        })
        .register_fn("+", |call: NativeCallContext, t: Instant, d: Span| {
            t.utc
                .checked_add_signed(d.0)
                .filter(|utc| instant_in_range(*utc))
                .map(|utc| Instant { utc, tz: t.tz })
                .ok_or_else(|| out_of_range(&call))
        })
        .register_fn("-", |call: NativeCallContext, t: Instant, d: Span| {
            t.utc
                .checked_sub_signed(d.0)
                .filter(|utc| instant_in_range(*utc))
                .map(|utc| Instant { utc, tz: t.tz })
                .ok_or_else(|| out_of_range(&call))
        })
        .register_fn("-", |a: Instant, b: Instant| Span(a.utc - b.utc))
        .register_fn("==", |a: Instant, b: Instant| a.utc == b.utc)
        .register_fn("!=", |a: Instant, b: Instant| a.utc != b.utc)
        .register_fn("<", |a: Instant, b: Instant| a.utc < b.utc)
        .register_fn("<=", |a: Instant, b: Instant| a.utc <= b.utc)
        .register_fn(">", |a: Instant, b: Instant| a.utc > b.utc)
        .register_fn(">=", |a: Instant, b: Instant| a.utc >= b.utc)
        .register_fn(
            "min",
            |a: Instant, b: Instant| if b.utc < a.utc { b } else { a },
        )
        .register_fn(
            "max",
            |a: Instant, b: Instant| if b.utc > a.utc { b } else { a },
        )
        .register_fn("to_string", |t: &mut Instant| t.to_string())
        .register_fn("to_debug", |t: &mut Instant| t.to_string());

    engine
        .register_type_with_name::<Span>("Duration")
        .register_fn("minutes", |call: NativeCallContext, n: INT| {
            Duration::try_minutes(n)
                .map(Span)
                .ok_or_else(|| out_of_range(&call))
        })
        .register_fn("hours", |call: NativeCallContext, n: INT| {
            Duration::try_hours(n)
                .map(Span)
                .ok_or_else(|| out_of_range(&call))
        })
        .register_fn("days", |call: NativeCallContext, n: INT| {
            Duration::try_days(n)
                .map(Span)
                .ok_or_else(|| out_of_range(&call))
        })
        .register_get("minutes", |d: &mut Span| d.0.num_minutes())
        .register_get("hours", |d: &mut Span| d.0.num_hours())
        .register_fn("+", |call: NativeCallContext, a: Span, b: Span| {
            a.0.checked_add(&b.0)
                .map(Span)
                .ok_or_else(|| out_of_range(&call))
        })
        .register_fn("-", |call: NativeCallContext, a: Span, b: Span| {
            a.0.checked_sub(&b.0)
                .map(Span)
                .ok_or_else(|| out_of_range(&call))
        })
        .register_fn("-", |a: Span| Span(-a.0))
        .register_fn("*", |call: NativeCallContext, a: Span, n: INT| {
            times(&call, a, n)
        })
        .register_fn("*", |call: NativeCallContext, n: INT, a: Span| {
            times(&call, a, n)
        })
        .register_fn("==", |a: Span, b: Span| a == b)
        .register_fn("!=", |a: Span, b: Span| a != b)
        .register_fn("<", |a: Span, b: Span| a < b)
        .register_fn("<=", |a: Span, b: Span| a <= b)
        .register_fn(">", |a: Span, b: Span| a > b)
        .register_fn(">=", |a: Span, b: Span| a >= b)
        .register_fn("to_string", |d: &mut Span| d.to_string())
        .register_fn("to_debug", |d: &mut Span| d.to_string());

    engine
        .register_type_with_name::<Date>("Date")
        .register_fn(
            "date",
            |ctx: NativeCallContext, s: ImmutableString| -> Result<Date, Box<EvalAltResult>> {
                parse_date(&s).map(Date).ok_or_else(|| {
                    script_error(
                        format!("date({s:?}): expected a date like \"2026-12-24\" in the years 2 to 9998"),
                        ctx.call_position(),
                    )
                })
            },
        )
        .register_get("year", |d: &mut Date| INT::from(d.0.year()))
        .register_get("month", |d: &mut Date| INT::from(d.0.month()))
        .register_get("day", |d: &mut Date| INT::from(d.0.day()))
        .register_get("weekday", |d: &mut Date| {
            INT::from(d.0.weekday().number_from_monday())
        })
        .register_fn("+", |call: NativeCallContext, d: Date, s: Span| {
            Duration::try_days(s.0.num_days())
                .and_then(|days| d.0.checked_add_signed(days))
                .filter(|d| date_in_range(*d))
                .map(Date)
                .ok_or_else(|| out_of_range(&call))
        })
        .register_fn("-", |call: NativeCallContext, d: Date, s: Span| {
            Duration::try_days(s.0.num_days())
                .and_then(|days| d.0.checked_sub_signed(days))
                .filter(|d| date_in_range(*d))
                .map(Date)
                .ok_or_else(|| out_of_range(&call))
        })
        .register_fn("==", |a: Date, b: Date| a == b)
        .register_fn("!=", |a: Date, b: Date| a != b)
        .register_fn("<", |a: Date, b: Date| a < b)
        .register_fn("<=", |a: Date, b: Date| a <= b)
        .register_fn(">", |a: Date, b: Date| a > b)
        .register_fn(">=", |a: Date, b: Date| a >= b)
        .register_fn("to_string", |d: &mut Date| d.0.to_string())
        .register_fn("to_debug", |d: &mut Date| d.0.to_string());
}

fn register_booking(engine: &mut rhai::Engine) {
    fn b(v: &BookingView) -> &Booking {
        &v.0.booking
    }
    engine
        .register_type_with_name::<BookingView>("Booking")
        .register_get("id", |v: &mut BookingView| text(b(v).id.as_str()))
        .register_get("source", |v: &mut BookingView| text(b(v).source.as_str()))
        .register_get("resource", |v: &mut BookingView| {
            text(b(v).resource.as_str())
        })
        .register_get("resource_name", |v: &mut BookingView| {
            optional_text(b(v).resource_name.as_deref())
        })
        .register_get("location", |v: &mut BookingView| {
            optional_text(b(v).location.as_deref())
        })
        .register_get("title", |v: &mut BookingView| text(&b(v).title))
        .register_get("start", |v: &mut BookingView| Instant {
            utc: b(v).start,
            tz: v.0.tz,
        })
        .register_get("end", |v: &mut BookingView| Instant {
            utc: b(v).end,
            tz: v.0.tz,
        })
        .register_get("duration", |v: &mut BookingView| {
            Span(b(v).end - b(v).start)
        })
        .register_get("setup", |v: &mut BookingView| {
            Span(Duration::minutes(i64::from(b(v).setup_minutes)))
        })
        .register_get("teardown", |v: &mut BookingView| {
            Span(Duration::minutes(i64::from(b(v).teardown_minutes)))
        })
        .register_get("status", |v: &mut BookingView| text(b(v).status.as_str()))
        .register_get("is_cancelled", |v: &mut BookingView| b(v).is_cancelled())
        .register_get("tags", |v: &mut BookingView| {
            texts(b(v).tags.iter().map(String::as_str))
        })
        .register_fn("has_tag", |v: &mut BookingView, tag: ImmutableString| {
            b(v).has_tag(&tag)
        })
        .register_get("attendees", |v: &mut BookingView| {
            texts(b(v).attendees.iter().map(String::as_str))
        })
        .register_get("attrs", |v: &mut BookingView| {
            b(v).attrs
                .iter()
                .map(|(k, s)| (k.as_str().into(), text(s)))
                .collect::<Map>()
        })
        .register_get("responsible", |v: &mut BookingView| v.0.responsible.clone())
        .register_fn("to_string", |v: &mut BookingView| {
            format!("booking {}:{}", b(v).source, b(v).id)
        })
        .register_fn("to_debug", |v: &mut BookingView| {
            format!("booking {}:{}", b(v).source, b(v).id)
        });

    fn p(v: &PersonView) -> &Person {
        &v.0.person
    }
    engine
        .register_type_with_name::<PersonView>("Person")
        .register_get("name", |v: &mut PersonView| text(&p(v).name))
        .register_get("email", |v: &mut PersonView| {
            optional_text(p(v).email.as_deref())
        })
        .register_get("phone", |v: &mut PersonView| {
            optional_text(p(v).phone.as_deref())
        })
        .register_get("member_no", |v: &mut PersonView| {
            optional_text(p(v).member_no.as_deref())
        })
        .register_get("key", |v: &mut PersonView| v.0.key.clone())
        .register_get("has_pin", |v: &mut PersonView| v.0.has_pin)
        .register_get("has_card", |v: &mut PersonView| v.0.has_card)
        .register_fn("to_string", |v: &mut PersonView| p(v).name.clone())
        .register_fn("to_debug", |v: &mut PersonView| p(v).name.clone());
}

fn register_room(engine: &mut rhai::Engine) {
    engine
        .register_type_with_name::<RoomView>("Room")
        .register_get("key", |r: &mut RoomView| r.0.key.clone())
        .register_get("name", |r: &mut RoomView| r.0.name.clone())
        .register_get("doors", |r: &mut RoomView| r.0.doors.clone())
        .register_get("alarm_zone", |r: &mut RoomView| r.0.alarm_zone.clone())
        .register_get("outputs", |r: &mut RoomView| r.0.outputs.clone())
        .register_fn("output", |r: &mut RoomView, role: ImmutableString| {
            r.0.outputs
                .get(role.as_str())
                .cloned()
                .unwrap_or(Dynamic::UNIT)
        })
        .register_get("person_groups", |r: &mut RoomView| {
            r.0.person_groups.clone()
        })
        .register_get("shared_exceptions", |r: &mut RoomView| {
            r.0.shared_exceptions.clone()
        })
        .register_get("tags", |r: &mut RoomView| {
            texts(r.0.tags.iter().map(String::as_str))
        })
        .register_fn("has_tag", |r: &mut RoomView, tag: ImmutableString| {
            r.0.tags.iter().any(|t| t.eq_ignore_ascii_case(&tag))
        })
        .register_fn("to_string", |r: &mut RoomView| format!("room {}", r.0.key))
        .register_fn("to_debug", |r: &mut RoomView| format!("room {}", r.0.key));
}

fn register_ctx(engine: &mut rhai::Engine) {
    use rhai::NativeCallContext;

    fn at_local(
        call: &NativeCallContext,
        c: &CtxView,
        date: NaiveDate,
        time: &str,
    ) -> Result<Instant, Box<EvalAltResult>> {
        let time = parse_time(time).ok_or_else(|| {
            script_error(
                format!("at_local: {time:?} is not a time like \"07:45\""),
                call.call_position(),
            )
        })?;
        Instant::at_local(c.0.tz, date, time).ok_or_else(|| out_of_range(call))
    }

    engine
        .register_type_with_name::<CtxView>("Ctx")
        .register_get("time_zone", |c: &mut CtxView| text(c.0.tz.name()))
        .register_get("local_start", |c: &mut CtxView| c.0.local_start)
        .register_get("local_end", |c: &mut CtxView| c.0.local_end)
        .register_get("weekday", |c: &mut CtxView| c.0.weekday)
        .register_get("date", |c: &mut CtxView| c.0.date)
        .register_get("is_holiday", |c: &mut CtxView| c.0.is_holiday)
        .register_get("public_holiday", |c: &mut CtxView| {
            c.0.public_holiday.clone()
        })
        .register_get("holiday_period", |c: &mut CtxView| {
            c.0.holiday_period.clone()
        })
        .register_get("settings", |c: &mut CtxView| c.0.settings.clone())
        .register_fn(
            "at_local",
            |call: NativeCallContext, c: &mut CtxView, date: Date, time: ImmutableString| {
                at_local(&call, c, date.0, &time)
            },
        )
        .register_fn(
            "at_local",
            |call: NativeCallContext,
             c: &mut CtxView,
             date: ImmutableString,
             time: ImmutableString| {
                let d = parse_date(&date).ok_or_else(|| {
                    script_error(
                        format!("at_local: {date:?} is not a date like \"2026-12-24\""),
                        call.call_position(),
                    )
                })?;
                at_local(&call, c, d, &time)
            },
        )
        .register_fn("to_string", |_: &mut CtxView| "ctx".to_string())
        .register_fn("to_debug", |_: &mut CtxView| "ctx".to_string());

    engine
        .register_type_with_name::<Settings>("Settings")
        .register_indexer_get(
            |call: NativeCallContext,
             s: &mut Settings,
             name: ImmutableString|
             -> Result<Dynamic, Box<EvalAltResult>> {
                s.0.get(name.as_str())
                    .cloned()
                    .ok_or_else(|| missing_setting(s, &name, call.call_position()))
            },
        )
        .register_fn("contains", |s: &mut Settings, name: ImmutableString| {
            s.0.contains_key(name.as_str())
        })
        .register_fn("to_string", |_: &mut Settings| "settings".to_string())
        .register_fn("to_debug", |s: &mut Settings| format!("{:?}", s.0));
}
