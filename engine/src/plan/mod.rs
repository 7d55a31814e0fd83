//! The planner: `plan(bookings, rules, site, now) -> Plan`, pure (DESIGN.md §4).
//!
//! 1. each booking that is valid, not cancelled and bound to a room is decided by the room's
//!    packs; a booking any pack fails on gets no effects at all (fail closed);
//! 2. each effect gets its reason (booking, pack and version, rule file and line);
//! 3. caps from the site config cut or move windows, and the change is reported;
//! 4. windows are clipped to the horizon and merged per target (union of overlapping and
//!    touching windows);
//! 5. conflicts are resolved deterministically and reported: the more secure door level wins
//!    where two overlap, and a deny is reported beside the grants it overrides.

mod persons;
mod types;

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use rayon::prelude::*;

use crate::model::{Booking, DoorLevel, Effect, PersonKey, Window, room_key};
use crate::rules::{Ctx, Decision, RuleRuntime, RuledEffect};
use crate::site::SiteConfig;

pub use types::{
    Adjustment, AdjustmentKind, Booked, BookingRef, Conflict, PackRef, Plan, PlanEntry,
    PlanWarning, PlannedWindow, Reason, Rejected, Target, WarningKind,
};

/// Bookings decided per runtime call: large enough to pay a runtime's set-up once per many
/// bookings, small enough to spread over the cores.
const BATCH: usize = 512;

/// Everything a plan is made from. `now` is an argument: the planner reads no clock.
pub struct PlanInput<'a> {
    pub bookings: &'a [Booking],
    pub packs: &'a [Arc<dyn RuleRuntime>],
    pub site: &'a SiteConfig,
    pub now: DateTime<Utc>,
}

/// One effect on its way into the plan, with the reason it exists.
struct Contribution {
    target: Target,
    window: Window,
    reason: Reason,
}

/// Makes the plan. Deterministic: the same input gives the same plan, whatever the order of
/// the bookings or the number of threads.
pub fn plan(input: &PlanInput<'_>) -> Plan {
    let site = input.site;
    let tz = site.site.time_zone;
    let horizon_end = ceil_to_hour(input.now + Duration::hours(i64::from(site.site.horizon_hours)));
    let horizon = Window::new(input.now, horizon_end).expect("horizon_hours >= 1 is validated");

    let packs = input.packs.iter().map(|p| PackRef::of(p.pack())).collect();
    let mut plan = Plan::empty(site.site.name.clone(), input.now, horizon, packs);

    // Which bookings get decided, and by whom.
    let mut decidable: Vec<&Booking> = Vec::with_capacity(input.bookings.len());
    for booking in input.bookings {
        if let Err(e) = booking.validate() {
            plan.rejected.push(Rejected {
                booking: BookingRef::of(booking),
                reason: e.to_string(),
            });
            continue;
        }
        if booking.is_cancelled() || booking.end <= input.now - Duration::hours(1) {
            continue;
        }
        let key = room_key(&booking.source, &booking.resource);
        if !site.rooms.contains_key(&key) {
            plan.unbound.push(BookingRef::of(booking));
            continue;
        }
        decidable.push(booking);
    }
    // A source that reports one id twice is wrong; use one copy, the same one whatever the
    // input order (the earliest start, then the earliest end), and say so.
    decidable.par_sort_by(|a, b| {
        (&a.source, &a.id, a.start, a.end).cmp(&(&b.source, &b.id, b.start, b.end))
    });
    let before = decidable.len();
    let mut duplicates = Vec::new();
    decidable.dedup_by(|later, kept| {
        let same = later.source == kept.source && later.id == kept.id;
        if same {
            duplicates.push(BookingRef::of(later));
        }
        same
    });
    debug_assert_eq!(before - decidable.len(), duplicates.len());
    duplicates.sort();
    duplicates.dedup();
    plan.rejected
        .extend(duplicates.into_iter().map(|booking| {
            Rejected {
                booking,
                reason:
                    "the source reports this id more than once; the copy that starts first is used"
                        .into(),
            }
        }));

    // Decide, pack by pack, in parallel batches. Results stay in booking order.
    let mut effects: Vec<Vec<(usize, RuledEffect)>> = vec![Vec::new(); decidable.len()];
    let mut failed = vec![false; decidable.len()];
    for (pack_index, pack) in input.packs.iter().enumerate() {
        let info = pack.pack();
        let settings = merged_settings(info, site);
        let chosen: Vec<usize> = (0..decidable.len())
            .filter(|&i| room_uses_pack(site, decidable[i], &info.name))
            .collect();
        let ctxs: Vec<Ctx> = chosen
            .par_iter()
            .map(|&i| Ctx::for_booking(decidable[i], site, settings.clone()))
            .collect();
        let results: Vec<_> = chosen
            .par_chunks(BATCH)
            .zip(ctxs.par_chunks(BATCH))
            .flat_map_iter(|(indices, ctxs)| {
                let batch: Vec<Decision<'_>> = indices
                    .iter()
                    .zip(ctxs)
                    .map(|(&i, ctx)| {
                        let booking = decidable[i];
                        let room = &site.rooms[&room_key(&booking.source, &booking.resource)];
                        Decision { booking, room, ctx }
                    })
                    .collect();
                indices
                    .iter()
                    .copied()
                    .zip(pack.decide(&batch))
                    .collect::<Vec<_>>()
            })
            .collect();
        for (i, result) in results {
            match result {
                Ok(list) => effects[i].extend(list.into_iter().map(|e| (pack_index, e))),
                Err(e) => {
                    failed[i] = true;
                    plan.errors.push(e);
                }
            }
        }
    }

    // Reasons, caps and the horizon.
    let mut contributions = Vec::new();
    for (i, list) in effects.into_iter().enumerate() {
        if failed[i] {
            continue; // fail closed: no unlock, no disarm, no grant for this booking
        }
        let booking = decidable[i];
        for (pack_index, ruled) in list {
            let reason = Reason::new(booking, input.packs[pack_index].pack(), ruled.rule);
            collect(
                booking,
                ruled.effect,
                reason,
                site,
                tz,
                &horizon,
                &mut plan,
                &mut contributions,
            );
        }
    }

    merge(contributions, &mut plan);
    resolve_door_levels(&mut plan);
    // A door-level cut can leave a piece that has already ended.
    for entry in &mut plan.entries {
        entry.windows.retain(|w| w.window.to > input.now);
    }
    plan.entries.retain(|e| !e.windows.is_empty());
    report_denied_grants(&mut plan);
    plan.errors
        .sort_by(|a, b| (&a.pack, &a.booking).cmp(&(&b.pack, &b.booking)));
    plan.rejected
        .sort_by(|a, b| (&a.booking, &a.reason).cmp(&(&b.booking, &b.reason)));
    plan.unbound.sort();
    plan.unbound.dedup();
    persons::settle(input.bookings, &mut plan);
    plan
}

