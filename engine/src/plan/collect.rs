//! From one booking's effects to contributions: targets with windows and reasons, after the
//! site's safety margins, the earliest hour and the horizon. Every step is checked arithmetic:
//! no effect value, however extreme, panics here.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;

use super::types::{Adjustment, AdjustmentKind, BookingRef, Reason, Rejected, Target};
use crate::model::{Booking, DoorLevel, Effect, PersonKey, Window};
use crate::rules::{Core, RuledEffect};
use crate::site::SiteConfig;
use crate::site::local_time::{instant_at_local, local_dates, local_midnight};

/// One target's window on its way into the plan, with the reason it exists.
#[derive(Debug, Clone)]
pub(super) struct Contribution {
    pub target: Target,
    pub window: Window,
    pub reason: Reason,
    /// The part of `window` that is its booking's core time (doors only).
    pub core: Option<Window>,
}

/// What one booking's effects gave.
#[derive(Debug, Default)]
pub(super) struct Collected {
    pub contributions: Vec<Contribution>,
    pub adjustments: Vec<Adjustment>,
    pub rejected: Vec<Rejected>,
}

impl Collected {
    pub fn extend(&mut self, other: Collected) {
        self.contributions.extend(other.contributions);
        self.adjustments.extend(other.adjustments);
        self.rejected.extend(other.rejected);
    }
}

/// Turns effects into contributions for one site and horizon.
pub(super) struct Collector<'a> {
    pub site: &'a SiteConfig,
    pub horizon: Window,
}

impl Collector<'_> {
    fn tz(&self) -> Tz {
        self.site.site.time_zone
    }

    /// One effect of `booking`.
    pub fn effect(
        &self,
        booking: &Booking,
        ruled: RuledEffect,
        reason: Reason,
        out: &mut Collected,
    ) {
        let RuledEffect { effect, core, .. } = ruled;
        // `capped`: door, zone, output and shared-exception windows obey `earliest_local`.
        // `bounded`: windows that can open something obey the safety margins; a door locked
        // and a deny only ever close, so a rule may keep them as long as it likes.
        let (targets, window, capped, bounded) = match effect {
            Effect::DoorMode {
                door,
                level,
                window,
            } => (
                vec![Target::Door { door, level }],
                window,
                true,
                level != DoorLevel::Locked,
            ),
            Effect::Disarm { zone, window } => (vec![Target::Zone { zone }], window, true, true),
            Effect::SwitchOn { output, window } => {
                (vec![Target::Output { output }], window, true, true)
            }
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
                    true,
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
                false,
            ),
            Effect::SharedException { id, window } => {
                (vec![Target::SharedException { id }], window, true, true)
            }
            Effect::DayType { from, to, day } => {
                let target = Target::Day { day };
                if let Some(w) = self.day_window(booking, from, to, &target, &reason, out) {
                    self.push(vec![target], w, None, reason, out);
                }
                return;
            }
        };
        let is_door = matches!(targets.first(), Some(Target::Door { .. }));
        let mut window = window;

        if bounded {
            let reach = self.site.site.safety.reach(booking);
            let after = window.intersect(&reach);
            if after != Some(window) {
                adjust(
                    out,
                    &targets,
                    &reason,
                    AdjustmentKind::SafetyMargin,
                    window,
                    after,
                );
                match after {
                    Some(w) => window = w,
                    None => return,
                }
            }
        }
        if capped && let Some(earliest) = self.site.site.caps.earliest_local {
            let local = window.from.with_timezone(&self.tz());
            if local.time() < earliest {
                let moved = instant_at_local(self.tz(), local.date_naive().and_time(earliest));
                let after = moved.and_then(|from| Window::new(from, window.to).ok());
                adjust(
                    out,
                    &targets,
                    &reason,
                    AdjustmentKind::EarliestStart,
                    window,
                    after,
                );
                match after {
                    Some(w) => window = w,
                    None => return,
                }
            }
        }
        let core = if is_door {
            match core {
                Core::Booking => booking.window().ok(),
                Core::Window(w) => Some(w),
                Core::Margin => None,
            }
            .and_then(|c| c.intersect(&window))
        } else {
            None
        };
        self.push(targets, window, core, reason, out);
    }

    /// The horizon: windows beyond it wait, long ones end at its edge. A window that has begun
    /// keeps its true start so the controller's objects stay stable, and one that has ended
    /// stays until the windows are merged and capped (the cap applies to the whole merged
    /// window, whenever it began); the plan then drops what has ended.
    fn push(
        &self,
        targets: Vec<Target>,
        window: Window,
        core: Option<Window>,
        reason: Reason,
        out: &mut Collected,
    ) {
        let horizon = self.horizon;
        if window.from >= horizon.to {
            return;
        }
        let window = if window.to > horizon.to {
            Window::new(window.from, horizon.to).expect("from < horizon end")
        } else {
            window
        };
        let core = core.and_then(|c| c.intersect(&window));
        let reason = reason.with_window(window);
        for target in targets {
            out.contributions.push(Contribution {
                target,
                window,
                reason: reason.clone(),
                core,
            });
        }
    }

    /// A day type's local dates as a window (local midnight to local midnight), cut to the dates
    /// the booking's reach touches. `None` when nothing is left.
    fn day_window(
        &self,
        booking: &Booking,
        from: NaiveDate,
        to: NaiveDate,
        target: &Target,
        reason: &Reason,
        out: &mut Collected,
    ) -> Option<Window> {
        let tz = self.tz();
        let dates = |a: NaiveDate, b: NaiveDate| -> Option<Window> {
            Window::new(local_midnight(tz, a)?, local_midnight(tz, b.succ_opt()?)?).ok()
        };
        let Some(asked) = dates(from, to) else {
            out.rejected.push(Rejected {
                booking: BookingRef::of(booking),
                reason: format!(
                    "day_type {} from {from} to {to}: not a span of local dates",
                    target_day(target)
                ),
            });
            return None;
        };
        let reach = self.site.site.safety.reach(booking);
        let (first, last) = local_dates(tz, reach.from, reach.to);
        let (cut_from, cut_to) = (from.max(first), to.min(last));
        if (cut_from, cut_to) == (from, to) {
            return Some(asked);
        }
        let after = if cut_from <= cut_to {
            dates(cut_from, cut_to)
        } else {
            None
        };
        adjust(
            out,
            std::slice::from_ref(target),
            reason,
            AdjustmentKind::SafetyMargin,
            asked,
            after,
        );
        after
    }
}

fn target_day(target: &Target) -> &str {
    match target {
        Target::Day { day } => day.name(),
        _ => "",
    }
}

fn adjust(
    out: &mut Collected,
    targets: &[Target],
    reason: &Reason,
    kind: AdjustmentKind,
    before: Window,
    after: Option<Window>,
) {
    for target in targets {
        out.adjustments.push(Adjustment {
            target: target.clone(),
            booking: reason.booking_ref(),
            kind,
            before,
            after,
        });
    }
}

/// `t` plus `d`, or the end of time.
pub(super) fn saturating_add(t: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    t.checked_add_signed(d).unwrap_or(DateTime::<Utc>::MAX_UTC)
}
