//! The daemon's tasks and the channels between them.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use klar_adapters::controllers::mqtt::{MqttRunner, SystemClock as MqttClock, TargetFilter};
use klar_adapters::controllers::unilock::DynUnilock;
use klar_engine::plan::Plan;
use klar_engine::reload::watch::{RuleWatcher, watch};
use klar_engine::reload::{Debouncer, Live, ReloadOutcome, Reloader};
use klar_engine::rules::pack::LoadOptions;
use tokio::sync::{mpsc, oneshot, watch as channel};
use tokio::task::JoinHandle;
use tracing::{error, info, warn};

use super::core::{Core, Opened, Poller};
use super::metrics::ReloadResult;
use super::status::{ReloadRecord, RulesStatus};
use super::sync_cooldown::{Granted, SyncCooldown};

/// A running daemon: its core, and its tasks to wait for after shutdown.
pub struct Running {
    pub core: Arc<Core>,
    handle: Arc<Handle>,
    tasks: Vec<JoinHandle<()>>,
}

/// What the web server may ask of a running daemon.
pub struct Handle {
    pub core: Arc<Core>,
    /// The reload step the reload task runs (its guard's baseline included), for previews.
    pub reloader: Arc<Reloader>,
    /// When each source's web-requested full poll runs.
    pub sync_cooldown: Arc<SyncCooldown>,
    sync_now: channel::Sender<u64>,
    reloads: mpsc::UnboundedSender<ReloadRequest>,
}

/// What asked for a reload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// A file saved in a pack or the site config's folder.
    File,
    /// The dashboard's button.
    Dashboard,
    /// `klar reload` (`POST /api/reload` from a program).
    Cli,
    /// SIGHUP.
    Signal,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::File => "file",
            Trigger::Dashboard => "dashboard",
            Trigger::Cli => "cli",
            Trigger::Signal => "signal",
        }
    }
}

/// A reload asked for by a person: the site config and every pack, now, without the debounce;
/// `confirm` applies a candidate the guard would refuse.
struct ReloadRequest {
    trigger: Trigger,
    confirm: bool,
    reply: Option<oneshot::Sender<ReloadRecord>>,
}

impl Running {
    pub fn handle(&self) -> Arc<Handle> {
        self.handle.clone()
    }

    /// Waits for every task to end (after the shutdown channel said so).
    pub async fn join(self) {
        for task in self.tasks {
            if let Err(e) = task.await {
                error!(error = %e, "A daemon task ended abnormally.");
            }
        }
    }
}

impl Handle {
    /// Asks every poller for a full poll: now, or when its cooldown ends (see
    /// [`SyncCooldown`]). Says when each runs.
    pub fn sync_now(&self) -> Vec<Granted> {
        let now = self.core.clock.now();
        let granted = self
            .core
            .status()
            .sources
            .iter()
            .map(|s| self.sync_cooldown.request(&s.name, now))
            .collect();
        self.sync_now.send_modify(|n| *n += 1);
        granted
    }

    /// Asks for the site config and every pack to be validated, tried on the live bookings and
    /// swapped in again, and waits for what the reload did (`None` if the daemon is stopping).
    pub async fn reload(&self, trigger: Trigger, confirm: bool) -> Option<ReloadRecord> {
        let (tx, rx) = oneshot::channel();
        self.reloads
            .send(ReloadRequest {
                trigger,
                confirm,
                reply: Some(tx),
            })
            .ok()?;
        rx.await.ok()
    }
}

