//! The WIT contract (`rules/wit/klar-rules.wit`) as Rust types, and the one place where the
//! engine's model is converted to them and the guest's effects back to the model, checked.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Timelike, Utc};

use crate::model::{
    Booking, BookingStatus, DayKind, DoorId, DoorLevel, Effect, GroupId, OutputId, PersonKey,
    Window, ZoneId,
};
use crate::rules::Ctx;
use crate::site::Room;

/// The generated bindings; nothing outside this module sees them.
mod wit {
    wasmtime::component::bindgen!({
        path: "../rules/wit/klar-rules.wit",
        world: "rules",
    });
}

pub(super) use wit::{Rules, RulesPre};

/// A room as the guest sees it.
pub(super) type WitRoom = wit::Room;
/// The pack's settings as the guest sees them.
pub(super) type WitSettings = Vec<(String, wit::Setting)>;

/// The most effects one booking may cause; more is bad output (Rhai: the array size limit).
pub const MAX_EFFECTS: usize = 1_024;
/// The longest id (door, zone, output, group, person) an effect may name, in bytes.
pub const MAX_ID_LEN: usize = 4_096;

/// The WIT arguments of one call.
pub(super) struct Args {
    pub booking: wit::Booking,
    pub room: wit::Room,
    pub ctx: wit::Ctx,
}

pub(super) fn booking(b: &Booking) -> wit::Booking {
    wit::Booking {
        id: b.id.0.clone(),
        source: b.source.0.clone(),
        resource: b.resource.0.clone(),
        resource_name: b.resource_name.clone(),
        location: b.location.clone(),
        title: b.title.clone(),
        start: instant(b.start),
        end: instant(b.end),
        setup_minutes: b.setup_minutes,
        teardown_minutes: b.teardown_minutes,
        status: match b.status {
            BookingStatus::Confirmed => wit::BookingStatus::Confirmed,
            BookingStatus::Tentative => wit::BookingStatus::Tentative,
            BookingStatus::Cancelled => wit::BookingStatus::Cancelled,
        },
        // The PIN and card stay in the host: the guest learns only whether there is one.
        responsible: b.responsible.as_ref().map(|p| wit::Person {
            name: p.name.clone(),
            email: p.email.clone(),
            phone: p.phone.clone(),
            member_no: p.member_no.clone(),
            key: p.key().map(|k| k.0),
            has_pin: p.pin.is_some(),
            has_card: p.card.is_some(),
        }),
        attendees: b.attendees.clone(),
        tags: b.tags.clone(),
        attrs: b
            .attrs
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    }
}

pub(super) fn room(r: &Room) -> wit::Room {
    wit::Room {
        key: r.key.clone(),
        name: r.name.clone(),
        doors: r.doors.iter().map(|d| d.0.clone()).collect(),
        alarm_zone: r.alarm_zone.as_ref().map(|z| z.0.clone()),
        outputs: r
            .outputs
            .iter()
            .map(|(role, o)| (role.clone(), o.0.clone()))
            .collect(),
        person_groups: r.person_groups.iter().map(|g| g.0.clone()).collect(),
        shared_exceptions: r.shared_exceptions.clone(),
        tags: r.tags.clone(),
    }
}

/// The pack's settings, converted once per batch.
pub(super) fn settings(s: &BTreeMap<String, toml::Value>) -> Vec<(String, wit::Setting)> {
    s.iter()
        .map(|(name, value)| {
            let v = match value {
                toml::Value::String(s) => wit::Setting::Text(s.clone()),
                toml::Value::Integer(n) => wit::Setting::Integer(*n),
                toml::Value::Float(f) => wit::Setting::Float(*f),
                toml::Value::Boolean(b) => wit::Setting::Boolean(*b),
                toml::Value::Datetime(d) => wit::Setting::Datetime(d.to_string()),
                toml::Value::Array(_) | toml::Value::Table(_) => {
                    wit::Setting::Toml(value.to_string())
                }
            };
            (name.clone(), v)
        })
        .collect()
}

