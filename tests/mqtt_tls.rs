//! MQTT over TLS: klar verifies the broker's certificate against the configured CA, publishes
//! and reads back over the encrypted connection; a broker whose certificate the CA did not sign
//! is refused.

mod common;
#[path = "common/mosquitto.rs"]
mod mosquitto;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use klar_adapters::controllers::mqtt::{MqttConfig, MqttController, MqttPayload, MqttTopic};
use klar_engine::plan::Target;
use mosquitto::{Mosquitto, plan_of};

#[test]
fn klar_publishes_over_tls_to_a_broker_the_ca_vouches_for() {
    let broker = Mosquitto::start_tls();
    let mut config = MqttConfig::for_url(broker.url());
    config.ca_file = Some(broker.ca_file());
    let settings = config.resolve(Path::new(".")).unwrap();
    let mut controller = MqttController::new(&settings, BTreeSet::new()).unwrap();
    controller.wait_connected(Duration::from_secs(10)).unwrap();

    let t = |h| Utc.with_ymd_and_hms(2026, 11, 23, h, 0, 0).unwrap();
    let output = Target::Output {
        output: "K-1".into(),
    };
    let plan = plan_of(t(8), &[(output, t(9), t(10), "b1")]);
    let report = controller.publish_plan(&plan, t(9)).unwrap();
    // publish_plan reads back through the broker and verifies; the state is there.
    assert!(report.actions.iter().any(|a| a.key() == &MqttTopic("klar/output/K-1/state".into())
        && matches!(a, klar_engine::reconcile::Action::Create { object: MqttPayload::State(s), .. } if s == "on")));
    assert!(
        controller
            .publish_plan(&plan, t(9))
            .unwrap()
            .actions
            .is_empty()
    );
}

#[test]
fn a_broker_certificate_from_another_ca_is_refused() {
    let broker = Mosquitto::start_tls();
    let other = Mosquitto::start_tls(); // only for its CA
    let mut config = MqttConfig::for_url(broker.url());
    config.ca_file = Some(other.ca_file());
    let settings = config.resolve(Path::new(".")).unwrap();
    let controller = MqttController::new(&settings, BTreeSet::new()).unwrap();
    let error = controller
        .wait_connected(Duration::from_secs(2))
        .unwrap_err();
    assert!(
        error.to_string().to_lowercase().contains("certificate"),
        "{error}"
    );
    assert!(!controller.is_connected());
}
