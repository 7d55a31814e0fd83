//! UniLock: the simulator, the driver from desired state to UniLock objects, and the HTTP protocol.
//!
//! A tour:
//! - [`config`]: the `[controller]` table: driver kind, simulator settings, the simulated
//!   installation, and bindings from rule targets to UniLock objects.
//! - [`protocol`]: the controller's database and the writes and queries on it; the embedded
//!   simulator and the HTTP server speak exactly these (docs/unilock-protocol.md).
//! - [`sim`]: [`UnilockSimulator`], the faithful model: tables, special days, exceptions, shared
//!   exceptions, persons, groups, zones, outputs, capacities.
//! - [`driver`]: the plan's targets and windows turned into UniLock objects klar owns, and the
//!   [`klar_engine::reconcile::Controller`] implementations over an embedded simulator and over
//!   HTTP.
//! - [`server`]: the simulator as an HTTP server (`klar sim`).

pub mod config;
pub mod driver;
pub mod protocol;
pub mod server;
pub mod sim;

pub use config::{ConfigError, Installation, UnilockConfig};
pub use driver::{EmbeddedUnilock, HttpUnilock, UnilockDriver, UnilockKey, UnilockObject};
pub use sim::{SimError, UnilockSimulator};

/// The owner marker on everything klar writes; objects with another owner are never touched.
pub const OWNER: &str = "klar";
