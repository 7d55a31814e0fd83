//! What the daemon's tasks share: the rule set in force, each source's bookings, the store, and
//! the status the dashboard shows. Each step (poll one source, plan, apply) is a method here, so
//! a test can drive the daemon's logic with its own clock and no tasks at all.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use anyhow::Context;
use chrono::{DateTime, Utc};
use klar_adapters::controllers::mqtt::MqttController;
use klar_adapters::controllers::unilock::{DynUnilock, controller_for};
use klar_adapters::http::{HttpClient, HttpConfig};
use klar_adapters::sources::{self, BuildContext, PollRequest, Source};
use klar_engine::model::{Booking, SourceName};
use klar_engine::plan::{Decisions, Plan, PlanInput, plan_remembering};
use klar_engine::reconcile::{ReconcileOptions, sync_cycle};
use klar_engine::reload::{RuleSet, RuleSetCell, load_initial};
use klar_engine::rules::pack::LoadOptions;
use klar_engine::store::{Store, StoreError};
use tracing::{error, info, warn};

use super::bookings::SourceBookings;
use super::clock::Clock;
use super::schedule::{PollSchedule, Scope};
use super::settings::DaemonSettings;
use super::status::{ApplyStatus, SourceStatus, Status};

/// The shared state. Locks are held for one step and never across an await.
pub struct Core {
    pub config: PathBuf,
    pub settings: DaemonSettings,
    pub rules: Arc<RuleSetCell>,
    pub clock: Arc<dyn Clock>,
    store: Mutex<Store>,
    bookings: Mutex<BTreeMap<SourceName, SourceBookings>>,
    status: Mutex<Status>,
    /// Counters for `/metrics`.
    pub metrics: Arc<super::metrics::Metrics>,
    /// The last plan built, for the dashboard.
    last_plan: Mutex<Option<Arc<Plan>>>,
    /// Each pack's last good decision per booking: a pack that fails on a booking falls back on
    /// it. Kept in the store too, so a restart keeps it.
    decisions: Mutex<Decisions>,
}

/// A source with its schedule, owned by its poller.
pub struct Poller {
    pub source: Box<dyn Source>,
    pub schedule: PollSchedule,
}

