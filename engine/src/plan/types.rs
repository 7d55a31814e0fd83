//! The plan's data: targets, merged windows with their reasons, conflicts and adjustments.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::{
    Booking, BookingId, BookingStatus, DayKind, DoorId, DoorLevel, GroupId, OutputId, Person,
    PersonKey, ResourceId, SourceName, Window, ZoneId,
};
use crate::rules::{PackInfo, RuleError, RuleLocation};

/// The desired state: what every target should be doing, when, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub site: String,
    pub at: DateTime<Utc>,
    pub horizon: Window,
    pub packs: Vec<PackRef>,
    /// One entry per target, sorted by target; windows sorted, disjoint and not touching.
    pub entries: Vec<PlanEntry>,
    /// Overlaps resolved by precedence, each reported with who won and who lost.
    pub conflicts: Vec<Conflict>,
    /// Windows moved or cut by the site's caps.
    pub adjustments: Vec<Adjustment>,
    /// Bookings a rule failed on (fail closed per pack: see `fail_closed`).
    pub errors: Vec<RuleError>,
    /// For each booking a pack failed on, what of it stays in force: the restrictive effects of
    /// every pack, a failing pack's last good decision, and whether the booking's permissive
    /// effects were withheld.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fail_closed: Vec<FailClosed>,
    /// Bookings that cannot be used (end before start, ...).
    pub rejected: Vec<Rejected>,
    /// Bookings of resources no room is bound to.
    pub unbound: Vec<BookingRef>,
    /// Grants that cannot work as asked: a person with no PIN and no card, records under one
    /// person key that disagree (kept apart, not merged).
    #[serde(default)]
    pub warnings: Vec<PlanWarning>,
    /// Credentials of the persons the plan grants, for the controller only: never serialized,
    /// never shown. Each person's come from the decided, non-cancelled bookings that grant them.
    #[serde(skip)]
    pub persons: BTreeMap<PersonKey, Person>,
    /// Every usable booking the planner was given, as the audit needs it (times, room, status,
    /// whether a rule failed on it). Not serialized.
    #[serde(skip)]
    pub bookings: BTreeMap<(SourceName, BookingId), Booked>,
}

/// A booking as the planner saw it: what tells a changed booking from a cancelled or ended one.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Booked {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub resource: ResourceId,
    pub status: BookingStatus,
    /// A rule failed on it (fail closed: it got nothing).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub failed: bool,
}

impl Booked {
    pub fn of(b: &Booking) -> Booked {
        Booked {
            start: b.start,
            end: b.end,
            resource: b.resource.clone(),
            status: b.status,
            failed: false,
        }
    }

    /// Whether two sightings are the same booking as far as the doors are concerned: times,
    /// room and status.
    pub fn same_booking(&self, other: &Booked) -> bool {
        (self.start, self.end, &self.resource, self.status)
            == (other.start, other.end, &other.resource, other.status)
    }
}

/// Something in the plan that will not work as the rules meant it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PlanWarning {
    pub kind: WarningKind,
    /// The person concerned.
    pub person: PersonKey,
    /// The bookings behind it.
    pub bookings: Vec<BookingRef>,
    /// In words, never a credential.
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WarningKind {
    /// The person is granted access but has no PIN and no card on record: no door that needs a
    /// key will open for them.
    NoCredentials,
    /// Bookings name one person key with different names or credentials: they are kept apart as
    /// separate persons, each with their own bookings' windows.
    PersonConflict,
}

impl std::fmt::Display for PlanWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let bookings: Vec<String> = self
            .bookings
            .iter()
            .map(|b| format!("{}:{}", b.source, b.id))
            .collect();
        write!(
            f,
            "{} ({}): {}",
            self.person,
            bookings.join(", "),
            self.message
        )
    }
}

/// What a plan entry drives. Ordered, so plans are sorted the same way every time.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Target {
    /// The door is at `level` during the entry's windows.
    Door { door: DoorId, level: DoorLevel },
    /// The alarm zone is disarmed during the windows.
    Zone { zone: ZoneId },
    /// The output is on during the windows.
    Output { output: OutputId },
    /// The person is a member of the group during the windows.
    Membership { person: PersonKey, group: GroupId },
    /// The group is refused at the door during the windows.
    Deny { group: GroupId, door: DoorId },
    /// Local days in the windows (edges at local midnight) have this day type.
    Day { day: DayKind },
    /// The windows are the shared exception's From/To periods.
    SharedException { id: u32 },
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Door { door, level } => write!(f, "door {door} {level}"),
            Target::Zone { zone } => write!(f, "zone {zone} disarmed"),
            Target::Output { output } => write!(f, "output {output} on"),
            Target::Membership { person, group } => write!(f, "person {person} in group {group}"),
            Target::Deny { group, door } => write!(f, "group {group} denied at door {door}"),
            Target::Day { day } => write!(f, "day type {}", day.name()),
            Target::SharedException { id } => write!(f, "shared exception {id}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanEntry {
    pub target: Target,
    pub windows: Vec<PlannedWindow>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedWindow {
    #[serde(flatten)]
    pub window: Window,
    pub reasons: Vec<Reason>,
}

/// Why a window exists: which booking, which pack and version, which rule line.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Reason {
    pub source: SourceName,
    pub booking: BookingId,
    pub title: String,
    pub pack: String,
    pub pack_version: String,
    pub rule: RuleLocation,
    /// This booking's own window, before the planner merged it with others' (after the caps
    /// and the horizon): what the audit records per booking. Not serialized.
    #[serde(skip)]
    pub window: Option<Window>,
}

