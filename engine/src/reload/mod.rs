//! Hot reload of rule packs and site config: watch, debounce, compile, test, swap.
//!
//! The parts, each usable on its own:
//! - [`RuleSet`]: the site config and its compiled packs, the unit that is swapped; held by a
//!   [`RuleSetCell`] so readers always see one whole rule set, old or new, never a mix.
//! - [`prepare`]: the pure-ish "validate" step (reads the changed files, compiles, runs the
//!   pack's cases) that returns the next rule set or every error with its file, line and column.
//!   It never touches the rule set in force: [`Reloader::reload`] swaps only on success.
//! - [`Debouncer`]: collects changed paths until they have been quiet for a while; it is given
//!   instants, it reads no clock.
//! - [`watch`]: the notify watcher on the rule folders and the config file's folder (the folder,
//!   since editors replace files on save), forwarding changed paths to a callback.
//! - [`guard`]: a candidate that passes is still tried on the live bookings before it swaps:
//!   refused if it fails a booking the rules in force decide or removes most windows in force,
//!   unless confirmed. [`diff`] says what it would change, [`causes`] groups rule errors.
//! - [`places`]: where a key is in the site config, so errors point at `site.toml:line:col`.

pub mod causes;
mod debounce;
pub mod diff;
pub mod guard;
pub mod places;
pub mod watch;
pub mod wording;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use serde::Serialize;

use crate::rules::cases::run_pack_cases;
use crate::rules::pack::{LoadOptions, load_reporting};
use crate::rules::settings::check_overrides;
use crate::rules::{PackError, PackInfo, RuleRuntime};
use crate::site::{ConfigError, SiteConfig};

pub use debounce::Debouncer;
pub use diff::PlanDiff;
pub use guard::{Live, ReloadPolicy};
pub use places::TomlPlaces;

/// The site config and every rule pack it names, compiled and tested: what the planner uses.
pub struct RuleSet {
    pub site: Arc<SiteConfig>,
    pub packs: Vec<Arc<dyn RuleRuntime>>,
    /// Counts swaps: 1 for the rule set loaded at start.
    pub generation: u64,
}

impl std::fmt::Debug for RuleSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuleSet")
            .field("site", &self.site.site.name)
            .field(
                "packs",
                &self
                    .packs
                    .iter()
                    .map(|p| format!("{} {}", p.pack().name, p.pack().version))
                    .collect::<Vec<_>>(),
            )
            .field("generation", &self.generation)
            .finish()
    }
}

/// The rule set in force, swapped whole. Readers take an `Arc` and keep using it for as long
/// as they need (a plan in progress finishes with the rules it started with).
#[derive(Debug)]
pub struct RuleSetCell {
    current: RwLock<Arc<RuleSet>>,
}

impl RuleSetCell {
    pub fn new(rules: RuleSet) -> Self {
        RuleSetCell {
            current: RwLock::new(Arc::new(rules)),
        }
    }

    /// The rule set in force now.
    pub fn current(&self) -> Arc<RuleSet> {
        match self.current.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Puts `rules` in force, returning the one it replaces.
    pub fn swap(&self, rules: RuleSet) -> Arc<RuleSet> {
        let next = Arc::new(rules);
        let mut guard = match self.current.write() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        std::mem::replace(&mut *guard, next)
    }
}

/// One reason a reload was refused, with its place where known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReloadProblem {
    pub file: PathBuf,
    pub line: Option<u32>,
    pub column: Option<u32>,
    pub message: String,
    /// The offending line with a pointer under the place, for people (a rule that does not
    /// compile); not part of the one-line `Display`.
    #[serde(skip)]
    pub snippet: Option<String>,
}

impl std::fmt::Display for ReloadProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.file.display())?;
        match (self.line, self.column) {
            (Some(l), Some(c)) => write!(f, ":{l}:{c}")?,
            (Some(l), None) => write!(f, ":{l}")?,
            _ => {}
        }
        write!(f, ": {}", self.message)
    }
}

impl From<PackError> for ReloadProblem {
    fn from(e: PackError) -> Self {
        ReloadProblem {
            snippet: e.snippet,
            file: e.file,
            line: e.line,
            column: e.column,
            message: e.message,
        }
    }
}

