//! The `[[sources]] kind = "ical"` settings: an ICS feed (URL or file) for one room, or for many
//! rooms told apart by the events' `LOCATION`.

use std::path::PathBuf;

use chrono_tz::Tz;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IcalConfig {
    /// The feed's URL (an Outlook/Office 365 published calendar, a Google secret address, ...).
    #[serde(default)]
    pub url: Option<String>,
    /// The URL from an environment variable instead: published-calendar URLs are secrets.
    #[serde(default)]
    pub url_env: Option<String>,
    /// A local `.ics` file instead of a URL.
    #[serde(default)]
    pub file: Option<PathBuf>,
    /// The resource id every event books (a room calendar). Required unless
    /// `resource_from_location`.
    #[serde(default)]
    pub resource: Option<String>,
    #[serde(default)]
    pub resource_name: Option<String>,
    #[serde(default)]
    pub location: Option<String>,
    /// Take each event's resource id from its `LOCATION` (a shared calendar of many rooms).
    #[serde(default)]
    pub resource_from_location: bool,
    /// Zone for floating times and all-day events.
    #[serde(default)]
    pub time_zone: Option<Tz>,
    #[serde(default = "default_every")]
    pub poll_every_minutes: u32,
    #[serde(default = "default_ahead")]
    pub lookahead_hours: u32,
}

fn default_every() -> u32 {
    15
}
fn default_ahead() -> u32 {
    48
}

impl IcalConfig {
    pub fn parse(settings: &toml::Table) -> Result<IcalConfig, String> {
        let c: IcalConfig = crate::sources::parse_settings(settings)?;
        c.validate()?;
        Ok(c)
    }

    pub fn validate(&self) -> Result<(), String> {
        let given = [
            self.url.is_some(),
            self.url_env.is_some(),
            self.file.is_some(),
        ]
        .iter()
        .filter(|x| **x)
        .count();
        if given != 1 {
            return Err("set exactly one of url, url_env and file".into());
        }
        if let Some(u) = &self.url {
            let parsed = url::Url::parse(u).map_err(|e| format!("url: {e}"))?;
            if !matches!(parsed.scheme(), "http" | "https" | "webcal") {
                return Err(format!(
                    "url: scheme {:?} is not http, https or webcal",
                    parsed.scheme()
                ));
            }
        }
        match (&self.resource, self.resource_from_location) {
            (Some(r), false) if !r.trim().is_empty() => {}
            (None, true) => {}
            (Some(_), true) => return Err("set either resource or resource_from_location, not both".into()),
            _ => return Err("resource is required (the room this calendar books), or resource_from_location = true".into()),
        }
        if self.poll_every_minutes == 0 || self.lookahead_hours == 0 {
            return Err("poll_every_minutes and lookahead_hours must be at least 1".into());
        }
        Ok(())
    }
}
