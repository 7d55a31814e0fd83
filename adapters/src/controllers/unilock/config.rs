//! The `[controller]` table of the site config for UniLock: which driver, the simulator's
//! settings, the simulated installation and the bindings from rule targets to UniLock objects
//! (docs/controller.md).

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono_tz::Tz;
use klar_engine::model::DoorLevel;
use serde::Deserialize;

use super::sim::table::WeeklyTable;

/// The parsed `[controller]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnilockConfig {
    /// `unilock-sim` (embedded simulator, the default) or `unilock-http` (a `klar sim` server or
    /// anything speaking its protocol at `url`).
    #[serde(default = "default_kind")]
    pub kind: String,
    #[serde(default)]
    pub url: Option<String>,
    /// Per request, for `unilock-http`.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// Where the embedded simulator keeps its database between runs; default beside the store.
    #[serde(default)]
    pub state_file: Option<PathBuf>,
    #[serde(default)]
    pub settings: SimSettings,
    #[serde(default)]
    pub installation: InstallationConfig,
    /// `"door:D-101"` (or `"door:D-101:unlocked"`), `"zone:Z"`, `"output:O"`, `"group:G"`.
    #[serde(default)]
    pub bindings: BTreeMap<String, Binding>,
    /// Whether objects an older klar wrote with the bare owner `"klar"` are this site's: they
    /// are then removed and written again under the site's owner. Set it on the one site that
    /// wrote them (docs/controller.md, "Ownership").
    #[serde(default)]
    pub adopt_legacy_owner: bool,
}

fn default_kind() -> String {
    "unilock-sim".into()
}
fn default_timeout_ms() -> u64 {
    5000
}

/// Settings for what UniLock does not make public ([I] in vendors/unilock.md).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimSettings {
    /// How overlapping exceptions on one door decide its level.
    #[serde(default)]
    pub door_precedence: Precedence,
    /// How many From/To periods one shared exception holds.
    #[serde(default = "default_shared_capacity")]
    pub shared_exception_capacity: usize,
}

impl Default for SimSettings {
    fn default() -> Self {
        SimSettings {
            door_precedence: Precedence::default(),
            shared_exception_capacity: default_shared_capacity(),
        }
    }
}

