//! The `[[sources]] kind = "local"` settings and the calendar file they point at (TOML or YAML):
//! holiday periods, special days (open house) and standing bookings that no booking system holds.

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::{NaiveDate, NaiveTime, Weekday};
use chrono_tz::Tz;
use klar_engine::site::toml_time;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocalConfig {
    /// The calendar file, `.toml`, `.yaml` or `.yml`, relative to the site config.
    pub file: PathBuf,
    /// The resource id holidays and special days book when they name none.
    #[serde(default = "default_resource")]
    pub resource: String,
    #[serde(default)]
    pub time_zone: Option<Tz>,
    #[serde(default = "default_every")]
    pub poll_every_minutes: u32,
    #[serde(default = "default_ahead")]
    pub lookahead_hours: u32,
}

fn default_resource() -> String {
    "site".into()
}
fn default_every() -> u32 {
    5
}
fn default_ahead() -> u32 {
    48
}

impl LocalConfig {
    pub fn parse(settings: &toml::Table) -> Result<LocalConfig, String> {
        let c: LocalConfig = crate::sources::parse_settings(settings)?;
        c.validate()?;
        Ok(c)
    }

    pub fn validate(&self) -> Result<(), String> {
        let ext = self.file.extension().and_then(|e| e.to_str()).unwrap_or("");
        if !matches!(ext, "toml" | "yaml" | "yml") {
            return Err(format!(
                "file {}: expected a .toml, .yaml or .yml file",
                self.file.display()
            ));
        }
        if self.resource.trim().is_empty() {
            return Err("resource is empty".into());
        }
        if self.poll_every_minutes == 0 || self.lookahead_hours == 0 {
            return Err("poll_every_minutes and lookahead_hours must be at least 1".into());
        }
        Ok(())
    }
}

/// The calendar file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocalCalendar {
    #[serde(default, alias = "holidays")]
    pub holiday: Vec<HolidayEntry>,
    #[serde(default, alias = "special_days")]
    pub special_day: Vec<SpecialDay>,
    #[serde(default)]
    pub standing: Vec<Standing>,
}

/// A holiday period (ferie), inclusive local dates.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HolidayEntry {
    pub name: String,
    #[serde(deserialize_with = "toml_time::date")]
    pub from: NaiveDate,
    #[serde(deserialize_with = "toml_time::date")]
    pub to: NaiveDate,
    #[serde(default)]
    pub resource: Option<String>,
}

/// A named special day (open house, election day), all day or between two local times.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpecialDay {
    pub name: String,
    #[serde(deserialize_with = "toml_time::date")]
    pub date: NaiveDate,
    /// The day type, as the site config names it (`open_house`).
    pub kind: String,
    #[serde(default, deserialize_with = "toml_time::optional_time")]
    pub from: Option<NaiveTime>,
    #[serde(default, deserialize_with = "toml_time::optional_time")]
    pub to: Option<NaiveTime>,
    #[serde(default)]
    pub resource: Option<String>,
}

/// A weekly standing booking (cleaning, caretaker rounds, a tenant's fixed hours).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Standing {
    pub title: String,
    pub resource: String,
    /// `mon`..`sun`, English or Danish (`man`, `tir`, `ons`, `tor`, `fre`, `lør`, `søn`).
    pub weekdays: Vec<String>,
    #[serde(default, deserialize_with = "toml_time::optional_time")]
    pub from: Option<NaiveTime>,
    #[serde(default, deserialize_with = "toml_time::optional_time")]
    pub to: Option<NaiveTime>,
    #[serde(default)]
    pub valid_from: Option<Date>,
    #[serde(default)]
    pub valid_to: Option<Date>,
    #[serde(default)]
    pub except: Vec<Date>,
    #[serde(default)]
    pub responsible: Option<ResponsibleEntry>,
    #[serde(default)]
    pub tags: Vec<String>,
}

/// A local date in a list or an optional field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct Date(#[serde(deserialize_with = "toml_time::date")] pub NaiveDate);

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResponsibleEntry {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub member_no: Option<String>,
}

pub fn weekday(s: &str) -> Option<Weekday> {
    match s.trim().to_lowercase().as_str() {
        "mon" | "monday" | "man" | "mandag" => Some(Weekday::Mon),
        "tue" | "tuesday" | "tir" | "tirsdag" => Some(Weekday::Tue),
        "wed" | "wednesday" | "ons" | "onsdag" => Some(Weekday::Wed),
        "thu" | "thursday" | "tor" | "torsdag" => Some(Weekday::Thu),
        "fri" | "friday" | "fre" | "fredag" => Some(Weekday::Fri),
        "sat" | "saturday" | "lør" | "lørdag" => Some(Weekday::Sat),
        "sun" | "sunday" | "søn" | "søndag" => Some(Weekday::Sun),
        _ => None,
    }
}

impl LocalCalendar {
    /// Parses TOML or YAML (by `extension`) and checks it.
    pub fn parse(text: &str, extension: &str) -> Result<LocalCalendar, String> {
        let cal: LocalCalendar = if extension == "toml" {
            toml::from_str(text).map_err(|e| {
                let at = e.span().map(|s| line_col(text, s.start)).unwrap_or((1, 1));
                format!("{}:{}: {}", at.0, at.1, e.message())
            })?
        } else {
            serde_yaml_ng::from_str(text).map_err(|e| e.to_string())?
        };
        cal.validate()?;
        Ok(cal)
    }

    pub fn validate(&self) -> Result<(), String> {
        for h in &self.holiday {
            if h.to < h.from {
                return Err(format!(
                    "holiday {:?} ends ({}) before it starts ({})",
                    h.name, h.to, h.from
                ));
            }
        }
        for d in &self.special_day {
            if let (Some(a), Some(b)) = (d.from, d.to)
                && b <= a
            {
                return Err(format!(
                    "special day {:?}: to ({b}) must be after from ({a})",
                    d.name
                ));
            }
            if d.from.is_some() != d.to.is_some() {
                return Err(format!(
                    "special day {:?}: give both from and to, or neither",
                    d.name
                ));
            }
        }
        let mut titles = BTreeMap::new();
        for s in &self.standing {
            if s.weekdays.is_empty() {
                return Err(format!("standing booking {:?} has no weekdays", s.title));
            }
            for w in &s.weekdays {
                weekday(w).ok_or_else(|| {
                    format!("standing booking {:?}: unknown weekday {w:?}", s.title)
                })?;
            }
            match (s.from, s.to) {
                (Some(a), Some(b)) if a < b => {}
                _ => {
                    return Err(format!(
                        "standing booking {:?}: from and to are required, from before to",
                        s.title
                    ));
                }
            }
            if *titles
                .entry((s.resource.clone(), s.title.clone()))
                .or_insert(0)
                > 0
            {
                return Err(format!(
                    "standing booking {:?} for {:?} appears twice",
                    s.title, s.resource
                ));
            }
            titles.insert((s.resource.clone(), s.title.clone()), 1);
        }
        Ok(())
    }
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before
        .rsplit('\n')
        .next()
        .map(|l| l.chars().count() + 1)
        .unwrap_or(1);
    (line, col)
}