pub(super) fn ctx(c: &Ctx, settings: Vec<(String, wit::Setting)>) -> wit::Ctx {
    wit::Ctx {
        time_zone: c.time_zone.name().to_owned(),
        local_start: local(c.local_start),
        local_end: local(c.local_end),
        weekday: c.weekday() as u8,
        is_holiday: c.is_holiday,
        public_holiday: c.public_holiday.clone(),
        holiday_period: c.holiday_period.clone(),
        settings,
    }
}

fn instant(t: DateTime<Utc>) -> wit::Instant {
    wit::Instant {
        seconds: t.timestamp(),
        nanoseconds: t.timestamp_subsec_nanos(),
    }
}

fn date(d: NaiveDate) -> wit::Date {
    wit::Date {
        year: d.year(),
        month: d.month() as u8,
        day: d.day() as u8,
    }
}

fn local(t: NaiveDateTime) -> wit::LocalDatetime {
    wit::LocalDatetime {
        date: date(t.date()),
        hour: t.hour() as u8,
        minute: t.minute() as u8,
        second: t.second() as u8,
        nanosecond: t.nanosecond(),
    }
}

/// The guest's effects as the engine's model, or what is wrong with each bad one.
pub(super) fn effects(list: Vec<wit::Effect>) -> Result<Vec<Effect>, String> {
    if list.len() > MAX_EFFECTS {
        return Err(format!(
            "decide returned {} effects; at most {MAX_EFFECTS} are allowed",
            list.len()
        ));
    }
    let mut effects = Vec::with_capacity(list.len());
    let mut problems = Vec::new();
    for (i, e) in list.into_iter().enumerate() {
        let kind = kind(&e);
        match effect(e) {
            Ok(e) => effects.push(e),
            Err(m) => problems.push(format!("effect {} ({kind}): {m}", i + 1)),
        }
    }
    match problems.len() {
        0 => Ok(effects),
        n if n > MAX_PROBLEMS => Err(format!(
            "{}; and {} more",
            problems[..MAX_PROBLEMS].join("; "),
            n - MAX_PROBLEMS
        )),
        _ => Err(problems.join("; ")),
    }
}

/// How many bad effects of one booking an error lists.
const MAX_PROBLEMS: usize = 5;

fn kind(e: &wit::Effect) -> &'static str {
    match e {
        wit::Effect::DoorMode(_) => "door_mode",
        wit::Effect::Disarm(_) => "disarm",
        wit::Effect::SwitchOn(_) => "switch_on",
        wit::Effect::Grant(_) => "grant",
        wit::Effect::Deny(_) => "deny",
        wit::Effect::DayType(_) => "day_type",
        wit::Effect::SharedException(_) => "shared_exception",
    }
}

fn effect(e: wit::Effect) -> Result<Effect, String> {
    Ok(match e {
        wit::Effect::DoorMode(d) => Effect::DoorMode {
            door: DoorId(id("door", d.door)?),
            level: match d.level {
                wit::DoorLevel::Unlocked => DoorLevel::Unlocked,
                wit::DoorLevel::Card => DoorLevel::Card,
                wit::DoorLevel::CardPin => DoorLevel::CardPin,
                wit::DoorLevel::Locked => DoorLevel::Locked,
            },
            window: window(d.window)?,
        },
        wit::Effect::Disarm(d) => Effect::Disarm {
            zone: ZoneId(id("zone", d.zone)?),
            window: window(d.window)?,
        },
        wit::Effect::SwitchOn(s) => Effect::SwitchOn {
            output: OutputId(id("output", s.output)?),
            window: window(s.window)?,
        },
        wit::Effect::Grant(g) => Effect::Grant {
            person: PersonKey(id("person", g.person)?),
            groups: ids("group", g.groups)?.into_iter().map(GroupId).collect(),
            window: window(g.window)?,
        },
        wit::Effect::Deny(d) => Effect::Deny {
            group: GroupId(id("group", d.group)?),
            doors: ids("door", d.doors)?.into_iter().map(DoorId).collect(),
            window: window(d.window)?,
        },
        wit::Effect::DayType(d) => Effect::DayType {
            from: to_date(d.from)?,
            to: to_date(d.to)?,
            day: match d.day {
                wit::DayKind::Holiday => DayKind::Holiday,
                wit::DayKind::Special(name) => DayKind::parse(&id("day type", name)?),
            },
        },
        wit::Effect::SharedException(s) => Effect::SharedException {
            id: s.id,
            window: window(s.window)?,
        },
    })
}

