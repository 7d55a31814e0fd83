//! Rules: the `RuleRuntime` boundary, the context a rule sees, and rule errors.
//!
//! A rule pack decides, for one booking in one room, which effects it causes:
//! `decide(booking, room, ctx) -> [effect]`. Runtimes (Rhai, Wasm) live in their own modules
//! and convert their own types to the engine's model in one place each.

pub mod bounds;
pub mod cases;
pub mod pack;
pub mod rhai;
pub mod settings;
pub mod wasm;

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::{Datelike, NaiveDateTime};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::model::{Booking, BookingId, Effect, Window};
use crate::site::{Room, SiteConfig};

/// A loaded, compiled rule pack that can decide bookings.
///
/// `decide` takes a batch so a runtime can pay its set-up (a Wasm instance, a Rhai scope) once
/// per batch. The result has one entry per input, in order; a failure of one booking never
/// affects the others.
pub trait RuleRuntime: Send + Sync {
    fn pack(&self) -> &PackInfo;
    fn decide(&self, batch: &[Decision<'_>]) -> Vec<Result<Vec<RuledEffect>, RuleError>>;
}

/// One booking to decide, with its room and context.
#[derive(Debug, Clone, Copy)]
pub struct Decision<'a> {
    pub booking: &'a Booking,
    pub room: &'a Room,
    pub ctx: &'a Ctx,
}

/// What identifies a pack in reasons and errors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PackInfo {
    pub name: String,
    pub version: String,
    pub runtime: RuntimeKind,
    /// The pack's folder.
    pub dir: PathBuf,
    /// The pack's own `[settings]` from `pack.toml`; the site config can override each.
    #[serde(default)]
    pub settings: BTreeMap<String, toml::Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RuntimeKind {
    Rhai,
    Wasm,
}

/// An effect and the rule line that made it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuledEffect {
    pub effect: Effect,
    pub rule: RuleLocation,
    /// Which part of the window is the booking's core time.
    #[serde(default, skip_serializing_if = "Core::is_booking")]
    pub core: Core,
}

/// Which part of an effect's window is its booking's core time. Where two bookings ask one door
/// for different levels at the same time, one booking's core time wins over another's margin
/// (and between two cores, or two margins, the more secure level wins).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Core {
    /// The booking's own period `[start, end)`: the default, so every pack gets it unchanged.
    #[default]
    Booking,
    /// This period (clipped to the window): a rule's `core(effect, from, to)`.
    Window(Window),
    /// None of it: the whole window is margin, a rule's `margin(effect)`.
    Margin,
}

impl Core {
    pub fn is_booking(&self) -> bool {
        matches!(self, Core::Booking)
    }
}

/// A place in a rule file: `school/rules/doors.rhai:12:5`. For Wasm, `file` is the component
/// and `line` is 0 unless the guest reports its own.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RuleLocation {
    pub file: String,
    pub line: u32,
    #[serde(default)]
    pub column: u32,
}

impl std::fmt::Display for RuleLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.column > 0 {
            write!(f, "{}:{}:{}", self.file, self.line, self.column)
        } else {
            write!(f, "{}:{}", self.file, self.line)
        }
    }
}

/// The context a rule sees beside the booking and the room (DESIGN.md §5). Pure data: no clock.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ctx {
    pub time_zone: Tz,
    /// The booking's start and end in the site's local time.
    pub local_start: NaiveDateTime,
    pub local_end: NaiveDateTime,
    /// The local start date is a public holiday or inside a holiday period.
    pub is_holiday: bool,
    /// The public holiday's name, if the local start date is one.
    pub public_holiday: Option<String>,
    /// The holiday period's (ferie) name, if the local start date is inside one.
    pub holiday_period: Option<String>,
    /// The pack's settings: its `pack.toml` `[settings]`, overridden by the site config's
    /// `[rules.settings.<pack>]`.
    pub settings: BTreeMap<String, toml::Value>,
}

impl Ctx {
    /// The context of `booking` at `site`, with the pack's merged settings.
    pub fn for_booking(
        booking: &Booking,
        site: &SiteConfig,
        settings: BTreeMap<String, toml::Value>,
    ) -> Ctx {
        let tz = site.site.time_zone;
        let local_start = booking.start.with_timezone(&tz).naive_local();
        let local_end = booking.end.with_timezone(&tz).naive_local();
        let date = local_start.date();
        let public_holiday = site.public_holiday(date).map(str::to_owned);
        let holiday_period = site.holiday_period(date).map(str::to_owned);
        Ctx {
            time_zone: tz,
            local_start,
            local_end,
            is_holiday: public_holiday.is_some() || holiday_period.is_some(),
            public_holiday,
            holiday_period,
            settings,
        }
    }

    /// ISO weekday of the local start: 1 = Monday .. 7 = Sunday.
    pub fn weekday(&self) -> u32 {
        self.local_start.weekday().number_from_monday()
    }
}

/// Why a rule could not decide a booking. The booking fails closed: it gets no effects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{pack}: booking {booking}: {kind}: {message}{}", location.as_ref().map(|l| format!(" (at {l})")).unwrap_or_default())]
pub struct RuleError {
    pub pack: String,
    pub booking: BookingId,
    pub kind: RuleErrorKind,
    pub message: String,
    pub location: Option<RuleLocation>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleErrorKind {
    /// The script threw or the guest returned an error.
    Runtime,
    /// A limit stopped it: operations, time, memory, depth, sizes.
    Limit,
    /// It returned something that is not a list of effects, or an invalid effect.
    BadOutput,
    /// The guest trapped.
    Trap,
}

impl std::fmt::Display for RuleErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RuleErrorKind::Runtime => "rule error",
            RuleErrorKind::Limit => "limit exceeded",
            RuleErrorKind::BadOutput => "bad output",
            RuleErrorKind::Trap => "trap",
        })
    }
}

/// A pack that cannot be loaded: a broken `pack.toml`, a rule that does not compile, a
/// component that does not validate. Always names the file, and line and column where known.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}{}: {message}{}", match (line, column) { (Some(l), Some(c)) => format!(":{l}:{c}"), (Some(l), None) => format!(":{l}"), _ => String::new() }, snippet.as_ref().map(|s| format!("\n{s}")).unwrap_or_default())]
pub struct PackError {
    pub file: PathBuf,
    pub line: Option<u32>,
    pub column: Option<u32>,
    pub message: String,
    /// The offending line with a `^` under the place, for people.
    pub snippet: Option<String>,
}

impl PackError {
    pub fn new(file: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        PackError {
            file: file.into(),
            line: None,
            column: None,
            message: message.into(),
            snippet: None,
        }
    }

    /// An error at a 1-based line and column of `source`, with a pointer under the place.
    pub fn at(
        file: impl Into<PathBuf>,
        source: &str,
        line: u32,
        column: u32,
        message: impl Into<String>,
    ) -> Self {
        let snippet = source
            .lines()
            .nth(line.saturating_sub(1) as usize)
            .map(|text| {
                let pad: String = text
                    .chars()
                    .take(column.saturating_sub(1) as usize)
                    .map(|c| if c == '\t' { '\t' } else { ' ' })
                    .collect();
                format!("{line:>4} | {text}\n     | {pad}^")
            });
        PackError {
            file: file.into(),
            line: Some(line),
            column: Some(column),
            message: message.into(),
            snippet,
        }
    }
}
