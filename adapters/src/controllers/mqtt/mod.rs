//! The MQTT controller driver: retained state and schedule topics for building automation
//! (Home Assistant, KNX or BACnet gateways), so devices follow the plan and can enforce its
//! windows themselves while klar is away (docs/mqtt.md).
//!
//! A tour:
//! - [`config`]: the `[mqtt]` table: broker url, prefix, which targets MQTT drives, credentials
//!   by reference, TLS; a pure `validate()` and a `resolve()` that reads the secrets.
//! - [`targets`]: target patterns (`"output:*"`, `"zone:Z-HAL"`) and the pure
//!   [`TargetFilter::filter`] the daemon routes plans with when a site has several controllers.
//! - [`render`]: pure: topics, payloads, the retained messages wanted at an instant, and the next
//!   window edge.
//! - `connection`: the broker connection thread: reconnects, mirrors the retained messages under
//!   the prefix, read-back through a barrier.
//! - [`MqttController`]: the [`klar_engine::reconcile::Controller`] over a broker.
//! - [`MqttRunner`]: the scheduler: a cycle at each window edge, plan change and reconnect.

pub mod config;
mod connection;
mod driver;
pub mod render;
mod runner;
pub mod targets;

#[cfg(test)]
mod tests;

use klar_engine::reconcile::ControllerError;

pub use config::{ConfigError, MqttConfig, MqttSettings};
pub use driver::MqttController;
pub use render::{Kind, Leaf, MqttPayload, MqttTarget, MqttTopic, ScheduleDoc, ScheduleWindow};
pub use runner::{Clock, ManualClock, MqttRunner, SystemClock};
pub use targets::{TargetFilter, TargetPattern};

/// Why the MQTT driver failed. Messages never contain a password or key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MqttError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("MQTT: {0}")]
    Start(String),
    #[error("MQTT broker unreachable: {0}")]
    Unreachable(String),
    #[error("MQTT broker timed out: {0}")]
    Timeout(String),
    /// The broker refused the login or the client id; fix the config.
    #[error("MQTT broker refused klar: {0}")]
    Refused(String),
}

impl MqttError {
    /// Whether retrying later may succeed without anything changing on klar's side.
    pub fn is_transient(&self) -> bool {
        matches!(self, MqttError::Unreachable(_) | MqttError::Timeout(_))
    }
}

impl From<MqttError> for ControllerError {
    fn from(e: MqttError) -> Self {
        match e {
            MqttError::Unreachable(m) => ControllerError::Unreachable(m),
            MqttError::Timeout(m) => ControllerError::Timeout(m),
            MqttError::Refused(m) => ControllerError::Rejected(m),
            other => ControllerError::Protocol(other.to_string()),
        }
    }
}
