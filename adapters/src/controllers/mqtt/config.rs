//! The `[mqtt]` table of the site config: the broker, the topic prefix, which targets MQTT
//! drives, credentials by reference and TLS (docs/mqtt.md). Parsed, then a pure
//! [`MqttConfig::validate`]; [`MqttConfig::resolve`] reads the secrets and certificates.

use std::path::{Path, PathBuf};
use std::time::Duration;

use klar_engine::model::Secret;
use serde::Deserialize;

use super::targets::{PatternKind, TargetFilter};
use crate::sources::secret_ref::SecretRef;

/// The parsed `[mqtt]` table.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MqttConfig {
    /// `mqtt://host[:port]` (plain, default port 1883) or `mqtts://host[:port]` (TLS, 8883).
    pub url: String,
    /// The first topic levels of everything klar publishes; may contain `/`.
    #[serde(default = "default_prefix")]
    pub prefix: String,
    /// The MQTT client id; one klar per id (the broker drops an older connection with the same
    /// id).
    #[serde(default = "default_client_id")]
    pub client_id: String,
    /// Which plan targets MQTT drives: `"output:*"`, `"zone:Z-HAL"`, `"door:D-1*"`.
    #[serde(default = "default_targets")]
    pub targets: Vec<String>,
    #[serde(default)]
    pub username: Option<String>,
    /// The password's environment variable; never the password itself.
    #[serde(default)]
    pub password_env: Option<String>,
    /// A file holding the password (relative to the config file).
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    /// For `mqtts://`: the CA certificates (PEM) the broker's certificate must chain to;
    /// default the system's bundle.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// For `mqtts://` with client certificates: PEM certificate and key.
    #[serde(default)]
    pub client_cert_file: Option<PathBuf>,
    #[serde(default)]
    pub client_key_file: Option<PathBuf>,
    #[serde(default = "default_keep_alive")]
    pub keep_alive_secs: u64,
    /// How long one read-back from the broker may take.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// Between window edges, klar re-checks the broker this often and puts back anything that
    /// differs (a retained message someone else overwrote or cleared).
    #[serde(default = "default_resync")]
    pub resync_secs: u64,
}

fn default_prefix() -> String {
    "klar".into()
}
fn default_client_id() -> String {
    "klar".into()
}
fn default_targets() -> Vec<String> {
    vec!["output:*".into()]
}
fn default_keep_alive() -> u64 {
    30
}
fn default_timeout_ms() -> u64 {
    5000
}
fn default_resync() -> u64 {
    60
}

/// The system's CA bundle on Debian and its relatives, used when `ca_file` is not set.
const SYSTEM_CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

/// A `[mqtt]` table that cannot be used. Messages name keys, variables and files, never a
/// secret's value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("[mqtt]: {0}")]
    Parse(String),
    #[error("[mqtt]: {0}")]
    Invalid(String),
    /// A secret or certificate could not be read.
    #[error("[mqtt]: {0}")]
    Resolve(String),
}

/// The broker address, parsed from `url`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broker {
    pub host: String,
    pub port: u16,
    pub tls: bool,
}

/// Everything the driver needs, secrets read. `Debug` shows no secret.
#[derive(Debug, Clone)]
pub struct MqttSettings {
    pub broker: Broker,
    pub prefix: String,
    pub client_id: String,
    pub filter: TargetFilter,
    pub credentials: Option<(String, Option<Secret>)>,
    pub tls: Option<TlsFiles>,
    pub keep_alive: Duration,
    pub timeout: Duration,
    pub resync: Duration,
}

/// PEM bytes for TLS. Private keys are secrets: `Debug` shows only sizes.
#[derive(Clone)]
pub struct TlsFiles {
    pub ca: Vec<u8>,
    pub client_auth: Option<(Vec<u8>, Secret)>,
}

impl std::fmt::Debug for TlsFiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsFiles")
            .field("ca_bytes", &self.ca.len())
            .field("client_auth", &self.client_auth.is_some())
            .finish()
    }
}

