//! What a change of rules or config does: two plans of the same bookings at the same instant
//! compared on what the planner gives (targets, windows, errors), never on its internals.
//!
//! Per object (a door with all its levels, a zone, an output, a person's membership of a group,
//! a deny, a day type, a shared exception), each window of the current plan is paired with a
//! window of the candidate caused by the same bookings: the same window is unchanged; another
//! time is *moved*; another door level is a *level* change. What has no partner is *removed*
//! (current only) or *added* (candidate only). Bookings a rule newly fails on, or no longer
//! fails on, and bookings newly bound or unbound, are listed beside; each room gets a one-line
//! summary.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::causes::{Cause, causes};
use crate::model::{Booking, DoorLevel, Window, room_key};
use crate::plan::{BookingRef, Plan, PlannedWindow, Target};
use crate::rules::RuleError;
use crate::site::SiteConfig;

/// How two plans of the same bookings differ.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanDiff {
    /// The instant both plans were made at, and the end of the period they cover.
    pub at: DateTime<Utc>,
    pub until: DateTime<Utc>,
    /// Every window change, by object and then time.
    pub changes: Vec<Change>,
    /// Bookings the candidate fails on that the current rules decide, grouped by cause.
    pub newly_failing: Vec<Cause>,
    /// Bookings the current rules fail on that the candidate decides.
    pub newly_decided: Vec<BookingRef>,
    /// Bookings whose resource the candidate binds to no room (the current config does).
    pub newly_unbound: Vec<BookingRef>,
    /// Bookings the candidate binds to a room (the current config does not).
    pub newly_bound: Vec<BookingRef>,
    /// One line per room with a change.
    pub rooms: Vec<RoomSummary>,
    pub counts: Counts,
}

/// One window that changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// The object: `door D-ADM`, `zone Z-ADM`, `person member:1042 in group Hal-ansvarlige`.
    pub object: String,
    pub kind: ChangeKind,
    /// The window in the current plan (`None`: added).
    pub before: Option<Window>,
    /// The window in the candidate (`None`: removed).
    pub after: Option<Window>,
    /// For doors: the level before and after.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level_before: Option<DoorLevel>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level_after: Option<DoorLevel>,
    /// The bookings behind the window(s).
    pub bookings: Vec<BookingRef>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// A window only the candidate has.
    Added,
    /// A window only the current plan has.
    Removed,
    /// The same bookings' window at another time.
    Moved,
    /// The same bookings' door window at another level.
    Level,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Added => "added",
            ChangeKind::Removed => "removed",
            ChangeKind::Moved => "moved",
            ChangeKind::Level => "level",
        }
    }
}

/// A room's changes in one line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomSummary {
    /// `<source>:<resource>`.
    pub room: String,
    pub name: String,
    pub added: usize,
    pub removed: usize,
    pub moved: usize,
    pub level: usize,
    pub newly_failing: usize,
    pub newly_decided: usize,
}

impl std::fmt::Display for RoomSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut parts = Vec::new();
        for (n, what) in [
            (self.moved, "moved"),
            (self.added, "added"),
            (self.removed, "removed"),
            (self.level, "changed in level"),
        ] {
            if n > 0 {
                parts.push(format!("{n} {} {what}", windows(n)));
            }
        }
        if self.newly_failing > 0 {
            parts.push(format!(
                "{} {} newly {} its rules",
                self.newly_failing,
                bookings(self.newly_failing),
                if self.newly_failing == 1 {
                    "fails"
                } else {
                    "fail"
                }
            ));
        }
        if self.newly_decided > 0 {
            parts.push(format!(
                "{} {} decided again",
                self.newly_decided,
                bookings(self.newly_decided)
            ));
        }
        let name = if self.name.is_empty() {
            String::new()
        } else {
            format!(" {}", self.name)
        };
        write!(f, "{}{name}: {}", self.room, parts.join(", "))
    }
}

fn windows(n: usize) -> &'static str {
    if n == 1 { "window" } else { "windows" }
}

fn bookings(n: usize) -> &'static str {
    if n == 1 { "booking" } else { "bookings" }
}

/// The whole diff in numbers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Windows in the current plan.
    pub windows_before: usize,
    pub windows_after: usize,
    pub added: usize,
    pub removed: usize,
    pub moved: usize,
    pub level: usize,
    pub newly_failing: usize,
    pub newly_decided: usize,
}

impl Counts {
    /// Nothing a door, zone, output, person or booking would notice.
    pub fn is_empty(&self) -> bool {
        self.added
            + self.removed
            + self.moved
            + self.level
            + self.newly_failing
            + self.newly_decided
            == 0
    }
}

