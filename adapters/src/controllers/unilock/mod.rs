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

use std::path::PathBuf;
use std::time::Duration;

use klar_engine::reconcile::{Controller, ControllerError};
use klar_engine::site::SiteConfig;

/// A UniLock controller behind the trait, embedded or over HTTP.
pub type DynUnilock = Box<dyn Controller<Key = UnilockKey, Object = UnilockObject> + Send>;

/// The parsed `[controller]` table and the driver for a site.
pub fn driver_for(site: &SiteConfig) -> Result<(UnilockConfig, UnilockDriver), ConfigError> {
    let config = UnilockConfig::from_table(&site.controller)?;
    let inst = config.installation(site.site.time_zone)?;
    let driver = UnilockDriver::new(inst, config.bindings.clone());
    Ok((config, driver))
}

/// The site's controller: the embedded simulator (its database in `config.state_file`, else
/// `default_state_file`), or the HTTP driver.
pub fn controller_for(
    site: &SiteConfig,
    default_state_file: Option<PathBuf>,
) -> Result<DynUnilock, ControllerError> {
    let (config, driver) =
        driver_for(site).map_err(|e| ControllerError::Rejected(e.to_string()))?;
    match config.kind.as_str() {
        "unilock-http" => {
            let url = config
                .url
                .as_deref()
                .expect("unilock-http has a url: checked when parsed");
            Ok(Box::new(HttpUnilock::new(
                driver,
                url,
                Duration::from_millis(config.timeout_ms),
            )?))
        }
        _ => {
            let state_file = config
                .state_file
                .as_ref()
                .map(|p| site.resolve(p))
                .or(default_state_file);
            Ok(Box::new(EmbeddedUnilock::open(driver, state_file)?))
        }
    }
}
