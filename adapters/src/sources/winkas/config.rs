//! The `[[sources]] kind = "winkas"` settings.

use std::path::PathBuf;

use chrono_tz::Tz;
use serde::Deserialize;

use crate::sources::secret_ref::SecretRef;

/// How `StartTime`/`EndTime` are written in requests. Whether WinKAS reads them as UTC or local
/// is unknown; the one working client sends Copenhagen wall-clock time with a literal `Z`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestTimeFormat {
    /// `2025-10-01T17:00:00Z` holding Copenhagen wall-clock time.
    #[default]
    LocalZ,
    /// `2025-10-01T17:00:00`, Copenhagen wall-clock time.
    Local,
    /// `2025-10-01T15:00:00Z`, true UTC.
    Utc,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WinkasConfig {
    /// Base URL of the API, ending in `/api/`.
    #[serde(default = "default_url")]
    pub url: String,
    pub username: String,
    #[serde(default)]
    pub password_env: Option<String>,
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    /// The customer's licence number (`UserContractCode`).
    #[serde(deserialize_with = "string_or_number")]
    pub contract_code: String,
    /// Only these resource ids (all when empty).
    #[serde(default)]
    pub resources: Vec<String>,
    #[serde(default = "default_every")]
    pub poll_every_minutes: u32,
    #[serde(default = "default_ahead")]
    pub lookahead_hours: u32,
    /// Extra hours asked for on both sides of the window, filtered out locally.
    #[serde(default = "default_margin")]
    pub fetch_margin_hours: u32,
    #[serde(default = "default_lifetime")]
    pub token_lifetime_hours: u32,
    #[serde(default = "default_renew")]
    pub renew_before_minutes: u32,
    #[serde(default)]
    pub request_time_format: RequestTimeFormat,
    /// The zone of WinKAS's naive times.
    #[serde(default = "default_tz")]
    pub time_zone: Tz,
    /// Ask `refetchToken` for the last active token on start instead of minting a new one.
    #[serde(default = "yes")]
    pub refetch_token_on_start: bool,
}

fn default_url() -> String {
    "https://air.winkas.net/api/".into()
}
fn default_every() -> u32 {
    15
}
fn default_ahead() -> u32 {
    24
}
fn default_margin() -> u32 {
    2
}
fn default_lifetime() -> u32 {
    12
}
fn default_renew() -> u32 {
    60
}
fn default_tz() -> Tz {
    chrono_tz::Europe::Copenhagen
}
fn yes() -> bool {
    true
}

fn string_or_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        S(String),
        N(i64),
    }
    Ok(match Either::deserialize(d)? {
        Either::S(s) => s,
        Either::N(n) => n.to_string(),
    })
}

impl WinkasConfig {
    pub fn parse(settings: &toml::Table) -> Result<WinkasConfig, String> {
        let c: WinkasConfig = crate::sources::parse_settings(settings)?;
        c.validate()?;
        Ok(c)
    }

    pub fn password_ref(&self) -> SecretRef {
        SecretRef {
            env: self.password_env.clone(),
            file: self.password_file.clone(),
        }
    }

    /// Pure checks serde cannot make.
    pub fn validate(&self) -> Result<(), String> {
        url::Url::parse(&self.url).map_err(|e| format!("url {:?}: {e}", self.url))?;
        if self.username.trim().is_empty() {
            return Err("username is empty".into());
        }
        if self.contract_code.trim().is_empty() {
            return Err("contract_code (the licence number) is empty".into());
        }
        self.password_ref().validate("password")?;
        if self.poll_every_minutes == 0 || self.lookahead_hours == 0 {
            return Err("poll_every_minutes and lookahead_hours must be at least 1".into());
        }
        if !(1..=24).contains(&self.token_lifetime_hours) {
            return Err(
                "token_lifetime_hours must be 1..=24 (WinKAS tokens live at most 24 h)".into(),
            );
        }
        if u64::from(self.renew_before_minutes) >= u64::from(self.token_lifetime_hours) * 60 {
            return Err("renew_before_minutes must be shorter than the token lifetime".into());
        }
        Ok(())
    }

    /// The base URL with exactly one trailing slash.
    pub fn base(&self) -> String {
        format!("{}/", self.url.trim_end_matches('/'))
    }
}