impl From<ConfigError> for ReloadProblem {
    fn from(e: ConfigError) -> Self {
        match e {
            ConfigError::Read { path, source } => ReloadProblem {
                snippet: None,
                file: path,
                line: None,
                column: None,
                message: format!("cannot read: {source}"),
            },
            ConfigError::Parse {
                path,
                line,
                column,
                message,
            } => ReloadProblem {
                snippet: None,
                file: path,
                line: u32::try_from(line).ok(),
                column: u32::try_from(column).ok(),
                message,
            },
            ConfigError::Invalid { path, message } => {
                let place = TomlPlaces::read(&path).and_then(|p| p.place_of(&message).cloned());
                ReloadProblem {
                    snippet: None,
                    file: path,
                    line: place.as_ref().and_then(|p| u32::try_from(p.line).ok()),
                    column: place.as_ref().and_then(|p| u32::try_from(p.column).ok()),
                    message,
                }
            }
        }
    }
}

/// A reload that was refused; the previous rule set stays in force.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
pub struct ReloadError {
    /// Never empty.
    pub problems: Vec<ReloadProblem>,
    /// Set when the candidate is valid and only the guard refused it: what it would change on
    /// the live bookings. Such a reload can be confirmed.
    pub diff: Option<Box<PlanDiff>>,
}

impl ReloadError {
    fn of(problems: Vec<ReloadProblem>) -> Self {
        ReloadError {
            problems,
            diff: None,
        }
    }

    /// Only the guard refused: the candidate is valid and a confirmation applies it.
    pub fn confirmable(&self) -> bool {
        self.diff.is_some()
    }
}

/// What changed on disk, as far as reload is concerned.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    /// The site config file changed (every pack is then reloaded: the list may have changed).
    pub site: bool,
    /// Pack folders with a changed file.
    pub packs: BTreeSet<PathBuf>,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        !self.site && self.packs.is_empty()
    }
}

/// Which pack folders and config file a set of changed paths concerns. Paths that concern
/// neither (the store, a state file, an editor's swap file beside the config) are ignored.
pub fn classify(config: &Path, rules: &RuleSet, paths: &BTreeSet<PathBuf>) -> Changes {
    let mut changes = Changes::default();
    let config_name = config.file_name();
    let pack_dirs: Vec<PathBuf> = rules
        .site
        .rules
        .packs
        .iter()
        .map(|p| rules.site.resolve(p))
        .collect();
    for path in paths {
        if path.file_name() == config_name && path.parent() == config.parent() {
            changes.site = true;
            continue;
        }
        if let Some(dir) = pack_dirs.iter().find(|d| path.starts_with(d)) {
            if ignored(path) {
                continue;
            }
            changes.packs.insert(dir.clone());
        }
    }
    changes
}

/// Editor droppings and the case runner's own output: not reasons to reload.
fn ignored(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    name.ends_with('~')
        || name.ends_with(".swp")
        || name.ends_with(".swx")
        || name.starts_with(".#")
        || name.ends_with(".tmp")
        || path.components().any(|c| c.as_os_str() == "snapshots")
}

/// Builds the next rule set: re-reads the site config if it changed, compiles every changed pack
/// (all packs when the config changed) and runs its cases; unchanged packs are kept compiled.
/// Returns every problem found; the caller's rule set is untouched either way.
///
/// Cases must meet their expectations (`expect`, `errors`); a case whose result merely differs
/// from its stored snapshot (a rule moved to another line changes the reasons) is reported by
/// [`Prepared::snapshot_drift`] and does not block the reload.
pub fn prepare(
    config: &Path,
    current: &RuleSet,
    changes: &Changes,
    options: &LoadOptions,
) -> Result<Prepared, ReloadError> {
    let site = if changes.site {
        Arc::new(SiteConfig::load(config).map_err(|e| ReloadError::of(vec![e.into()]))?)
    } else {
        current.site.clone()
    };
    let mut packs = Vec::with_capacity(site.rules.packs.len());
    let mut problems = Vec::new();
    let mut snapshot_drift = Vec::new();
    for dir in &site.rules.packs {
        let dir = site.resolve(dir);
        let kept = current.packs.iter().find(|p| p.pack().dir == dir);
        let reload = changes.site || changes.packs.contains(&dir) || kept.is_none();
        if let (false, Some(pack)) = (reload, kept) {
            packs.push(pack.clone());
            continue;
        }
        match load_reporting(&dir, options) {
            Ok(pack) => {
                let report = run_pack_cases(&dir, &pack);
                if let Some(problem) = &report.problem {
                    problems.push(ReloadProblem {
                        snippet: None,
                        file: dir.clone(),
                        line: None,
                        column: None,
                        message: problem.clone(),
                    });
                }
                for case in &report.cases {
                    for p in &case.problems {
                        problems.push(ReloadProblem {
                            snippet: None,
                            file: case.file.clone(),
                            line: None,
                            column: None,
                            message: format!("case {} fails: {p}", case.name),
                        });
                    }
                    // Rule lines that only moved (a comment added) are no drift.
                    if case.problems.is_empty()
                        && !matches!(
                            case.snapshot,
                            crate::rules::cases::SnapshotState::Same
                                | crate::rules::cases::SnapshotState::LinesMoved
                        )
                    {
                        snapshot_drift.push(case.file.clone());
                    }
                }
                packs.push(pack);
            }
            Err(errors) => problems.extend(errors.into_iter().map(ReloadProblem::from)),
        }
    }
    if let Err(e) = site.rules.reload.validate() {
        let place = TomlPlaces::read(config)
            .and_then(|p| p.get(&["rules", "reload", "max_removed_share"]).cloned());
        problems.push(ReloadProblem {
            snippet: None,
            file: config.to_owned(),
            line: place.as_ref().and_then(|p| u32::try_from(p.line).ok()),
            column: place.as_ref().and_then(|p| u32::try_from(p.column).ok()),
            message: e,
        });
    }
    let infos: Vec<&PackInfo> = packs.iter().map(|p| p.pack()).collect();
    problems.extend(check_settings(config, &site, &infos));
    let mut names = BTreeSet::new();
    for p in &packs {
        if !names.insert(p.pack().name.clone()) {
            problems.push(ReloadProblem {
                snippet: None,
                file: p.pack().dir.join(crate::rules::pack::MANIFEST),
                line: None,
                column: None,
                message: format!("pack name {:?} is used twice", p.pack().name),
            });
        }
    }
    if !problems.is_empty() {
        return Err(ReloadError::of(problems));
    }
    Ok(Prepared {
        rules: RuleSet {
            site,
            packs,
            generation: current.generation + 1,
        },
        snapshot_drift,
    })
}

