//! `Effect`: the closed set of things a rule can ask for (DESIGN.md §4). Every effect ends.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::{DoorId, GroupId, OutputId, PersonKey, Window, ZoneId};

/// A door's security level, as in UniLock's security-level tables. Ordered from the least
/// secure to the most secure, so `max` is "the more secure level wins".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DoorLevel {
    /// Open to anyone.
    Unlocked,
    /// A valid card opens.
    Card,
    /// A valid card plus the person's PIN opens.
    CardPin,
    /// Nothing opens (but a master key).
    Locked,
}

impl DoorLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            DoorLevel::Unlocked => "unlocked",
            DoorLevel::Card => "card",
            DoorLevel::CardPin => "card_pin",
            DoorLevel::Locked => "locked",
        }
    }

    /// Parses the names rules and configs use: `unlocked`, `card`, `card_pin` (or `card+pin`),
    /// `locked`.
    pub fn parse(s: &str) -> Option<DoorLevel> {
        match s
            .trim()
            .to_ascii_lowercase()
            .replace(['+', '-', ' '], "_")
            .as_str()
        {
            "unlocked" | "open" => Some(DoorLevel::Unlocked),
            "card" => Some(DoorLevel::Card),
            "card_pin" | "cardpin" | "pin" => Some(DoorLevel::CardPin),
            "locked" => Some(DoorLevel::Locked),
            _ => None,
        }
    }
}

impl std::fmt::Display for DoorLevel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A day type for the special-day calendar: a holiday, or one of the site's named special days
/// (UniLock has six fictive day types; the site config names them, e.g. `open_house`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DayKind {
    Holiday,
    Special(String),
}

impl DayKind {
    pub fn parse(s: &str) -> DayKind {
        match s.trim().to_ascii_lowercase().as_str() {
            "holiday" | "ferie" | "helligdag" => DayKind::Holiday,
            other => DayKind::Special(other.to_owned()),
        }
    }
    pub fn name(&self) -> &str {
        match self {
            DayKind::Holiday => "holiday",
            DayKind::Special(name) => name,
        }
    }
}

/// What a rule asks for. A closed set: rules build effects only through these constructors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Effect {
    /// The door is at `level` for the window (`unlock` is `level = unlocked`).
    DoorMode {
        door: DoorId,
        level: DoorLevel,
        window: Window,
    },
    /// The intrusion alarm zone is disarmed for the window. Never a side effect of an unlock.
    Disarm { zone: ZoneId, window: Window },
    /// A k-point output (lights, ventilation, heating) is on for the window.
    SwitchOn { output: OutputId, window: Window },
    /// The person is a member of these groups for the window only. Credentials (PIN, card) come
    /// from the booking's responsible person; the effect carries only the key.
    Grant {
        person: PersonKey,
        groups: Vec<GroupId>,
        window: Window,
    },
    /// Members of `group` are refused at `doors` for the window. Deny beats grant.
    Deny {
        group: GroupId,
        doors: Vec<DoorId>,
        window: Window,
    },
    /// Local dates `from..=to` get this day type in the special-day calendar.
    DayType {
        from: NaiveDate,
        to: NaiveDate,
        day: DayKind,
    },
    /// The seed behaviour verbatim: the window goes into this UniLock shared exception's periods.
    SharedException { id: u32, window: Window },
}

impl Effect {
    /// The effect's kind as rules and reports name it.
    pub fn kind(&self) -> &'static str {
        match self {
            Effect::DoorMode { .. } => "door_mode",
            Effect::Disarm { .. } => "disarm",
            Effect::SwitchOn { .. } => "switch_on",
            Effect::Grant { .. } => "grant",
            Effect::Deny { .. } => "deny",
            Effect::DayType { .. } => "day_type",
            Effect::SharedException { .. } => "shared_exception",
        }
    }

    /// The window, for every effect but `day_type` (which is in local dates).
    pub fn window(&self) -> Option<&Window> {
        match self {
            Effect::DoorMode { window, .. }
            | Effect::Disarm { window, .. }
            | Effect::SwitchOn { window, .. }
            | Effect::Grant { window, .. }
            | Effect::Deny { window, .. }
            | Effect::SharedException { window, .. } => Some(window),
            Effect::DayType { .. } => None,
        }
    }
}
