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

/// The owner marker older versions of klar wrote on everything, whatever the site. A site adopts
/// objects with it only when told to (`[controller] adopt_legacy_owner = true`).
pub const LEGACY_OWNER: &str = "klar";

/// The owner marker a site writes on everything: `klar:<site id>` (`[site] id`, by default a
/// slug of the site's name). Objects with another owner, another site's included, are never
/// touched.
pub fn owner_for(site: &SiteConfig) -> String {
    format!("klar:{}", site.site.id())
}

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
    let driver = UnilockDriver::new(
        inst,
        config.bindings.clone(),
        owner_for(site),
        config.adopt_legacy_owner,
    );
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

/// What the site's controller holds now, read without writing to it and without logging as if
/// anything were applied: the embedded simulator's state file (in `config.state_file`, else
/// `default_state_file`; missing: nothing applied yet), or the HTTP controller's database.
/// Blocking. For `klar state`, `klar explain` and the dashboard's explain.
pub fn read_database(
    site: &SiteConfig,
    default_state_file: Option<PathBuf>,
) -> Result<(UnilockDriver, protocol::Database), ControllerError> {
    let (config, driver) =
        driver_for(site).map_err(|e| ControllerError::Rejected(e.to_string()))?;
    let db = match config.kind.as_str() {
        "unilock-http" => {
            let url = config
                .url
                .as_deref()
                .expect("unilock-http has a url: checked when parsed");
            HttpUnilock::new(
                driver.clone(),
                url,
                Duration::from_millis(config.timeout_ms),
            )?
            .database()?
        }
        _ => match config
            .state_file
            .as_ref()
            .map(|p| site.resolve(p))
            .or(default_state_file)
        {
            Some(path) => driver::load_database(&path).map_err(ControllerError::Protocol)?,
            None => protocol::Database::default(),
        },
    };
    Ok((driver, db))
}
