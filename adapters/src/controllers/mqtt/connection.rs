//! The broker connection: one thread drives rumqttc's event loop, reconnects with backoff,
//! keeps a mirror of the retained messages under klar's prefix, and answers read-backs through
//! a barrier (a message klar sends itself, which arrives after everything before it).
//!
//! On every (re)connect the mirror is emptied and the prefix subscribed again, so the broker
//! sends what it holds now; a broker restarted without persistence holds nothing, and the next
//! reconcile puts everything back. Each connect bumps a generation that the runner watches.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rumqttc::{
    Client, ClientError, ConnectReturnCode, Connection, ConnectionError, Event, LastWill,
    MqttOptions, Packet, QoS, TlsConfiguration, Transport,
};
use tokio::sync::watch;
use tracing::{debug, info, warn};

use super::config::MqttSettings;
use crate::controllers::mqtt::MqttError;

/// Requests rumqttc may queue; a full queue is reported, never waited on forever.
const REQUEST_QUEUE: usize = 8192;
/// rumqttc's default (10 KiB) is too small for the schedule of a busy door.
const MAX_PACKET: usize = 1024 * 1024;
const BACKOFF_MIN: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);

/// What the connection thread shares with the driver.
#[derive(Default)]
struct Link {
    connected: bool,
    /// Connects so far; a read-back is valid only within one generation.
    generation: u64,
    /// The retained messages under the prefix, as the broker sent them.
    retained: BTreeMap<String, Vec<u8>>,
    /// The highest barrier seen back in this generation.
    synced: u64,
    last_error: Option<String>,
    /// The broker refused the login or the client id: retrying will not help.
    refused: Option<String>,
}

