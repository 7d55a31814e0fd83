//! The audit trail's arithmetic: which booking's windows on which target the controller held
//! before and holds now, and why they changed. Pure; the store keeps the result.
//!
//! Each booking is recorded with its own windows from before the planner merged them with other
//! bookings' (so a booking whose neighbour is cancelled records nothing), cut to what the
//! controller really holds ([`super::Controller::realized`]): a window that did not fit, or a
//! target that is not bound, is not recorded as created, and a waiting window is recorded when a
//! later apply puts it on the controller. The reason comes from the booking: created, cancelled,
//! ended, changed, rule change, or a rule error; `extended` and `shortened` when none of those
//! explains the change (a conflict with another booking, a capacity freed or filled, the horizon).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::{BookingId, SourceName, Window, difference, intersection, union};
use crate::plan::{Booked, Plan, Target};
use crate::rules::RuleLocation;

/// One booking's window on one target, as the controller holds it, with the rule that made it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct AppliedWindow {
    pub target: Target,
    pub source: SourceName,
    pub booking: BookingId,
    pub title: String,
    pub window: Window,
    pub pack: String,
    pub pack_version: String,
    pub rule: RuleLocation,
    /// The booking as it was when applied (rows written by an older klar have none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub booked: Option<Booked>,
}

/// The plan as (target, booking, window) rows, each booking's own windows cut to what
/// `realized` says the controller holds of the target, sorted.
pub fn applied_windows(
    plan: &Plan,
    realized: &BTreeMap<Target, Vec<Window>>,
) -> Vec<AppliedWindow> {
    type Row<'a> = (&'a crate::plan::Reason, Vec<Window>);
    let mut rows = Vec::new();
    for e in &plan.entries {
        let Some(held) = realized.get(&e.target).filter(|h| !h.is_empty()) else {
            continue;
        };
        // Per booking and rule: its own windows inside the merged ones.
        let mut mine: BTreeMap<(&SourceName, &BookingId, &RuleLocation), Row<'_>> = BTreeMap::new();
        for w in &e.windows {
            for r in &w.reasons {
                let own = r
                    .window
                    .and_then(|own| own.intersect(&w.window))
                    .unwrap_or(w.window);
                mine.entry((&r.source, &r.booking, &r.rule))
                    .or_insert_with(|| (r, Vec::new()))
                    .1
                    .push(own);
            }
        }
        for (r, windows) in mine.into_values() {
            let booked = plan.bookings.get(&(r.source.clone(), r.booking.clone()));
            for window in intersection(&windows, held) {
                rows.push(AppliedWindow {
                    target: e.target.clone(),
                    source: r.source.clone(),
                    booking: r.booking.clone(),
                    title: r.title.clone(),
                    window,
                    pack: r.pack.clone(),
                    pack_version: r.pack_version.clone(),
                    rule: r.rule.clone(),
                    booked: booked.cloned(),
                });
            }
        }
    }
    rows.sort();
    rows.dedup_by(|a, b| {
        a.target == b.target
            && a.source == b.source
            && a.booking == b.booking
            && a.window == b.window
    });
    rows
}

/// Why a booking's windows on a target changed on the controller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeReason {
    /// The controller holds windows of the booking it did not hold before (a new booking, or a
    /// window that waited for room).
    Created,
    /// More of the booking is held, and neither the booking nor the rules changed (a conflict
    /// resolved, room freed, the horizon moved on).
    Extended,
    /// Less of it is held, and neither the booking nor the rules changed (a conflict, a
    /// capacity, a binding).
    Shortened,
    /// The booking was cancelled, or vanished from its source before it ended.
    Cancelled,
    /// The booking ended: its windows ran out (stored by older versions as `expired`).
    #[serde(alias = "expired")]
    Ended,
    /// The booking itself changed: its times, its room or its status.
    Changed,
    /// The rules changed: another pack version, or another rule gave the window.
    RuleChange,
    /// A rule failed on the booking, which now gets nothing (fail closed).
    RuleError,
}

impl ChangeReason {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeReason::Created => "created",
            ChangeReason::Extended => "extended",
            ChangeReason::Shortened => "shortened",
            ChangeReason::Cancelled => "cancelled",
            ChangeReason::Ended => "ended",
            ChangeReason::Changed => "changed",
            ChangeReason::RuleChange => "rule_change",
            ChangeReason::RuleError => "rule_error",
        }
    }
}