/// Starts the tasks. They stop when `shutdown` becomes true.
pub fn start(opened: Opened, shutdown: channel::Receiver<bool>) -> anyhow::Result<Running> {
    let Opened {
        core,
        pollers,
        controller,
        mqtt,
    } = opened;
    let (bookings_tx, bookings_rx) = channel::channel(0u64);
    let (rules_tx, rules_rx) = channel::channel(core.rules.current().generation);
    let (plan_tx, plan_rx) = channel::channel::<Option<(u64, Arc<Plan>)>>(None);
    let (sync_tx, sync_rx) = channel::channel(0u64);
    let (paths_tx, paths_rx) = mpsc::unbounded_channel::<PathBuf>();
    let (reloads_tx, reloads_rx) = mpsc::unbounded_channel::<ReloadRequest>();

    let cooldown = Arc::new(SyncCooldown::new(
        super::web::WebSettings::of(&core.rules.current().site)
            .unwrap_or_default()
            .sync_cooldown(),
    ));
    let mut tasks = Vec::new();
    for poller in pollers {
        tasks.push(tokio::spawn(poll_task(
            core.clone(),
            poller,
            bookings_tx.clone(),
            (sync_rx.clone(), cooldown.clone()),
            shutdown.clone(),
        )));
    }
    let reloader = Arc::new(Reloader::new(
        core.config.clone(),
        LoadOptions::default(),
        core.rules.clone(),
    ));
    tasks.push(tokio::spawn(reload_task(
        core.clone(),
        reloader.clone(),
        paths_tx.clone(),
        paths_rx,
        reloads_rx,
        rules_tx,
        shutdown.clone(),
    )));
    // MQTT, when configured, drives its targets (lights, ventilation, ...) from the full plan;
    // UniLock gets the rest. Its runner stops when the planner drops the sender.
    let (mqtt_tx, filter) = match mqtt {
        Some(ctl) => {
            let filter = ctl.filter().clone();
            let (tx, rx) = channel::channel::<Option<Arc<Plan>>>(None);
            let runner = MqttRunner::new(ctl, MqttClock);
            tasks.push(tokio::spawn(async move {
                runner.run(rx).await;
            }));
            info!(targets = ?filter, "MQTT drives its targets; UniLock the rest.");
            (Some(tx), Some(filter))
        }
        None => (None, None),
    };
    tasks.push(tokio::spawn(plan_task(
        core.clone(),
        bookings_rx,
        rules_rx,
        PlanRoutes {
            unilock: plan_tx,
            mqtt: mqtt_tx,
            mqtt_filter: filter,
        },
        shutdown.clone(),
    )));
    tasks.push(tokio::spawn(reconcile_task(
        core.clone(),
        controller,
        plan_rx,
        shutdown,
    )));
    Ok(Running {
        handle: Arc::new(Handle {
            core: core.clone(),
            reloader,
            sync_cooldown: cooldown,
            sync_now: sync_tx,
            reloads: reloads_tx,
        }),
        core,
        tasks,
    })
}

/// Sleeps for `d` unless shutdown comes first; true when shutting down.
async fn sleep_or_stop(d: Duration, shutdown: &mut channel::Receiver<bool>) -> bool {
    if *shutdown.borrow() {
        return true;
    }
    tokio::select! {
        _ = tokio::time::sleep(d) => false,
        _ = shutdown.changed() => true,
    }
}

/// One source: poll when the schedule says so, tell the planner when its bookings changed.
/// A web "sync now" makes a full poll due when its [`SyncCooldown`] says.
async fn poll_task(
    core: Arc<Core>,
    mut poller: Poller,
    bookings_tx: channel::Sender<u64>,
    (mut sync_rx, cooldown): (channel::Receiver<u64>, Arc<SyncCooldown>),
    mut shutdown: channel::Receiver<bool>,
) {
    let name = poller.source.name().to_string();
    loop {
        if *shutdown.borrow() {
            return;
        }
        let now = core.clock.now();
        if let Some(scope) = poller.schedule.due(now) {
            if scope == super::schedule::Scope::Full {
                cooldown.polled(&name, now);
            }
            let changed = tokio::select! {
                changed = core.poll(&mut poller, scope) => changed,
                _ = shutdown.changed() => return,
            };
            if changed {
                bookings_tx.send_modify(|g| *g += 1);
            }
            continue;
        }
        let wait = (poller.schedule.next_at() - core.clock.now())
            .to_std()
            .unwrap_or(Duration::ZERO)
            .max(Duration::from_millis(10));
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            r = sync_rx.changed() => {
                if r.is_ok() && let Some(at) = cooldown.pending(&name) {
                    poller.schedule.full_by(at);
                }
            }
            _ = shutdown.changed() => return,
        }
    }
}

