//! One level per door at a time, decided deterministically and reported:
//!
//! 1. A deny holds: where a group is denied at a door that a plan window would unlock, the door
//!    is at `card` instead (an unlocked door lets everybody in, the denied group too), and the
//!    conflict is reported.
//! 2. Where two levels of one door overlap, a booking's core time (by default its own
//!    `[start, end)`) wins over another booking's margin; between two core times, or two
//!    margins, the more secure level wins. The losing level is cut back and the conflict
//!    reported with winners and losers.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::types::{Conflict, Plan, PlanEntry, PlannedWindow, Reason, Target};
use crate::model::{DoorId, DoorLevel, Window, union};

/// A door's windows at one level, with the parts that are some booking's core time.
struct Level {
    level: DoorLevel,
    windows: Vec<PlannedWindow>,
    core: Vec<Window>,
}

/// Resolves the plan's door entries. `cores` holds each door target's core windows (unioned).
pub(super) fn resolve(plan: &mut Plan, mut cores: BTreeMap<Target, Vec<Window>>) {
    let mut doors: BTreeMap<DoorId, Vec<Level>> = BTreeMap::new();
    let mut rest = Vec::with_capacity(plan.entries.len());
    for e in std::mem::take(&mut plan.entries) {
        match e.target {
            Target::Door { ref door, level } => {
                let core = cores.remove(&e.target).unwrap_or_default();
                doors.entry(door.clone()).or_default().push(Level {
                    level,
                    windows: e.windows,
                    core,
                });
            }
            _ => rest.push(e),
        }
    }
    let denies: Vec<(&Target, &PlanEntry)> = rest
        .iter()
        .filter(|e| matches!(e.target, Target::Deny { .. }))
        .map(|e| (&e.target, e))
        .collect();
    for (door, levels) in doors.iter_mut() {
        for (target, entry) in &denies {
            let Target::Deny { group, door: d } = target else {
                continue;
            };
            if d == door {
                hold_deny(door, group.as_str(), entry, levels, &mut plan.conflicts);
            }
        }
        if levels.len() > 1 {
            rank(door, levels, &mut plan.conflicts);
        }
    }
    for (door, levels) in doors {
        for l in levels {
            if !l.windows.is_empty() {
                rest.push(PlanEntry {
                    target: Target::Door {
                        door: door.clone(),
                        level: l.level,
                    },
                    windows: l.windows,
                });
            }
        }
    }
    rest.sort_by(|a, b| a.target.cmp(&b.target));
    plan.entries = rest;
}

/// Where a deny overlaps an unlocked window of its door, the door is at `card` instead.
fn hold_deny(
    door: &DoorId,
    group: &str,
    deny: &PlanEntry,
    levels: &mut Vec<Level>,
    conflicts: &mut Vec<Conflict>,
) {
    let Some(u) = levels.iter().position(|l| l.level == DoorLevel::Unlocked) else {
        return;
    };
    let mut raised: Vec<PlannedWindow> = Vec::new();
    let mut raised_core: Vec<Window> = Vec::new();
    let unlocked = &mut levels[u];
    let mut kept = Vec::new();
    for w in std::mem::take(&mut unlocked.windows) {
        let mut pieces = vec![w.window];
        for d in &deny.windows {
            let Some(overlap) = w.window.intersect(&d.window) else {
                continue;
            };
            let mut reasons = w.reasons.clone();
            reasons.extend(d.reasons.iter().cloned());
            reasons.sort();
            reasons.dedup();
            raised.push(PlannedWindow {
                window: overlap,
                reasons,
            });
            raised_core.extend(unlocked.core.iter().filter_map(|c| c.intersect(&overlap)));
            conflicts.push(Conflict {
                target: Target::Door {
                    door: door.clone(),
                    level: DoorLevel::Unlocked,
                },
                window: overlap,
                resolution: format!(
                    "group {group} is denied at door {door} here: the door is card instead of unlocked, so the deny holds"
                ),
                winners: d.reasons.iter().map(Reason::booking_ref).collect(),
                losers: w.reasons.iter().map(Reason::booking_ref).collect(),
            });
            pieces = pieces.iter().flat_map(|p| p.subtract(&overlap)).collect();
        }
        kept.extend(pieces.into_iter().map(|window| PlannedWindow {
            window,
            reasons: w.reasons.clone(),
        }));
    }
    unlocked.windows = kept;
    if raised.is_empty() {
        return;
    }
    let card = match levels.iter().position(|l| l.level == DoorLevel::Card) {
        Some(i) => i,
        None => {
            levels.push(Level {
                level: DoorLevel::Card,
                windows: Vec::new(),
                core: Vec::new(),
            });
            levels.len() - 1
        }
    };
    let card = &mut levels[card];
    card.windows.extend(raised);
    card.windows = merge_windows(std::mem::take(&mut card.windows));
    card.core.extend(raised_core);
    card.core = union(std::mem::take(&mut card.core));
}