fn id(what: &str, s: String) -> Result<String, String> {
    if s.trim().is_empty() {
        Err(format!("the {what} is empty"))
    } else if s.len() > MAX_ID_LEN {
        Err(format!(
            "the {what} is {} bytes long; at most {MAX_ID_LEN} are allowed",
            s.len()
        ))
    } else {
        Ok(s)
    }
}

fn ids(what: &str, list: Vec<String>) -> Result<Vec<String>, String> {
    if list.len() > MAX_EFFECTS {
        return Err(format!(
            "{} {what}s; at most {MAX_EFFECTS} are allowed",
            list.len()
        ));
    }
    list.into_iter().map(|s| id(what, s)).collect()
}

fn to_instant(t: wit::Instant) -> Result<DateTime<Utc>, String> {
    DateTime::from_timestamp(t.seconds, t.nanoseconds).ok_or_else(|| {
        format!(
            "the instant {}s + {}ns is out of range",
            t.seconds, t.nanoseconds
        )
    })
}

fn window(w: wit::Window) -> Result<Window, String> {
    let from = to_instant(w.from)?;
    let to = to_instant(w.to)?;
    Window::new(from, to).map_err(|_| {
        format!(
            "the window ends ({}) before or when it starts ({})",
            to.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
            from.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
        )
    })
}