/// Watches the config's folder and the rule set's pack folders, sending changed paths.
fn watch_rules(core: &Core, paths_tx: &mpsc::UnboundedSender<PathBuf>) -> Option<RuleWatcher> {
    let rules = core.rules.current();
    let dirs: Vec<PathBuf> = rules
        .site
        .rules
        .packs
        .iter()
        .map(|p| rules.site.resolve(p))
        .collect();
    let tx = paths_tx.clone();
    match watch(&core.config, &dirs, move |path| {
        let _ = tx.send(path);
    }) {
        Ok(w) => Some(w),
        Err(e) => {
            warn!(error = %e, "Cannot watch the rule folders; hot reload is off until the next config change.");
            None
        }
    }
}

/// Whether a changed path concerns the rule set (see [`klar_engine::reload::classify`]).
fn relevant(core: &Core, path: &std::path::Path) -> bool {
    let one = BTreeSet::from([path.to_path_buf()]);
    !klar_engine::reload::classify(&core.config, &core.rules.current(), &one).is_empty()
}

/// SIGHUP, where there are signals: a reload, as the dashboard's button asks for one.
async fn hangup(signal: &mut Option<tokio::signal::unix::Signal>) {
    match signal {
        Some(s) => {
            if s.recv().await.is_none() {
                std::future::pending::<()>().await;
            }
        }
        None => std::future::pending().await,
    }
}

/// Collects file events, debounces them, validates and swaps; tells the planner on a swap.
/// Requests from the dashboard, `klar reload` and SIGHUP reload everything at once. Owns the
/// watcher, and watches again after a config change (the pack list may differ).
async fn reload_task(
    core: Arc<Core>,
    reloader: Arc<Reloader>,
    paths_tx: mpsc::UnboundedSender<PathBuf>,
    mut paths_rx: mpsc::UnboundedReceiver<PathBuf>,
    mut requests: mpsc::UnboundedReceiver<ReloadRequest>,
    rules_tx: channel::Sender<u64>,
    mut shutdown: channel::Receiver<bool>,
) {
    let mut debouncer = Debouncer::new(core.settings.debounce());
    let mut watcher = watch_rules(&core, &paths_tx);
    let mut sighup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
    loop {
        let deadline = debouncer.deadline();
        let mut asked: Option<ReloadRequest> = None;
        tokio::select! {
            path = paths_rx.recv() => match path {
                // Only the config file and the packs' files count: the store and the
                // simulator's state file beside the config change on every cycle.
                Some(path) if relevant(&core, &path) => {
                    debouncer.push(path, std::time::Instant::now());
                }
                Some(_) => {}
                None => return,
            },
            request = requests.recv() => match request {
                Some(r) => asked = Some(r),
                None => return,
            },
            () = hangup(&mut sighup) => {
                info!("SIGHUP: reloading the site config and every pack.");
                asked = Some(ReloadRequest { trigger: Trigger::Signal, confirm: false, reply: None });
            }
            _ = async {
                match deadline {
                    Some(d) => tokio::time::sleep_until(tokio::time::Instant::from_std(d)).await,
                    None => std::future::pending().await,
                }
            } => {}
            _ = shutdown.changed() => return,
        }
        let (batch, trigger, confirm, reply) = match asked {
            Some(r) => {
                // Everything, now; file events waiting in the debouncer are part of it.
                let mut all = debouncer
                    .take_due(std::time::Instant::now() + std::time::Duration::from_secs(3600))
                    .unwrap_or_default();
                let rules = core.rules.current();
                all.insert(core.config.clone());
                for p in &rules.site.rules.packs {
                    all.insert(rules.site.resolve(p).join("pack.toml"));
                }
                (all, r.trigger, r.confirm, r.reply)
            }
            None => match debouncer.take_due(std::time::Instant::now()) {
                Some(paths) => (paths, Trigger::File, false, None),
                None => continue,
            },
        };
        let Some((record, site_changed)) =
            reload_once(&core, &reloader, batch, trigger, confirm, &rules_tx).await
        else {
            continue;
        };
        if site_changed {
            drop(watcher.take());
            watcher = watch_rules(&core, &paths_tx);
        }
        if let Some(reply) = reply {
            let _ = reply.send(record);
        }
    }
}