impl MqttConfig {
    /// Parses the raw `[mqtt]` table; `None` when the table is empty (MQTT not used).
    pub fn from_table(table: &toml::Table) -> Result<Option<MqttConfig>, ConfigError> {
        if table.is_empty() {
            return Ok(None);
        }
        let config: MqttConfig = table
            .clone()
            .try_into()
            .map_err(|e: toml::de::Error| ConfigError::Parse(e.message().to_owned()))?;
        Ok(Some(config))
    }

    /// A config for a broker on `url` with every default: for tests and the demo.
    pub fn for_url(url: impl Into<String>) -> MqttConfig {
        MqttConfig {
            url: url.into(),
            prefix: default_prefix(),
            client_id: default_client_id(),
            targets: default_targets(),
            username: None,
            password_env: None,
            password_file: None,
            ca_file: None,
            client_cert_file: None,
            client_key_file: None,
            keep_alive_secs: default_keep_alive(),
            timeout_ms: default_timeout_ms(),
            resync_secs: default_resync(),
        }
    }

    /// Pure checks: the url, the prefix, the patterns, credentials by reference, TLS files only
    /// with `mqtts://`.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |m: String| Err(ConfigError::Invalid(m));
        let broker = self.broker()?;
        let prefix = self.prefix.as_str();
        if prefix.is_empty() || prefix.starts_with('/') || prefix.ends_with('/') {
            return invalid(format!(
                "prefix {prefix:?} must be non-empty and neither start nor end with \"/\""
            ));
        }
        if prefix.contains(['+', '#', '\0']) || prefix.starts_with('$') {
            return invalid(format!(
                "prefix {prefix:?} must not contain \"+\" or \"#\" nor start with \"$\""
            ));
        }
        if prefix.split('/').any(str::is_empty) {
            return invalid(format!("prefix {prefix:?} has an empty level (\"//\")"));
        }
        if self.client_id.trim().is_empty() {
            return invalid("client_id is empty".into());
        }
        let filter = TargetFilter::parse(&self.targets).map_err(ConfigError::Invalid)?;
        if filter.patterns().is_empty() {
            return invalid("targets is empty: name what MQTT drives, e.g. [\"output:*\"]".into());
        }
        for p in filter.patterns() {
            if !matches!(
                p.kind,
                PatternKind::Door | PatternKind::Zone | PatternKind::Output
            ) {
                return invalid(format!(
                    "targets: {p}: MQTT drives doors, zones and outputs only"
                ));
            }
        }
        if self.password_env.is_some() || self.password_file.is_some() {
            if self.username.is_none() {
                return invalid("a password is set but no username".into());
            }
            self.password_ref()
                .validate("password")
                .map_err(ConfigError::Invalid)?;
        }
        let tls_files = self.ca_file.is_some()
            || self.client_cert_file.is_some()
            || self.client_key_file.is_some();
        if tls_files && !broker.tls {
            return invalid(
                "ca_file and client_cert_file/client_key_file need an mqtts:// url".into(),
            );
        }
        if self.client_cert_file.is_some() != self.client_key_file.is_some() {
            return invalid("client_cert_file and client_key_file go together".into());
        }
        if self.timeout_ms == 0 || self.resync_secs == 0 {
            return invalid("timeout_ms and resync_secs must be positive".into());
        }
        if self.keep_alive_secs != 0 && self.keep_alive_secs < 5 {
            return invalid("keep_alive_secs must be 0 (off) or at least 5".into());
        }
        Ok(())
    }

    /// The broker address from `url`. Credentials in the url are refused: they would be a
    /// secret inline in the config.
    pub fn broker(&self) -> Result<Broker, ConfigError> {
        let invalid = |m: String| ConfigError::Invalid(m);
        let url = url::Url::parse(&self.url)
            .map_err(|e| invalid(format!("url {:?}: {e}", redact_url(&self.url))))?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(invalid(
                "url must not hold credentials: use username and password_env or password_file"
                    .into(),
            ));
        }
        let tls = match url.scheme() {
            "mqtt" | "tcp" => false,
            "mqtts" | "ssl" => true,
            other => {
                return Err(invalid(format!(
                    "url scheme {other:?}: use mqtt:// or mqtts://"
                )));
            }
        };
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| invalid(format!("url {:?} has no host", self.url)))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        if !matches!(url.path(), "" | "/") {
            return Err(invalid(format!(
                "url {:?}: a path is not allowed",
                self.url
            )));
        }
        let port = url.port().unwrap_or(if tls { 8883 } else { 1883 });
        Ok(Broker { host, port, tls })
    }

    /// The targets MQTT drives, for routing the plan between controllers.
    pub fn filter(&self) -> Result<TargetFilter, ConfigError> {
        TargetFilter::parse(&self.targets).map_err(ConfigError::Invalid)
    }

    fn password_ref(&self) -> SecretRef {
        SecretRef {
            env: self.password_env.clone(),
            file: self.password_file.clone(),
        }
    }

    /// Validates, then reads the password and the TLS files. `base_dir` is the config file's
    /// folder, for relative paths.
    pub fn resolve(&self, base_dir: &Path) -> Result<MqttSettings, ConfigError> {
        self.validate()?;
        let broker = self.broker()?;
        let filter = self.filter()?;
        let credentials = match &self.username {
            None => None,
            Some(user) if self.password_env.is_none() && self.password_file.is_none() => {
                Some((user.clone(), None))
            }
            Some(user) => {
                let secret = self
                    .password_ref()
                    .resolve("password", base_dir)
                    .map_err(ConfigError::Resolve)?;
                Some((user.clone(), Some(secret)))
            }
        };
        let tls = if broker.tls {
            let read = |p: &Path, what: &str| {
                let path = if p.is_absolute() {
                    p.to_owned()
                } else {
                    base_dir.join(p)
                };
                std::fs::read(&path).map_err(|e| {
                    ConfigError::Resolve(format!(
                        "{what}: cannot read {}: {}",
                        path.display(),
                        e.kind()
                    ))
                })
            };
            let ca = match &self.ca_file {
                Some(p) => read(p, "ca_file")?,
                None => read(
                    Path::new(SYSTEM_CA_BUNDLE),
                    "the system CA bundle (set ca_file)",
                )?,
            };
            let client_auth = match (&self.client_cert_file, &self.client_key_file) {
                (Some(cert), Some(key)) => {
                    let key = read(key, "client_key_file")?;
                    let key = String::from_utf8(key).map_err(|_| {
                        ConfigError::Resolve("client_key_file is not PEM text".into())
                    })?;
                    Some((read(cert, "client_cert_file")?, Secret::new(key)))
                }
                _ => None,
            };
            Some(TlsFiles { ca, client_auth })
        } else {
            None
        };
        Ok(MqttSettings {
            broker,
            prefix: self.prefix.clone(),
            client_id: self.client_id.clone(),
            filter,
            credentials,
            tls,
            keep_alive: Duration::from_secs(self.keep_alive_secs),
            timeout: Duration::from_millis(self.timeout_ms),
            resync: Duration::from_secs(self.resync_secs),
        })
    }
}

