//! The planner's memory: each pack's last good decision for each booking. The planner is pure,
//! so the last good decisions are an input of a plan and the new ones an output; the daemon
//! keeps them (in memory and in the store, so a restart keeps them).
//!
//! A pack that fails on a booking falls back on its last good decision for that booking: its
//! restrictive parts always, its permissive parts only while the booking's times are unchanged
//! and every failing pack has such a decision (see [`super::FailClosed`]).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::{Booking, BookingId, DayKind, DoorLevel, Effect, SourceName};
use crate::rules::RuledEffect;

/// What one pack decided for one booking, the last time it decided it without an error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackDecision {
    pub source: SourceName,
    pub booking: BookingId,
    pub pack: String,
    pub pack_version: String,
    /// The booking's times when it was decided: the permissive parts hold only while they are.
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// When the pack first decided the booking this way.
    pub decided_at: DateTime<Utc>,
    pub effects: Vec<RuledEffect>,
    /// A fingerprint of the decision's inputs (booking, room, context, pack), for memoised
    /// decisions; `None` until something sets it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inputs: Option<String>,
}

impl PackDecision {
    pub fn key(&self) -> DecisionKey {
        DecisionKey {
            source: self.source.clone(),
            booking: self.booking.clone(),
            pack: self.pack.clone(),
        }
    }

    /// Whether the booking's times are those this decision was made for.
    pub fn same_times(&self, booking: &Booking) -> bool {
        self.start == booking.start && self.end == booking.end
    }
}

/// Which decision: a booking of a source, by a pack.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct DecisionKey {
    pub source: SourceName,
    pub booking: BookingId,
    pub pack: String,
}

impl DecisionKey {
    pub fn of(booking: &Booking, pack: &str) -> DecisionKey {
        DecisionKey {
            source: booking.source.clone(),
            booking: booking.id.clone(),
            pack: pack.to_owned(),
        }
    }
}

/// The last good decisions, one per booking and pack.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Decisions {
    map: BTreeMap<DecisionKey, PackDecision>,
}

impl Decisions {
    pub fn from_list(list: impl IntoIterator<Item = PackDecision>) -> Decisions {
        Decisions {
            map: list.into_iter().map(|d| (d.key(), d)).collect(),
        }
    }

    pub fn get(&self, key: &DecisionKey) -> Option<&PackDecision> {
        self.map.get(key)
    }

    pub fn insert(&mut self, d: PackDecision) {
        self.map.insert(d.key(), d);
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &PackDecision> {
        self.map.values()
    }

    /// What changed from `old` to `self`: decisions to write, and keys to delete.
    pub fn changes_from<'a>(
        &'a self,
        old: &'a Decisions,
    ) -> (Vec<&'a PackDecision>, Vec<&'a DecisionKey>) {
        let upserts = self
            .map
            .iter()
            .filter(|(k, d)| old.map.get(*k) != Some(*d))
            .map(|(_, d)| d)
            .collect();
        let deletes = old
            .map
            .keys()
            .filter(|k| !self.map.contains_key(*k))
            .collect();
        (upserts, deletes)
    }
}

/// Whether an effect only ever closes: a door at card, card + PIN or locked, a deny, a holiday.
/// Everything else (an unlock, a disarm, an output on, a grant, a shared exception, a special
/// day) can open something, so an error never adds or keeps it on a guess.
pub fn is_restrictive(effect: &Effect) -> bool {
    match effect {
        Effect::DoorMode { level, .. } => *level != DoorLevel::Unlocked,
        Effect::Deny { .. } => true,
        Effect::DayType { day, .. } => *day == DayKind::Holiday,
        Effect::Disarm { .. }
        | Effect::SwitchOn { .. }
        | Effect::Grant { .. }
        | Effect::SharedException { .. } => false,
    }
}