/// One reload: validate, try on the live bookings, swap or refuse; status, metrics and logs.
/// Returns the record and whether the site config changed (the watcher must follow).
async fn reload_once(
    core: &Arc<Core>,
    reloader: &Arc<Reloader>,
    batch: BTreeSet<PathBuf>,
    trigger: Trigger,
    confirm: bool,
    rules_tx: &channel::Sender<u64>,
) -> Option<(ReloadRecord, bool)> {
    let before = core.rules.current();
    let r = reloader.clone();
    let bookings = core.bookings();
    let now = core.clock.now();
    let started = std::time::Instant::now();
    let outcome = match tokio::task::spawn_blocking(move || {
        let live = Live {
            bookings: &bookings,
            now,
            confirm,
        };
        r.reload_guarded(&batch, &live)
    })
    .await
    {
        Ok(outcome) => outcome,
        Err(e) => {
            error!(error = %e, "The reload step panicked; the previous rules stay in force.");
            return None;
        }
    };
    let took_ms = started.elapsed().as_millis();
    let id = core.status().rules.next_id();
    let mut record = ReloadRecord {
        id,
        at: now,
        trigger: trigger.as_str().to_owned(),
        outcome: "unchanged".to_owned(),
        generation: before.generation,
        problems: Vec::new(),
        confirmable: false,
        overridden_by: None,
        diff: None,
    };
    let mut site_changed = false;
    match outcome {
        ReloadOutcome::Unchanged => {
            core.metrics.reloaded(ReloadResult::Unchanged);
            return Some((record, false));
        }
        ReloadOutcome::Swapped {
            generation,
            changes,
            snapshot_drift,
            diff,
            overridden,
        } => {
            core.metrics.reloaded(ReloadResult::Swapped);
            let rules = core.rules.current();
            let summary = diff
                .as_ref()
                .map_or_else(|| "applied".to_owned(), |d| d.counts.to_string());
            info!(generation, trigger = trigger.as_str(), site = changes.site, packs = ?changes.packs, took_ms, changes = %summary, "Rules reloaded; re-planning.");
            if let Some(d) = &diff {
                for room in &d.rooms {
                    info!(generation, room = %room, "Reload changes a room.");
                }
            }
            let overridden_by = (!overridden.is_empty()).then(|| {
                if confirm {
                    "confirmed".to_owned()
                } else {
                    "commissioning mode".to_owned()
                }
            });
            for p in &overridden {
                warn!(problem = %p, by = overridden_by.as_deref().unwrap_or(""), "Applied although the guard would refuse it.");
            }
            for file in &snapshot_drift {
                warn!(case = %file.display(), "Case passes but its snapshot is missing or differs; run klar rules test --accept.");
            }
            record.outcome = "swapped".to_owned();
            record.generation = generation;
            record.problems = overridden;
            record.overridden_by = overridden_by;
            record.diff = diff.map(|d| *d);
            let kept = record.clone();
            core.with_status(|s| {
                let reloads = std::mem::take(&mut s.rules.reloads);
                s.rules = RulesStatus::of(&rules);
                s.rules.reloads = reloads;
                s.rules.last_reload = Some(now);
                s.rules.record(kept);
            });
            if changes.site {
                let (old, new) = (&before.site, &rules.site);
                let restart: Vec<&str> = [
                    (
                        "[[sources]]",
                        format!("{:?}", old.sources) != format!("{:?}", new.sources),
                    ),
                    ("[controller]", old.controller != new.controller),
                    ("[mqtt]", old.mqtt != new.mqtt),
                    ("[web]", old.web != new.web),
                    ("[daemon]", old.daemon != new.daemon),
                ]
                .into_iter()
                .filter_map(|(table, changed)| changed.then_some(table))
                .collect();
                if !restart.is_empty() {
                    warn!(tables = ?restart, "These tables changed; they take effect when klar restarts.");
                }
                site_changed = true;
            }
            rules_tx.send_replace(generation);
        }
        ReloadOutcome::Refused(e) => {
            core.metrics.reloaded(ReloadResult::Refused);
            for p in &e.problems {
                error!(file = %p.file.display(), line = p.line.unwrap_or(0), column = p.column.unwrap_or(0), trigger = trigger.as_str(), problem = %p, "Reload refused; the previous rules stay in force.");
            }
            if e.confirmable() {
                warn!(
                    "The change is valid but the guard refused it: klar reload --confirm, or the dashboard's Apply anyway, applies it."
                );
            }
            record.outcome = "refused".to_owned();
            record.confirmable = e.confirmable();
            record.problems = e.problems.clone();
            record.diff = e.diff.map(|d| *d);
            let kept = record.clone();
            core.with_status(|s| {
                s.rules.errors = e.problems;
                s.rules.last_reload = Some(now);
                s.rules.record(kept);
            });
        }
    }
    Some((record, site_changed))
}