impl Reason {
    pub fn new(booking: &Booking, pack: &PackInfo, rule: RuleLocation) -> Reason {
        Reason {
            source: booking.source.clone(),
            booking: booking.id.clone(),
            title: booking.title.clone(),
            pack: pack.name.clone(),
            pack_version: pack.version.clone(),
            rule,
            window: None,
        }
    }

    /// The reason for one window of the booking's.
    pub fn with_window(&self, window: Window) -> Reason {
        Reason {
            window: Some(window),
            ..self.clone()
        }
    }

    pub fn booking_ref(&self) -> BookingRef {
        BookingRef {
            source: self.source.clone(),
            id: self.booking.clone(),
            title: self.title.clone(),
        }
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "booking {}:{} ({}) by {} {} at {}",
            self.source, self.booking, self.title, self.pack, self.pack_version, self.rule
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct BookingRef {
    pub source: SourceName,
    pub id: BookingId,
    pub title: String,
}

impl BookingRef {
    pub fn of(b: &Booking) -> BookingRef {
        BookingRef {
            source: b.source.clone(),
            id: b.id.clone(),
            title: b.title.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackRef {
    pub name: String,
    pub version: String,
}

impl PackRef {
    pub fn of(p: &PackInfo) -> PackRef {
        PackRef {
            name: p.name.clone(),
            version: p.version.clone(),
        }
    }
}

/// Two wishes for one target overlapped; precedence decided, and this says how.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conflict {
    /// The target that lost in `window`.
    pub target: Target,
    pub window: Window,
    pub resolution: String,
    pub winners: Vec<BookingRef>,
    pub losers: Vec<BookingRef>,
}

/// A window a cap moved or cut.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Adjustment {
    pub target: Target,
    pub booking: BookingRef,
    pub kind: AdjustmentKind,
    pub before: Window,
    /// `None` when nothing was left.
    pub after: Option<Window>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdjustmentKind {
    /// Longer than `caps.max_window_hours`: cut. Applied to the merged window of a target, and
    /// reported once for each booking behind it.
    MaxLength,
    /// Started before `caps.earliest_local`: moved.
    EarliestStart,
    /// Reached further than `[site.safety]` allows before the booking's start or after its end
    /// (a day type: a date that period does not touch): cut.
    SafetyMargin,
}

/// A booking some pack failed on, and how it was planned. An error never opens anything:
/// - every restrictive effect (a door at card, card + PIN or locked, a deny, a holiday) of the
///   packs that decided it stays in force;
/// - a failing pack's last good decision for the booking stays in force: its restrictive parts
///   always;
/// - the booking's permissive effects (unlock, disarm, switch on, grant, shared exception,
///   special days), from the last good decisions and from the other packs, stay only if every
///   failing pack has a last good decision for the booking's current times (start and end
///   unchanged); otherwise they are withheld.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailClosed {
    pub booking: BookingRef,
    /// The packs that failed on it; their errors are in the plan's `errors`.
    pub failed: Vec<String>,
    /// Failing packs whose last good decision for the booking stays in force.
    pub last_good: Vec<LastGoodUse>,
    /// The permissive targets withheld (as the plan names targets), if any.
    pub withheld: Vec<String>,
}

/// A failing pack's last good decision, kept in force for its booking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastGoodUse {
    pub pack: String,
    pub pack_version: String,
    pub decided_at: DateTime<Utc>,
    /// The whole decision (every failing pack has one for the booking's current times), or its
    /// restrictive parts only.
    pub whole: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejected {
    pub booking: BookingRef,
    pub reason: String,
}

impl Plan {
    /// An empty plan, before anything is decided.
    pub fn empty(site: String, at: DateTime<Utc>, horizon: Window, packs: Vec<PackRef>) -> Plan {
        Plan {
            site,
            at,
            horizon,
            packs,
            entries: Vec::new(),
            conflicts: Vec::new(),
            adjustments: Vec::new(),
            errors: Vec::new(),
            fail_closed: Vec::new(),
            rejected: Vec::new(),
            unbound: Vec::new(),
            warnings: Vec::new(),
            persons: BTreeMap::new(),
            bookings: BTreeMap::new(),
        }
    }

    /// The entry for a target, if the plan has one.
    pub fn entry(&self, target: &Target) -> Option<&PlanEntry> {
        self.entries.iter().find(|e| &e.target == target)
    }

    /// The plan's windows for `target` at `at`, with reasons.
    pub fn active(&self, at: DateTime<Utc>) -> impl Iterator<Item = (&Target, &PlannedWindow)> {
        self.entries.iter().flat_map(move |e| {
            e.windows
                .iter()
                .filter(move |w| w.window.contains(at))
                .map(move |w| (&e.target, w))
        })
    }
}
