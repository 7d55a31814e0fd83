//! A real mosquitto broker for the MQTT tests: its own instance on a free loopback port with a
//! generated config (never the system service), stoppable and restartable on the same port;
//! and a plain MQTT subscriber that records what the broker sends.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use rumqttc::{Client, Event, MqttOptions, Packet, QoS};

/// How long the broker may take to open its listener.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// The mosquitto binary, or a failure that says how to install it.
fn mosquitto_binary() -> PathBuf {
    for candidate in [
        "/usr/sbin/mosquitto",
        "/usr/bin/mosquitto",
        "/usr/local/sbin/mosquitto",
    ] {
        if Path::new(candidate).exists() {
            return candidate.into();
        }
    }
    if let Ok(out) = Command::new("sh")
        .args(["-c", "command -v mosquitto"])
        .output()
    {
        let path = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        if out.status.success() && !path.is_empty() {
            return path.into();
        }
    }
    panic!(
        "mosquitto is not installed; the MQTT tests need a real broker. Install it with \
         `scripts/setup` or `sudo apt-get install -y mosquitto`"
    );
}

/// A running broker. Non-persistent: a restart forgets every retained message.
pub struct Mosquitto {
    pub port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
    /// `user:password` lines, when the broker requires a login.
    users: Vec<(String, String)>,
    /// Serve TLS only, with a certificate signed by the test CA at [`Mosquitto::ca_file`].
    tls: bool,
}

impl Mosquitto {
    /// Starts a broker that lets anyone in.
    pub fn start() -> Mosquitto {
        Self::start_with_users(&[])
    }

    /// Starts a broker that requires one of these logins.
    pub fn start_with_users(users: &[(&str, &str)]) -> Mosquitto {
        let mut broker = Mosquitto {
            port: crate::common::free_port(),
            dir: tempfile::tempdir().expect("a scratch folder"),
            child: None,
            users: users
                .iter()
                .map(|(u, p)| (u.to_string(), p.to_string()))
                .collect(),
            tls: false,
        };
        broker.write_config();
        broker.spawn();
        broker
    }

    /// Starts a broker that speaks TLS only, with a fresh test CA and a certificate for
    /// 127.0.0.1 made by `openssl`.
    pub fn start_tls() -> Mosquitto {
        let mut broker = Mosquitto {
            port: crate::common::free_port(),
            dir: tempfile::tempdir().expect("a scratch folder"),
            child: None,
            users: Vec::new(),
            tls: true,
        };
        make_certificates(broker.dir.path());
        broker.write_config();
        broker.spawn();
        broker
    }

    pub fn url(&self) -> String {
        let scheme = if self.tls { "mqtts" } else { "mqtt" };
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    /// The test CA's certificate (PEM), for TLS brokers.
    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    fn write_config(&self) {
        let mut conf = format!(
            "listener {} 127.0.0.1\npersistence false\nlog_dest stderr\nlog_type error\nlog_type warning\nlog_type notice\nlog_type information\n",
            self.port
        );
        // Started as root, mosquitto switches to the `mosquitto` user, which cannot read this
        // scratch folder; stay the user the tests run as.
        if let Ok(out) = Command::new("id").arg("-un").output() {
            let user = String::from_utf8_lossy(&out.stdout).trim().to_owned();
            if out.status.success() && !user.is_empty() {
                conf.push_str(&format!("user {user}\n"));
            }
        }
        if self.tls {
            let d = self.dir.path();
            conf.push_str(&format!(
                "cafile {}\ncertfile {}\nkeyfile {}\n",
                d.join("ca.pem").display(),
                d.join("server.pem").display(),
                d.join("server.key").display()
            ));
        }
        if self.users.is_empty() {
            conf.push_str("allow_anonymous true\n");
        } else {
            let passwd = self.dir.path().join("passwd");
            std::fs::write(&passwd, "").expect("write the password file");
            for (user, password) in &self.users {
                let status = Command::new("mosquitto_passwd")
                    .args(["-b"])
                    .arg(&passwd)
                    .args([user, password])
                    .status()
                    .expect("mosquitto_passwd (part of the mosquitto package) runs");
                assert!(status.success(), "mosquitto_passwd failed");
            }
            conf.push_str(&format!(
                "allow_anonymous false\npassword_file {}\n",
                passwd.display()
            ));
        }
        std::fs::write(self.dir.path().join("mosquitto.conf"), conf).expect("write the config");
    }

    /// Starts the process and waits (bounded) until its log says the listener is open.
    fn spawn(&mut self) {
        let mut child = Command::new(mosquitto_binary())
            .arg("-c")
            .arg(self.dir.path().join("mosquitto.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start mosquitto");
        // mosquitto logs to stderr unbuffered; keep draining it so the broker never blocks.
        let stderr = child.stderr.take().expect("piped stderr");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let deadline = Instant::now() + START_TIMEOUT;
        let mut log = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) if line.contains("running") => break,
                Ok(line) => log.push(line),
                Err(_) => {
                    let _ = child.kill();
                    let mut err = String::new();
                    if let Some(mut e) = child.stderr.take() {
                        let _ = std::io::Read::read_to_string(&mut e, &mut err);
                    }
                    panic!(
                        "mosquitto did not start on port {}: {log:?} {err}",
                        self.port
                    );
                }
            }
        }
        self.child = Some(child);
    }

    /// Kills the broker (as a crash would: no goodbye to the clients).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Kills the broker and starts a new one on the same port; it holds no retained messages.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A CA and a server certificate for 127.0.0.1 signed by it, in `dir`.
