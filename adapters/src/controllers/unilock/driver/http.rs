//! `HttpUnilock`: the driver over HTTP, speaking docs/unilock-protocol.md to `klar sim` (or any
//! controller gateway speaking it). Blocking; call from `spawn_blocking` in async code.

use std::time::Duration;

use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

use klar_engine::model::Window;
use klar_engine::plan::{Plan, Target};
use klar_engine::reconcile::{Action, Controller, ControllerError, Desired, Observed};
use serde::Deserialize;

use super::{UnilockDriver, UnilockKey, UnilockObject};
use crate::controllers::unilock::protocol::Database;

/// The HTTP UniLock controller.
#[derive(Debug)]
pub struct HttpUnilock {
    driver: UnilockDriver,
    base: String,
    client: reqwest::blocking::Client,
}

/// An error body: `{"error": "...", "kind": "capacity"}`.
#[derive(Debug, Deserialize)]
struct ErrorBody {
    error: String,
}

impl HttpUnilock {
    /// A client for the server at `url` (`http://127.0.0.1:7070`), each request bounded by
    /// `timeout`.
    pub fn new(
        driver: UnilockDriver,
        url: &str,
        timeout: Duration,
    ) -> Result<Self, ControllerError> {
        let client = reqwest::blocking::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .build()
            .map_err(|e| ControllerError::Protocol(format!("cannot build the HTTP client: {e}")))?;
        Ok(HttpUnilock {
            driver,
            base: url.trim_end_matches('/').to_owned(),
            client,
        })
    }

    pub fn driver(&self) -> &UnilockDriver {
        &self.driver
    }

    /// The controller's whole database.
    pub fn database(&self) -> Result<Database, ControllerError> {
        let response = self
            .client
            .get(format!("{}/v1/database", self.base))
            .send()
            .map_err(transport)?;
        read(response)
    }
}

fn transport(e: reqwest::Error) -> ControllerError {
    // reqwest's message names the URL only; no body, so no PIN.
    if e.is_timeout() {
        ControllerError::Timeout(e.to_string())
    } else if e.is_connect() || e.is_request() {
        ControllerError::Unreachable(e.to_string())
    } else {
        ControllerError::Protocol(e.to_string())
    }
}

fn read<T: serde::de::DeserializeOwned>(
    response: reqwest::blocking::Response,
) -> Result<T, ControllerError> {
    let status = response.status();
    let body = response.bytes().map_err(transport)?;
    if status.is_success() {
        return serde_json::from_slice(&body)
            .map_err(|e| ControllerError::Protocol(format!("bad answer: {e}")));
    }
    let message = serde_json::from_slice::<ErrorBody>(&body)
        .map(|b| b.error)
        .unwrap_or_else(|_| format!("HTTP {status}"));
    if status.is_client_error() {
        Err(ControllerError::Rejected(message))
    } else {
        Err(ControllerError::Unreachable(format!(
            "HTTP {status}: {message}"
        )))
    }
}

impl Controller for HttpUnilock {
    type Key = UnilockKey;
    type Object = UnilockObject;

    fn name(&self) -> &str {
        "unilock-http"
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
        let db = self.database()?;
        Ok(self.driver.observed(&db))
    }

    fn apply(
        &mut self,
        action: &Action<UnilockKey, UnilockObject>,
        at: DateTime<Utc>,
    ) -> Result<(), ControllerError> {
        let req = self.driver.write_for(action, at);
        let response = self
            .client
            .post(format!("{}/v1/write", self.base))
            .json(&req)
            .send()
            .map_err(transport)?;
        let _: serde_json::Value = read(response)?;
        Ok(())
    }
}
