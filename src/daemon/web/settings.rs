//! The `[web]` table of the site config: where the dashboard listens and its token, the limits
//! that keep slow or idle clients from starving the daemon, login sessions, the reverse proxy
//! in front of it, how persons are shown, and the web sync's cooldown (docs/dashboard.md).

use std::time::Duration;

use klar_engine::site::SiteConfig;
use serde::Deserialize;

/// Every key `[web]` knows, for the unknown-key error.
const KEYS: &[&str] = &[
    "listen",
    "token_file",
    "header_timeout_seconds",
    "request_timeout_seconds",
    "max_connections",
    "session_hours",
    "public_origin",
    "show_email",
    "sync_cooldown_seconds",
];

/// `[web]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default)]
pub struct WebSettings {
    /// Where the dashboard listens; `--listen` wins.
    pub listen: Option<toml::Value>,
    /// The token's file, relative to the config; `KLAR_WEB_TOKEN` wins.
    pub token_file: Option<toml::Value>,
    /// A client must have sent a request's headers this many seconds after it connected or
    /// after its previous answer (so an idle keep-alive connection is closed then too).
    pub header_timeout_seconds: u64,
    /// A request's body must have arrived and its answer been made within this many seconds
    /// (else 408), and an answer the client does not read is given up after as long.
    pub request_timeout_seconds: u64,
    /// At most this many connections at once (lowered to what the file limit leaves after the
    /// daemon's own files and sockets). At the limit the longest-waiting idle connection is
    /// closed to make room; when none is idle, a new one is refused.
    pub max_connections: usize,
    /// A login lasts this many hours (then the form again); `POST /logout` ends it at once.
    pub session_hours: u64,
    /// The address people use through a reverse proxy, such as `https://klar.example.dk`:
    /// its `Origin` is accepted for actions, an `https` one makes the login cookie `Secure`,
    /// and the proxy's `X-Forwarded-For`/`-Proto` are believed from a loopback peer.
    pub public_origin: Option<String>,
    /// Show persons' e-mail addresses (their keys) instead of a name and a reference.
    pub show_email: bool,
    /// A web "sync now" polls each source at most once per this many seconds; requests in
    /// between are coalesced into one poll when the time has passed.
    pub sync_cooldown_seconds: u64,
}

impl Default for WebSettings {
    fn default() -> Self {
        WebSettings {
            listen: None,
            token_file: None,
            header_timeout_seconds: 10,
            request_timeout_seconds: 30,
            max_connections: 256,
            session_hours: 12,
            public_origin: None,
            show_email: false,
            sync_cooldown_seconds: 30,
        }
    }
}

fn bad(message: String) -> anyhow::Error {
    crate::cli::BadInput(message).into()
}

impl WebSettings {
    /// Parses and checks the site's `[web]` table; a one-line error names the key.
    pub fn of(site: &SiteConfig) -> anyhow::Result<WebSettings> {
        for key in site.web.keys() {
            if !KEYS.contains(&key.as_str()) {
                return Err(bad(format!(
                    "[web]: unknown key `{key}` (known: {})",
                    KEYS.join(", ")
                )));
            }
        }
        let s: WebSettings = toml::Value::Table(site.web.clone())
            .try_into()
            .map_err(|e: toml::de::Error| bad(format!("[web]: {}", e.message())))?;
        for (key, value) in [
            ("header_timeout_seconds", s.header_timeout_seconds),
            ("request_timeout_seconds", s.request_timeout_seconds),
            ("session_hours", s.session_hours),
            ("sync_cooldown_seconds", s.sync_cooldown_seconds),
        ] {
            if value == 0 || value > 7 * 24 * 3600 {
                return Err(bad(format!(
                    "[web] {key}: {value} is out of range (1 to 604800)"
                )));
            }
        }
        if s.max_connections == 0 || s.max_connections > 100_000 {
            return Err(bad(format!(
                "[web] max_connections: {} is out of range (1 to 100000)",
                s.max_connections
            )));
        }
        if let Some(origin) = &s.public_origin {
            public_origin(origin).map_err(bad)?;
        }
        Ok(s)
    }

