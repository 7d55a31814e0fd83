//! The union of windows per target, each merged window keeping every reason that made it, and
//! the cap on the merged window (`max_window_hours`).

use std::collections::{BTreeMap, BTreeSet};

use chrono::Duration;
use rayon::prelude::*;

use super::collect::{Contribution, saturating_add};
use super::types::{
    Adjustment, AdjustmentKind, BookingRef, Plan, PlanEntry, PlannedWindow, Reason, Target,
};
use crate::model::Window;

/// One merged window on its way into the plan: the contributions inside it.
struct Run {
    window: Window,
    parts: Vec<(Reason, Window)>,
}

/// The union of windows per target, each merged window keeping every reason that made it;
/// `max_window_hours` then cuts each merged window (day types excepted: a holiday period is
/// rightly longer than any unlock), reported once for each booking behind it. Returns each
/// door target's core windows, for [`doors::resolve`].
pub(super) fn merge(
    mut contributions: Vec<Contribution>,
    max_hours: Option<u32>,
    plan: &mut Plan,
) -> BTreeMap<Target, Vec<Window>> {
    // Unstable and parallel: contributions that compare equal differ only in their reasons,
    // which are sorted below, so the plan does not depend on their order.
    contributions.par_sort_unstable_by(|a, b| {
        (&a.target, &a.window.from, &a.window.to).cmp(&(&b.target, &b.window.from, &b.window.to))
    });
    let mut cores: BTreeMap<Target, Vec<Window>> = BTreeMap::new();
    let mut grouped: Vec<(Target, Vec<Run>)> = Vec::new();
    for c in contributions {
        if let Some(core) = c.core {
            cores.entry(c.target.clone()).or_default().push(core);
        }
        let runs = match grouped.last_mut() {
            Some((t, runs)) if *t == c.target => runs,
            _ => {
                grouped.push((c.target.clone(), Vec::new()));
                &mut grouped.last_mut().expect("just pushed").1
            }
        };
        match runs.last_mut() {
            Some(last) if last.window.touches(&c.window) => {
                last.window.to = last.window.to.max(c.window.to);
                last.parts.push((c.reason, c.window));
            }
            _ => runs.push(Run {
                window: c.window,
                parts: vec![(c.reason, c.window)],
            }),
        }
    }
    let longest = max_hours.map(|h| Duration::hours(i64::from(h)));
    let mut entries = Vec::with_capacity(grouped.len());
    for (target, runs) in grouped {
        let capped = !matches!(target, Target::Day { .. });
        let mut windows = Vec::with_capacity(runs.len());
        for run in runs {
            let mut window = run.window;
            let mut parts = run.parts;
            if let Some(longest) = longest.filter(|_| capped)
                && window.duration() > longest
            {
                let cut = Window::new(window.from, saturating_add(window.from, longest))
                    .expect("a positive cap");
                let behind: BTreeSet<BookingRef> =
                    parts.iter().map(|(r, _)| r.booking_ref()).collect();
                for booking in behind {
                    plan.adjustments.push(Adjustment {
                        target: target.clone(),
                        booking,
                        kind: AdjustmentKind::MaxLength,
                        before: window,
                        after: Some(cut),
                    });
                }
                // Only the bookings whose windows still lie in the cut window are its reasons.
                parts.retain(|(_, w)| w.overlaps(&cut));
                window = cut;
            }
            let mut reasons: Vec<Reason> = parts.into_iter().map(|(r, _)| r).collect();
            reasons.sort_unstable();
            reasons.dedup();
            windows.push(PlannedWindow { window, reasons });
        }
        entries.push(PlanEntry { target, windows });
    }
    plan.entries = entries;
    for windows in cores.values_mut() {
        *windows = crate::model::union(std::mem::take(windows));
    }
    cores
}