fn to_date(d: wit::Date) -> Result<NaiveDate, String> {
    NaiveDate::from_ymd_opt(d.year, u32::from(d.month), u32::from(d.day))
        .ok_or_else(|| format!("{}-{}-{} is not a date", d.year, d.month, d.day))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(seconds: i64) -> wit::Instant {
        wit::Instant {
            seconds,
            nanoseconds: 0,
        }
    }

    fn w(from: i64, to: i64) -> wit::Window {
        wit::Window {
            from: t(from),
            to: t(to),
        }
    }

    #[test]
    fn every_kind_of_effect_converts() {
        let day = |year, month, day| wit::Date { year, month, day };
        let got = effects(vec![
            wit::Effect::DoorMode(wit::DoorMode {
                door: "D-1".into(),
                level: wit::DoorLevel::CardPin,
                window: w(0, 60),
            }),
            wit::Effect::Disarm(wit::Disarm {
                zone: "Z-1".into(),
                window: w(0, 60),
            }),
            wit::Effect::SwitchOn(wit::SwitchOn {
                output: "K-1".into(),
                window: w(0, 60),
            }),
            wit::Effect::Grant(wit::Grant {
                person: "member:1".into(),
                groups: vec!["G".into()],
                window: w(0, 60),
            }),
            wit::Effect::Deny(wit::Deny {
                group: "G".into(),
                doors: vec!["D-1".into(), "D-2".into()],
                window: w(0, 60),
            }),
            wit::Effect::DayType(wit::DayType {
                from: day(2026, 12, 24),
                to: day(2026, 12, 26),
                day: wit::DayKind::Special("Open_House".into()),
            }),
            wit::Effect::SharedException(wit::SharedException {
                id: 12,
                window: w(0, 60),
            }),
        ])
        .unwrap();
        let kinds: Vec<&str> = got.iter().map(Effect::kind).collect();
        assert_eq!(
            kinds,
            [
                "door_mode",
                "disarm",
                "switch_on",
                "grant",
                "deny",
                "day_type",
                "shared_exception"
            ]
        );
        assert_eq!(
            got[0],
            Effect::DoorMode {
                door: DoorId::new("D-1"),
                level: DoorLevel::CardPin,
                window: Window::new(
                    DateTime::from_timestamp(0, 0).unwrap(),
                    DateTime::from_timestamp(60, 0).unwrap()
                )
                .unwrap(),
            }
        );
        assert_eq!(
            got[5],
            Effect::DayType {
                from: NaiveDate::from_ymd_opt(2026, 12, 24).unwrap(),
                to: NaiveDate::from_ymd_opt(2026, 12, 26).unwrap(),
                day: DayKind::Special("open_house".into()),
            }
        );
    }

    #[test]
    fn bad_effects_are_refused_with_what_is_wrong() {
        let e = effects(vec![
            wit::Effect::Grant(wit::Grant {
                person: "member:1".into(),
                groups: vec!["G".into(), " ".into()],
                window: w(0, 60),
            }),
            wit::Effect::SharedException(wit::SharedException {
                id: 1,
                window: w(0, i64::MAX),
            }),
            wit::Effect::DayType(wit::DayType {
                from: wit::Date {
                    year: 2026,
                    month: 2,
                    day: 30,
                },
                to: wit::Date {
                    year: 2026,
                    month: 3,
                    day: 1,
                },
                day: wit::DayKind::Holiday,
            }),
        ])
        .unwrap_err();
        assert_eq!(
            e,
            "effect 1 (grant): the group is empty; \
             effect 2 (shared_exception): the instant 9223372036854775807s + 0ns is out of range; \
             effect 3 (day_type): 2026-2-30 is not a date"
        );

        let many = vec![
            wit::Effect::Disarm(wit::Disarm {
                zone: "Z".into(),
                window: w(0, 1),
            });
            MAX_EFFECTS + 1
        ];
        assert!(effects(many).unwrap_err().contains("at most 1024"));
        let long = "D".repeat(MAX_ID_LEN + 1);
        let e = effects(vec![wit::Effect::Disarm(wit::Disarm {
            zone: long,
            window: w(0, 1),
        })])
        .unwrap_err();
        assert!(e.contains("4097 bytes long"), "{e}");
    }

    #[test]
    fn settings_keep_their_types() {
        let table: toml::Table = toml::from_str(
            "a = \"x\"\nb = 15\nc = 1.5\nd = true\ne = 2026-12-24\nf = [1, 2]\n[g]\nh = 1\n",
        )
        .unwrap();
        let s = settings(&table.into_iter().collect());
        let names: Vec<&str> = s.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["a", "b", "c", "d", "e", "f", "g"]);
        assert!(matches!(&s[0].1, wit::Setting::Text(t) if t == "x"));
        assert!(matches!(s[1].1, wit::Setting::Integer(15)));
        assert!(matches!(s[2].1, wit::Setting::Float(f) if f == 1.5));
        assert!(matches!(s[3].1, wit::Setting::Boolean(true)));
        assert!(matches!(&s[4].1, wit::Setting::Datetime(d) if d == "2026-12-24"));
        assert!(matches!(&s[5].1, wit::Setting::Toml(t) if t == "[1, 2]"));
        assert!(matches!(&s[6].1, wit::Setting::Toml(t) if t.contains("h = 1")));
    }

    #[test]
    fn the_guest_sees_the_persons_key_but_never_the_pin() {
        let b: Booking = serde_json::from_value(serde_json::json!({
            "id": "W-1", "source": "halls", "resource": "7",
            "start": "2026-11-23T16:00:00.5Z", "end": "2026-11-23T18:00:00Z",
            "responsible": {"name": "Mette", "email": "Mette@Club.dk", "pin": "4711"},
            "attrs": {"b": "2", "a": "1"},
        }))
        .unwrap();
        let g = booking(&b);
        let p = g.responsible.as_ref().unwrap();
        assert_eq!(p.key.as_deref(), Some("email:mette@club.dk"));
        assert!(p.has_pin && !p.has_card);
        assert!(!format!("{g:?}").contains("4711"));
        assert_eq!(
            (g.start.seconds, g.start.nanoseconds),
            (1_795_449_600, 500_000_000)
        );
        assert_eq!(g.attrs[0], ("a".to_owned(), "1".to_owned()));
    }
}