fn make_certificates(dir: &Path) {
    let run = |args: &[&str]| {
        let out = Command::new("openssl").args(args).current_dir(dir).output().unwrap_or_else(|e| {
            panic!("openssl is needed for the MQTT TLS test ({e}); install it with `sudo apt-get install -y openssl`")
        });
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let mut ca = vec!["req", "-x509"];
    ca.extend(ec);
    ca.extend([
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=klar test CA",
    ]);
    run(&ca);
    let mut csr = vec!["req"];
    csr.extend(ec);
    csr.extend([
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
    ]);
    run(&csr);
    std::fs::write(
        dir.join("san.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\n",
    )
    .expect("write the extension file");
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "san.ext",
    ]);
}

/// One message as a subscriber saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub topic: String,
    pub payload: String,
    /// Set when the broker sent it as a retained message (on subscribing).
    pub retained: bool,
}

/// A plain MQTT client subscribed to a filter, recording every message.
pub struct Subscriber {
    rx: mpsc::Receiver<Seen>,
    client: Client,
    pub seen: Vec<Seen>,
}

impl Subscriber {
    pub fn connect(broker: &Mosquitto, filter: &str) -> Subscriber {
        Self::connect_as(broker, filter, None)
    }

    pub fn connect_as(broker: &Mosquitto, filter: &str, login: Option<(&str, &str)>) -> Subscriber {
        let mut options = MqttOptions::new(
            format!("test-sub-{}", rand_suffix()),
            "127.0.0.1",
            broker.port,
        );
        options.set_max_packet_size(1024 * 1024, 1024 * 1024);
        if let Some((u, p)) = login {
            options.set_credentials(u, p);
        }
        let (client, mut connection) = Client::new(options, 64);
        client
            .subscribe(filter, QoS::AtLeastOnce)
            .expect("queue subscribe");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for event in connection.iter() {
                match event {
                    Ok(Event::Incoming(Packet::Publish(p))) => {
                        let seen = Seen {
                            topic: p.topic.clone(),
                            payload: String::from_utf8_lossy(&p.payload).into_owned(),
                            retained: p.retain,
                        };
                        if tx.send(seen).is_err() {
                            break;
                        }
                    }
                    Ok(_) => {}
                    Err(_) => break,
                }
            }
        });
        Subscriber {
            rx,
            client,
            seen: Vec::new(),
        }
    }

    /// Waits (at most `timeout`) for a message on `topic` satisfying `pred`; returns it. Messages
    /// already recorded count too, latest first.
    pub fn wait_for(
        &mut self,
        topic: &str,
        timeout: Duration,
        pred: impl Fn(&Seen) -> bool,
    ) -> Seen {
        if let Some(s) = self.latest(topic).filter(|s| pred(s)) {
            return s.clone();
        }
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(seen) => {
                    self.seen.push(seen.clone());
                    if seen.topic == topic && pred(&seen) {
                        return seen;
                    }
                }
                Err(_) => panic!(
                    "no matching message on {topic} within {timeout:?}; latest there: {:?}",
                    self.latest(topic)
                ),
            }
        }
    }

    /// Waits for `topic` to carry exactly `payload`.
    pub fn expect(&mut self, topic: &str, payload: &str) -> Seen {
        self.wait_for(topic, Duration::from_secs(10), |s| s.payload == payload)
    }

    /// The last message recorded on `topic`.
    pub fn latest(&self, topic: &str) -> Option<&Seen> {
        self.seen.iter().rev().find(|s| s.topic == topic)
    }

    /// Takes what has arrived so far without waiting.
    pub fn drain(&mut self) {
        while let Ok(seen) = self.rx.try_recv() {
            self.seen.push(seen);
        }
    }

    /// Publishes a retained message (as another writer would).
    pub fn publish_retained(&self, topic: &str, payload: &str) {
        self.client
            .publish(topic, QoS::AtLeastOnce, true, payload.as_bytes().to_vec())
            .expect("queue publish");
    }
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        let _ = self.client.try_disconnect();
    }
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    u64::from(std::process::id()) * 1000 + NEXT.fetch_add(1, Ordering::Relaxed)
}

/// A plan made by hand for the MQTT tests: `(target, from, to, booking id)` per window, all on
/// one day. The planner itself is tested elsewhere; these tests are about what reaches MQTT.
pub fn plan_of(
    at: chrono::DateTime<chrono::Utc>,
    windows: &[(
        klar_engine::plan::Target,
        chrono::DateTime<chrono::Utc>,
        chrono::DateTime<chrono::Utc>,
        &str,
    )],
) -> klar_engine::plan::Plan {
    use klar_engine::model::{BookingId, SourceName, Window};
    use klar_engine::plan::{Plan, PlanEntry, PlannedWindow, Reason};
    use klar_engine::rules::RuleLocation;
    let horizon = Window::new(at, at + chrono::Duration::hours(48)).expect("a 48 h horizon");
    let mut plan = Plan::empty("Testskolen".into(), at, horizon, vec![]);
    for (target, from, to, booking) in windows {
        let planned = PlannedWindow {
            window: Window::new(*from, *to).expect("from < to"),
            reasons: vec![Reason {
                source: SourceName::new("planner"),
                booking: BookingId::new(*booking),
                title: format!("Møde {booking} hos Jens Hansen"),
                pack: "school".into(),
                pack_version: "1.0.0".into(),
                rule: RuleLocation {
                    file: "school/rules/rooms.rhai".into(),
                    line: 7,
                    column: 5,
                },
                window: None,
            }],
        };
        match plan.entries.iter_mut().find(|e| &e.target == target) {
            Some(entry) => entry.windows.push(planned),
            None => plan.entries.push(PlanEntry {
                target: target.clone(),
                windows: vec![planned],
            }),
        }
    }
    plan.entries.sort_by(|a, b| a.target.cmp(&b.target));
    plan
}
