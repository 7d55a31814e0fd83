//! The `[[sources]] kind = "pronestor"` settings. Method names, login fields, date formats and
//! which resources are rooms are inferred (vendors/pronestor.md), so all are configurable.

use std::path::PathBuf;

use chrono_tz::Tz;
use serde::Deserialize;

use crate::sources::secret_ref::SecretRef;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PronestorConfig {
    /// The site, e.g. `https://skole.pronestor.com`.
    pub url: String,
    pub username: String,
    #[serde(default)]
    pub password_env: Option<String>,
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    /// Location ids to read; all locations when empty.
    #[serde(default)]
    pub locations: Vec<u64>,
    /// The API path under the site.
    #[serde(default = "default_prefix")]
    pub api_path: String,
    #[serde(default)]
    pub methods: Methods,
    #[serde(default)]
    pub login: Login,
    /// Zone for naive dates when neither room nor location names one.
    #[serde(default = "default_tz")]
    pub time_zone: Tz,
    /// How `start`/`end` are written in the meetings query.
    #[serde(default)]
    pub request_dates: RequestDates,
    /// Ask for deleted meetings too (`hideDeleted=False`), to see cancellations directly.
    #[serde(default = "yes")]
    pub include_deleted: bool,
    /// The resource field that tells rooms from catering and equipment, and the values that
    /// mean "room". A resource without the field counts as a room.
    #[serde(default = "default_type_field")]
    pub resource_type_field: String,
    #[serde(default = "default_room_types")]
    pub room_types: Vec<String>,
    #[serde(default = "default_every")]
    pub poll_every_minutes: u32,
    #[serde(default = "default_ahead")]
    pub lookahead_hours: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Methods {
    pub authenticate: String,
    pub locations: String,
    pub resources: String,
    pub meetings: String,
    pub location_param: String,
    pub start_param: String,
    pub end_param: String,
}

impl Default for Methods {
    fn default() -> Self {
        Methods {
            authenticate: "Authenticate".into(),
            locations: "GetLocations".into(),
            resources: "GetResourcesByLocation".into(),
            meetings: "GetMeetingsByLocation".into(),
            location_param: "locationId".into(),
            start_param: "start".into(),
            end_param: "end".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Login {
    pub user_field: String,
    pub password_field: String,
    /// `json` or `form`.
    pub body: LoginBody,
}

impl Default for Login {
    fn default() -> Self {
        Login {
            user_field: "UserName".into(),
            password_field: "Password".into(),
            body: LoginBody::Json,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LoginBody {
    Json,
    Form,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestDates {
    /// `2026-11-23T00:00:00` in the location's zone.
    #[default]
    Local,
    /// `2026-11-22T23:00:00Z`.
    Utc,
}

fn default_prefix() -> String {
    "Api.mvc/v1".into()
}
fn default_tz() -> Tz {
    chrono_tz::Europe::Copenhagen
}
fn yes() -> bool {
    true
}
fn default_type_field() -> String {
    "ResourceType".into()
}
fn default_room_types() -> Vec<String> {
    vec!["Room".into(), "MeetingRoom".into(), "Lokale".into()]
}
fn default_every() -> u32 {
    5
}
fn default_ahead() -> u32 {
    48
}

impl PronestorConfig {
    pub fn parse(settings: &toml::Table) -> Result<PronestorConfig, String> {
        let c: PronestorConfig = crate::sources::parse_settings(settings)?;
        c.validate()?;
        Ok(c)
    }

    pub fn password_ref(&self) -> SecretRef {
        SecretRef {
            env: self.password_env.clone(),
            file: self.password_file.clone(),
        }
    }

    pub fn validate(&self) -> Result<(), String> {
        url::Url::parse(&self.url).map_err(|e| format!("url {:?}: {e}", self.url))?;
        if self.username.trim().is_empty() {
            return Err("username is empty".into());
        }
        self.password_ref().validate("password")?;
        let m = &self.methods;
        for (key, v) in [
            ("methods.authenticate", &m.authenticate),
            ("methods.locations", &m.locations),
            ("methods.resources", &m.resources),
            ("methods.meetings", &m.meetings),
        ] {
            if v.trim().is_empty() || v.contains(['/', '?']) {
                return Err(format!("{key} must be a bare method name, not {v:?}"));
            }
        }
        if self.poll_every_minutes == 0 || self.lookahead_hours == 0 {
            return Err("poll_every_minutes and lookahead_hours must be at least 1".into());
        }
        Ok(())
    }

    /// `<url>/<api_path>/<method>`.
    pub fn method_url(&self, method: &str) -> String {
        format!(
            "{}/{}/{}",
            self.url.trim_end_matches('/'),
            self.api_path.trim_matches('/'),
            method
        )
    }
}
