//! Dates and times in the site config, written either as TOML's own local dates and times
//! (`from = 2026-12-21`, `earliest_local = 05:00:00`) or as strings (`"2026-12-21"`, `"05:00"`).

use chrono::{NaiveDate, NaiveTime};
use serde::{Deserialize, Deserializer, de::Error};

#[derive(Deserialize)]
#[serde(untagged)]
enum Raw {
    Toml(toml::value::Datetime),
    Text(String),
}

/// A local date.
pub fn date<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveDate, D::Error> {
    match Raw::deserialize(d)? {
        Raw::Toml(dt) => match (dt.date, dt.time) {
            (Some(date), None) => NaiveDate::from_ymd_opt(
                i32::from(date.year),
                u32::from(date.month),
                u32::from(date.day),
            )
            .ok_or_else(|| D::Error::custom(format!("{dt} is not a valid date"))),
            _ => Err(D::Error::custom(format!(
                "expected a date like 2026-12-21, found {dt}"
            ))),
        },
        Raw::Text(s) => NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
            .map_err(|_| D::Error::custom(format!("expected a date like 2026-12-21, found {s:?}"))),
    }
}

/// An optional local time of day.
pub fn optional_time<'de, D: Deserializer<'de>>(d: D) -> Result<Option<NaiveTime>, D::Error> {
    let t = match Raw::deserialize(d)? {
        Raw::Toml(dt) => match (dt.date, dt.time) {
            (None, Some(t)) => NaiveTime::from_hms_opt(
                u32::from(t.hour),
                u32::from(t.minute),
                u32::from(t.second.unwrap_or(0)),
            )
            .ok_or_else(|| D::Error::custom(format!("{dt} is not a valid time")))?,
            _ => {
                return Err(D::Error::custom(format!(
                    "expected a time like 05:00, found {dt}"
                )));
            }
        },
        Raw::Text(s) => NaiveTime::parse_from_str(s.trim(), "%H:%M")
            .or_else(|_| NaiveTime::parse_from_str(s.trim(), "%H:%M:%S"))
            .map_err(|_| D::Error::custom(format!("expected a time like 05:00, found {s:?}")))?,
    };
    Ok(Some(t))
}
