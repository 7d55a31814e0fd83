//! Planner tests with a native rule runtime, so they test the planner and nothing else.

use super::*;
use crate::model::{
    BookingStatus, DayKind, DoorId, DoorLevel, Effect, GroupId, Person, PersonKey, ZoneId,
};
use crate::rules::{PackInfo, RuleError, RuleErrorKind, RuleLocation, RuntimeKind};
use crate::site::Room;
use chrono::TimeZone;
use std::path::{Path, PathBuf};

type DecideFn = dyn Fn(&Booking, &Room, &Ctx) -> Result<Vec<Effect>, String> + Send + Sync;

struct NativePack {
    info: PackInfo,
    decide: Box<DecideFn>,
}

impl RuleRuntime for NativePack {
    fn pack(&self) -> &PackInfo {
        &self.info
    }
    fn decide(&self, batch: &[Decision<'_>]) -> Vec<Result<Vec<RuledEffect>, RuleError>> {
        batch
            .iter()
            .map(|d| {
                (self.decide)(d.booking, d.room, d.ctx)
                    .map(|list| {
                        list.into_iter()
                            .map(|effect| RuledEffect {
                                effect,
                                rule: RuleLocation {
                                    file: "native.rs".into(),
                                    line: 1,
                                    column: 0,
                                },
                                core: Default::default(),
                            })
                            .collect()
                    })
                    .map_err(|message| RuleError {
                        pack: self.info.name.clone(),
                        booking: d.booking.id.clone(),
                        kind: RuleErrorKind::Runtime,
                        message,
                        location: None,
                    })
            })
            .collect()
    }
}

pub(super) fn pack(
    decide: impl Fn(&Booking, &Room, &Ctx) -> Result<Vec<Effect>, String> + Send + Sync + 'static,
) -> Vec<Arc<dyn RuleRuntime>> {
    vec![Arc::new(NativePack {
        info: PackInfo {
            name: "native".into(),
            version: "1.0.0".into(),
            runtime: RuntimeKind::Rhai,
            dir: PathBuf::new(),
            settings: Default::default(),
        },
        decide: Box::new(decide),
    })]
}

/// Unlock each door from 15 minutes before to 15 minutes after; disarm; grant the PIN.
pub(super) fn margins(b: &Booking, room: &Room, _: &Ctx) -> Result<Vec<Effect>, String> {
    let w = Window::new(
        b.start - Duration::minutes(15),
        b.end + Duration::minutes(15),
    )
    .map_err(|e| e.to_string())?;
    let mut out: Vec<Effect> = room
        .doors
        .iter()
        .map(|d| Effect::DoorMode {
            door: d.clone(),
            level: DoorLevel::Unlocked,
            window: w,
        })
        .collect();
    if let Some(zone) = &room.alarm_zone {
        out.push(Effect::Disarm {
            zone: zone.clone(),
            window: w,
        });
    }
    if let Some(person) = b.responsible.as_ref().and_then(Person::key) {
        out.push(Effect::Grant {
            person,
            groups: room.person_groups.clone(),
            window: b.window().map_err(|e| e.to_string())?,
        });
    }
    Ok(out)
}

const SITE: &str = r#"
[site]
name = "Test Skole"
[site.caps]
max_window_hours = 14
earliest_local = "06:00"
[[sources]]
name = "halls"
kind = "winkas"
[rooms."halls:1"]
name = "Hal 1"
doors = ["D-1"]
alarm_zone = "Z-1"
person_groups = ["Hal"]
[rooms."halls:2"]
name = "Hal 2"
doors = ["D-1", "D-2"]
"#;

pub(super) fn site() -> SiteConfig {
    let s = SiteConfig::parse(SITE, Path::new("site.toml"), PathBuf::new()).unwrap();
    s.validate().unwrap();
    s
}

pub(super) fn utc(d: u32, h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, d, h, m, 0).unwrap()
}

