//! The UniLock wire types: the controller's database, the write commands and the answers to
//! queries. The embedded simulator and the HTTP server speak exactly these (docs/unilock-protocol.md).
//!
//! Every object a writer adds carries its `owner`, so each writer removes only its own effect
//! (a BACnet-style slot). PINs and cards cross this wire as values: it is the controller.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc, Weekday};
use klar_engine::model::{DoorLevel, Secret, Window};
use serde::{Deserialize, Serialize};

/// What one table step, exception or shared-exception function sets: a door level for a
/// security-level table, on/off for a switch table (zone armed, output on, access valid).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Value {
    Level(DoorLevel),
    /// Zone armed, output on, access valid.
    On,
    /// Zone disarmed, output off, access not valid.
    Off,
}

impl Value {
    pub fn parse(s: &str) -> Option<Value> {
        match s.trim().to_ascii_lowercase().as_str() {
            "on" | "armed" | "valid" => Some(Value::On),
            "off" | "disarmed" | "invalid" => Some(Value::Off),
            other => DoorLevel::parse(other).map(Value::Level),
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Value::Level(l) => l.as_str(),
            Value::On => "on",
            Value::Off => "off",
        }
    }
    pub fn is_level(self) -> bool {
        matches!(self, Value::Level(_))
    }
}

impl TryFrom<String> for Value {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Value::parse(&s).ok_or_else(|| {
            format!("unknown value {s:?} (a door level, on/armed/valid or off/disarmed/invalid)")
        })
    }
}

impl From<Value> for String {
    fn from(v: Value) -> String {
        v.as_str().to_owned()
    }
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A day type in the special-day calendar: one of the seven weekdays, holiday, or one of the
/// six fictive day types (1..=6, named in the installation). Written `mon`, `holiday`, `fictive:3`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum DayType {
    Weekday(Weekday),
    Holiday,
    Fictive(u8),
}

impl TryFrom<String> for DayType {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        if s == "holiday" {
            return Ok(DayType::Holiday);
        }
        if let Some(n) = s.strip_prefix("fictive:") {
            return n
                .parse::<u8>()
                .map(DayType::Fictive)
                .map_err(|_| format!("bad fictive day type {s:?}"));
        }
        s.parse::<Weekday>()
            .map(DayType::Weekday)
            .map_err(|_| format!("unknown day type {s:?}"))
    }
}

impl From<DayType> for String {
    fn from(d: DayType) -> String {
        d.to_string()
    }
}

impl std::fmt::Display for DayType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DayType::Weekday(w) => f.write_str(&weekday_key(*w)),
            DayType::Holiday => f.write_str("holiday"),
            DayType::Fictive(n) => write!(f, "fictive:{n}"),
        }
    }
}

/// `mon`, `tue`, ... as tables and day types name weekdays.
pub fn weekday_key(w: Weekday) -> String {
    w.to_string().to_ascii_lowercase()
}

/// A From/To period `[from, to)` some writer put somewhere.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Period {
    #[serde(flatten)]
    pub window: Window,
    pub owner: String,
}

/// An exception on a table: for the window, the table gives `value` instead of its weekly
/// pattern.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Exception {
    #[serde(flatten)]
    pub window: Window,
    pub value: Value,
    pub owner: String,
}

/// An entry in the special-day calendar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpecialDay {
    pub day_type: DayType,
    pub owner: String,
}

/// When a group membership is valid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MembershipValidity {
    Always,
    /// Up to 50 listed periods.
    Periods {
        periods: Vec<Window>,
    },
    /// While the shared exception has an active period.
    WhileShared {
        shared_exception: u32,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Membership {
    pub group: String,
    pub valid: MembershipValidity,
}

/// A person: master data, keys, PIN, global validity periods and group memberships.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonRecord {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin: Option<Secret>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cards: Vec<Secret>,
    /// Up to 8 global validity periods; none means valid always.
    #[serde(default)]
    pub validity: Vec<Window>,
    #[serde(default)]
    pub memberships: Vec<Membership>,
    pub owner: String,
}

impl std::fmt::Display for PersonRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.name)?;
        if self.pin.is_some() {
            write!(f, ", PIN set")?;
        }
        if !self.cards.is_empty() {
            write!(f, ", {} card(s)", self.cards.len())?;
        }
        if !self.validity.is_empty() {
            write!(f, ", valid {}", windows_text(&self.validity))?;
        }
        for m in &self.memberships {
            match &m.valid {
                MembershipValidity::Always => write!(f, ", in {} always", m.group)?,
                MembershipValidity::Periods { periods } => {
                    write!(f, ", in {} {}", m.group, windows_text(periods))?
                }
                MembershipValidity::WhileShared { shared_exception } => write!(
                    f,
                    ", in {} while shared exception {shared_exception}",
                    m.group
                )?,
            }
        }
        Ok(())
    }
}

