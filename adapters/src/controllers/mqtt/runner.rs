//! The MQTT scheduler: MQTT is edge-based, so something must publish at each window edge.
//! [`MqttRunner`] runs one reconcile cycle for the state that holds now whenever a window edge
//! passes, the plan changes, or the broker connection is (re)made, and at least every
//! `resync_secs`. It remembers no commands: each cycle recomputes the state from the plan and
//! the clock and compares it with what the broker holds.
//!
//! The clock is injected ([`Clock`]): the daemon uses [`SystemClock`]; tests use
//! [`ManualClock`] and move time to the edges they want.

use std::future::Future;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use klar_engine::plan::Plan;
use tokio::sync::watch;
use tracing::{info, warn};

use super::driver::MqttController;

/// Where the runner gets "now" and how it waits for an instant.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;
    /// Resolves at `at` or later. Waking early is allowed: the runner checks the clock again.
    fn sleep_until(&self, at: DateTime<Utc>) -> impl Future<Output = ()> + Send;
}

/// The wall clock, with tokio's timer.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    async fn sleep_until(&self, at: DateTime<Utc>) {
        let wait = (at - Utc::now()).to_std().unwrap_or_default();
        tokio::time::sleep(wait).await;
    }
}

/// A clock that moves only when told: for tests and replays.
#[derive(Debug, Clone)]
pub struct ManualClock {
    now: Arc<watch::Sender<DateTime<Utc>>>,
}

impl ManualClock {
    pub fn new(start: DateTime<Utc>) -> Self {
        ManualClock {
            now: Arc::new(watch::channel(start).0),
        }
    }

    /// Sets the time; waiters whose instant has come wake up.
    pub fn set(&self, now: DateTime<Utc>) {
        self.now.send_replace(now);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.borrow()
    }

    async fn sleep_until(&self, at: DateTime<Utc>) {
        let mut rx = self.now.subscribe();
        // The sender lives in `self`, so this only ends when the time has come.
        let _ = rx.wait_for(|now| *now >= at).await;
    }
}

/// Drives an [`MqttController`] from a stream of plans.
pub struct MqttRunner<C: Clock> {
    controller: MqttController,
    clock: C,
}

impl<C: Clock> MqttRunner<C> {
    pub fn new(controller: MqttController, clock: C) -> Self {
        MqttRunner { controller, clock }
    }

    /// Runs until the plan sender is dropped, then hands the controller back. Each new plan in
    /// `plans` replaces the previous one; `None` means no plan yet (nothing is published).
    pub async fn run(self, mut plans: watch::Receiver<Option<Arc<Plan>>>) -> MqttController {
        let MqttRunner { controller, clock } = self;
        let mut controller = Some(controller);
        let mut connections = controller
            .as_ref()
            .expect("the controller is present between cycles")
            .connections();
        let mut connection_thread_alive = true;
        loop {
            let plan = plans.borrow_and_update().clone();
            connections.borrow_and_update();
            let now = clock.now();
            let ctl = controller
                .take()
                .expect("the controller is present between cycles");
            let resync = ctl.resync();
            let next_edge = plan.as_ref().and_then(|p| ctl.next_edge(p, now));
            let ctl = match plan.clone() {
                Some(plan) if ctl.is_connected() => cycle(ctl, plan, now).await,
                _ => ctl,
            };
            controller = Some(ctl);

            let periodic = now
                + chrono::Duration::from_std(resync)
                    .unwrap_or_else(|_| chrono::Duration::minutes(1));
            let wake = next_edge.map_or(periodic, |e| e.min(periodic));
            tokio::select! {
                _ = clock.sleep_until(wake) => {}
                changed = plans.changed() => {
                    if changed.is_err() {
                        break;
                    }
                }
                changed = connections.changed(), if connection_thread_alive => {
                    if changed.is_err() {
                        connection_thread_alive = false;
                    }
                }
            }
        }
        controller.expect("the controller is present between cycles")
    }
}

/// One cycle on a blocking thread (the controller's calls block on the broker).
async fn cycle(mut ctl: MqttController, plan: Arc<Plan>, now: DateTime<Utc>) -> MqttController {
    let joined = tokio::task::spawn_blocking(move || {
        let result = ctl.publish_plan(&plan, now);
        (ctl, result)
    })
    .await;
    let (ctl, result) = match joined {
        Ok(v) => v,
        // A panic in the cycle is a bug; the controller went with it, so stop loudly.
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    };
    match result {
        Ok(report) => {
            for p in &report.problems {
                warn!(controller = "mqtt", problem = %p, "Cannot realise part of the plan.");
            }
            if !report.actions.is_empty() {
                info!(controller = "mqtt", at = %now, actions = report.actions.len(), "Published the state that holds now.");
            }
        }
        Err(e) => {
            warn!(controller = "mqtt", error = %e, transient = e.is_transient(), "MQTT cycle failed; retrying at the next edge, reconnect or resync.");
        }
    }
    ctl
}