struct Shared {
    link: Mutex<Link>,
    changed: Condvar,
    stopping: AtomicBool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Link> {
        // A panic while holding the lock leaves plain data behind; keep using it.
        self.link
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A live connection to the broker, with its thread.
pub(super) struct BrokerLink {
    client: Client,
    shared: Arc<Shared>,
    generations: watch::Receiver<u64>,
    prefix: String,
    status_topic: String,
    barrier_topic: String,
    /// Distinguishes this link's barriers from another instance's.
    instance: u64,
    next_barrier: u64,
}

impl BrokerLink {
    /// Starts the connection thread; returns at once (the first connect happens in the
    /// background and bumps the generation).
    pub(super) fn start(settings: &MqttSettings) -> Result<BrokerLink, MqttError> {
        let prefix = settings.prefix.clone();
        let status_topic = format!("{prefix}/klar/status");
        let barrier_topic = format!("{prefix}/klar/sync");
        let mut options = MqttOptions::new(
            settings.client_id.clone(),
            settings.broker.host.clone(),
            settings.broker.port,
        );
        options
            .set_keep_alive(settings.keep_alive)
            .set_clean_session(true)
            .set_request_channel_capacity(REQUEST_QUEUE)
            .set_max_packet_size(MAX_PACKET, MAX_PACKET)
            .set_last_will(LastWill::new(
                status_topic.clone(),
                "offline",
                QoS::AtLeastOnce,
                true,
            ));
        if let Some((user, password)) = &settings.credentials {
            let password = password.as_ref().map(|p| p.expose()).unwrap_or("");
            options.set_credentials(user.clone(), password.to_owned());
        }
        if let Some(tls) = &settings.tls {
            options.set_transport(Transport::Tls(TlsConfiguration::Simple {
                ca: tls.ca.clone(),
                alpn: None,
                client_auth: tls
                    .client_auth
                    .as_ref()
                    .map(|(cert, key)| (cert.clone(), key.expose().as_bytes().to_vec())),
            }));
        }
        let (client, mut connection) = Client::new(options, REQUEST_QUEUE);
        connection
            .eventloop
            .network_options
            .set_connection_timeout(settings.timeout.as_secs().max(1));
        let shared = Arc::new(Shared {
            link: Mutex::new(Link::default()),
            changed: Condvar::new(),
            stopping: AtomicBool::new(false),
        });
        let (gen_tx, generations) = watch::channel(0u64);
        let instance = rand::random::<u64>();
        let worker = Worker {
            client: client.clone(),
            shared: shared.clone(),
            generations: gen_tx,
            subscription: format!("{prefix}/#"),
            prefix: prefix.clone(),
            status_topic: status_topic.clone(),
            barrier_topic: barrier_topic.clone(),
            instance,
            broker: format!("{}:{}", settings.broker.host, settings.broker.port),
        };
        // Detached: it ends by itself after the disconnect in `drop`, or at its next failed
        // attempt when the broker is down; nobody should wait for that.
        std::thread::Builder::new()
            .name("klar-mqtt".into())
            .spawn(move || worker.run(connection))
            .map_err(|e| MqttError::Start(format!("cannot start the MQTT thread: {e}")))?;
        Ok(BrokerLink {
            client,
            shared,
            generations,
            prefix,
            status_topic,
            barrier_topic,
            instance,
            next_barrier: 0,
        })
    }

    pub(super) fn prefix(&self) -> &str {
        &self.prefix
    }

    /// A receiver that changes on every (re)connect.
    pub(super) fn generations(&self) -> watch::Receiver<u64> {
        self.generations.clone()
    }

    pub(super) fn is_connected(&self) -> bool {
        self.shared.lock().connected
    }

    /// Blocks until connected or `timeout`.
    pub(super) fn wait_connected(&self, timeout: Duration) -> Result<(), MqttError> {
        let deadline = Instant::now() + timeout;
        let mut link = self.shared.lock();
        while !link.connected {
            if let Some(reason) = &link.refused {
                return Err(MqttError::Refused(reason.clone()));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(MqttError::Unreachable(
                    link.last_error
                        .clone()
                        .unwrap_or_else(|| "not connected yet".into()),
                ));
            }
            link = self
                .shared
                .changed
                .wait_timeout(link, left)
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .0;
        }
        Ok(())
    }

    /// Queues a retained QoS 1 publish; an empty payload clears the retained message.
    pub(super) fn publish_retained(&self, topic: &str, payload: Vec<u8>) -> Result<(), MqttError> {
        if !self.is_connected() {
            return Err(self.unreachable());
        }
        self.client
            .try_publish(topic, QoS::AtLeastOnce, true, payload)
            .map_err(queue_error)
    }

    /// Why there is no connection now.
    fn unreachable(&self) -> MqttError {
        let link = self.shared.lock();
        match &link.refused {
            Some(reason) => MqttError::Refused(reason.clone()),
            None => MqttError::Unreachable(
                link.last_error
                    .clone()
                    .unwrap_or_else(|| "not connected".into()),
            ),
        }
    }

    /// The retained messages the broker holds under the prefix, read back: sends a barrier and
    /// waits until it returns, so every publish queued before has been through the broker.
    pub(super) fn read_back(
        &mut self,
        timeout: Duration,
    ) -> Result<BTreeMap<String, Vec<u8>>, MqttError> {
        let generation = {
            let link = self.shared.lock();
            if !link.connected {
                drop(link);
                return Err(self.unreachable());
            }
            link.generation
        };
        self.next_barrier += 1;
        let nonce = self.next_barrier;
        self.client
            .try_publish(
                self.barrier_topic.clone(),
                QoS::AtLeastOnce,
                false,
                format!("{}:{nonce}", self.instance),
            )
            .map_err(queue_error)?;
        let deadline = Instant::now() + timeout;
        let mut link = self.shared.lock();
        loop {
            if link.generation != generation || !link.connected {
                return Err(MqttError::Unreachable(
                    "the connection dropped during the read-back".into(),
                ));
            }
            if link.synced >= nonce {
                return Ok(link.retained.clone());
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(MqttError::Timeout(format!(
                    "the broker did not echo klar's read-back within {} ms",
                    timeout.as_millis()
                )));
            }
            link = self
                .shared
                .changed
                .wait_timeout(link, left)
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .0;
        }
    }
}

impl Drop for BrokerLink {
    /// Says `offline` (a clean disconnect does not fire the will), disconnects, and lets the
    /// thread end.
    fn drop(&mut self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        if self.is_connected() {
            let _ = self.client.try_publish(
                self.status_topic.clone(),
                QoS::AtLeastOnce,
                true,
                "offline",
            );
        }
        let _ = self.client.try_disconnect();
    }
}

fn queue_error(e: ClientError) -> MqttError {
    match e {
        ClientError::TryRequest(_) | ClientError::Request(_) => {
            MqttError::Timeout("the MQTT request queue is full or closed".into())
        }
    }
}

/// The thread's side.
struct Worker {
    client: Client,
    shared: Arc<Shared>,
    generations: watch::Sender<u64>,
    subscription: String,
    prefix: String,
    status_topic: String,
    barrier_topic: String,
    instance: u64,
    broker: String,
}

impl Worker {
    fn run(self, mut connection: Connection) {
        let mut backoff = BACKOFF_MIN;
        for event in connection.iter() {
            if self.shared.stopping.load(Ordering::SeqCst) {
                match event {
                    Ok(Event::Outgoing(rumqttc::Outgoing::Disconnect)) | Err(_) => break,
                    _ => continue,
                }
            }
            match event {
                Ok(Event::Incoming(Packet::ConnAck(ack))) => {
                    backoff = BACKOFF_MIN;
                    // Subscribe first: the retained messages and then our barriers come back in
                    // order behind it.
                    let subscribed = self
                        .client
                        .try_subscribe(self.subscription.clone(), QoS::AtLeastOnce);
                    let online = self.client.try_publish(
                        self.status_topic.clone(),
                        QoS::AtLeastOnce,
                        true,
                        "online",
                    );
                    if subscribed.is_err() || online.is_err() {
                        warn!(broker = %self.broker, "MQTT request queue full after connect.");
                    }
                    info!(broker = %self.broker, code = ?ack.code, "Connected to the MQTT broker.");
                    let generation = {
                        let mut link = self.shared.lock();
                        link.connected = true;
                        link.generation += 1;
                        link.retained.clear();
                        link.synced = 0;
                        link.last_error = None;
                        link.refused = None;
                        link.generation
                    };
                    self.shared.changed.notify_all();
                    self.generations.send_replace(generation);
                }
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    if p.topic == self.barrier_topic {
                        let text = String::from_utf8_lossy(&p.payload);
                        let ours = text
                            .split_once(':')
                            .filter(|(instance, _)| *instance == self.instance.to_string())
                            .and_then(|(_, n)| n.parse::<u64>().ok());
                        if let Some(nonce) = ours {
                            let mut link = self.shared.lock();
                            link.synced = link.synced.max(nonce);
                            drop(link);
                            self.shared.changed.notify_all();
                        }
                    } else if p.topic.starts_with(&self.prefix) {
                        let mut link = self.shared.lock();
                        if p.payload.is_empty() {
                            link.retained.remove(&p.topic);
                        } else {
                            link.retained.insert(p.topic.clone(), p.payload.to_vec());
                        }
                    }
                }
                Ok(other) => debug!(event = ?other, "MQTT event."),
                Err(e) => {
                    let refused = match &e {
                        ConnectionError::ConnectionRefused(code) => Some(match code {
                            ConnectReturnCode::BadUserNamePassword
                            | ConnectReturnCode::NotAuthorized => {
                                "the broker refused the username or password".to_owned()
                            }
                            ConnectReturnCode::BadClientId => {
                                "the broker refused the client id".to_owned()
                            }
                            other => format!("the broker refused the connection ({other:?})"),
                        }),
                        _ => None,
                    };
                    let message = refused.clone().unwrap_or_else(|| e.to_string());
                    // Log before the state changes, so whoever wakes on it finds the line.
                    let (was_connected, was_refused) = {
                        let link = self.shared.lock();
                        (link.connected, link.refused.is_some())
                    };
                    if was_connected {
                        warn!(broker = %self.broker, error = %message, "MQTT connection lost; reconnecting.");
                    } else if refused.is_some() && !was_refused {
                        warn!(broker = %self.broker, error = %message, "The MQTT broker refused klar; check [mqtt] username, password and client_id.");
                    } else {
                        debug!(broker = %self.broker, error = %message, retry_ms = backoff.as_millis() as u64, "MQTT connect failed.");
                    }
                    {
                        let mut link = self.shared.lock();
                        link.refused = refused;
                        link.connected = false;
                        link.last_error = Some(message);
                    }
                    self.shared.changed.notify_all();
                    // The event loop reconnects on the next poll; pace it.
                    std::thread::sleep(backoff);
                    backoff = (backoff * 2).min(BACKOFF_MAX);
                }
            }
        }
        let mut link = self.shared.lock();
        link.connected = false;
        drop(link);
        self.shared.changed.notify_all();
        debug!(broker = %self.broker, "MQTT connection thread ended.");
    }
}
