//! Booking sources: the [`Source`] trait and the Pronestor, WinKAS, iCalendar and local-file
//! sources, each normalising into the engine's `Booking`.
//!
//! Each source is a folder: `config.rs` (the `[[sources]]` settings, a pure `validate()`),
//! `wire.rs` (the vendor's JSON, parsed tolerantly), `mod.rs` (the source itself) and `tests.rs`.
//! [`build`] turns a `[[sources]]` entry into a boxed source. [`guard`] decides what is in force
//! after each poll, so that an outage or a glitch never reads as "no bookings".

pub mod guard;
pub mod ical;
pub mod local;
pub mod pronestor;
#[cfg(test)]
mod props;
pub mod secret_ref;
pub mod text;
pub mod time;
pub mod winkas;

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use klar_engine::model::{Booking, BookingId, ResourceId, SourceName, Window};
use klar_engine::site::SourceConfig;
use serde::{Deserialize, Serialize};

use crate::http::{HttpClient, HttpError};

/// A boxed future, so that [`Source`] can be used as a trait object.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One poll: the instant the caller considers "now" and the window it wants bookings for.
/// Sources never read the clock; the daemon passes it in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollRequest {
    pub now: DateTime<Utc>,
    pub window: Window,
}

/// What a poll found: the bookings overlapping the window, cancellations included where the
/// source knows them, and the window the answer covers (the guard uses it to tell a booking
/// that was cancelled from one that merely lies outside the window).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PollOutcome {
    pub window: Window,
    pub bookings: Vec<Booking>,
    /// Entries of the answer that could not be read as bookings (a Stop before its Start, a
    /// date that does not parse). They are set aside one by one: the rest of the answer is
    /// used, and a booking klar knew under that id stays in force as it was (the guard).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unusable: Vec<Unusable>,
}

/// One entry of a source's answer that is not a usable booking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unusable {
    /// The bookings klar knows under this entry (its id, or a meeting's rooms), if any.
    pub ids: Vec<BookingId>,
    /// What is wrong, naming the entry: `resource 7, booking #3: Stop (...) is not after Start (...)`.
    pub problem: String,
}

/// A bookable resource as a source reports it, for `klar sources rooms`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resource {
    pub id: ResourceId,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Extra facts worth showing (capacity, category, time zone).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<(String, String)>,
}

/// How often a source wants to be polled and how far ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cadence {
    pub every: Duration,
    /// The poll window is `[now - behind, now + ahead)`.
    pub ahead: Duration,
    pub behind: Duration,
}

impl Cadence {
    /// The window to ask for at `now`.
    pub fn window(&self, now: DateTime<Utc>) -> Window {
        let behind = chrono::Duration::from_std(self.behind).unwrap_or_default();
        let ahead = chrono::Duration::from_std(self.ahead).unwrap_or(chrono::Duration::hours(24));
        Window::new(now - behind, now + ahead.max(chrono::Duration::minutes(1)))
            .expect("ahead is at least a minute, behind is not negative")
    }
}

