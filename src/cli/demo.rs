//! `klar demo`: everything on loopback with one command: fake Pronestor and WinKAS servers with
//! bookings around now, the embedded UniLock simulator, the school rule pack in a folder the
//! user can edit, the daemon and its dashboard.
//!
//! `--once` runs one full cycle (poll both fakes, plan, apply to the simulator), prints a
//! summary and exits: for scripts and CI.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use klar_adapters::fake::pronestor::{FakePronestor, FakePronestorOptions};
use klar_adapters::fake::winkas::{FakeWinkas, FakeWinkasOptions};
use klar_adapters::http::HttpConfig;
use klar_engine::plan::{Plan, Target};
use tokio::sync::watch;

use super::Outcome;
use crate::daemon::{self, SystemClock, schedule::Scope};

/// The demo's site config, with the fakes' URLs filled in at start.
const SITE_TEMPLATE: &str = include_str!("../../examples/demo/site.toml");
/// The school pack shipped with klar, copied for the user to edit.
const SCHOOL_PACK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/rules/school");

#[derive(clap::Args)]
pub struct Args {
    /// Run one full cycle, print a summary and exit.
    #[arg(long)]
    pub once: bool,
    /// The dashboard's port on 127.0.0.1 (0: any free port).
    #[arg(long, default_value_t = 7878)]
    pub port: u16,
    /// Where the demo keeps its site config, editable rules, store and simulator state.
    #[arg(long, default_value = "klar-demo")]
    pub dir: PathBuf,
}

pub fn run(args: Args) -> Outcome {
    let level = if args.once { "warn" } else { "info" };
    super::run::init_logs(level);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(demo(args))
}

async fn demo(args: Args) -> Outcome {
    let dir = &args.dir;
    std::fs::create_dir_all(dir.join("secrets"))
        .with_context(|| format!("{}: cannot create", dir.display()))?;
    let rules = dir.join("rules/school");
    let copied = if rules.join("pack.toml").exists() {
        false
    } else {
        copy_dir(Path::new(SCHOOL_PACK), &rules)
            .with_context(|| format!("copying the school pack to {}", rules.display()))?;
        true
    };
    // The demo starts from a clean controller and store each time; the rules are the user's.
    for stale in ["klar.db", "klar.unilock-sim.json"] {
        let _ = std::fs::remove_file(dir.join(stale));
    }

    let pronestor = FakePronestor::start(FakePronestorOptions::default())
        .await
        .context("starting the fake Pronestor server")?;
    let winkas = FakeWinkas::start(FakeWinkasOptions::default())
        .await
        .context("starting the fake WinKAS server")?;
    std::fs::write(
        dir.join("secrets/pronestor.password"),
        pronestor.credentials().1,
    )
    .context("writing the demo's Pronestor password")?;
    std::fs::write(dir.join("secrets/winkas.password"), winkas.credentials().1)
        .context("writing the demo's WinKAS password")?;
    let (_, _, contract) = winkas.credentials();
    let site = SITE_TEMPLATE
        .replace("@PRONESTOR_URL@", &pronestor.base_url())
        .replace("@WINKAS_URL@", &winkas.base_url())
        .replace(
            "contract_code = \"12345\"",
            &format!("contract_code = \"{contract}\""),
        );
    let config = dir.join("site.toml");
    std::fs::write(&config, site).with_context(|| format!("{}: cannot write", config.display()))?;

    let opened = daemon::Core::open(&config, Arc::new(SystemClock), HttpConfig::default())?;
    let rules_dir = std::fs::canonicalize(&rules).unwrap_or(rules.clone());
    let addr = SocketAddr::from(([127, 0, 0, 1], args.port));

    if args.once {
        return once(opened, &rules_dir, addr).await;
    }

    let (stop_tx, stop_rx) = watch::channel(false);
    let running = daemon::start(opened, stop_rx.clone())?;
    let url = daemon::web::serve(&running, addr, stop_rx).await?;
    println!("klar demo is running.");
    println!("  fake Pronestor: {}", pronestor.base_url());
    println!("  fake WinKAS:    {}", winkas.base_url());
    println!("  site config:    {}", running.core.config.display());
    println!(
        "  rules:          {}{}",
        rules_dir.display(),
        if copied {
            " (copied; edit them)"
        } else {
            " (your copy)"
        }
    );
    println!("  dashboard:      {url}");
    println!(
        "Edit a rule or [rules.settings.school] in the site config: the doors follow within a second or two once the pack's cases pass. Ctrl-C stops."
    );
    super::run::shutdown_signal().await;
    stop_tx.send_replace(true);
    running.join().await;
    Ok(ExitCode::SUCCESS)
}

/// One cycle: poll every source's full horizon, plan, apply, summarise.
async fn once(opened: daemon::Opened, rules: &Path, addr: SocketAddr) -> Outcome {
    let daemon::Opened {
        core,
        mut pollers,
        mut controller,
        mqtt: _,
    } = opened;
    for poller in &mut pollers {
        core.poll(poller, Scope::Full).await;
    }
    let status = core.status();
    let failed: Vec<String> = status
        .sources
        .iter()
        .filter_map(|s| s.last_error.as_ref().map(|e| format!("{}: {e}", s.name)))
        .collect();
    let now = core.clock.now();
    let c = core.clone();
    let (plan, applied) = tokio::task::spawn_blocking(move || {
        let plan = c.plan(now);
        let applied = c.apply(&mut controller, &plan);
        (plan, applied)
    })
    .await
    .context("the cycle panicked")?;
    let summary = Summary::of(&plan);
    for s in &status.sources {
        println!(
            "source {:<8} {:>3} bookings ({})",
            s.name, s.bookings, s.kind
        );
    }
    println!(
        "applied {} change(s) to the UniLock simulator",
        applied.actions
    );
    println!(
        "doors opened: {} ({})",
        summary.doors.len(),
        summary.doors.iter().cloned().collect::<Vec<_>>().join(", ")
    );
    println!("persons granted: {}", summary.persons.len());
    println!("rules: {}", rules.display());
    println!("dashboard: http://{addr}/ (when the demo runs without --once)");
    for e in &failed {
        println!("source error: {e}");
    }
    for p in &applied.problems {
        println!("controller problem: {p}");
    }
    if let Some(e) = &applied.error {
        println!("apply error: {e}");
    }
    for e in &plan.errors {
        println!("rule error: {e}");
    }
    let ok = failed.is_empty()
        && applied.error.is_none()
        && applied.problems.is_empty()
        && plan.errors.is_empty()
        && !summary.doors.is_empty();
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// What a plan opens and grants.
struct Summary {
    doors: BTreeSet<String>,
    persons: BTreeSet<String>,
}

impl Summary {
    fn of(plan: &Plan) -> Summary {
        let mut doors = BTreeSet::new();
        let mut persons = BTreeSet::new();
        for e in &plan.entries {
            if e.windows.is_empty() {
                continue;
            }
            match &e.target {
                Target::Door { door, .. } => {
                    doors.insert(door.to_string());
                }
                Target::Membership { person, .. } => {
                    persons.insert(person.to_string());
                }
                _ => {}
            }
        }
        Summary { doors, persons }
    }
}

/// Copies a folder tree (the rule pack) file by file.
fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}