/// Sorts windows and merges overlapping and touching ones, keeping every reason.
fn merge_windows(mut windows: Vec<PlannedWindow>) -> Vec<PlannedWindow> {
    windows.sort_by_key(|a| a.window);
    let mut out: Vec<PlannedWindow> = Vec::with_capacity(windows.len());
    for w in windows {
        match out.last_mut() {
            Some(last) if last.window.touches(&w.window) => {
                last.window.to = last.window.to.max(w.window.to);
                last.reasons.extend(w.reasons);
                last.reasons.sort();
                last.reasons.dedup();
            }
            _ => out.push(w),
        }
    }
    out
}

/// Why a level lost a stretch of time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Why {
    /// The winner is more secure (both core time, both margin, or the winner's core).
    MoreSecure,
    /// The winner is a booking's core time and the loser only margin.
    CoreTime,
}

/// The index of the window of `windows` (sorted, disjoint) that contains `at`.
fn covering(windows: &[Window], at: DateTime<Utc>) -> Option<usize> {
    let i = windows.partition_point(|w| w.to <= at);
    windows.get(i).filter(|w| w.contains(at)).map(|_| i)
}

/// Decides, stretch by stretch, which level each door is at, and cuts the others back.
fn rank(door: &DoorId, levels: &mut [Level], conflicts: &mut Vec<Conflict>) {
    let spans: Vec<Vec<Window>> = levels
        .iter()
        .map(|l| l.windows.iter().map(|w| w.window).collect())
        .collect();
    let mut points: Vec<DateTime<Utc>> = levels
        .iter()
        .flat_map(|l| {
            l.windows
                .iter()
                .map(|w| w.window)
                .chain(l.core.iter().copied())
                .flat_map(|w| [w.from, w.to])
        })
        .collect();
    points.sort();
    points.dedup();
    // For each level and window: the stretches it keeps; and every stretch lost, by whom.
    let mut kept: Vec<Vec<Vec<Window>>> = spans.iter().map(|s| vec![Vec::new(); s.len()]).collect();
    // (loser level, loser window, winner level, winner window, why) -> stretches
    let mut lost: BTreeMap<(usize, usize, usize, usize, Why), Vec<Window>> = BTreeMap::new();
    for pair in points.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        let Ok(stretch) = Window::new(a, b) else {
            continue;
        };
        let present: Vec<(usize, usize)> = spans
            .iter()
            .enumerate()
            .filter_map(|(li, s)| covering(s, a).map(|wi| (li, wi)))
            .collect();
        if present.is_empty() {
            continue;
        }
        let is_core = |li: usize| covering(&levels[li].core, a).is_some();
        let cores: Vec<(usize, usize)> = present
            .iter()
            .copied()
            .filter(|(li, _)| is_core(*li))
            .collect();
        let pool = if cores.is_empty() { &present } else { &cores };
        let &(win_l, win_w) = pool
            .iter()
            .max_by_key(|(li, _)| levels[*li].level)
            .expect("the pool is not empty");
        for &(li, wi) in &present {
            if li == win_l {
                kept[li][wi].push(stretch);
            } else {
                let why = if levels[win_l].level > levels[li].level {
                    Why::MoreSecure
                } else {
                    Why::CoreTime
                };
                lost.entry((li, wi, win_l, win_w, why))
                    .or_default()
                    .push(stretch);
            }
        }
    }
    for ((li, wi, win_l, win_w, why), stretches) in lost {
        let winner = &levels[win_l];
        let loser = &levels[li];
        for window in union(stretches) {
            let resolution = match why {
                Why::MoreSecure => format!(
                    "door {door} is {} here: the more secure level wins over {}",
                    winner.level, loser.level
                ),
                Why::CoreTime => format!(
                    "door {door} is {} here: a booking's own time wins over another booking's margin ({})",
                    winner.level, loser.level
                ),
            };
            conflicts.push(Conflict {
                target: Target::Door {
                    door: door.clone(),
                    level: loser.level,
                },
                window,
                resolution,
                winners: winner.windows[win_w]
                    .reasons
                    .iter()
                    .map(Reason::booking_ref)
                    .collect(),
                losers: loser.windows[wi]
                    .reasons
                    .iter()
                    .map(Reason::booking_ref)
                    .collect(),
            });
        }
    }
    for (li, level) in levels.iter_mut().enumerate() {
        let old = std::mem::take(&mut level.windows);
        for (wi, w) in old.into_iter().enumerate() {
            for window in union(std::mem::take(&mut kept[li][wi])) {
                level.windows.push(PlannedWindow {
                    window,
                    reasons: w.reasons.clone(),
                });
            }
        }
    }
}

/// A deny beats a grant: the controller refuses the group at the denied doors. Both stay in
/// the plan; the overlap is reported so nobody wonders why a granted PIN is refused.
pub(super) fn report_denied_grants(plan: &mut Plan) {
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