/// A booking source. Constructors are not part of the trait: see [`build`].
pub trait Source: Send {
    fn name(&self) -> &SourceName;
    /// `pronestor`, `winkas`, `ical` or `local`.
    fn kind(&self) -> &'static str;
    fn cadence(&self) -> Cadence;
    /// The bookings overlapping `req.window`. A failure is an error, never an empty list.
    fn poll(&mut self, req: PollRequest) -> BoxFuture<'_, Result<PollOutcome, SourceError>>;
    /// Every resource the source reports (rooms to bind in the site config).
    fn resources(
        &mut self,
        now: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<Vec<Resource>, SourceError>>;
}

/// Why a poll failed. Texts never carry passwords, tokens or cookies.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error(transparent)]
    Http(#[from] HttpError),
    #[error("login rejected: {0}")]
    LoginRejected(String),
    #[error("the session expired again right after logging in: {0}")]
    SessionExpired(String),
    #[error("the vendor reported an error: {0}")]
    Vendor(String),
    #[error("malformed answer from {what}: {message}")]
    Malformed { what: String, message: String },
    #[error("cannot read {path}: {message}")]
    Read { path: PathBuf, message: String },
}

impl SourceError {
    /// Whether the next poll may succeed without anyone changing anything. A rejected login or
    /// an unreadable file needs a person; everything else may pass.
    pub fn is_transient(&self) -> bool {
        match self {
            SourceError::Http(e) => e.is_transient(),
            SourceError::LoginRejected(_) | SourceError::Read { .. } => false,
            SourceError::SessionExpired(_)
            | SourceError::Vendor(_)
            | SourceError::Malformed { .. } => true,
        }
    }
}

/// A `[[sources]]` entry that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("source {source_name:?} ({kind}): {message}")]
pub struct SourceConfigError {
    pub source_name: String,
    pub kind: String,
    pub message: String,
}

/// What building a source needs from the binary.
#[derive(Debug, Clone)]
pub struct BuildContext {
    pub http: HttpClient,
    /// Relative paths in settings are resolved against this folder (the config's).
    pub base_dir: PathBuf,
    /// The site's zone, the default for sources whose data is in local time.
    pub time_zone: Tz,
}

/// The source kinds [`build`] knows.
pub const KINDS: &[&str] = &["pronestor", "winkas", "ical", "local"];

/// Parses, validates and builds a source from its `[[sources]]` entry. Resolves secrets from
/// the environment or files; connects to nothing.
pub fn build(
    config: &SourceConfig,
    ctx: &BuildContext,
) -> Result<Box<dyn Source>, SourceConfigError> {
    let err = |message: String| SourceConfigError {
        source_name: config.name.clone(),
        kind: config.kind.clone(),
        message,
    };
    let name = SourceName::new(config.name.clone());
    match config.kind.as_str() {
        "winkas" => {
            let c = winkas::WinkasConfig::parse(&config.settings).map_err(err)?;
            Ok(Box::new(
                winkas::WinkasSource::build(name, c, ctx).map_err(err)?,
            ))
        }
        "pronestor" => {
            let c = pronestor::PronestorConfig::parse(&config.settings).map_err(err)?;
            Ok(Box::new(
                pronestor::PronestorSource::build(name, c, ctx).map_err(err)?,
            ))
        }
        "ical" | "ics" | "icalendar" => {
            let c = ical::IcalConfig::parse(&config.settings).map_err(err)?;
            Ok(Box::new(
                ical::IcalSource::build(name, c, ctx).map_err(err)?,
            ))
        }
        "local" => {
            let c = local::LocalConfig::parse(&config.settings).map_err(err)?;
            Ok(Box::new(
                local::LocalSource::build(name, c, ctx).map_err(err)?,
            ))
        }
        other => Err(err(format!(
            "unknown kind {other:?}; known kinds: {}",
            KINDS.join(", ")
        ))),
    }
}

/// Parses and validates a source's `[[sources]]` entry without reading its secrets or building
/// anything: what `klar check` reports before a daemon would start.
pub fn check(config: &SourceConfig) -> Result<(), SourceConfigError> {
    let err = |message: String| SourceConfigError {
        source_name: config.name.clone(),
        kind: config.kind.clone(),
        message,
    };
    match config.kind.as_str() {
        "winkas" => winkas::WinkasConfig::parse(&config.settings).map(drop),
        "pronestor" => pronestor::PronestorConfig::parse(&config.settings).map(drop),
        "ical" | "ics" | "icalendar" => ical::IcalConfig::parse(&config.settings).map(drop),
        "local" => local::LocalConfig::parse(&config.settings).map(drop),
        other => Err(format!(
            "unknown kind {other:?}; known kinds: {}",
            KINDS.join(", ")
        )),
    }
    .map_err(err)
}

/// Parses a settings table into a config struct, with a one-line error.
pub(crate) fn parse_settings<T: serde::de::DeserializeOwned>(
    settings: &toml::Table,
) -> Result<T, String> {
    settings
        .clone()
        .try_into::<T>()
        .map_err(|e| e.message().to_owned())
}

/// Minutes from a config value, as a `Duration`.
pub(crate) fn minutes(m: u32) -> Duration {
    Duration::from_secs(u64::from(m) * 60)
}

/// Hours from a config value, as a `Duration`.
pub(crate) fn hours(h: u32) -> Duration {
    Duration::from_secs(u64::from(h) * 3600)
}
