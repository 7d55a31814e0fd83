//! The planner: `plan(bookings, rules, site, now) -> Plan`, pure (DESIGN.md §4, and its "As
//! built" list).
//!
//! 1. each booking that is valid, not cancelled, bound to a room and still in force (it can
//!    still cause a window: `[site.safety]` and [`crate::site::Retention`]) is decided by the
//!    room's packs;
//! 2. a pack that fails on a booking fails closed per pack ([`FailClosed`]): restrictive effects
//!    stay, the pack's last good decision for the booking stays (its permissive parts only while
//!    the booking's times are unchanged), and nothing of the booking opens on a guess;
//! 3. each effect gets its reason (booking, pack and version, rule file and line), is cut to the
//!    booking's safety margins and the site's earliest hour, and clipped to the horizon
//!    ([`collect`]); the site's own holidays join as day types ([`calendar`]);
//! 4. windows are merged per target (union of overlapping and touching windows), and
//!    `max_window_hours` cuts each merged window, reported for every booking behind it;
//! 5. doors get one level at a time ([`doors`]): a deny holds (at least `card`), a booking's
//!    core time wins over another's margin, else the more secure level; and a deny is reported
//!    beside the grants it overrides.

mod calendar;
mod collect;
mod doors;
mod fail_closed;
mod memory;
mod merge;
mod persons;
mod types;

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, Timelike, Utc};
use chrono_tz::Tz;
use rayon::prelude::*;

use crate::model::{Booking, Window, room_key};
use crate::rules::{Ctx, Decision, RuleError, RuleRuntime, RuledEffect};
use crate::site::SiteConfig;

pub use calendar::{SITE_SOURCE, is_site};
pub use memory::{DecisionKey, Decisions, PackDecision, is_restrictive};
pub use types::{
    Adjustment, AdjustmentKind, Booked, BookingRef, Conflict, FailClosed, LastGoodUse, PackRef,
    Plan, PlanEntry, PlanWarning, PlannedWindow, Reason, Rejected, Target, WarningKind,
};

use collect::{Collected, Collector, saturating_add};
use fail_closed::{Assembled, assemble};

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

/// A plan and the last good decisions to keep for the next one.
#[derive(Debug, Clone)]
pub struct Planned {
    pub plan: Plan,
    pub decisions: Decisions,
}

/// Makes the plan, with no memory of earlier decisions: a pack that fails on a booking keeps
/// only the restrictive effects of the others. Deterministic: the same input gives the same
/// plan, whatever the order of the bookings or the number of threads.
pub fn plan(input: &PlanInput<'_>) -> Plan {
    plan_inner(input, None).plan
}

/// Makes the plan with each pack's last good decision per booking (from the previous plan, or
/// the store), and returns the decisions to keep for the next.
pub fn plan_remembering(input: &PlanInput<'_>, last_good: &Decisions) -> Planned {
    plan_inner(input, Some(last_good))
}

fn plan_inner(input: &PlanInput<'_>, memory: Option<&Decisions>) -> Planned {
    let site = input.site;
    let now = input.now;
    let horizon_end = ceil_to_hour(saturating_add(
        now,
        Duration::hours(i64::from(site.site.horizon_hours)),
    ));
    let horizon = Window::new(now, horizon_end).expect("horizon_hours >= 1 is validated");

    let packs = input.packs.iter().map(|p| PackRef::of(p.pack())).collect();
    let mut plan = Plan::empty(site.site.name.clone(), now, horizon, packs);

    // Which bookings get decided, and by whom. A booking that has ended stays until the last
    // window it can cause has ended: its after-margins end on their own.
    let retention = site.retention();
    let mut decidable: Vec<&Booking> = Vec::with_capacity(input.bookings.len());
    for booking in input.bookings {
        if let Err(e) = booking.validate() {
            plan.rejected.push(Rejected {
                booking: BookingRef::of(booking),
                reason: e.to_string(),
            });
            continue;
        }
        if booking.is_cancelled() || !retention.in_force(booking, now) {
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
    type Outcome = (usize, Result<Vec<RuledEffect>, RuleError>);
    let mut outcomes: Vec<Vec<Outcome>> = vec![Vec::new(); decidable.len()];
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
            outcomes[i].push((pack_index, result));
        }
    }

    // Each booking's effects (fail closed per pack), reasons, margins, the earliest hour and
    // the horizon; a booking at a time, so that nothing about one booking stops another.
    let collector = Collector { site, horizon };
    let assembled: Vec<Assembled> = decidable
        .par_iter()
        .zip(outcomes.into_par_iter())
        .map(|(booking, outcomes)| {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                assemble(booking, outcomes, input.packs, memory, now, &collector)
            }))
            .unwrap_or_else(|_| Assembled::planner_failed(booking, input.packs, memory))
        })
        .collect();
    let mut collected = Collected::default();
    let mut decisions = Decisions::default();
    for a in assembled {
        collected.extend(a.collected);
        plan.errors.extend(a.errors);
        plan.fail_closed.extend(a.fail_closed);
        for d in a.decisions {
            decisions.insert(d);
        }
    }
    let Collected {
        mut contributions,
        adjustments,
        rejected,
    } = collected;
    plan.adjustments = adjustments;
    plan.rejected.extend(rejected);

    let days = calendar::site_days(site, &horizon);
    let days = calendar::yield_to_rules(days, &contributions, &mut plan.conflicts);
    contributions.extend(days);

    let cores = merge::merge(contributions, site.site.caps.max_window_hours, &mut plan);
    doors::resolve(&mut plan, cores);
    // What has ended goes: windows that ended before now, and what is said about them only.
    for entry in &mut plan.entries {
        entry.windows.retain(|w| w.window.to > now);
    }
    plan.entries.retain(|e| !e.windows.is_empty());
    plan.conflicts.retain(|c| c.window.to > now);
    plan.adjustments
        .retain(|a| a.after.map_or(a.before.to, |w| w.to.max(a.before.to)) > now);
    doors::report_denied_grants(&mut plan);
    plan.errors
        .sort_by(|a, b| (&a.pack, &a.booking).cmp(&(&b.pack, &b.booking)));
    plan.fail_closed.sort_by(|a, b| a.booking.cmp(&b.booking));
    plan.adjustments.sort_by(|a, b| {
        (&a.target, &a.booking, a.before, a.kind).cmp(&(&b.target, &b.booking, b.before, b.kind))
    });
    plan.adjustments.dedup();
    plan.rejected
        .sort_by(|a, b| (&a.booking, &a.reason).cmp(&(&b.booking, &b.reason)));
    plan.rejected.dedup();
    plan.unbound.sort();
    plan.unbound.dedup();
    persons::settle(input.bookings, &mut plan);
    Planned { plan, decisions }
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

/// The first instant of a local date (midnight, or the first instant after a DST gap at
/// midnight), by the site's one DST policy ([`crate::site::local_time`]).
pub fn local_midnight(tz: Tz, date: NaiveDate) -> DateTime<Utc> {
    crate::site::local_time::local_midnight(tz, date).unwrap_or(DateTime::<Utc>::MAX_UTC)
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
        saturating_add(floor, Duration::hours(1))
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod persons_tests;

#[cfg(test)]
mod properties;
