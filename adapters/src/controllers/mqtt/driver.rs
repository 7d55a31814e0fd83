//! [`MqttController`]: the [`Controller`] over a broker. It owns the retained state and
//! schedule topics under its prefix; observing reads them back from the broker, applying
//! publishes (or clears) one retained message.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};
use klar_engine::model::Window;
use klar_engine::plan::{Plan, Target};
use klar_engine::reconcile::{
    Action, Controller, ControllerError, Desired, Observed, ReconcileError, ReconcileOptions,
    Report, reconcile,
};
use klar_engine::site::SiteConfig;
use tokio::sync::watch;

use super::MqttError;
use super::config::{MqttConfig, MqttSettings};
use super::connection::BrokerLink;
use super::render::{self, Kind, MqttPayload, MqttTarget, MqttTopic};
use super::targets::{PatternKind, TargetFilter};

/// The MQTT controller: desired state as retained messages on a broker.
///
/// The state topics are evaluated at the plan's instant (`plan.at`): hand it a plan stamped
/// with the instant to publish for, or use [`MqttController::publish_plan`], which takes the
/// instant separately. [`super::MqttRunner`] does that at every window edge and reconnect.
pub struct MqttController {
    filter: TargetFilter,
    known: BTreeSet<MqttTarget>,
    timeout: Duration,
    resync: Duration,
    link: BrokerLink,
}

impl MqttController {
    /// Starts connecting to the broker in the background and returns at once. `known` are the
    /// doors, zones and outputs that always have topics (see [`render::site_targets`]); the
    /// targets that `settings.filter` names exactly are added.
    pub fn new(
        settings: &MqttSettings,
        mut known: BTreeSet<MqttTarget>,
    ) -> Result<Self, MqttError> {
        known.extend(settings.filter.patterns().iter().filter_map(|p| {
            let kind = match p.kind {
                PatternKind::Door => Kind::Door,
                PatternKind::Zone => Kind::Zone,
                PatternKind::Output => Kind::Output,
                _ => return None,
            };
            Some(MqttTarget {
                kind,
                id: p.exact_id()?.to_owned(),
            })
        }));
        let link = BrokerLink::start(settings)?;
        Ok(MqttController {
            filter: settings.filter.clone(),
            known,
            timeout: settings.timeout,
            resync: settings.resync,
            link,
        })
    }

    /// From the site config: resolves `[mqtt]` (secrets included) and knows the site's rooms.
    /// `Ok(None)` when the site has no `[mqtt]` table.
    pub fn from_site(site: &SiteConfig) -> Result<Option<Self>, MqttError> {
        let Some(config) = MqttConfig::from_table(&site.mqtt)? else {
            return Ok(None);
        };
        let base: &Path = &site.base_dir;
        let settings = config.resolve(base)?;
        MqttController::new(&settings, render::site_targets(site)).map(Some)
    }

    /// Which plan targets this controller drives.
    pub fn filter(&self) -> &TargetFilter {
        &self.filter
    }

    pub fn prefix(&self) -> &str {
        self.link.prefix()
    }

    /// How long the runner waits between checks when no edge comes sooner.
    pub fn resync(&self) -> Duration {
        self.resync
    }

    /// The retained messages wanted for `plan` at `at`. Pure.
    pub fn desired_at(&self, plan: &Plan, at: DateTime<Utc>) -> Desired<MqttTopic, MqttPayload> {
        render::desired(plan, at, &self.known, &self.filter, self.link.prefix())
    }

    /// The next window edge after `after` among the targets this controller drives. Pure.
    pub fn next_edge(&self, plan: &Plan, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        render::next_edge(plan, &self.filter, after)
    }

    /// A receiver that changes on every (re)connect to the broker.
    pub fn connections(&self) -> watch::Receiver<u64> {
        self.link.generations()
    }

    pub fn is_connected(&self) -> bool {
        self.link.is_connected()
    }

    /// Blocks until the broker has accepted the connection, or `timeout`.
    pub fn wait_connected(&self, timeout: Duration) -> Result<(), MqttError> {
        self.link.wait_connected(timeout)
    }