/// Checks the site's `[rules.settings.<pack>]` against the packs' own settings: every key must
/// be a setting the pack has, of its default's type, and every table must name a loaded pack.
/// Each problem points at its line in the config file.
pub fn check_settings(config: &Path, site: &SiteConfig, packs: &[&PackInfo]) -> Vec<ReloadProblem> {
    let places = TomlPlaces::read(config);
    let at = |path: &[&str]| {
        let place = places.as_ref().and_then(|p| p.get(path));
        (
            place.and_then(|p| u32::try_from(p.line).ok()),
            place.and_then(|p| u32::try_from(p.column).ok()),
        )
    };
    let mut problems = Vec::new();
    for (name, table) in &site.rules.settings {
        let Some(pack) = packs.iter().find(|p| &p.name == name) else {
            let (line, column) = at(&["rules", "settings", name]);
            let known: Vec<&str> = packs.iter().map(|p| p.name.as_str()).collect();
            let hint = match crate::rules::settings::closest(name, known.iter().copied()) {
                Some(s) => format!(" (did you mean [rules.settings.{s}]?)"),
                None => format!("; the packs are: {}", known.join(", ")),
            };
            problems.push(ReloadProblem {
                snippet: None,
                file: config.to_owned(),
                line,
                column,
                message: format!("[rules.settings.{name}]: no pack named {name:?} is loaded{hint}"),
            });
            continue;
        };
        let overrides = table.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        for p in check_overrides(pack, &overrides) {
            let (line, column) = at(&["rules", "settings", name, &p.key]);
            problems.push(ReloadProblem {
                snippet: None,
                file: config.to_owned(),
                line,
                column,
                message: format!("[rules.settings.{name}] {p}"),
            });
        }
    }
    problems
}

/// A validated rule set, ready to swap in.
#[derive(Debug)]
pub struct Prepared {
    pub rules: RuleSet,
    /// Cases that meet their expectations but whose snapshot is missing or differs.
    pub snapshot_drift: Vec<PathBuf>,
}

/// Loads the rule set at start: the same checks as a reload, from nothing.
pub fn load_initial(config: &Path, options: &LoadOptions) -> Result<Prepared, ReloadError> {
    let site = Arc::new(SiteConfig::load(config).map_err(|e| ReloadError::of(vec![e.into()]))?);
    let empty = RuleSet {
        site,
        packs: Vec::new(),
        generation: 0,
    };
    prepare(config, &empty, &Changes::default(), options)
}

/// What one reload did.
#[derive(Debug)]
pub enum ReloadOutcome {
    /// Nothing the rule set depends on changed.
    Unchanged,
    /// The new rule set is in force.
    Swapped {
        generation: u64,
        changes: Changes,
        snapshot_drift: Vec<PathBuf>,
        /// What it changed on the live bookings (a guarded reload).
        diff: Option<Box<PlanDiff>>,
        /// What the guard would have refused it for, had it not been confirmed or the site not
        /// been in commissioning mode.
        overridden: Vec<ReloadProblem>,
    },
    /// The previous rule set stays in force.
    Refused(ReloadError),
}