/// Windows as people read them: `[a, b) [c, d)`.
pub fn windows_text(windows: &[Window]) -> String {
    windows
        .iter()
        .map(Window::to_string)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Everything the controller holds that writers change: the installation (doors, tables,
/// zones, outputs, groups, shared exceptions' functions) is configuration and not in here.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Database {
    #[serde(default)]
    pub special_days: BTreeMap<NaiveDate, SpecialDay>,
    /// Per table name.
    #[serde(default)]
    pub table_exceptions: BTreeMap<String, Vec<Exception>>,
    /// Per shared exception id.
    #[serde(default)]
    pub shared_exceptions: BTreeMap<u32, Vec<Period>>,
    /// Per person id.
    #[serde(default)]
    pub persons: BTreeMap<String, PersonRecord>,
    /// Group refused at door (deny beats grant): group -> door -> periods.
    #[serde(default)]
    pub blocks: BTreeMap<String, BTreeMap<String, Vec<Period>>>,
}

/// A change to the database. Each replaces the writer's (`owner`'s) part of one object and
/// leaves every other writer's part alone, so each is idempotent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Write {
    /// The owner's periods in a shared exception become exactly `periods`.
    SetSharedPeriods {
        id: u32,
        owner: String,
        periods: Vec<Window>,
    },
    /// The owner's exceptions on a table become exactly `exceptions`.
    SetTableExceptions {
        table: String,
        owner: String,
        exceptions: Vec<(Window, Value)>,
    },
    /// Creates or replaces a person; refused if another owner holds the id.
    PutPerson { id: String, person: PersonRecord },
    /// Removes the owner's person (nothing if absent; refused if another owner holds it).
    DeletePerson { id: String, owner: String },
    /// Gives a date a day type; refused if another owner holds the date.
    SetSpecialDay {
        date: NaiveDate,
        day_type: DayType,
        owner: String,
    },
    /// Clears the owner's entry for a date.
    ClearSpecialDay { date: NaiveDate, owner: String },
    /// The owner's periods in which `group` is refused at `door` become exactly `periods`.
    SetBlock {
        group: String,
        door: String,
        owner: String,
        periods: Vec<Window>,
    },
}

/// A write, with the writer's instant (used for "special days at most one year ahead").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WriteRequest {
    pub at: DateTime<Utc>,
    #[serde(flatten)]
    pub write: Write,
}

/// Why an object is in its state at an instant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Cause {
    /// Normal operation: the table's weekly pattern for the day type.
    Weekly { table: String, day_type: DayType },
    /// A table exception.
    Exception {
        table: String,
        window: Window,
        owner: String,
    },
    /// A shared exception's period.
    SharedException {
        id: u32,
        window: Window,
        owner: String,
    },
}

impl std::fmt::Display for Cause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Cause::Weekly { table, day_type } => {
                write!(f, "normal operation: weekly table {table} ({day_type})")
            }
            Cause::Exception {
                table,
                window,
                owner,
            } => write!(f, "exception on table {table} {window} by {owner}"),
            Cause::SharedException { id, window, owner } => {
                write!(f, "shared exception {id} period {window} by {owner}")
            }
        }
    }
}

/// A door, zone or output's state at an instant and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectState {
    pub id: String,
    pub value: Value,
    /// The cause that decided; with several active, the one precedence chose first.
    pub causes: Vec<Cause>,
}

/// A person's access at an instant: who, which credentials are on record (never their values),
/// and which doors they open.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    pub person: String,
    pub name: String,
    pub pin_set: bool,
    pub cards: usize,
    pub valid: bool,
    /// Groups whose membership is valid now (before any block).
    pub groups: Vec<String>,
    /// Doors this person's own keys open now: group time table valid, not blocked, and the
    /// door's level lets their keys in (never a locked door; at card + PIN only with a PIN).
    pub doors: Vec<String>,
    /// Doors of their valid groups that refuse them now, each with the reason:
    /// `D-HAL-N: door locked`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refused: Vec<String>,
}

/// The whole installation's state at one instant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateAt {
    pub at: DateTime<Utc>,
    pub day_type: DayType,
    pub doors: Vec<ObjectState>,
    pub zones: Vec<ObjectState>,
    pub outputs: Vec<ObjectState>,
    pub grants: Vec<Grant>,
}

/// A key presented at a door: a card, a PIN, or both.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credential {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card: Option<Secret>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin: Option<Secret>,
}

/// Does this credential open this door at this instant?
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpensRequest {
    pub door: String,
    pub at: DateTime<Utc>,
    #[serde(flatten)]
    pub credential: Credential,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpensAnswer {
    pub opens: bool,
    /// In words, without the credential's value: "door unlocked", "Nøgle afvist, ikke oprettet".
    pub reason: String,
}