fn default_shared_capacity() -> usize {
    16
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Precedence {
    /// The most secure level among the active exceptions wins (and armed beats disarmed).
    #[default]
    MostSecure,
    /// The least secure level wins (and disarmed beats armed, on beats off).
    LeastSecure,
    /// The exception that started last wins.
    LatestStart,
}

/// `[controller.installation]`: what the simulated UniLock holds as configuration.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstallationConfig {
    /// Names of the fictive day types, in order (1..=6), e.g. `["open_house", "festdag"]`.
    #[serde(default)]
    pub fictive_days: Vec<String>,
    /// Weekly tables by name: day -> `["00:00 locked", "07:00 card", ...]`.
    #[serde(default)]
    pub tables: BTreeMap<String, BTreeMap<String, Vec<String>>>,
    #[serde(default)]
    pub doors: BTreeMap<String, TableRef>,
    #[serde(default)]
    pub zones: BTreeMap<String, TableRef>,
    #[serde(default)]
    pub outputs: BTreeMap<String, TableRef>,
    #[serde(default)]
    pub groups: BTreeMap<String, GroupConfig>,
    /// Keyed by the shared exception's number.
    #[serde(default)]
    pub shared_exceptions: BTreeMap<String, SharedExceptionConfig>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableRef {
    pub table: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupConfig {
    pub doors: Vec<String>,
    /// An on/off table saying when the group's access is valid; always when absent.
    #[serde(default)]
    pub time_table: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SharedExceptionConfig {
    #[serde(default)]
    pub name: String,
    /// Door -> the level it has during the periods.
    #[serde(default)]
    pub doors: BTreeMap<String, String>,
    /// Zones disarmed during the periods.
    #[serde(default)]
    pub zones: Vec<String>,
    /// Outputs on during the periods.
    #[serde(default)]
    pub outputs: Vec<String>,
}

/// Which UniLock object realises a rule target. Exactly one field.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Binding {
    #[serde(default)]
    pub shared_exception: Option<u32>,
    #[serde(default)]
    pub person_group: Option<String>,
    /// A klar-owned exception on this table (the default for doors, zones and outputs is their
    /// own table).
    #[serde(default)]
    pub table: Option<String>,
}

/// The validated installation the simulator and the driver use.
#[derive(Debug, Clone)]
pub struct Installation {
    pub time_zone: Tz,
    pub fictive_days: Vec<String>,
    pub tables: BTreeMap<String, WeeklyTable>,
    pub doors: BTreeMap<String, String>,
    pub zones: BTreeMap<String, String>,
    pub outputs: BTreeMap<String, String>,
    pub groups: BTreeMap<String, GroupConfig>,
    pub shared_exceptions: BTreeMap<u32, SharedExceptionFunction>,
    pub settings: SimSettings,
}

/// What one shared exception drives.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SharedExceptionFunction {
    pub name: String,
    pub doors: BTreeMap<String, DoorLevel>,
    pub zones: Vec<String>,
    pub outputs: Vec<String>,
}

/// A `[controller]` table that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("[controller]: {0}")]
pub struct ConfigError(pub String);

impl UnilockConfig {
    /// Parses the raw `[controller]` table.
    pub fn from_table(table: &toml::Table) -> Result<UnilockConfig, ConfigError> {
        let config: UnilockConfig = toml::Value::Table(table.clone())
            .try_into()
            .map_err(|e: toml::de::Error| ConfigError(e.message().to_owned()))?;
        match config.kind.as_str() {
            "unilock-sim" => {}
            "unilock-http" if config.url.is_some() => {}
            "unilock-http" => {
                return Err(ConfigError(
                    "kind = \"unilock-http\" needs url = \"http://host:port\"".into(),
                ));
            }
            other => {
                return Err(ConfigError(format!(
                    "unknown kind {other:?} (unilock-sim or unilock-http)"
                )));
            }
        }
        for (key, b) in &config.bindings {
            let set = [
                b.shared_exception.is_some(),
                b.person_group.is_some(),
                b.table.is_some(),
            ];
            if set.iter().filter(|s| **s).count() != 1 {
                return Err(ConfigError(format!(
                    "binding {key:?} must name exactly one of shared_exception, person_group, table"
                )));
            }
        }
        Ok(config)
    }

    /// Validates the installation and returns it typed.
    pub fn installation(&self, time_zone: Tz) -> Result<Installation, ConfigError> {
        let inst = &self.installation;
        if inst.fictive_days.len() > 6 {
            return Err(ConfigError(format!(
                "installation.fictive_days has {} names; UniLock has 6 fictive day types",
                inst.fictive_days.len()
            )));
        }
        if self.settings.shared_exception_capacity == 0 {
            return Err(ConfigError(
                "settings.shared_exception_capacity must be at least 1".into(),
            ));
        }
        let mut tables = BTreeMap::new();
        for (name, days) in &inst.tables {
            tables.insert(
                name.clone(),
                WeeklyTable::parse(name, days, &inst.fictive_days).map_err(ConfigError)?,
            );
        }
        let table_of =
            |what: &str, id: &str, table: &str, levels: bool| -> Result<String, ConfigError> {
                let t = tables.get(table).ok_or_else(|| {
                    ConfigError(format!(
                        "{what} {id:?} names table {table:?}, which is not in installation.tables"
                    ))
                })?;
                if t.is_level_table() != levels {
                    let want = if levels {
                        "door levels"
                    } else {
                        "on/off values"
                    };
                    return Err(ConfigError(format!(
                        "{what} {id:?}: table {table:?} must hold {want}"
                    )));
                }
                Ok(table.to_owned())
            };
        let mut doors = BTreeMap::new();
        for (id, r) in &inst.doors {
            doors.insert(id.clone(), table_of("door", id, &r.table, true)?);
        }
        let mut zones = BTreeMap::new();
        for (id, r) in &inst.zones {
            zones.insert(id.clone(), table_of("zone", id, &r.table, false)?);
        }
        let mut outputs = BTreeMap::new();
        for (id, r) in &inst.outputs {
            outputs.insert(id.clone(), table_of("output", id, &r.table, false)?);
        }
        for (id, g) in &inst.groups {
            if let Some(t) = &g.time_table {
                table_of("group", id, t, false)?;
            }
            if let Some(d) = g.doors.iter().find(|d| !doors.contains_key(*d)) {
                return Err(ConfigError(format!(
                    "group {id:?} names door {d:?}, which is not in installation.doors"
                )));
            }
        }
        let mut shared = BTreeMap::new();
        for (key, se) in &inst.shared_exceptions {
            let id: u32 = key.parse().map_err(|_| {
                ConfigError(format!(
                    "shared exception {key:?}: the key must be its number"
                ))
            })?;
            let mut f = SharedExceptionFunction {
                name: se.name.clone(),
                ..Default::default()
            };
            for (door, level) in &se.doors {
                if !doors.contains_key(door) {
                    return Err(ConfigError(format!(
                        "shared exception {id} names door {door:?}, which is not in installation.doors"
                    )));
                }
                let level = DoorLevel::parse(level).ok_or_else(|| {
                    ConfigError(format!(
                        "shared exception {id}: door {door:?}: unknown level {level:?}"
                    ))
                })?;
                f.doors.insert(door.clone(), level);
            }
            for z in &se.zones {
                if !zones.contains_key(z) {
                    return Err(ConfigError(format!(
                        "shared exception {id} names zone {z:?}, which is not in installation.zones"
                    )));
                }
            }
            for o in &se.outputs {
                if !outputs.contains_key(o) {
                    return Err(ConfigError(format!(
                        "shared exception {id} names output {o:?}, which is not in installation.outputs"
                    )));
                }
            }
            f.zones = se.zones.clone();
            f.outputs = se.outputs.clone();
            shared.insert(id, f);
        }
        for (key, b) in &self.bindings {
            if let Some(id) = b.shared_exception
                && !shared.contains_key(&id)
            {
                return Err(ConfigError(format!(
                    "binding {key:?} names shared exception {id}, which is not in installation.shared_exceptions"
                )));
            }
            if let Some(g) = &b.person_group
                && !inst.groups.contains_key(g)
            {
                return Err(ConfigError(format!(
                    "binding {key:?} names person group {g:?}, which is not in installation.groups"
                )));
            }
            if let Some(t) = &b.table
                && !tables.contains_key(t)
            {
                return Err(ConfigError(format!(
                    "binding {key:?} names table {t:?}, which is not in installation.tables"
                )));
            }
        }
        Ok(Installation {
            time_zone,
            fictive_days: inst.fictive_days.clone(),
            tables,
            doors,
            zones,
            outputs,
            groups: inst.groups.clone(),
            shared_exceptions: shared,
            settings: self.settings.clone(),
        })
    }
}