impl std::fmt::Display for Counts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.is_empty() {
            return write!(f, "no change ({} windows)", self.windows_before);
        }
        let mut parts = Vec::new();
        for (n, what) in [
            (self.moved, "moved"),
            (self.added, "added"),
            (self.removed, "removed"),
            (self.level, "changed in level"),
        ] {
            if n > 0 {
                parts.push(format!("{n} {} {what}", windows(n)));
            }
        }
        if self.newly_failing > 0 {
            parts.push(format!(
                "{} {} newly failing",
                self.newly_failing,
                bookings(self.newly_failing)
            ));
        }
        if self.newly_decided > 0 {
            parts.push(format!(
                "{} {} decided again",
                self.newly_decided,
                bookings(self.newly_decided)
            ));
        }
        write!(
            f,
            "{} (of {} windows)",
            parts.join(", "),
            self.windows_before
        )
    }
}

/// Compares the current plan with the candidate's, both made from `bookings` at the same
/// instant. `rooms` names rooms (the candidate's config, then the current one's).
pub fn compare(
    current: &Plan,
    candidate: &Plan,
    bookings: &[Booking],
    rooms: &[&SiteConfig],
) -> PlanDiff {
    let mut changes = Vec::new();
    let before = by_object(current);
    let after = by_object(candidate);
    let objects: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    for object in objects {
        let old = before.get(object).map(Vec::as_slice).unwrap_or_default();
        let new = after.get(object).map(Vec::as_slice).unwrap_or_default();
        pair(object, old, new, &mut changes);
    }

    // A rule error names its booking by id only. Where two sources report the same id, a
    // booking of one could fail while the other's stops failing and the sets would not show
    // it: such ids count as newly failing when the candidate fails them more often.
    let failed = |plan: &Plan| -> BTreeMap<String, usize> {
        let mut counts = BTreeMap::new();
        for e in &plan.errors {
            *counts.entry(e.booking.to_string()).or_insert(0) += 1;
        }
        counts
    };
    let (failed_before, failed_after) = (failed(current), failed(candidate));
    let mut sources_of: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for b in bookings {
        sources_of
            .entry(b.id.as_str())
            .or_default()
            .insert(b.source.as_str());
    }
    let shared = |id: &str| sources_of.get(id).is_some_and(|s| s.len() > 1);
    let newly: Vec<RuleError> = candidate
        .errors
        .iter()
        .filter(|e| {
            let id = e.booking.as_str();
            match failed_before.get(id) {
                None => true,
                Some(&before) => shared(id) && failed_after.get(id) > Some(&before),
            }
        })
        .cloned()
        .collect();
    let newly_failing = causes(&newly, bookings);
    let by_id: BTreeMap<&str, &Booking> = bookings.iter().map(|b| (b.id.as_str(), b)).collect();
    let booking_ref = |id: &str| {
        by_id.get(id).map_or_else(
            || BookingRef {
                source: crate::model::SourceName::from(""),
                id: crate::model::BookingId::from(id),
                title: String::new(),
            },
            |b| BookingRef::of(b),
        )
    };
    let mut newly_decided: Vec<BookingRef> = current
        .errors
        .iter()
        .filter(|e| !failed_after.contains_key(e.booking.as_str()))
        .map(|e| booking_ref(e.booking.as_str()))
        .collect();
    newly_decided.sort();
    newly_decided.dedup();
    let unbound = |plan: &Plan| -> BTreeSet<BookingRef> { plan.unbound.iter().cloned().collect() };
    let (unbound_before, unbound_after) = (unbound(current), unbound(candidate));
    let newly_unbound: Vec<BookingRef> =
        unbound_after.difference(&unbound_before).cloned().collect();
    let newly_bound: Vec<BookingRef> = unbound_before.difference(&unbound_after).cloned().collect();

    // Rooms, through the bookings behind each change.
    let room_of = |r: &BookingRef| -> Option<String> {
        by_id
            .get(r.id.as_str())
            .filter(|b| b.source == r.source)
            .map(|b| room_key(&b.source, &b.resource))
    };
    let mut summaries: BTreeMap<String, RoomSummary> = BTreeMap::new();
    let summary = |summaries: &mut BTreeMap<String, RoomSummary>, room: String| {
        let name = rooms
            .iter()
            .find_map(|s| s.rooms.get(&room).map(|r| r.name.clone()))
            .unwrap_or_default();
        summaries
            .entry(room.clone())
            .or_insert_with(|| RoomSummary {
                name,
                room,
                added: 0,
                removed: 0,
                moved: 0,
                level: 0,
                newly_failing: 0,
                newly_decided: 0,
            });
    };
    for c in &changes {
        let rooms: BTreeSet<String> = c.bookings.iter().filter_map(room_of).collect();
        for room in rooms {
            summary(&mut summaries, room.clone());
            let s = summaries.get_mut(&room).expect("just added");
            match c.kind {
                ChangeKind::Added => s.added += 1,
                ChangeKind::Removed => s.removed += 1,
                ChangeKind::Moved => s.moved += 1,
                ChangeKind::Level => s.level += 1,
            }
        }
    }
    for cause in &newly_failing {
        for b in &cause.bookings {
            if let Some(room) = room_of(b) {
                summary(&mut summaries, room.clone());
                if let Some(s) = summaries.get_mut(&room) {
                    s.newly_failing += 1;
                }
            }
        }
    }
    for b in &newly_decided {
        if let Some(room) = room_of(b) {
            summary(&mut summaries, room.clone());
            if let Some(s) = summaries.get_mut(&room) {
                s.newly_decided += 1;
            }
        }
    }

    let count = |kind: ChangeKind| changes.iter().filter(|c| c.kind == kind).count();
    let windows = |plan: &Plan| plan.entries.iter().map(|e| e.windows.len()).sum();
    let counts = Counts {
        windows_before: windows(current),
        windows_after: windows(candidate),
        added: count(ChangeKind::Added),
        removed: count(ChangeKind::Removed),
        moved: count(ChangeKind::Moved),
        level: count(ChangeKind::Level),
        newly_failing: newly_failing.iter().map(|c| c.bookings.len()).sum(),
        newly_decided: newly_decided.len(),
    };
    PlanDiff {
        at: candidate.at,
        until: candidate.horizon.to,
        changes,
        newly_failing,
        newly_decided,
        newly_unbound,
        newly_bound,
        rooms: summaries.into_values().collect(),
        counts,
    }
}