    /// The address to listen on: `listen`, else 127.0.0.1:7878.
    pub fn listen(&self) -> anyhow::Result<std::net::SocketAddr> {
        match &self.listen {
            None => Ok(std::net::SocketAddr::from(([127, 0, 0, 1], 7878))),
            Some(v) => v.as_str().and_then(|s| s.parse().ok()).ok_or_else(|| {
                bad(format!(
                    "[web] listen: {v} is not an address with a port, such as \"127.0.0.1:7878\""
                ))
            }),
        }
    }

    pub fn header_timeout(&self) -> Duration {
        Duration::from_secs(self.header_timeout_seconds)
    }

    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_seconds)
    }

    pub fn session_length(&self) -> Duration {
        Duration::from_secs(self.session_hours * 3600)
    }

    pub fn sync_cooldown(&self) -> Duration {
        Duration::from_secs(self.sync_cooldown_seconds)
    }

    /// The public origin, normalised (`https://klar.example.dk`, lower case, no slash).
    pub fn origin(&self) -> Option<String> {
        self.public_origin
            .as_deref()
            .and_then(|o| public_origin(o).ok())
    }
}

/// `scheme://host[:port]` in lower case without a trailing slash; an error says what is wrong.
fn public_origin(text: &str) -> Result<String, String> {
    let trimmed = text.trim().trim_end_matches('/').to_ascii_lowercase();
    let rest = trimmed
        .strip_prefix("https://")
        .or_else(|| trimmed.strip_prefix("http://"))
        .ok_or_else(|| {
            format!("[web] public_origin: {text:?} must start with https:// (or http://)")
        })?;
    if rest.is_empty()
        || rest
            .chars()
            .any(|c| matches!(c, '/' | '?' | '#' | '@') || c.is_whitespace() || c.is_control())
    {
        return Err(format!(
            "[web] public_origin: {text:?} must be only a scheme and a host (and port), such as \"https://klar.example.dk\""
        ));
    }
    Ok(trimmed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(web: &str) -> (tempfile::TempDir, SiteConfig) {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("site.toml");
        std::fs::write(&config, format!("[site]\nname = \"t\"\n[web]\n{web}\n")).unwrap();
        let site = SiteConfig::load(&config).unwrap();
        (dir, site)
    }

    #[test]
    fn defaults_and_errors() {
        let (_d, s) = site("");
        let w = WebSettings::of(&s).unwrap();
        assert_eq!(w, WebSettings::default());
        assert_eq!(w.listen().unwrap().to_string(), "127.0.0.1:7878");
        let (_d, s) = site("token = \"x\"");
        let e = WebSettings::of(&s).unwrap_err().to_string();
        assert!(e.contains("[web]: unknown key `token`"), "{e}");
        let (_d, s) = site("header_timeout_seconds = 0");
        let e = WebSettings::of(&s).unwrap_err().to_string();
        assert!(e.contains("header_timeout_seconds"), "{e}");
        let (_d, s) = site("max_connections = \"many\"");
        assert!(WebSettings::of(&s).is_err());
        let (_d, s) = site("public_origin = \"klar.example.dk\"");
        let e = WebSettings::of(&s).unwrap_err().to_string();
        assert!(e.contains("https://"), "{e}");
        let (_d, s) = site("public_origin = \"https://klar.example.dk/dashboard\"");
        assert!(WebSettings::of(&s).is_err());
        let (_d, s) = site("public_origin = \"HTTPS://Klar.Example.dk:8443/\"");
        let w = WebSettings::of(&s).unwrap();
        assert_eq!(w.origin().as_deref(), Some("https://klar.example.dk:8443"));
    }
}