/// Validate, then swap: the reload step without any watcher, for the daemon and for tests.
#[derive(Debug)]
pub struct Reloader {
    config: PathBuf,
    options: LoadOptions,
    cell: Arc<RuleSetCell>,
    /// Changes of refused reloads: they are validated again with the next change, so fixing
    /// one file of a broken pair does not leave the other one's change behind.
    pending: std::sync::Mutex<Changes>,
    /// The rule set a person last started or confirmed: the guard counts windows removed from
    /// what it planned, so small saves cannot add up to removing them all unconfirmed.
    baseline: std::sync::Mutex<Arc<RuleSet>>,
}

impl Reloader {
    pub fn new(config: PathBuf, options: LoadOptions, cell: Arc<RuleSetCell>) -> Self {
        let baseline = std::sync::Mutex::new(cell.current());
        Reloader {
            config,
            options,
            cell,
            pending: std::sync::Mutex::new(Changes::default()),
            baseline,
        }
    }

    pub fn cell(&self) -> &Arc<RuleSetCell> {
        &self.cell
    }

    pub fn config(&self) -> &Path {
        &self.config
    }

    /// Handles a batch of changed paths: classifies, validates, and swaps only if everything
    /// passed. No guard: see [`Reloader::reload_guarded`].
    pub fn reload(&self, paths: &BTreeSet<PathBuf>) -> ReloadOutcome {
        self.reload_with(paths, None)
    }

    /// [`Reloader::reload`], and the candidate is tried on the live bookings before it swaps
    /// ([`guard`]): refused when it fails a booking the rules in force decide or removes too
    /// many windows in force, unless `live.confirm` or `[rules.reload] commissioning`.
    pub fn reload_guarded(&self, paths: &BTreeSet<PathBuf>, live: &Live<'_>) -> ReloadOutcome {
        self.reload_with(paths, Some(live))
    }

    fn baseline(&self) -> Arc<RuleSet> {
        match self.baseline.lock() {
            Ok(b) => b.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn set_baseline(&self, rules: Arc<RuleSet>) {
        match self.baseline.lock() {
            Ok(mut b) => *b = rules,
            Err(poisoned) => *poisoned.into_inner() = rules,
        }
    }

    /// What reloading everything now would do, without swapping: the candidate's problems, or
    /// what it changes on the live bookings and what the guard would refuse it for.
    pub fn preview(&self, live: &Live<'_>) -> Result<guard::Verdict, ReloadError> {
        let current = self.cell.current();
        let changes = Changes {
            site: true,
            packs: BTreeSet::new(),
        };
        let prepared = prepare(&self.config, &current, &changes, &self.options)?;
        Ok(guard::judge_since(
            &self.baseline(),
            &current,
            &prepared.rules,
            live,
            &self.config,
        ))
    }

    fn reload_with(&self, paths: &BTreeSet<PathBuf>, live: Option<&Live<'_>>) -> ReloadOutcome {
        let current = self.cell.current();
        let mut pending = match self.pending.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        let mut changes = classify(&self.config, &current, paths);
        if changes.is_empty() {
            return ReloadOutcome::Unchanged;
        }
        changes.site |= pending.site;
        changes.packs.extend(pending.packs.iter().cloned());
        match prepare(&self.config, &current, &changes, &self.options) {
            Ok(prepared) => {
                let (diff, overridden) = match live {
                    None => (None, Vec::new()),
                    Some(live) => {
                        let baseline = self.baseline();
                        let verdict = guard::judge_since(
                            &baseline,
                            &current,
                            &prepared.rules,
                            live,
                            &self.config,
                        );
                        let confirmed =
                            live.confirm || prepared.rules.site.rules.reload.commissioning;
                        let applies = verdict.reasons.is_empty() || confirmed;
                        if !applies {
                            *pending = changes;
                            return ReloadOutcome::Refused(ReloadError {
                                problems: verdict.reasons,
                                diff: Some(Box::new(verdict.diff)),
                            });
                        }
                        (Some(Box::new(verdict.diff)), verdict.reasons)
                    }
                };
                let generation = prepared.rules.generation;
                let accepted = live
                    .is_some_and(|l| l.confirm || prepared.rules.site.rules.reload.commissioning);
                self.cell.swap(prepared.rules);
                if accepted {
                    self.set_baseline(self.cell.current());
                }
                *pending = Changes::default();
                ReloadOutcome::Swapped {
                    generation,
                    changes,
                    snapshot_drift: prepared.snapshot_drift,
                    diff,
                    overridden,
                }
            }
            Err(e) => {
                *pending = changes;
                ReloadOutcome::Refused(e)
            }
        }
    }
}

#[cfg(test)]
mod tests;