/// A window of an object, with the door level it has (doors only).
type Levelled<'a> = (Option<DoorLevel>, &'a PlannedWindow);

/// Every window of a plan by object: a door's levels together, every other target alone.
fn by_object(plan: &Plan) -> BTreeMap<String, Vec<Levelled<'_>>> {
    let mut out: BTreeMap<String, Vec<Levelled<'_>>> = BTreeMap::new();
    for entry in &plan.entries {
        let (object, level) = match &entry.target {
            Target::Door { door, level } => (format!("door {door}"), Some(*level)),
            other => (other.to_string(), None),
        };
        out.entry(object)
            .or_default()
            .extend(entry.windows.iter().map(|w| (level, w)));
    }
    for list in out.values_mut() {
        list.sort_by_key(|(level, w)| (w.window, *level));
    }
    out
}

fn booking_set(w: &PlannedWindow) -> BTreeSet<BookingRef> {
    w.reasons.iter().map(|r| r.booking_ref()).collect()
}

/// Pairs an object's windows before and after, pushing a change for each that differs.
fn pair(object: &str, old: &[Levelled<'_>], new: &[Levelled<'_>], out: &mut Vec<Change>) {
    let mut old_left: Vec<Option<&Levelled<'_>>> = old.iter().map(Some).collect();
    let mut new_left: Vec<Option<&Levelled<'_>>> = new.iter().map(Some).collect();
    // The same window at the same level: unchanged (whatever its reasons say).
    for o in &mut old_left {
        let Some((level, w)) = o else { continue };
        if let Some(n) = new_left
            .iter_mut()
            .find(|n| n.is_some_and(|(l, nw)| l == level && nw.window == w.window))
        {
            *n = None;
            *o = None;
        }
    }
    // The same bookings' window elsewhere or at another level: moved or level. The best
    // partner shares the most bookings, then has the same level, then overlaps most.
    for o in &mut old_left {
        let Some((level, w)) = *o else { continue };
        let bookings = booking_set(w);
        let best = new_left
            .iter()
            .enumerate()
            .filter_map(|(i, n)| n.map(|n| (i, n)))
            .filter_map(|(i, (l, nw))| {
                let shared = bookings.intersection(&booking_set(nw)).count();
                let overlap = w
                    .window
                    .intersect(&nw.window)
                    .map_or(0, |x| x.duration().num_seconds());
                let same = l == level;
                (shared > 0 || (same && overlap > 0)).then_some((i, (shared, same, overlap)))
            })
            .max_by_key(|(i, score)| (*score, std::cmp::Reverse(*i)))
            .map(|(i, _)| i);
        let Some(i) = best else { continue };
        let (nl, nw) = new_left[i].take().expect("a partner left");
        *o = None;
        let mut all = bookings;
        all.extend(booking_set(nw));
        out.push(Change {
            object: object.to_owned(),
            kind: if *nl == *level {
                ChangeKind::Moved
            } else {
                ChangeKind::Level
            },
            before: Some(w.window),
            after: Some(nw.window),
            level_before: *level,
            level_after: *nl,
            bookings: all.into_iter().collect(),
        });
    }
    for (level, w) in old_left.into_iter().flatten() {
        out.push(Change {
            object: object.to_owned(),
            kind: ChangeKind::Removed,
            before: Some(w.window),
            after: None,
            level_before: *level,
            level_after: None,
            bookings: booking_set(w).into_iter().collect(),
        });
    }
    for (level, w) in new_left.into_iter().flatten() {
        out.push(Change {
            object: object.to_owned(),
            kind: ChangeKind::Added,
            before: None,
            after: Some(w.window),
            level_before: None,
            level_after: *level,
            bookings: booking_set(w).into_iter().collect(),
        });
    }
    let from = out
        .iter()
        .rposition(|c| c.object != object)
        .map_or(0, |i| i + 1);
    out[from..].sort_by_key(|c| (c.before.or(c.after), c.after, c.kind));
}

#[cfg(test)]
mod tests;
