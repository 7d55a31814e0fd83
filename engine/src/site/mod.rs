//! The site configuration (`site.toml`): the site, its rooms, rule packs, sources and controller.
//!
//! Parsed, then validated by a pure [`SiteConfig::validate`]. Tables owned by other parts
//! (`[[sources]]` settings, `[controller]`, `[web]`, `[store]`) stay raw TOML here and are
//! parsed by their owners, so the engine knows no vendor.

pub mod holidays;
pub mod local_time;
#[cfg(test)]
mod props;
mod safety;
pub mod toml_time;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{NaiveDate, NaiveTime};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::model::{DayKind, DoorId, GroupId, OutputId, ZoneId};

pub use safety::{MAX_MARGIN_MINUTES, Retention, Safety};

/// The whole `site.toml`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteConfig {
    pub site: Site,
    #[serde(default)]
    pub rules: RulesConfig,
    #[serde(default)]
    pub sources: Vec<SourceConfig>,
    /// Keyed `"<source>:<resource id>"`.
    #[serde(default)]
    pub rooms: BTreeMap<String, Room>,
    /// Owned by the controller adapters.
    #[serde(default)]
    pub controller: toml::Table,
    /// Owned by the MQTT controller driver (optional second controller for outputs and the
    /// wider building).
    #[serde(default)]
    pub mqtt: toml::Table,
    /// Owned by the daemon's web server.
    #[serde(default)]
    pub web: toml::Table,
    /// Owned by the store.
    #[serde(default)]
    pub store: toml::Table,
    /// Owned by the daemon (cadences, log level).
    #[serde(default)]
    pub daemon: toml::Table,
    /// The folder relative paths in this config are resolved against. Not part of the file.
    #[serde(skip)]
    pub base_dir: PathBuf,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Site {
    pub name: String,
    /// What marks everything this site writes on a controller others may share (`klar:<id>`):
    /// lower-case letters, digits, `-`, `_`, `.`. Default: a slug of `name`
    /// ([`Site::id`]). Two sites on one controller need two ids.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default = "default_time_zone")]
    pub time_zone: Tz,
    /// How far ahead the plan looks.
    #[serde(default = "default_horizon_hours")]
    pub horizon_hours: u32,
    #[serde(default)]
    pub public_holidays: PublicHolidays,
    /// Ferie: holiday periods, inclusive local dates.
    #[serde(default)]
    pub holiday_periods: Vec<HolidayPeriod>,
    #[serde(default)]
    pub caps: Caps,
    /// The longest margins a booking's windows may have (`[site.safety]`).
    #[serde(default)]
    pub safety: Safety,
    /// Public holidays and holiday periods inside the horizon become day types in the
    /// controller's special-day calendar (`holiday`, or each period's own `day_type`).
    #[serde(default = "yes")]
    pub write_holidays: bool,
}

fn yes() -> bool {
    true
}

impl Site {
    /// The site's id: `[site] id`, else a slug of its name (`Nørrebro Skole` ->
    /// `norrebro-skole`).
    pub fn id(&self) -> String {
        match &self.id {
            Some(id) => id.clone(),
            None => slug(&self.name),
        }
    }
}

/// A name as an id: lower case, Danish letters spelled out, anything else a single `-`.
fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.to_lowercase().chars() {
        let spelled = match c {
            'æ' => "ae",
            'ø' | 'ö' | 'ó' | 'ò' => "o",
            'å' => "aa",
            'ä' | 'á' | 'à' | 'â' => "a",
            'é' | 'è' | 'ê' | 'ë' => "e",
            'ü' | 'ú' => "u",
            'í' | 'ï' => "i",
            c if c.is_ascii_alphanumeric() => {
                out.push(c);
                continue;
            }
            _ => "-",
        };
        if spelled == "-" && (out.is_empty() || out.ends_with('-')) {
            continue;
        }
        out.push_str(spelled);
    }
    let out = out.trim_end_matches('-').to_owned();
    if out.is_empty() { "site".into() } else { out }
}

fn site_id_valid(id: &str) -> Result<(), String> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "site.id {id:?} must be 1 to 64 lower-case letters, digits, '-', '_' or '.'"
        ))
    }
}

fn default_time_zone() -> Tz {
    chrono_tz::Europe::Copenhagen
}
fn default_horizon_hours() -> u32 {
    48
}