fn merged_settings(
    info: &crate::rules::PackInfo,
    site: &SiteConfig,
) -> BTreeMap<String, toml::Value> {
    let mut settings = info.settings.clone();
    if let Some(over) = site.rules.settings.get(&info.name) {
        settings.extend(over.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    settings
}

fn room_uses_pack(site: &SiteConfig, booking: &Booking, pack: &str) -> bool {
    match &site.rooms[&room_key(&booking.source, &booking.resource)].packs {
        Some(names) => names.iter().any(|n| n == pack),
        None => true,
    }
}

/// Turns one effect into its targets' contributions, applying caps and the horizon.
#[allow(clippy::too_many_arguments)]
fn collect(
    booking: &Booking,
    effect: Effect,
    reason: Reason,
    site: &SiteConfig,
    tz: Tz,
    horizon: &Window,
    plan: &mut Plan,
    out: &mut Vec<Contribution>,
) {
    // `capped`: door, zone and output windows obey `earliest_local`; all but day types obey
    // `max_window_hours` (a holiday period is rightly longer than any unlock).
    let (targets, window, capped) = match effect {
        Effect::DoorMode {
            door,
            level,
            window,
        } => (vec![Target::Door { door, level }], window, true),
        Effect::Disarm { zone, window } => (vec![Target::Zone { zone }], window, true),
        Effect::SwitchOn { output, window } => (vec![Target::Output { output }], window, true),
        Effect::Grant {
            person,
            groups,
            window,
        } => {
            // A person is someone of the booking's source: member 1042 of two sources is two.
            let person = PersonKey::in_source(&booking.source, &person);
            (
                groups
                    .into_iter()
                    .map(|group| Target::Membership {
                        person: person.clone(),
                        group,
                    })
                    .collect(),
                window,
                false,
            )
        }
        Effect::Deny {
            group,
            doors,
            window,
        } => (
            doors
                .into_iter()
                .map(|door| Target::Deny {
                    group: group.clone(),
                    door,
                })
                .collect(),
            window,
            false,
        ),
        Effect::SharedException { id, window } => {
            (vec![Target::SharedException { id }], window, true)
        }
        Effect::DayType { from, to, day } => {
            let window = match Window::new(
                local_midnight(tz, from),
                local_midnight(tz, to + Duration::days(1)),
            ) {
                Ok(w) => w,
                Err(_) => {
                    plan.rejected.push(Rejected {
                        booking: BookingRef::of(booking),
                        reason: format!(
                            "day_type {} ends ({to}) before it starts ({from})",
                            day.name()
                        ),
                    });
                    return;
                }
            };
            (vec![Target::Day { day }], window, false)
        }
    };

    let mut window = window;
    let caps = &site.site.caps;
    if capped && let Some(earliest) = caps.earliest_local {
        let local = window.from.with_timezone(&tz);
        if local.time() < earliest {
            let moved = tz
                .from_local_datetime(&local.date_naive().and_time(earliest))
                .earliest()
                .map(|t| t.with_timezone(&Utc));
            let after = moved.and_then(|from| Window::new(from, window.to).ok());
            for target in &targets {
                plan.adjustments.push(Adjustment {
                    target: target.clone(),
                    booking: reason.booking_ref(),
                    kind: AdjustmentKind::EarliestStart,
                    before: window,
                    after,
                });
            }
            match after {
                Some(w) => window = w,
                None => return,
            }
        }
    }
    let is_day = matches!(targets.first(), Some(Target::Day { .. }));
    if let Some(hours) = caps.max_window_hours.filter(|_| !is_day) {
        let longest = Duration::hours(i64::from(hours));
        if window.duration() > longest {
            let after = Window::new(window.from, window.from + longest).expect("a positive cap");
            for target in &targets {
                plan.adjustments.push(Adjustment {
                    target: target.clone(),
                    booking: reason.booking_ref(),
                    kind: AdjustmentKind::MaxLength,
                    before: window,
                    after: Some(after),
                });
            }
            window = after;
        }
    }
    // The horizon: past windows go, windows beyond it wait, long ones end at its edge. A window
    // that has begun keeps its true start so the controller's objects stay stable.
    if window.to <= horizon.from || window.from >= horizon.to {
        return;
    }
    if window.to > horizon.to {
        window = Window::new(window.from, horizon.to).expect("from < horizon end");
    }
    let reason = reason.with_window(window);
    for target in targets {
        out.push(Contribution {
            target,
            window,
            reason: reason.clone(),
        });
    }
}

/// The union of windows per target, each merged window keeping every reason that made it.
fn merge(mut contributions: Vec<Contribution>, plan: &mut Plan) {
    // Unstable and parallel: contributions that compare equal differ only in their reasons,
    // which are sorted below, so the plan does not depend on their order.
    contributions.par_sort_unstable_by(|a, b| {
        (&a.target, &a.window.from, &a.window.to).cmp(&(&b.target, &b.window.from, &b.window.to))
    });
    let mut entries: Vec<PlanEntry> = Vec::new();
    for c in contributions {
        let entry = match entries.last_mut() {
            Some(e) if e.target == c.target => e,
            _ => {
                entries.push(PlanEntry {
                    target: c.target.clone(),
                    windows: Vec::new(),
                });
                entries.last_mut().expect("just pushed")
            }
        };
        match entry.windows.last_mut() {
            Some(last) if last.window.touches(&c.window) => {
                last.window.to = last.window.to.max(c.window.to);
                // Duplicates go after the sort below: a `contains` here was quadratic in the
                // reasons of a busy shared door.
                last.reasons.push(c.reason);
            }
            _ => entry.windows.push(PlannedWindow {
                window: c.window,
                reasons: vec![c.reason],
            }),
        }
    }
    entries.par_iter_mut().for_each(|entry| {
        for w in &mut entry.windows {
            w.reasons.sort_unstable();
            w.reasons.dedup();
        }
    });
    plan.entries = entries;
}

/// Where two levels of one door overlap, the more secure one wins; the other is cut back and
/// the conflict reported.
fn resolve_door_levels(plan: &mut Plan) {
    let mut by_door: BTreeMap<crate::model::DoorId, Vec<usize>> = BTreeMap::new();
    for (i, e) in plan.entries.iter().enumerate() {
        if let Target::Door { door, .. } = &e.target {
            by_door.entry(door.clone()).or_default().push(i);
        }
    }
    for indices in by_door.values().filter(|v| v.len() > 1) {
        // Most secure first; each less secure level loses where any more secure level holds.
        let mut order = indices.clone();
        order.sort_by_key(|&i| std::cmp::Reverse(door_level(&plan.entries[i].target)));
        for (rank, &loser) in order.iter().enumerate().skip(1) {
            for &winner in &order[..rank] {
                let winning: Vec<PlannedWindow> = plan.entries[winner].windows.clone();
                let mut kept = Vec::new();
                for lw in std::mem::take(&mut plan.entries[loser].windows) {
                    let mut pieces = vec![lw.window];
                    for ww in &winning {
                        if let Some(overlap) = lw.window.intersect(&ww.window) {
                            plan.conflicts.push(Conflict {
                                target: plan.entries[loser].target.clone(),
                                window: overlap,
                                resolution: format!(
                                    "door {} is {} here: the more secure level wins over {}",
                                    door_name(&plan.entries[winner].target),
                                    door_level(&plan.entries[winner].target),
                                    door_level(&plan.entries[loser].target)
                                ),
                                winners: ww.reasons.iter().map(Reason::booking_ref).collect(),
                                losers: lw.reasons.iter().map(Reason::booking_ref).collect(),
                            });
                        }
                        pieces = pieces.iter().flat_map(|p| p.subtract(&ww.window)).collect();
                    }
                    kept.extend(pieces.into_iter().map(|window| PlannedWindow {
                        window,
                        reasons: lw.reasons.clone(),
                    }));
                }
                plan.entries[loser].windows = kept;
            }
        }
    }
    plan.entries.retain(|e| !e.windows.is_empty());
}

fn door_level(target: &Target) -> DoorLevel {
    match target {
        Target::Door { level, .. } => *level,
        _ => unreachable!("only door targets are ranked"),
    }
}

fn door_name(target: &Target) -> &str {
    match target {
        Target::Door { door, .. } => door.as_str(),
        _ => unreachable!("only door targets are ranked"),
    }
}

/// A deny beats a grant: the controller refuses the group at the denied doors. Both stay in
/// the plan; the overlap is reported so nobody wonders why a granted PIN is refused.
fn report_denied_grants(plan: &mut Plan) {
    let denies: Vec<(
        &crate::model::GroupId,
        &crate::model::DoorId,
        &PlannedWindow,
    )> = plan
        .entries
        .iter()
        .filter_map(|e| match &e.target {
            Target::Deny { group, door } => Some(e.windows.iter().map(move |w| (group, door, w))),
            _ => None,
        })
        .flatten()
        .collect();
    let mut conflicts = Vec::new();
    for e in &plan.entries {
        let Target::Membership { person, group } = &e.target else {
            continue;
        };
        for gw in &e.windows {
            for (dgroup, door, dw) in denies.iter().filter(|(g, _, _)| *g == group) {
                if let Some(overlap) = gw.window.intersect(&dw.window) {
                    conflicts.push(Conflict {
                        target: e.target.clone(),
                        window: overlap,
                        resolution: format!("group {dgroup} is denied at door {door}: deny beats the grant to {person}"),
                        winners: dw.reasons.iter().map(Reason::booking_ref).collect(),
                        losers: gw.reasons.iter().map(Reason::booking_ref).collect(),
                    });
                }
            }
        }
    }
    plan.conflicts.extend(conflicts);
    plan.conflicts
        .sort_by(|a, b| (&a.target, &a.window).cmp(&(&b.target, &b.window)));
}

/// The first instant of a local date (midnight, or the first instant after a DST gap).
pub fn local_midnight(tz: Tz, date: NaiveDate) -> DateTime<Utc> {
    let mut t = date.and_hms_opt(0, 0, 0).expect("midnight exists");
    loop {
        if let Some(dt) = tz.from_local_datetime(&t).earliest() {
            return dt.with_timezone(&Utc);
        }
        t += Duration::minutes(30);
    }
}

fn ceil_to_hour(t: DateTime<Utc>) -> DateTime<Utc> {
    let floor = t
        .with_minute(0)
        .and_then(|t| t.with_second(0))
        .and_then(|t| t.with_nanosecond(0))
        .expect("zeroing minutes is valid in UTC");
    if floor == t {
        t
    } else {
        floor + Duration::hours(1)
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod persons_tests;

#[cfg(test)]
mod properties;
