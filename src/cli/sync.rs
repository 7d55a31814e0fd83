//! `klar sync`: one reconcile cycle now, printing what changed on the controller.
//!
//! Also holds what `state` and `explain` share with it: the store and state-file paths, the
//! bookings (a file, else the store's last good snapshots), the rule packs and the plan.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use chrono::{DateTime, Utc};
use klar_adapters::controllers::unilock::controller_for;
use klar_engine::model::{Booking, SourceName};
use klar_engine::plan::{Plan, PlanInput, plan};
use klar_engine::reconcile::{CycleError, ReconcileOptions, sync_cycle};
use klar_engine::rules::RuleRuntime;
use klar_engine::rules::pack::{self, LoadOptions};
use klar_engine::site::SiteConfig;
use klar_engine::store::Store;

use super::{BadInput, Outcome, load_bookings, load_site, parse_at};

#[derive(clap::Args)]
pub struct Args {
    /// The site config.
    #[arg(long)]
    pub config: PathBuf,
    /// A bookings file (JSON array in the common model); without it, the store's last good
    /// snapshot of each source.
    #[arg(long)]
    pub bookings: Option<PathBuf>,
    /// The cycle's instant instead of now: RFC 3339, or local time in the site's zone.
    #[arg(long)]
    pub at: Option<String>,
}

/// Test hook: stop the apply after this many actions and exit as if killed.
const STOP_AFTER_ENV: &str = "KLAR_TEST_STOP_AFTER_ACTIONS";

pub fn run(args: Args) -> Outcome {
    let site = load_site(&args.config)?;
    let at = match &args.at {
        Some(text) => parse_at(text, site.site.time_zone)?,
        None => Utc::now(),
    };
    let store_path = store_path(&site);
    let mut store = Store::open(&store_path).map_err(|e| BadInput(e.to_string()))?;
    let bookings = match &args.bookings {
        Some(path) => {
            let bookings = load_bookings(path)?;
            let mut by_source: BTreeMap<SourceName, Vec<Booking>> = BTreeMap::new();
            for b in &bookings {
                by_source
                    .entry(b.source.clone())
                    .or_default()
                    .push(b.clone());
            }
            for (source, list) in by_source {
                store
                    .save_snapshot(&source, at, &list)
                    .context("saving the bookings snapshot")?;
            }
            bookings
        }
        None => store
            .snapshots()
            .context("reading the store's snapshots")?
            .into_iter()
            .flat_map(|s| s.bookings)
            .collect(),
    };
    let packs = load_packs(&site)?;
    let plan = make_plan(&site, &packs, &bookings, at);
    let mut controller = controller_for(&site, Some(state_file_beside(&store_path)))
        .map_err(|e| BadInput(e.to_string()))?;
    let stop_after = std::env::var(STOP_AFTER_ENV)
        .ok()
        .and_then(|v| v.parse().ok());
    let options = ReconcileOptions { at, stop_after };
    let cycle = match sync_cycle(controller.as_mut(), &plan, &mut store, options) {
        Ok(cycle) => cycle,
        Err(CycleError::Reconcile(
            e @ klar_engine::reconcile::ReconcileError::Interrupted { .. },
        )) => {
            eprintln!("{e} (test hook {STOP_AFTER_ENV}); exiting as if killed");
            std::process::exit(137);
        }
        Err(e) => {
            let hint = if e.is_transient() {
                "; nothing was recorded: the next sync applies what is missing"
            } else {
                ""
            };
            return Err(anyhow::anyhow!("{e}{hint}"));
        }
    };
    let name = &cycle.report.controller;
    if cycle.report.actions.is_empty() {
        if cycle.report.is_complete() {
            println!("{name}: no change (the controller is in step with the plan)");
        } else {
            println!(
                "{name}: no change (all of the plan the controller can hold is on it; not all of it, see below)"
            );
        }
    } else {
        println!("{name}: {} change(s)", cycle.report.actions.len());
        for action in &cycle.report.actions {
            println!("  {action}");
        }
    }
    for c in &cycle.changes {
        let windows = |ws: &[klar_engine::model::Window]| {
            ws.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(" ")
        };
        println!(
            "  {:<9} {} for {}:{} ({}) by {} {} at {}: [{}] -> [{}]",
            c.reason.as_str(),
            c.target,
            c.source,
            c.booking,
            c.title,
            c.pack,
            c.pack_version,
            c.rule,
            windows(&c.before),
            windows(&c.after)
        );
    }
    for f in &cycle.report.failures {
        println!("failed: {f} (the other changes were applied; the next sync tries again)");
    }
    for p in &cycle.report.problems {
        println!("problem: {p}");
    }
    for w in &plan.warnings {
        println!("warning: {w}");
    }
    for e in &plan.errors {
        println!("rule error: {e}");
    }
    for r in &plan.rejected {
        println!(
            "rejected booking {}:{} ({}): {}",
            r.booking.source, r.booking.id, r.booking.title, r.reason
        );
    }
    let failed = !cycle.report.is_complete() || !plan.errors.is_empty();
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The store file: `[store] path`, else `klar.db` beside the config.
pub(super) fn store_path(site: &SiteConfig) -> PathBuf {
    let configured = site
        .store
        .get("path")
        .and_then(|v| v.as_str())
        .unwrap_or("klar.db");
    site.resolve(Path::new(configured))
}

/// The embedded simulator's state file beside the store: `klar.db` -> `klar.unilock-sim.json`.
pub(super) fn state_file_beside(store: &Path) -> PathBuf {
    store.with_extension("unilock-sim.json")
}

/// The site's rule packs, compiled.
pub(super) fn load_packs(site: &SiteConfig) -> anyhow::Result<Vec<Arc<dyn RuleRuntime>>> {
    pack::load_all(site, &LoadOptions::default()).map_err(|errors| {
        let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
        BadInput(lines.join("\n")).into()
    })
}

/// Bookings, rules and site into a plan at `at`.
pub(super) fn make_plan(
    site: &SiteConfig,
    packs: &[Arc<dyn RuleRuntime>],
    bookings: &[Booking],
    at: DateTime<Utc>,
) -> Plan {
    plan(&PlanInput {
        bookings,
        packs,
        site,
        now: at,
    })
}

/// Bookings from a file, else the store's last good snapshots.
pub(super) fn bookings_from(
    site: &SiteConfig,
    file: Option<&Path>,
) -> anyhow::Result<Vec<Booking>> {
    match file {
        Some(path) => load_bookings(path),
        None => {
            let path = store_path(site);
            if !path.exists() {
                return Err(BadInput(format!(
                    "no --bookings given and no store at {} to take them from",
                    path.display()
                ))
                .into());
            }
            let store = Store::open(&path).map_err(|e| BadInput(e.to_string()))?;
            Ok(store
                .snapshots()?
                .into_iter()
                .flat_map(|s| s.bookings)
                .collect())
        }
    }
}