/// The longest horizon a plan may look ahead: a year. (A horizon past chrono's range made the
/// planner panic; nothing is planned that far ahead.)
pub const MAX_HORIZON_HOURS: u32 = 366 * 24;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PublicHolidays {
    /// Danish public holidays (helligdage), computed.
    #[default]
    Dk,
    None,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HolidayPeriod {
    pub name: String,
    #[serde(deserialize_with = "toml_time::date")]
    pub from: NaiveDate,
    /// Inclusive.
    #[serde(deserialize_with = "toml_time::date")]
    pub to: NaiveDate,
    /// The day type its dates get on the controller: `"holiday"` (the default), one of the
    /// installation's fictive day types (`"skoleferie"`), or `"none"` (not written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub day_type: Option<String>,
}

impl HolidayPeriod {
    /// The day type the period's dates get on the controller, if any.
    pub fn controller_day(&self) -> Option<DayKind> {
        match self.day_type.as_deref().map(str::trim) {
            None => Some(DayKind::Holiday),
            Some(name) if name.eq_ignore_ascii_case("none") => None,
            Some(name) => Some(DayKind::parse(name)),
        }
    }
}

/// Limits every plan obeys, whatever the rules ask for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Caps {
    /// No window longer than this; longer ones are cut and reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_window_hours: Option<u32>,
    /// No door, zone or output window starts before this local time of day; earlier starts are
    /// moved and reported.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "toml_time::optional_time"
    )]
    pub earliest_local: Option<NaiveTime>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RulesConfig {
    /// Rule pack folders, relative to the config file.
    #[serde(default)]
    pub packs: Vec<PathBuf>,
    /// Per-pack settings overriding the pack's own `[settings]`, keyed by pack name.
    #[serde(default)]
    pub settings: BTreeMap<String, toml::Table>,
    /// `[rules.reload]`: what the reload guard refuses, and commissioning mode.
    #[serde(default)]
    pub reload: crate::reload::ReloadPolicy,
}

/// One `[[sources]]` entry. `kind`-specific settings stay raw for the adapter to parse.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SourceConfig {
    pub name: String,
    pub kind: String,
    #[serde(flatten)]
    pub settings: toml::Table,
}

/// A bookable resource bound to the controller objects it drives.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Room {
    /// The room's key, `"<source>:<resource id>"`; filled in from the table key.
    #[serde(skip_deserializing, default)]
    pub key: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub doors: Vec<DoorId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alarm_zone: Option<ZoneId>,
    /// Outputs by role: `lights`, `ventilation`, `heating`, ...
    #[serde(default)]
    pub outputs: BTreeMap<String, OutputId>,
    #[serde(default)]
    pub person_groups: Vec<GroupId>,
    /// UniLock shared exceptions for the `unilock-parity` pack.
    #[serde(default)]
    pub shared_exceptions: Vec<u32>,
    #[serde(default)]
    pub tags: Vec<String>,
    /// Restricts which packs decide for this room (by pack name); all packs when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub packs: Option<Vec<String>>,
}

