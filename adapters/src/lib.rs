//! klar's adapters: the world outside the engine.
//!
//! A tour:
//! - `http`: the one HTTP client every source uses (timeouts, retries with backoff and jitter,
//!   `Retry-After`, body-size limit, redaction of secrets).
//! - `sources`: the `Source` trait and the Pronestor, WinKAS, iCalendar and local-file sources,
//!   each normalising into the engine's `Booking`.
//! - `controllers`: the UniLock simulator, the UniLock drivers (embedded and HTTP), MQTT.
//! - `fake`: fake Pronestor and WinKAS servers speaking the vendors' wire formats, quirks and
//!   failures, for tests, the demo and commissioning without the real systems.

pub mod controllers;
pub mod fake;
pub mod http;
pub mod sources;