pub(super) fn booking(
    id: &str,
    resource: &str,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Booking {
    Booking {
        id: id.into(),
        source: "halls".into(),
        resource: resource.into(),
        resource_name: None,
        location: None,
        title: format!("Booking {id}"),
        start,
        end,
        setup_minutes: 0,
        teardown_minutes: 0,
        status: BookingStatus::Confirmed,
        responsible: Some(Person {
            name: "Mette".into(),
            member_no: Some("42".into()),
            pin: Some(crate::model::Secret::new("4711")),
            ..Person::default()
        }),
        attendees: vec![],
        tags: vec![],
        attrs: Default::default(),
    }
}

pub(super) fn run(bookings: &[Booking], packs: &[Arc<dyn RuleRuntime>]) -> Plan {
    let site = site();
    plan(&PlanInput {
        bookings,
        packs,
        site: &site,
        now: utc(23, 6, 0),
    })
}

fn windows(plan: &Plan, target: &Target) -> Vec<Window> {
    plan.entry(target)
        .map(|e| e.windows.iter().map(|w| w.window).collect())
        .unwrap_or_default()
}

fn door(d: &str) -> Target {
    Target::Door {
        door: DoorId::new(d),
        level: DoorLevel::Unlocked,
    }
}

#[test]
fn a_booking_unlocks_with_margins_and_names_its_reason() {
    let p = run(
        &[booking("A", "1", utc(23, 9, 0), utc(23, 10, 0))],
        &pack(margins),
    );
    assert_eq!(
        windows(&p, &door("D-1")),
        vec![Window::new(utc(23, 8, 45), utc(23, 10, 15)).unwrap()]
    );
    let reason = &p.entry(&door("D-1")).unwrap().windows[0].reasons[0];
    assert_eq!(
        (
            reason.booking.as_str(),
            reason.pack.as_str(),
            reason.rule.line
        ),
        ("A", "native", 1)
    );
    assert_eq!(
        windows(
            &p,
            &Target::Zone {
                zone: ZoneId::new("Z-1")
            }
        )
        .len(),
        1
    );
    let member = Target::Membership {
        person: "halls:member:42".into(),
        group: GroupId::new("Hal"),
    };
    assert_eq!(
        windows(&p, &member),
        vec![Window::new(utc(23, 9, 0), utc(23, 10, 0)).unwrap()]
    );
    assert!(p.persons.contains_key(&PersonKey::new("halls:member:42")));
    assert!(
        !serde_json::to_string(&p).unwrap().contains("4711"),
        "PINs never serialize with a plan"
    );
}

#[test]
fn overlapping_and_touching_windows_merge_and_keep_all_reasons() {
    let bookings = [
        booking("A", "1", utc(23, 9, 0), utc(23, 10, 0)),
        booking("B", "2", utc(23, 10, 30), utc(23, 11, 0)), // margins touch A's at 10:15
        booking("C", "1", utc(23, 14, 0), utc(23, 15, 0)),
    ];
    let p = run(&bookings, &pack(margins));
    assert_eq!(
        windows(&p, &door("D-1")),
        vec![
            Window::new(utc(23, 8, 45), utc(23, 11, 15)).unwrap(),
            Window::new(utc(23, 13, 45), utc(23, 15, 15)).unwrap()
        ]
    );
    let reasons: Vec<_> = p.entry(&door("D-1")).unwrap().windows[0]
        .reasons
        .iter()
        .map(|r| r.booking.as_str())
        .collect();
    assert_eq!(reasons, vec!["A", "B"]);
    let mut reversed = bookings.to_vec();
    reversed.reverse();
    assert_eq!(
        run(&reversed, &pack(margins)),
        p,
        "plans do not depend on booking order"
    );
}

#[test]
fn cancelled_and_unbound_bookings_contribute_nothing() {
    let mut cancelled = booking("A", "1", utc(23, 9, 0), utc(23, 10, 0));
    cancelled.status = BookingStatus::Cancelled;
    let unbound = booking("B", "99", utc(23, 9, 0), utc(23, 10, 0));
    let p = run(&[cancelled, unbound], &pack(margins));
    assert!(p.entries.is_empty());
    assert_eq!(p.unbound.len(), 1);
}

#[test]
fn a_failing_rule_fails_closed_for_that_booking_only() {
    let rules = pack(|b, room, ctx| {
        if b.id.as_str() == "BAD" {
            Err("boom".into())
        } else {
            margins(b, room, ctx)
        }
    });
    let p = run(
        &[
            booking("BAD", "1", utc(23, 9, 0), utc(23, 10, 0)),
            booking("OK", "2", utc(23, 12, 0), utc(23, 13, 0)),
        ],
        &rules,
    );
    assert_eq!(p.errors.len(), 1);
    assert_eq!(p.errors[0].booking.as_str(), "BAD");
    assert_eq!(
        windows(&p, &door("D-1")),
        vec![Window::new(utc(23, 11, 45), utc(23, 13, 15)).unwrap()]
    );
    assert!(
        p.entry(&Target::Zone {
            zone: ZoneId::new("Z-1")
        })
        .is_none(),
        "no disarm for the failed booking"
    );
}

#[test]
fn a_booking_ending_before_it_starts_is_rejected() {
    let p = run(
        &[booking("A", "1", utc(23, 10, 0), utc(23, 9, 0))],
        &pack(margins),
    );
    assert!(p.entries.is_empty());
    assert!(
        p.rejected[0].reason.contains("ends before"),
        "{:?}",
        p.rejected
    );
}

#[test]
fn the_more_secure_level_wins_and_the_conflict_is_reported() {
    let rules = pack(|b, room, ctx| {
        let mut out = margins(b, room, ctx)?;
        if b.id.as_str() == "EXAM" {
            out = vec![Effect::DoorMode {
                door: DoorId::new("D-1"),
                level: DoorLevel::CardPin,
                window: b.window().unwrap(),
            }];
        }
        Ok(out)
    });
    let p = run(
        &[
            booking("A", "1", utc(23, 9, 0), utc(23, 12, 0)),
            booking("EXAM", "1", utc(23, 10, 0), utc(23, 11, 0)),
        ],
        &rules,
    );
    assert_eq!(
        windows(&p, &door("D-1")),
        vec![
            Window::new(utc(23, 8, 45), utc(23, 10, 0)).unwrap(),
            Window::new(utc(23, 11, 0), utc(23, 12, 15)).unwrap()
        ]
    );
    assert_eq!(
        windows(
            &p,
            &Target::Door {
                door: DoorId::new("D-1"),
                level: DoorLevel::CardPin
            }
        ),
        vec![Window::new(utc(23, 10, 0), utc(23, 11, 0)).unwrap()]
    );
    assert_eq!(p.conflicts.len(), 1);
    assert_eq!(p.conflicts[0].winners[0].id.as_str(), "EXAM");
    assert_eq!(p.conflicts[0].losers[0].id.as_str(), "A");
}

#[test]
fn caps_cut_long_windows_and_move_early_starts() {
    // 05:00 local (04:00 UTC in November) to 23:00 local: moved to 06:00, then cut to 14 h.
    let rules = pack(|b, _, _| {
        Ok(vec![Effect::SwitchOn {
            output: "K-1".into(),
            window: b.window().unwrap(),
        }])
    });
    let p = run(&[booking("A", "1", utc(24, 4, 0), utc(24, 22, 0))], &rules);
    assert_eq!(
        windows(
            &p,
            &Target::Output {
                output: "K-1".into()
            }
        ),
        vec![Window::new(utc(24, 5, 0), utc(24, 19, 0)).unwrap()]
    );
    let kinds: Vec<_> = p.adjustments.iter().map(|a| a.kind).collect();
    assert_eq!(
        kinds,
        vec![AdjustmentKind::EarliestStart, AdjustmentKind::MaxLength]
    );
}

#[test]
fn windows_beyond_the_horizon_wait_and_past_ones_go() {
    let p = run(
        &[
            booking("PAST", "1", utc(22, 9, 0), utc(22, 10, 0)),
            booking("LATER", "1", utc(28, 9, 0), utc(28, 10, 0)),
        ],
        &pack(margins),
    );
    assert!(p.entries.is_empty(), "{:?}", p.entries);
}

#[test]
fn day_types_span_local_midnights_across_dst() {
    // 2027-03-28 is the spring-forward Sunday: the local day is 23 hours long.
    let rules = pack(|_, _, _| {
        let d = chrono::NaiveDate::from_ymd_opt(2027, 3, 28).unwrap();
        Ok(vec![Effect::DayType {
            from: d,
            to: d,
            day: DayKind::Special("open_house".into()),
        }])
    });
    let site = site();
    let now = Utc.with_ymd_and_hms(2027, 3, 27, 12, 0, 0).unwrap();
    let start = Utc.with_ymd_and_hms(2027, 3, 28, 10, 0, 0).unwrap();
    let b = booking("A", "1", start, start + Duration::hours(1));
    let p = plan(&PlanInput {
        bookings: &[b],
        packs: &rules,
        site: &site,
        now,
    });
    let w = windows(
        &p,
        &Target::Day {
            day: DayKind::Special("open_house".into()),
        },
    );
    assert_eq!(
        w,
        vec![
            Window::new(
                Utc.with_ymd_and_hms(2027, 3, 27, 23, 0, 0).unwrap(),
                Utc.with_ymd_and_hms(2027, 3, 28, 22, 0, 0).unwrap()
            )
            .unwrap()
        ]
    );
}

/// The test site with `[site]` keys replaced or added (`text` is TOML inserted under `[site]`,
/// before `[site.caps]`).
fn site_with(text: &str) -> SiteConfig {
    let s = SiteConfig::parse(
        &SITE.replace("[site.caps]\n", &format!("{text}\n[site.caps]\n")),
        Path::new("site.toml"),
        PathBuf::new(),
    )
    .unwrap();
    s.validate().unwrap();
    s
}

fn plan_at(
    site: &SiteConfig,
    bookings: &[Booking],
    packs: &[Arc<dyn RuleRuntime>],
    now: DateTime<Utc>,
) -> Plan {
    plan(&PlanInput {
        bookings,
        packs,
        site,
        now,
    })
}

/// A pack named `name` deciding with `decide`.
fn named_pack(
    name: &str,
    decide: impl Fn(&Booking, &Room, &Ctx) -> Result<Vec<Effect>, String> + Send + Sync + 'static,
) -> Arc<dyn RuleRuntime> {
    Arc::new(NativePack {
        info: PackInfo {
            name: name.into(),
            version: "1.0.0".into(),
            runtime: RuntimeKind::Rhai,
            dir: PathBuf::new(),
            settings: Default::default(),
        },
        decide: Box::new(decide),
    })
}

fn w(from: DateTime<Utc>, to: DateTime<Utc>) -> Window {
    Window::new(from, to).unwrap()
}

fn level(d: &str, level: DoorLevel) -> Target {
    Target::Door {
        door: DoorId::new(d),
        level,
    }
}

mod doors;
mod fail_closed;
mod holidays;
mod time;