/// A config that cannot be used, with the file and the place in it.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: cannot read: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}:{line}:{column}: {message}")]
    Parse {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

impl SiteConfig {
    /// Reads, parses and validates a site config file.
    pub fn load(path: &Path) -> Result<SiteConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        let base_dir = path.parent().map(Path::to_owned).unwrap_or_default();
        let config = SiteConfig::parse(&text, path, base_dir)?;
        config.validate().map_err(|message| ConfigError::Invalid {
            path: path.to_owned(),
            message,
        })?;
        Ok(config)
    }

    /// Parses config text; `path` is used only to name the file in errors.
    pub fn parse(text: &str, path: &Path, base_dir: PathBuf) -> Result<SiteConfig, ConfigError> {
        let mut config: SiteConfig = toml::from_str(text).map_err(|e| {
            let (line, column) = e
                .span()
                .map(|span| line_column(text, span.start))
                .unwrap_or((1, 1));
            ConfigError::Parse {
                path: path.to_owned(),
                line,
                column,
                message: crate::reload::wording::in_klar_words(e.message()),
            }
        })?;
        config.base_dir = base_dir;
        for (key, room) in config.rooms.iter_mut() {
            room.key = key.clone();
        }
        Ok(config)
    }

    /// Pure checks that serde cannot make. Returns the first problem, in words.
    pub fn validate(&self) -> Result<(), String> {
        if let Some(id) = &self.site.id {
            site_id_valid(id)?;
        }
        if self.site.horizon_hours == 0 {
            return Err("site.horizon_hours must be at least 1".into());
        }
        if self.site.horizon_hours > MAX_HORIZON_HOURS {
            return Err(format!(
                "site.horizon_hours must be at most {MAX_HORIZON_HOURS} (a year)"
            ));
        }
        if self.site.caps.max_window_hours == Some(0) {
            return Err("site.caps.max_window_hours must be at least 1".into());
        }
        self.site.safety.validate()?;
        for p in &self.site.holiday_periods {
            if p.day_type.as_deref().is_some_and(|d| d.trim().is_empty()) {
                return Err(format!(
                    "holiday period {:?}: day_type must not be empty (\"holiday\", a fictive day type, or \"none\")",
                    p.name
                ));
            }
            if p.to < p.from {
                return Err(format!(
                    "holiday period {:?} ends ({}) before it starts ({})",
                    p.name, p.to, p.from
                ));
            }
        }
        let mut names = std::collections::BTreeSet::new();
        for s in &self.sources {
            if s.name.is_empty() || s.name.contains(':') {
                return Err(format!(
                    "source name {:?} must be non-empty and contain no ':'",
                    s.name
                ));
            }
            if !names.insert(&s.name) {
                return Err(format!("source name {:?} is used twice", s.name));
            }
        }
        for key in self.rooms.keys() {
            let Some((source, resource)) = key.split_once(':') else {
                return Err(format!(
                    "room key {key:?} must be \"<source>:<resource id>\""
                ));
            };
            if resource.is_empty()
                || (!self.sources.is_empty() && !names.contains(&source.to_owned()))
            {
                return Err(format!(
                    "room {key:?} names source {source:?}, which is not configured"
                ));
            }
        }
        Ok(())
    }

    /// A path from the config, resolved against the config file's folder.
    pub fn resolve(&self, path: &Path) -> PathBuf {
        if path.is_absolute() {
            path.to_owned()
        } else {
            self.base_dir.join(path)
        }
    }

    /// The name of the holiday period containing `date`, if any.
    pub fn holiday_period(&self, date: NaiveDate) -> Option<&str> {
        self.site
            .holiday_periods
            .iter()
            .find(|p| p.from <= date && date <= p.to)
            .map(|p| p.name.as_str())
    }

    /// How long a booking stays in force after it ends (see [`Retention`]).
    pub fn retention(&self) -> Retention {
        Retention {
            time_zone: self.site.time_zone,
            safety: self.site.safety,
        }
    }

    /// The public holiday on `date`, if the site observes one.
    pub fn public_holiday(&self, date: NaiveDate) -> Option<&'static str> {
        match self.site.public_holidays {
            PublicHolidays::Dk => holidays::danish_public_holiday(date),
            PublicHolidays::None => None,
        }
    }
}

/// 1-based line and column of a byte offset.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SITE: &str = r#"
[site]
name = "Nørrebro Skole"
[[site.holiday_periods]]
name = "Juleferie"
from = 2026-12-21
to = 2027-01-03
[[sources]]
name = "planner"
kind = "pronestor"
url = "http://127.0.0.1:1"
[rooms."planner:101"]
name = "Mødelokale 1"
doors = ["D-101"]
"#;

    #[test]
    fn parses_and_fills_room_keys() {
        let c = SiteConfig::parse(SITE, Path::new("site.toml"), PathBuf::new()).unwrap();
        c.validate().unwrap();
        assert_eq!(c.site.time_zone, chrono_tz::Europe::Copenhagen);
        assert_eq!(c.rooms["planner:101"].key, "planner:101");
        assert_eq!(
            c.sources[0].settings["url"].as_str(),
            Some("http://127.0.0.1:1")
        );
        assert_eq!(
            c.holiday_period(NaiveDate::from_ymd_opt(2027, 1, 3).unwrap()),
            Some("Juleferie")
        );
        assert_eq!(
            c.holiday_period(NaiveDate::from_ymd_opt(2027, 1, 4).unwrap()),
            None
        );
    }

    #[test]
    fn parse_errors_name_file_line_and_column() {
        let bad = SITE.replace("doors = [\"D-101\"]", "doors = 7");
        let e = SiteConfig::parse(&bad, Path::new("site.toml"), PathBuf::new()).unwrap_err();
        let text = e.to_string();
        assert!(
            text.starts_with("site.toml:14:9: expected a list"),
            "{text}"
        );
    }

    #[test]
    fn a_horizon_past_a_year_is_invalid() {
        let long = SITE.replace("[site]\n", "[site]\nhorizon_hours = 4294967295\n");
        let c = SiteConfig::parse(&long, Path::new("site.toml"), PathBuf::new()).unwrap();
        assert!(c.validate().unwrap_err().contains("horizon_hours"));
    }

    #[test]
    fn a_room_of_an_unknown_source_is_invalid() {
        let bad = SITE.replace("planner:101", "halls:7");
        let c = SiteConfig::parse(&bad, Path::new("site.toml"), PathBuf::new()).unwrap();
        assert!(c.validate().unwrap_err().contains("halls"));
    }
}