    /// One reconcile cycle for the state that holds at `now`: reads back what the broker holds
    /// under the prefix, publishes what differs, clears klar's topics that are no longer
    /// wanted, and reads back again to verify. Blocking.
    pub fn publish_plan(
        &mut self,
        plan: &Plan,
        now: DateTime<Utc>,
    ) -> Result<Report<MqttTopic, MqttPayload>, ReconcileError> {
        let mut at = AtInstant {
            controller: self,
            at: now,
        };
        reconcile(&mut at, plan, ReconcileOptions::at(now))
    }
}

impl Controller for MqttController {
    type Key = MqttTopic;
    type Object = MqttPayload;

    fn name(&self) -> &str {
        "mqtt"
    }

    /// The state at the plan's own instant.
    fn desired(
        &self,
        plan: &Plan,
        _observed: &Observed<MqttTopic, MqttPayload>,
    ) -> Desired<MqttTopic, MqttPayload> {
        self.desired_at(plan, plan.at)
    }

    /// The broker holds the schedules as published: every window of the targets MQTT drives,
    /// when their schedule topic carries what the plan asks.
    fn realized(
        &self,
        plan: &Plan,
        observed: &Observed<MqttTopic, MqttPayload>,
    ) -> BTreeMap<Target, Vec<Window>> {
        let desired = self.desired_at(plan, plan.at);
        let held = desired
            .objects
            .iter()
            .all(|(k, v)| observed.owned.get(k) == Some(v));
        if !held {
            return BTreeMap::new();
        }
        plan.entries
            .iter()
            .map(|e| {
                (
                    e.target.clone(),
                    e.windows.iter().map(|w| w.window).collect(),
                )
            })
            .collect()
    }

    fn observe(&mut self) -> Result<Observed<MqttTopic, MqttPayload>, ControllerError> {
        let retained = self.link.read_back(self.timeout)?;
        let prefix = self.link.prefix().to_owned();
        let owned = retained
            .into_iter()
            .filter_map(|(topic, bytes)| {
                let leaf = render::parse_topic(&prefix, &topic)?;
                Some((MqttTopic(topic), MqttPayload::parse(leaf, &bytes)))
            })
            .collect();
        // klar owns its prefix's layout: nothing there belongs to another writer.
        Ok(Observed {
            owned,
            foreign: BTreeSet::new(),
            room: BTreeMap::new(),
        })
    }

    fn apply(
        &mut self,
        action: &Action<MqttTopic, MqttPayload>,
        _at: DateTime<Utc>,
    ) -> Result<(), ControllerError> {
        let (topic, bytes) = match action {
            Action::Create { key, object } => (key, object.to_bytes()),
            Action::Update { key, after, .. } => (key, after.to_bytes()),
            // An empty retained message clears the topic.
            Action::Delete { key, .. } => (key, Vec::new()),
        };
        self.link.publish_retained(&topic.0, bytes)?;
        Ok(())
    }
}

/// The controller with the state evaluated at a given instant instead of the plan's.
struct AtInstant<'a> {
    controller: &'a mut MqttController,
    at: DateTime<Utc>,
}

impl Controller for AtInstant<'_> {
    type Key = MqttTopic;
    type Object = MqttPayload;

    fn name(&self) -> &str {
        self.controller.name()
    }

    fn desired(
        &self,
        plan: &Plan,
        _observed: &Observed<MqttTopic, MqttPayload>,
    ) -> Desired<MqttTopic, MqttPayload> {
        self.controller.desired_at(plan, self.at)
    }

    fn realized(
        &self,
        plan: &Plan,
        observed: &Observed<MqttTopic, MqttPayload>,
    ) -> BTreeMap<Target, Vec<Window>> {
        self.controller.realized(plan, observed)
    }

    fn observe(&mut self) -> Result<Observed<MqttTopic, MqttPayload>, ControllerError> {
        self.controller.observe()
    }

    fn apply(
        &mut self,
        action: &Action<MqttTopic, MqttPayload>,
        at: DateTime<Utc>,
    ) -> Result<(), ControllerError> {
        self.controller.apply(action, at)
    }
}
