//! The `[daemon]` table of the site config: log level, poll cadences, reconcile tick, debounce.

use std::time::Duration;

use serde::Deserialize;

/// `[daemon]`, with the defaults that give 60-second freshness (docs/daemon.md).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DaemonSettings {
    /// Log filter (`info`, `debug`, `klar=debug,warn`); `RUST_LOG` wins when set.
    pub log: String,
    /// Near-window polls: every this many seconds (0: none, only full polls).
    pub near_every_seconds: u64,
    /// The near window: from now to this many minutes ahead.
    pub near_ahead_minutes: u64,
    /// Full-horizon polls: every this many minutes; default: the source's own cadence
    /// (`poll_every_minutes`, 15).
    pub full_every_minutes: Option<u64>,
    /// Re-plan and reconcile at least this often, so windows open and close on time.
    pub reconcile_every_seconds: u64,
    /// Quiet time after the last file event before a reload.
    pub debounce_ms: u64,
}

impl Default for DaemonSettings {
    fn default() -> Self {
        DaemonSettings {
            log: "info".into(),
            near_every_seconds: 45,
            near_ahead_minutes: 120,
            full_every_minutes: None,
            reconcile_every_seconds: 60,
            debounce_ms: 150,
        }
    }
}

impl DaemonSettings {
    /// Parses the raw `[daemon]` table; a one-line error names the problem.
    pub fn from_table(table: &toml::Table) -> Result<DaemonSettings, String> {
        let s: DaemonSettings = toml::Value::Table(table.clone())
            .try_into()
            .map_err(|e: toml::de::Error| format!("[daemon]: {}", e.message()))?;
        if s.reconcile_every_seconds == 0 {
            return Err("[daemon]: reconcile_every_seconds must be at least 1".into());
        }
        if s.near_every_seconds > 0 && s.near_ahead_minutes == 0 {
            return Err("[daemon]: near_ahead_minutes must be at least 1".into());
        }
        if s.full_every_minutes == Some(0) {
            return Err("[daemon]: full_every_minutes must be at least 1".into());
        }
        Ok(s)
    }

    pub fn reconcile_every(&self) -> Duration {
        Duration::from_secs(self.reconcile_every_seconds)
    }

    pub fn debounce(&self) -> Duration {
        Duration::from_millis(self.debounce_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_errors() {
        let d = DaemonSettings::from_table(&toml::Table::new()).unwrap();
        assert_eq!(d.near_every_seconds, 45);
        let t: toml::Table = toml::from_str("log = \"debug\"\nnear_every_seconds = 30").unwrap();
        assert_eq!(
            DaemonSettings::from_table(&t).unwrap().near_every_seconds,
            30
        );
        let bad: toml::Table = toml::from_str("near_every = 30").unwrap();
        assert!(
            DaemonSettings::from_table(&bad)
                .unwrap_err()
                .contains("near_every")
        );
    }
}
