//! The audit trail's arithmetic: which booking's windows on which target were created,
//! extended, shortened, cancelled or expired between what was applied and what is applied now.
//! Pure; the store keeps the result.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::{BookingId, SourceName, Window};
use crate::plan::{Plan, Target};
use crate::rules::RuleLocation;

/// One booking's window on one target, as applied, with the rule that made it.
///
/// The planner merges touching windows of different bookings; each booking is recorded with the
/// merged window it is a reason for.
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
}

/// The plan as (target, booking, window) rows, sorted.
pub fn applied_windows(plan: &Plan) -> Vec<AppliedWindow> {
    let mut rows: Vec<AppliedWindow> = plan
        .entries
        .iter()
        .flat_map(|e| {
            e.windows.iter().flat_map(move |w| {
                w.reasons.iter().map(move |r| AppliedWindow {
                    target: e.target.clone(),
                    source: r.source.clone(),
                    booking: r.booking.clone(),
                    title: r.title.clone(),
                    window: w.window,
                    pack: r.pack.clone(),
                    pack_version: r.pack_version.clone(),
                    rule: r.rule.clone(),
                })
            })
        })
        .collect();
    rows.sort();
    rows.dedup_by(|a, b| {
        a.target == b.target
            && a.source == b.source
            && a.booking == b.booking
            && a.window == b.window
    });
    rows
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeReason {
    Created,
    Extended,
    Shortened,
    /// The booking was cancelled (or vanished from its source) before its window ended.
    Cancelled,
    /// The window ended.
    Expired,
}

impl ChangeReason {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeReason::Created => "created",
            ChangeReason::Extended => "extended",
            ChangeReason::Shortened => "shortened",
            ChangeReason::Cancelled => "cancelled",
            ChangeReason::Expired => "expired",
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

/// The changes between two applied states at `now`. Windows that vanish having ended by `now`
/// expired; others vanished because the booking was cancelled or removed.
pub fn audit_changes(
    before: &[AppliedWindow],
    after: &[AppliedWindow],
    now: DateTime<Utc>,
) -> Vec<AuditChange> {
    let (old, new) = (group(before), group(after));
    let keys: BTreeSet<&Key> = old.keys().chain(new.keys()).collect();
    let mut changes = Vec::new();
    for key in keys {
        let was: Vec<Window> = old
            .get(key)
            .map(|v| v.iter().map(|r| r.window).collect())
            .unwrap_or_default();
        let is: Vec<Window> = new
            .get(key)
            .map(|v| v.iter().map(|r| r.window).collect())
            .unwrap_or_default();
        if was == is {
            continue;
        }
        let reason = match (was.is_empty(), is.is_empty()) {
            (true, _) => ChangeReason::Created,
            (false, true) if was.iter().all(|w| w.to <= now) => ChangeReason::Expired,
            (false, true) => ChangeReason::Cancelled,
            (false, false) => {
                let span =
                    |ws: &[Window]| ws.iter().map(|w| w.duration()).sum::<chrono::Duration>();
                if span(&is) > span(&was) {
                    ChangeReason::Extended
                } else {
                    ChangeReason::Shortened
                }
            }
        };
        let row = new
            .get(key)
            .or_else(|| old.get(key))
            .and_then(|v| v.first())
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

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 23, h, 0, 0).unwrap()
    }
    fn row(booking: &str, from: u32, to: u32) -> AppliedWindow {
        AppliedWindow {
            target: Target::Zone { zone: "Z".into() },
            source: "s".into(),
            booking: booking.into(),
            title: String::new(),
            window: Window::new(at(from), at(to)).unwrap(),
            pack: "p".into(),
            pack_version: "1".into(),
            rule: RuleLocation {
                file: "r.rhai".into(),
                line: 3,
                column: 0,
            },
        }
    }

    #[test]
    fn reasons() {
        let before = vec![
            row("a", 10, 11),
            row("b", 12, 13),
            row("c", 5, 6),
            row("d", 14, 15),
        ];
        let after = vec![row("a", 10, 12), row("d", 14, 15), row("e", 16, 17)];
        let changes = audit_changes(&before, &after, at(9));
        let got: Vec<(&str, ChangeReason)> = changes
            .iter()
            .map(|c| (c.booking.as_str(), c.reason))
            .collect();
        assert_eq!(
            got,
            vec![
                ("a", ChangeReason::Extended),
                ("b", ChangeReason::Cancelled),
                ("c", ChangeReason::Expired),
                ("e", ChangeReason::Created)
            ]
        );
        let shorter = audit_changes(&after, &[row("a", 10, 11)], at(9));
        assert_eq!(shorter[0].reason, ChangeReason::Shortened);
    }
}