/// One audit entry: a booking's windows on a target changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditChange {
    pub target: Target,
    pub source: SourceName,
    pub booking: BookingId,
    pub title: String,
    pub pack: String,
    pub pack_version: String,
    pub rule: RuleLocation,
    pub before: Vec<Window>,
    pub after: Vec<Window>,
    pub reason: ChangeReason,
}

type Key = (Target, SourceName, BookingId);

fn group(rows: &[AppliedWindow]) -> BTreeMap<Key, Vec<&AppliedWindow>> {
    let mut map: BTreeMap<Key, Vec<&AppliedWindow>> = BTreeMap::new();
    for r in rows {
        map.entry((r.target.clone(), r.source.clone(), r.booking.clone()))
            .or_default()
            .push(r);
    }
    map
}

/// The changes between what the controller held (`before`) and holds (`after`) at the plan's
/// instant, with the reason taken from the booking as `plan` saw it.
pub fn audit_changes(
    before: &[AppliedWindow],
    after: &[AppliedWindow],
    plan: &Plan,
) -> Vec<AuditChange> {
    let now = plan.at;
    let (old, new) = (group(before), group(after));
    let keys: BTreeSet<&Key> = old.keys().chain(new.keys()).collect();
    let mut changes = Vec::new();
    for key in keys {
        let rows_before = old.get(key).map(Vec::as_slice).unwrap_or_default();
        let rows_after = new.get(key).map(Vec::as_slice).unwrap_or_default();
        let was = union(rows_before.iter().map(|r| r.window).collect());
        let is = union(rows_after.iter().map(|r| r.window).collect());
        if was == is {
            continue;
        }
        let reason = reason(key, &was, &is, rows_before, rows_after, plan, now);
        let row = rows_after
            .first()
            .or_else(|| rows_before.first())
            .expect("a key comes from one side");
        changes.push(AuditChange {
            target: key.0.clone(),
            source: key.1.clone(),
            booking: key.2.clone(),
            title: row.title.clone(),
            pack: row.pack.clone(),
            pack_version: row.pack_version.clone(),
            rule: row.rule.clone(),
            before: was,
            after: is,
            reason,
        });
    }
    changes
}

fn reason(
    key: &Key,
    was: &[Window],
    is: &[Window],
    rows_before: &[&AppliedWindow],
    rows_after: &[&AppliedWindow],
    plan: &Plan,
    now: DateTime<Utc>,
) -> ChangeReason {
    if was.is_empty() {
        return ChangeReason::Created;
    }
    let removed = difference(was, is);
    let added = difference(is, was);
    // Only windows that are over went: time passed, nothing was taken away.
    if added.is_empty() && removed.iter().all(|w| w.to <= now) {
        return ChangeReason::Ended;
    }
    let stored = rows_before.iter().find_map(|r| r.booked.as_ref());
    let (source, booking) = (&key.1, &key.2);
    match plan.bookings.get(&(source.clone(), booking.clone())) {
        // Gone from its source: after its end it ended, before it was cancelled.
        None => {
            return if stored.is_some_and(|b| b.end <= now) {
                ChangeReason::Ended
            } else {
                ChangeReason::Cancelled
            };
        }
        Some(b) if b.status == crate::model::BookingStatus::Cancelled => {
            return ChangeReason::Cancelled;
        }
        Some(b) if is.is_empty() && b.end <= now => return ChangeReason::Ended,
        Some(b) if b.failed => return ChangeReason::RuleError,
        Some(b) if stored.is_some_and(|s| !s.same_booking(b)) => return ChangeReason::Changed,
        Some(_) => {}
    }
    let version_now = |pack: &str| {
        plan.packs
            .iter()
            .find(|p| p.name == pack)
            .map(|p| p.version.as_str())
    };
    let rules_before: BTreeSet<_> = rows_before
        .iter()
        .map(|r| (&r.pack, &r.pack_version, &r.rule))
        .collect();
    let rules_after: BTreeSet<_> = rows_after
        .iter()
        .map(|r| (&r.pack, &r.pack_version, &r.rule))
        .collect();
    let pack_changed = rows_before
        .iter()
        .any(|r| version_now(&r.pack) != Some(r.pack_version.as_str()));
    if pack_changed || (!rows_after.is_empty() && rules_before != rules_after) {
        return ChangeReason::RuleChange;
    }
    let span = |ws: &[Window]| ws.iter().map(|w| w.duration()).sum::<chrono::Duration>();
    if removed.is_empty() || span(is) > span(was) {
        ChangeReason::Extended
    } else {
        ChangeReason::Shortened
    }
}

#[cfg(test)]
mod tests;