/// Everything `Core::open` builds: the core, one poller per source, the controller, and the
/// MQTT controller when the site has an `[mqtt]` table.
pub struct Opened {
    pub core: Arc<Core>,
    pub pollers: Vec<Poller>,
    pub controller: DynUnilock,
    pub mqtt: Option<MqttController>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Core {
    /// Loads the site config and its rule packs (their cases must pass), opens the store and
    /// loads each source's last good snapshot, builds the sources and the controller.
    pub fn open(config: &Path, clock: Arc<dyn Clock>, http: HttpConfig) -> anyhow::Result<Opened> {
        let config = std::fs::canonicalize(config)
            .with_context(|| format!("{}: cannot read", config.display()))?;
        let prepared = load_initial(&config, &LoadOptions::default()).map_err(|e| {
            let lines: Vec<String> = e.problems.iter().map(|p| format!("  {p}")).collect();
            crate::cli::BadInput(format!(
                "the site config and its rules cannot be loaded ({} {}; klar check --config {} shows the same):\n{}",
                e.problems.len(),
                if e.problems.len() == 1 {
                    "problem"
                } else {
                    "problems"
                },
                config.display(),
                lines.join("\n")
            ))
        })?;
        for file in &prepared.snapshot_drift {
            warn!(case = %file.display(), "Case snapshot missing or different; run klar rules test --accept.");
        }
        let site = prepared.rules.site.clone();
        let settings = DaemonSettings::from_table(&site.daemon).map_err(crate::cli::BadInput)?;
        let store_path = store_path(&site);
        let now = clock.now();
        let (store, store_rebuilt) = open_store(&store_path, now)?;

        let http = HttpClient::new(http).context("building the HTTP client")?;
        let ctx = BuildContext {
            http,
            base_dir: site.base_dir.clone(),
            time_zone: site.site.time_zone,
        };
        let mut pollers = Vec::new();
        let metrics = super::metrics::Metrics::default();
        let mut bookings = BTreeMap::new();
        let mut status = Status::default();
        for sc in &site.sources {
            let source =
                sources::build(sc, &ctx).map_err(|e| crate::cli::BadInput(e.to_string()))?;
            let schedule = PollSchedule::new(
                now,
                source.cadence(),
                settings
                    .full_every_minutes
                    .map(|m| std::time::Duration::from_secs(m * 60)),
                Some((
                    std::time::Duration::from_secs(settings.near_every_seconds),
                    std::time::Duration::from_secs(settings.near_ahead_minutes * 60),
                )),
            );
            let name = source.name().clone();
            let known = match store
                .snapshot(&name)
                .context("reading the last good snapshot")?
            {
                Some(snap) => {
                    info!(source = %name, bookings = snap.bookings.len(), fetched_at = %snap.fetched_at, "Last good snapshot loaded.");
                    SourceBookings::from_store(name.clone(), snap.bookings, snap.fetched_at)
                }
                None => SourceBookings::new(name.clone()),
            };
            let metrics_known = (known.bookings().len(), known.fetched_at());
            status.sources.push(SourceStatus {
                name: name.to_string(),
                kind: source.kind().to_owned(),
                bookings: known.bookings().len(),
                last_good: known.fetched_at(),
                ..SourceStatus::default()
            });
            metrics.source_known(name.as_str(), metrics_known.0, metrics_known.1);
            bookings.insert(name, known);
            pollers.push(Poller { source, schedule });
        }
        // Built on a thread of its own: the `unilock-http` driver's blocking HTTP client must
        // not be built on the async runtime that calls `open` (a debug build panics there).
        let state_file = store_path.with_extension("unilock-sim.json");
        let controller = std::thread::scope(|scope| {
            scope
                .spawn(|| controller_for(&site, Some(state_file)))
                .join()
        })
        .map_err(|_| anyhow::anyhow!("building the controller panicked"))?
        .map_err(|e| crate::cli::BadInput(e.to_string()))?;
        let mqtt =
            MqttController::from_site(&site).map_err(|e| crate::cli::BadInput(e.to_string()))?;
        let decisions = match store.decisions() {
            Ok(list) => Decisions::from_list(list),
            Err(e) => {
                warn!(error = %e, "Cannot read the last good decisions; a pack that fails starts without them.");
                Decisions::default()
            }
        };
        status.rules = super::status::RulesStatus::of(&prepared.rules);
        status.store_rebuilt = store_rebuilt;
        let core = Core {
            config,
            settings,
            rules: Arc::new(RuleSetCell::new(prepared.rules)),
            clock,
            store: Mutex::new(store),
            bookings: Mutex::new(bookings),
            status: Mutex::new(status),
            metrics: Arc::new(metrics),
            last_plan: Mutex::new(None),
            decisions: Mutex::new(decisions),
        };
        Ok(Opened {
            core: Arc::new(core),
            pollers,
            controller,
            mqtt,
        })
    }

    /// Polls one source for `scope` and lets the guard judge the answer. Returns whether the
    /// bookings in force changed. A failure changes nothing and is reported.
    pub async fn poll(&self, poller: &mut Poller, scope: Scope) -> bool {
        let now = self.clock.now();
        let window = poller.schedule.window(scope, now);
        let name = poller.source.name().clone();
        let result = poller.source.poll(PollRequest { now, window }).await;
        if result.is_err() && scope == Scope::Full {
            // Try the full horizon again at the next near slot rather than a whole cadence later.
            let retry = i64::try_from(self.settings.near_every_seconds.max(30)).unwrap_or(30);
            poller
                .schedule
                .full_now(now + chrono::Duration::seconds(retry));
        }
        let retention = self.rules.current().site.retention();
        let (merge, snapshot) = {
            let mut all = lock(&self.bookings);
            let entry = all
                .entry(name.clone())
                .or_insert_with(|| SourceBookings::new(name.clone()));
            let merge = entry.merge(result.as_ref(), now, retention);
            (merge, entry.bookings().to_vec())
        };
        if merge.save
            && let Err(e) = lock(&self.store).save_snapshot(&name, now, &snapshot)
        {
            warn!(source = %name, error = %e, "Cannot save the snapshot; it stays in force in memory.");
        }
        if merge.changed {
            info!(source = %name, scope = scope.as_str(), bookings = snapshot.len(), "Bookings changed.");
        } else {
            tracing::debug!(source = %name, scope = scope.as_str(), bookings = snapshot.len(), "Poll done; no change.");
        }
        self.metrics.poll(
            name.as_str(),
            scope.as_str(),
            result.is_ok(),
            snapshot.len(),
            now,
        );
        let mut status = lock(&self.status);
        if let Some(s) = status.sources.iter_mut().find(|s| s.name == name.as_str()) {
            s.last_poll = Some(now);
            s.last_scope = Some(scope.as_str().to_owned());
            s.bookings = snapshot.len();
            s.polls += 1;
            match &result {
                Ok(_) => {
                    s.last_good = Some(now);
                    s.last_error = None;
                }
                Err(e) => {
                    s.last_error = Some(e.to_string());
                    s.failures += 1;
                }
            }
            s.health = Some(merge.health.clone());
        }
        merge.changed
    }

    /// Every booking in force, all sources.
    pub fn bookings(&self) -> Vec<Booking> {
        lock(&self.bookings)
            .values()
            .flat_map(|s| s.bookings().iter().cloned())
            .collect()
    }

    /// The plan at `now` from the bookings in force and the rule set in force: always rebuilt
    /// from scratch, with each pack's last good decision per booking to fall back on; the new
    /// decisions are kept (in memory and in the store).
    pub fn plan(&self, now: DateTime<Utc>) -> Plan {
        let rules: Arc<RuleSet> = self.rules.current();
        let bookings = self.bookings();
        let started = std::time::Instant::now();
        let mut last_good = lock(&self.decisions);
        let planned = plan_remembering(
            &PlanInput {
                bookings: &bookings,
                packs: &rules.packs,
                site: &rules.site,
                now,
            },
            &last_good,
        );
        let p = planned.plan;
        let (upserts, deletes) = planned.decisions.changes_from(&last_good);
        if let Err(e) = lock(&self.store).save_decisions(&upserts, &deletes) {
            warn!(error = %e, "Cannot save the last good decisions; they stay in force in memory.");
        }
        *last_good = planned.decisions;
        drop(last_good);
        let planned = super::status::PlanStatus::of(&p, rules.generation, &bookings);
        self.metrics.planned(
            planned.targets,
            planned.windows,
            p.errors.len(),
            started.elapsed(),
        );
        *lock(&self.last_plan) = Some(Arc::new(p.clone()));
        lock(&self.status).plan = Some(planned);
        p
    }

    /// Reconciles the controller with `plan` and records it. Blocking: call from a blocking
    /// thread. Each action is whole on the controller; a cycle interrupted between actions
    /// converges at the next one.
    ///
    /// A source with no bookings known yet (no snapshot in the store: a first start, or a store
    /// rebuilt after damage) has not been polled yet: its plan would be empty and remove what
    /// klar put on the controller for it (a booking in progress locked out) only to put it back
    /// a moment later. Such an apply is skipped; the first poll's plan is applied instead (or,
    /// if the first poll fails or finds nothing, the next tick's).
    pub fn apply(&self, controller: &mut DynUnilock, plan: &Plan) -> ApplyStatus {
        let unpolled: Vec<String> = lock(&self.status)
            .sources
            .iter()
            .filter(|s| s.last_good.is_none() && s.polls == 0)
            .map(|s| s.name.clone())
            .collect();
        if !unpolled.is_empty() {
            info!(sources = ?unpolled, "No bookings known yet; the apply waits for the first poll.");
            return ApplyStatus {
                at: plan.at,
                actions: 0,
                problems: Vec::new(),
                error: None,
                waiting: true,
            };
        }
        let started = std::time::Instant::now();
        let mut store = lock(&self.store);
        let result = sync_cycle(
            controller.as_mut(),
            plan,
            &mut store,
            ReconcileOptions::at(plan.at),
        );
        drop(store);
        let status = match result {
            Ok(cycle) => {
                for action in &cycle.report.actions {
                    info!(controller = %cycle.report.controller, action = %action, "Applied.");
                }
                for f in &cycle.report.failures {
                    warn!(controller = %cycle.report.controller, failure = %f, "Refused; the other changes were applied.");
                }
                for p in &cycle.report.problems {
                    warn!(controller = %cycle.report.controller, problem = %p, "Cannot realise as planned.");
                }
                ApplyStatus {
                    at: plan.at,
                    actions: cycle.report.actions.len(),
                    problems: cycle
                        .report
                        .failures
                        .iter()
                        .map(|f| format!("failed: {f}"))
                        .chain(cycle.report.problems.iter().map(ToString::to_string))
                        .collect(),
                    error: None,
                    waiting: false,
                }
            }
            Err(e) => {
                warn!(transient = e.is_transient(), error = %e, "Apply failed; the next cycle applies what is missing.");
                ApplyStatus {
                    at: plan.at,
                    actions: 0,
                    problems: Vec::new(),
                    error: Some(e.to_string()),
                    waiting: false,
                }
            }
        };
        self.metrics.applied(
            status.error.is_none(),
            status.actions,
            status.problems.len(),
            started.elapsed(),
            plan.at,
        );
        lock(&self.status).last_apply = Some(status.clone());
        status
    }

    /// The last plan built (the full plan, MQTT targets included), if any.
    pub fn last_plan(&self) -> Option<Arc<Plan>> {
        lock(&self.last_plan).clone()
    }

    /// Reads the store (the audit log, rule-pack versions) under its lock.
    pub fn with_store<R>(&self, f: impl FnOnce(&Store) -> R) -> R {
        f(&lock(&self.store))
    }

    /// A copy of the status for the dashboard and logs.
    pub fn status(&self) -> Status {
        lock(&self.status).clone()
    }

    /// Updates the status in place.
    pub fn with_status(&self, f: impl FnOnce(&mut Status)) {
        f(&mut lock(&self.status));
    }
}

/// Opens the store. A damaged one is moved aside (with its journal files) as
/// `<file>.corrupt-<time>` and a new one is started, and the reason is returned for the status:
/// the sources' next polls rebuild the bookings and the reconciler diffs against what the
/// controller holds, so nothing depends on the lost file. Refusing to start instead would leave
/// the controller as it was (a cancelled booking's door still opening) in a restart loop. A
/// store newer than this klar, or one that cannot be read for another reason, is still an error.
fn open_store(path: &Path, now: DateTime<Utc>) -> anyhow::Result<(Store, Option<String>)> {
    let message = match Store::open(path) {
        Ok(store) => return Ok((store, None)),
        Err(StoreError::Corrupt { message, .. }) => message,
        Err(e) => return Err(crate::cli::BadInput(e.to_string()).into()),
    };
    let aside = |p: &Path| {
        let mut name = p.as_os_str().to_owned();
        name.push(format!(".corrupt-{}", now.format("%Y%m%dT%H%M%SZ")));
        PathBuf::from(name)
    };
    for suffix in ["-journal", "-wal", "-shm"] {
        let mut extra = path.as_os_str().to_owned();
        extra.push(suffix);
        let extra = PathBuf::from(extra);
        if extra.exists() {
            std::fs::rename(&extra, aside(&extra))
                .with_context(|| format!("{}: cannot move it aside", extra.display()))?;
        }
    }
    let moved = aside(path);
    std::fs::rename(path, &moved).with_context(|| {
        format!(
            "{}: damaged ({message}) and cannot be moved aside",
            path.display()
        )
    })?;
    error!(store = %path.display(), moved_to = %moved.display(), problem = %message, "The store is damaged; moved aside, starting a new one and rebuilding from the sources.");
    let store = Store::open(path).map_err(|e| crate::cli::BadInput(e.to_string()))?;
    let why = format!(
        "{} was damaged ({message}); moved to {} and rebuilt from the sources at {now}",
        path.display(),
        moved.display()
    );
    Ok((store, Some(why)))
}

/// The store file: `[store] path`, else `klar.db` beside the config.
pub fn store_path(site: &klar_engine::site::SiteConfig) -> PathBuf {
    let configured = site
        .store
        .get("path")
        .and_then(|v| v.as_str())
        .unwrap_or("klar.db");
    site.resolve(Path::new(configured))
}
