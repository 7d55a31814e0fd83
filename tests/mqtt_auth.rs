//! MQTT credentials: the password comes by reference (a file here; an environment variable
//! works the same), a broker that requires a login accepts klar, and a wrong password is an
//! error that never shows the password.

mod common;
#[path = "common/mosquitto.rs"]
mod mosquitto;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use chrono::{TimeZone, Utc};
use klar_adapters::controllers::mqtt::{MqttConfig, MqttController};
use klar_engine::plan::Target;
use mosquitto::{Mosquitto, Subscriber, plan_of};

const PASSWORD: &str = "rød-lygte-4711";
const WRONG: &str = "forkert-kodeord-9999";

/// Every log line of this test binary, at every level, from every thread.
fn logs() -> &'static Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let sink = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || LogWriter(sink.clone()))
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("first subscriber");
        buffer
    })
}

struct LogWriter(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn logged() -> String {
    String::from_utf8_lossy(&logs().lock().unwrap()).into_owned()
}

fn config(broker: &Mosquitto, dir: &std::path::Path, password: &str) -> MqttConfig {
    std::fs::write(dir.join("mqtt-password"), format!("{password}\n")).unwrap();
    let text = format!(
        r#"
        url = "{}"
        username = "klar"
        password_file = "mqtt-password"
        targets = ["output:*"]
        "#,
        broker.url()
    );
    let table: toml::Table = toml::from_str(&text).unwrap();
    MqttConfig::from_table(&table).unwrap().unwrap()
}

#[test]
fn klar_logs_in_with_a_password_by_reference() {
    logs();
    let broker = Mosquitto::start_with_users(&[("klar", PASSWORD), ("ha", "ha-pass")]);
    let dir = tempfile::tempdir().unwrap();
    let settings = config(&broker, dir.path(), PASSWORD)
        .resolve(dir.path())
        .unwrap();
    assert!(!format!("{settings:?}").contains(PASSWORD));
    let mut controller = MqttController::new(&settings, BTreeSet::new()).unwrap();
    controller.wait_connected(Duration::from_secs(10)).unwrap();
    let t = |h| Utc.with_ymd_and_hms(2026, 11, 23, h, 0, 0).unwrap();
    let plan = plan_of(
        t(8),
        &[(
            Target::Output {
                output: "K-1".into(),
            },
            t(9),
            t(10),
            "b1",
        )],
    );
    controller.publish_plan(&plan, t(9)).unwrap();
    let mut ha = Subscriber::connect_as(&broker, "klar/#", Some(("ha", "ha-pass")));
    assert!(ha.expect("klar/output/K-1/state", "on").retained);
    drop(controller);
    let log = logged();
    assert!(log.contains("Connected to the MQTT broker"), "{log}");
    assert!(!log.contains(PASSWORD), "{log}");
}

#[test]
fn a_wrong_password_is_an_error_without_the_password() {
    logs();
    let broker = Mosquitto::start_with_users(&[("klar", PASSWORD)]);
    let dir = tempfile::tempdir().unwrap();
    let wrong = WRONG;
    let settings = config(&broker, dir.path(), wrong)
        .resolve(dir.path())
        .unwrap();
    let controller = MqttController::new(&settings, BTreeSet::new()).unwrap();
    let error = controller
        .wait_connected(Duration::from_secs(10))
        .unwrap_err();
    let text = error.to_string();
    // Not worth retrying: the config must change.
    assert!(!error.is_transient(), "{text}");
    assert!(text.contains("refused the username or password"), "{text}");
    assert!(!text.contains(wrong) && !text.contains(PASSWORD), "{text}");
    assert!(!controller.is_connected());
    let log = logged();
    assert!(log.contains("refused the username or password"), "{log}");
    assert!(!log.contains(WRONG) && !log.contains(PASSWORD), "{log}");
}