/// A url with any userinfo replaced, for messages.
fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://***@{}", &url[..s], &url[at + 1..]),
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<MqttConfig, ConfigError> {
        let table: toml::Table = toml::from_str(text).unwrap();
        MqttConfig::from_table(&table).map(|c| c.expect("non-empty table"))
    }

    #[test]
    fn an_empty_table_means_mqtt_is_off() {
        assert_eq!(MqttConfig::from_table(&toml::Table::new()), Ok(None));
    }

    #[test]
    fn defaults_and_a_full_table() {
        let c = parse(r#"url = "mqtt://127.0.0.1""#).unwrap();
        c.validate().unwrap();
        assert_eq!(
            c.broker().unwrap(),
            Broker {
                host: "127.0.0.1".into(),
                port: 1883,
                tls: false
            }
        );
        assert_eq!(c.prefix, "klar");
        assert_eq!(c.targets, ["output:*"]);

        let c = parse(
            r#"
            url = "mqtts://broker.example:8884"
            prefix = "site/nbs/klar"
            client_id = "klar-nbs"
            targets = ["output:*", "zone:Z-HAL"]
            username = "klar"
            password_env = "KLAR_MQTT_PASSWORD"
            ca_file = "ca.pem"
            "#,
        )
        .unwrap();
        c.validate().unwrap();
        assert_eq!(c.broker().unwrap().port, 8884);
        assert!(c.broker().unwrap().tls);
    }

    #[test]
    fn unknown_keys_and_inline_passwords_are_refused() {
        let e = parse("url = \"mqtt://h\"\npassword = \"hemmeligt\"").unwrap_err();
        assert!(e.to_string().contains("password"), "{e}");
        assert!(!e.to_string().contains("hemmeligt"), "{e}");
        let e = parse(r#"url = "mqtt://klar:hemmeligt@h""#)
            .unwrap()
            .validate()
            .unwrap_err();
        assert!(e.to_string().contains("credentials"), "{e}");
        assert!(!e.to_string().contains("hemmeligt"), "{e}");
    }

    #[test]
    fn validate_names_what_is_wrong() {
        let bad = |extra: &str, says: &str| {
            let e = parse(&format!("url = \"mqtt://h\"\n{extra}"))
                .unwrap()
                .validate()
                .unwrap_err()
                .to_string();
            assert!(e.contains(says), "{extra}: {e}");
        };
        bad("prefix = \"klar/#\"", "must not contain");
        bad("prefix = \"/klar\"", "neither start nor end");
        bad("prefix = \"a//b\"", "empty level");
        bad("targets = [\"group:*\"]", "doors, zones and outputs only");
        bad("targets = []", "targets is empty");
        bad("targets = [\"lamp:1\"]", "unknown kind");
        bad("password_env = \"X\"", "no username");
        bad(
            "username = \"u\"\npassword_env = \"X\"\npassword_file = \"f\"",
            "not both",
        );
        bad("ca_file = \"ca.pem\"", "mqtts://");
        bad("timeout_ms = 0", "positive");
        let e = MqttConfig::for_url("http://h").validate().unwrap_err();
        assert!(e.to_string().contains("mqtt://"), "{e}");
    }

    #[test]
    fn resolve_reads_the_password_by_reference_and_debug_hides_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("pw"), "hemmeligt\n").unwrap();
        let mut c = MqttConfig::for_url("mqtt://127.0.0.1:1884");
        c.username = Some("klar".into());
        c.password_file = Some("pw".into());
        let s = c.resolve(dir.path()).unwrap();
        let (user, pw) = s.credentials.clone().unwrap();
        assert_eq!(user, "klar");
        assert_eq!(pw.unwrap().expose(), "hemmeligt");
        assert!(!format!("{s:?}").contains("hemmeligt"));

        c.password_file = None;
        c.password_env = Some("KLAR_TEST_MQTT_SURELY_UNSET".into());
        let e = c.resolve(dir.path()).unwrap_err().to_string();
        assert!(e.contains("KLAR_TEST_MQTT_SURELY_UNSET"), "{e}");
    }

    #[test]
    fn tls_files_are_read_relative_to_the_config() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ca.pem"), "PEM").unwrap();
        let mut c = MqttConfig::for_url("mqtts://h");
        c.ca_file = Some("ca.pem".into());
        let s = c.resolve(dir.path()).unwrap();
        assert_eq!(s.tls.unwrap().ca, b"PEM");
        c.ca_file = Some("missing.pem".into());
        let e = c.resolve(dir.path()).unwrap_err().to_string();
        assert!(e.contains("missing.pem"), "{e}");
    }
}