/// Where the planner sends each plan.
struct PlanRoutes {
    unilock: channel::Sender<Option<(u64, Arc<Plan>)>>,
    mqtt: Option<channel::Sender<Option<Arc<Plan>>>>,
    /// The targets MQTT owns, taken out of UniLock's plan.
    mqtt_filter: Option<TargetFilter>,
}

/// Rebuilds the plan when bookings or rules change, and at least every `reconcile_every`.
async fn plan_task(
    core: Arc<Core>,
    mut bookings_rx: channel::Receiver<u64>,
    mut rules_rx: channel::Receiver<u64>,
    routes: PlanRoutes,
    mut shutdown: channel::Receiver<bool>,
) {
    let tick = core.settings.reconcile_every();
    loop {
        let now = core.clock.now();
        let generation = core.rules.current().generation;
        let c = core.clone();
        let plan = match tokio::task::spawn_blocking(move || c.plan(now)).await {
            Ok(plan) => plan,
            Err(e) => {
                error!(error = %e, "The planner panicked; trying again at the next tick.");
                if sleep_or_stop(tick, &mut shutdown).await {
                    return;
                }
                continue;
            }
        };
        for e in &plan.errors {
            warn!(error = %e, "A rule failed on a booking; it fails closed (restrictive effects and the pack's last good decision stay).");
        }
        for f in &plan.fail_closed {
            if !f.withheld.is_empty() {
                warn!(booking = %format!("{}:{}", f.booking.source, f.booking.id), failed = ?f.failed, withheld = ?f.withheld, "A failing pack has no last good decision for this booking as it is; its permissive effects are withheld.");
            }
        }
        let plan = Arc::new(plan);
        if let Some(tx) = &routes.mqtt {
            tx.send_replace(Some(plan.clone()));
        }
        let unilock = match &routes.mqtt_filter {
            Some(filter) => Arc::new(filter.exclude(&plan)),
            None => plan,
        };
        routes.unilock.send_replace(Some((generation, unilock)));
        tokio::select! {
            _ = tokio::time::sleep(tick) => {}
            r = bookings_rx.changed() => if r.is_err() { return; },
            r = rules_rx.changed() => if r.is_err() { return; },
            _ = shutdown.changed() => return,
        }
    }
}

/// Applies each new plan to the controller. An apply in progress is finished before shutdown.
async fn reconcile_task(
    core: Arc<Core>,
    controller: DynUnilock,
    mut plan_rx: channel::Receiver<Option<(u64, Arc<Plan>)>>,
    mut shutdown: channel::Receiver<bool>,
) {
    let mut controller = Some(controller);
    loop {
        tokio::select! {
            r = plan_rx.changed() => if r.is_err() { return; },
            _ = shutdown.changed() => return,
        }
        let Some((generation, plan)) = plan_rx.borrow_and_update().clone() else {
            continue;
        };
        let Some(mut c) = controller.take() else {
            return;
        };
        let core2 = core.clone();
        // Not cancelled by shutdown: the apply runs to its end.
        let joined = tokio::task::spawn_blocking(move || {
            let status = core2.apply(&mut c, &plan);
            (c, status)
        })
        .await;
        match joined {
            Ok((c, status)) => {
                controller = Some(c);
                // Said as it happened: a failed apply is logged by the core, and one the
                // controller could not take all of is not "applied".
                if !status.waiting && status.error.is_none() {
                    if status.problems.is_empty() {
                        info!(
                            rules_generation = generation,
                            actions = status.actions,
                            "Plan applied."
                        );
                    } else {
                        warn!(
                            rules_generation = generation,
                            actions = status.actions,
                            problems = status.problems.len(),
                            "Plan applied in part; the rest is named above."
                        );
                    }
                }
            }
            Err(e) => {
                error!(error = %e, "The reconciler panicked; stopping it.");
                return;
            }
        }
        if *shutdown.borrow() {
            info!("Shutdown: the last apply finished.");
            return;
        }
    }
}
