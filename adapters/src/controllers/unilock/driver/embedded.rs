//! `EmbeddedUnilock`: the driver over a simulator in this process, its database kept in a state
//! file between runs (written after every write, atomically, so a kill loses nothing applied).

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

use klar_engine::model::Window;
use klar_engine::plan::{Plan, Target};
use klar_engine::reconcile::{Action, Controller, ControllerError, Desired, Observed};

use super::{UnilockDriver, UnilockKey, UnilockObject};
use crate::controllers::unilock::protocol::Database;
use crate::controllers::unilock::sim::{SimError, UnilockSimulator};

/// The embedded simulator as a [`Controller`].
#[derive(Debug)]
pub struct EmbeddedUnilock {
    driver: UnilockDriver,
    sim: UnilockSimulator,
    state_file: Option<PathBuf>,
}

impl EmbeddedUnilock {
    /// A simulator with the database from `state_file` if it exists (empty otherwise), saved
    /// back after every write. `None`: in memory only.
    pub fn open(
        driver: UnilockDriver,
        state_file: Option<PathBuf>,
    ) -> Result<Self, ControllerError> {
        let db = match &state_file {
            Some(path) => {
                // Written by an older klar readable by everyone: the PINs in it are not.
                klar_engine::private_file::tighten(path).map_err(|e| {
                    ControllerError::Protocol(format!(
                        "{}: cannot make it private: {e}",
                        path.display()
                    ))
                })?;
                load_database(path).map_err(ControllerError::Protocol)?
            }
            None => Database::default(),
        };
        let sim = UnilockSimulator::with_database(driver.installation().clone(), db);
        Ok(EmbeddedUnilock {
            driver,
            sim,
            state_file,
        })
    }

    pub fn simulator(&self) -> &UnilockSimulator {
        &self.sim
    }

    /// The simulator itself, to write as another owner would (an operator at the Adgangseditor).
    pub fn simulator_mut(&mut self) -> &mut UnilockSimulator {
        &mut self.sim
    }

    pub fn driver(&self) -> &UnilockDriver {
        &self.driver
    }
}

impl Controller for EmbeddedUnilock {
    type Key = UnilockKey;
    type Object = UnilockObject;

    fn name(&self) -> &str {
        "unilock-sim"
    }

    fn desired(
        &self,
        plan: &Plan,
        observed: &Observed<UnilockKey, UnilockObject>,
    ) -> Desired<UnilockKey, UnilockObject> {
        self.driver.desired(plan, observed)
    }

    fn realized(
        &self,
        plan: &Plan,
        observed: &Observed<UnilockKey, UnilockObject>,
    ) -> BTreeMap<Target, Vec<Window>> {
        self.driver.realized(plan, observed)
    }

    fn narrows(&self, before: &UnilockObject, after: &UnilockObject) -> bool {
        before.narrows_to(after)
    }

    fn observe(&mut self) -> Result<Observed<UnilockKey, UnilockObject>, ControllerError> {
        Ok(self.driver.observed(self.sim.database()))
    }

    fn apply(
        &mut self,
        action: &Action<UnilockKey, UnilockObject>,
        at: DateTime<Utc>,
    ) -> Result<(), ControllerError> {
        let req = self.driver.write_for(action, at);
        self.sim.write(&req).map_err(sim_error)?;
        if let Some(path) = &self.state_file {
            save_database(path, self.sim.database()).map_err(ControllerError::Protocol)?;
        }
        Ok(())
    }
}

/// A simulator refusal as a controller error.
pub(crate) fn sim_error(e: SimError) -> ControllerError {
    ControllerError::Rejected(e.to_string())
}

/// Reads a simulator database; a missing file is an empty database.
pub fn load_database(path: &Path) -> Result<Database, String> {
    match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text).map_err(|e| {
            format!(
                "{}: not a UniLock simulator state file: {e}",
                path.display()
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Database::default()),
        Err(e) => Err(format!("{}: cannot read: {e}", path.display())),
    }
}

/// Writes a simulator database atomically (a temporary file renamed over the old one). It holds
/// the persons' PINs and cards, so the file is readable by its owner only.
pub fn save_database(path: &Path, db: &Database) -> Result<(), String> {
    let text = serde_json::to_string_pretty(db)
        .map_err(|e| format!("cannot encode the simulator state: {e}"))?;
    let tmp = path.with_extension("tmp");
    klar_engine::private_file::write(&tmp, text.as_bytes())
        .map_err(|e| format!("{}: cannot write: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| format!("{}: cannot replace: {e}", path.display()))
}
