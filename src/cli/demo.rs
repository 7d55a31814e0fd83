//! `klar demo`: everything on loopback with one command: fake Pronestor and WinKAS servers with
//! bookings around now, the embedded UniLock simulator, the school rule pack in a folder the
//! user can edit, the daemon and its dashboard.
//!
//! `--once` runs one full cycle (poll both fakes, plan, apply to the simulator), prints a
//! summary and exits: for scripts and CI.
//!
//! The demo folder is the user's: a site config they edited is kept (only the fakes' URLs and
//! contract code, which change with every start, are written into it), and the dashboard's
//! port is bound before anything starts, so a port in use is the first and only error.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use klar_adapters::fake::FakeClock;
use klar_adapters::fake::pronestor::{FakePronestor, FakePronestorOptions};
use klar_adapters::fake::winkas::{FakeWinkas, FakeWinkasOptions};
use klar_adapters::http::HttpConfig;
use klar_engine::plan::{Plan, Target};
use tokio::sync::watch;

use super::Outcome;
use crate::daemon::clock::ManualClock;
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
    /// Run the demo as if it were this time, which then stands still (RFC 3339, or local time
    /// in Copenhagen): the fakes' bookings are made around it and the plan is made at it. For
    /// repeatable runs; by default the demo runs on the wall clock.
    #[arg(long)]
    pub at: Option<String>,
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

/// The demo's pieces on disk and on loopback: the fake vendors (serving bookings around their
/// clock's now), the site config with their URLs, the user's copy of the school pack.
struct Prepared {
    pronestor: FakePronestor,
    winkas: FakeWinkas,
    config: PathBuf,
    rules: PathBuf,
    /// The pack was copied now (not the user's earlier, perhaps edited, copy).
    copied: bool,
    /// The site config was written now from the template (else the user's was kept).
    written: bool,
}

async fn prepare(dir: &Path, clock: FakeClock) -> anyhow::Result<Prepared> {
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

    let pronestor = FakePronestor::start(FakePronestorOptions {
        clock: clock.clone(),
        ..FakePronestorOptions::default()
    })
    .await
    .context("starting the fake Pronestor server")?;
    let winkas = FakeWinkas::start(FakeWinkasOptions {
        clock,
        ..FakeWinkasOptions::default()
    })
    .await
    .context("starting the fake WinKAS server")?;
    klar_engine::private_file::write(
        &dir.join("secrets/pronestor.password"),
        pronestor.credentials().1.as_bytes(),
    )
    .context("writing the demo's Pronestor password")?;
    klar_engine::private_file::write(
        &dir.join("secrets/winkas.password"),
        winkas.credentials().1.as_bytes(),
    )
    .context("writing the demo's WinKAS password")?;
    let (_, _, contract) = winkas.credentials();
    let config = dir.join("site.toml");
    let written = match std::fs::read_to_string(&config) {
        // The user's config (perhaps edited): only the fakes' addresses and contract change.
        Ok(text) => {
            let patched =
                point_at_fakes(&text, &pronestor.base_url(), &winkas.base_url(), &contract);
            if patched != text {
                std::fs::write(&config, patched)
                    .with_context(|| format!("{}: cannot write", config.display()))?;
            }
            false
        }
        Err(_) => {
            let site = SITE_TEMPLATE
                .replace("@PRONESTOR_URL@", &pronestor.base_url())
                .replace("@WINKAS_URL@", &winkas.base_url())
                .replace(
                    "contract_code = \"12345\"",
                    &format!("contract_code = \"{contract}\""),
                );
            std::fs::write(&config, site)
                .with_context(|| format!("{}: cannot write", config.display()))?;
            true
        }
    };
    Ok(Prepared {
        pronestor,
        winkas,
        config,
        rules,
        copied,
        written,
    })
}

/// The demo's site config with its `planner` and `halls` sources pointed at this start's fakes,
/// everything else (comments, the user's edits) as it was. A config that does not parse is
/// left alone: starting the daemon then names its error.
fn point_at_fakes(text: &str, pronestor: &str, winkas: &str, contract: &str) -> String {
    let Some(places) = klar_engine::reload::TomlPlaces::parse(text) else {
        return text.to_owned();
    };
    let mut edits: Vec<(std::ops::Range<usize>, String)> = Vec::new();
    for i in 0.. {
        let index = i.to_string();
        if places.get(&["sources", &index]).is_none() {
            break;
        }
        let value = |key: &str| {
            places
                .get(&["sources", &index, key])
                .map(|p| p.value.clone())
        };
        match places.value_text(&["sources", &index, "name"]) {
            Some("\"planner\"") => {
                if let Some(r) = value("url") {
                    edits.push((r, format!("{pronestor:?}")));
                }
            }
            Some("\"halls\"") => {
                if let Some(r) = value("url") {
                    edits.push((r, format!("{winkas:?}")));
                }
                if let Some(r) = value("contract_code") {
                    edits.push((r, format!("{contract:?}")));
                }
            }
            _ => {}
        }
    }
    edits.sort_by_key(|(r, _)| std::cmp::Reverse(r.start));
    let mut out = text.to_owned();
    for (range, value) in edits {
        out.replace_range(range, &value);
    }
    out
}

async fn demo(args: Args) -> Outcome {
    let at = args
        .at
        .as_deref()
        .map(|t| super::parse_at(t, chrono_tz::Europe::Copenhagen))
        .transpose()?;
    let addr = SocketAddr::from(([127, 0, 0, 1], args.port));
    // The dashboard's port first: in use, it is the only thing said, before anything starts.
    let listener = if args.once {
        None
    } else {
        Some(daemon::web::listen(addr).await.map_err(|e| {
            match e.downcast_ref::<super::BadInput>() {
                Some(b) => super::BadInput(format!(
                    "{}: stop the other demo, or start this one on any free port with --port 0",
                    b.0
                ))
                .into(),
                None => e,
            }
        })?)
    };
    let (fake_clock, clock): (FakeClock, Arc<dyn daemon::clock::Clock>) = match at {
        Some(at) => (FakeClock::fixed(at), Arc::new(ManualClock::new(at))),
        None => (FakeClock::system(), Arc::new(SystemClock)),
    };
    let Prepared {
        pronestor,
        winkas,
        config,
        rules,
        copied,
        written,
    } = prepare(&args.dir, fake_clock).await?;
    let opened = daemon::Core::open(&config, clock, HttpConfig::default())?;
    let rules_dir = std::fs::canonicalize(&rules).unwrap_or(rules.clone());

    let Some(listener) = listener else {
        return once(opened, &rules_dir, addr).await;
    };
    let bound = daemon::web::bound(&opened.core.rules.current().site, listener)?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let running = daemon::start(opened, stop_rx.clone())?;
    let url = daemon::web::serve_bound(&running, bound, stop_rx)?;
    println!("klar demo is running.");
    println!("  fake Pronestor: {}", pronestor.base_url());
    println!("  fake WinKAS:    {}", winkas.base_url());
    println!(
        "  site config:    {}{}",
        running.core.config.display(),
        if written {
            " (written from the demo's template; edit it)"
        } else {
            " (yours, kept; only the fakes' addresses were updated)"
        }
    );
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
        "Edit a rule or [rules.settings.school] in the site config: the doors follow within a second or two once the pack's cases pass and the change decides every live booking (a change that does not is refused; klar reload --config {} --confirm applies it). Ctrl-C stops.",
        running.core.config.display()
    );
    super::run::shutdown_signal().await;
    stop_tx.send_replace(true);
    running.join().await;
    Ok(ExitCode::SUCCESS)
}

/// What one full cycle saw and did.
struct Cycle {
    status: daemon::status::Status,
    plan: Plan,
    applied: daemon::status::ApplyStatus,
}

/// One cycle: poll every source's full horizon, plan, apply.
async fn cycle(opened: daemon::Opened) -> anyhow::Result<Cycle> {
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
    let now = core.clock.now();
    let c = core.clone();
    let (plan, applied) = tokio::task::spawn_blocking(move || {
        let plan = c.plan(now);
        let applied = c.apply(&mut controller, &plan);
        (plan, applied)
    })
    .await
    .context("the cycle panicked")?;
    Ok(Cycle {
        status,
        plan,
        applied,
    })
}

/// One cycle, summarised for a person or a script.
async fn once(opened: daemon::Opened, rules: &Path, addr: SocketAddr) -> Outcome {
    let Cycle {
        status,
        plan,
        applied,
    } = cycle(opened).await?;
    let failed: Vec<String> = status
        .sources
        .iter()
        .filter_map(|s| s.last_error.as_ref().map(|e| format!("{}: {e}", s.name)))
        .collect();
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

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Duration, TimeZone, Utc};

    use super::*;

    #[test]
    fn an_edited_site_config_keeps_its_edits_and_gets_the_new_addresses() {
        let edited = SITE_TEMPLATE
            .replace("@PRONESTOR_URL@", "http://127.0.0.1:1111")
            .replace("@WINKAS_URL@", "http://127.0.0.1:2222")
            .replace("margin_before = 15", "margin_before = 45 # mine");
        let patched = point_at_fakes(
            &edited,
            "http://127.0.0.1:3333",
            "http://127.0.0.1:4444",
            "999",
        );
        assert!(patched.contains("margin_before = 45 # mine"));
        assert!(patched.contains("url = \"http://127.0.0.1:3333\""));
        assert!(patched.contains("url = \"http://127.0.0.1:4444\""));
        assert!(patched.contains("contract_code = \"999\""));
        assert!(
            !patched.contains("url = \"http://127.0.0.1:1111")
                && !patched.contains("url = \"http://127.0.0.1:2222")
        );
        assert_eq!(
            patched.lines().count(),
            edited.lines().count(),
            "nothing else changes"
        );
        // A config that does not parse is left as it is.
        let broken = format!("{edited}\n[site\n");
        assert_eq!(point_at_fakes(&broken, "x", "y", "z"), broken);
    }

    /// The demo's bookings are generated around now, so what the simulated controller must hold
    /// depends on the hour and weekday the demo is started. At any of them the demo must fit
    /// its controller (no table over UniLock's 8 exceptions), decide every booking and open
    /// doors: a demo that fails on a Monday morning is a broken demo.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_demo_fits_its_controller_at_every_hour_of_a_week() {
        let dir = tempfile::tempdir().unwrap();
        // A Monday, 00:30 Copenhagen time; then every 2 hours for a week, a few minutes later
        // each time, so windows begin inside the horizon as well as at its edge. (Checked once
        // hourly over two weeks as well.)
        let monday = Utc.with_ymd_and_hms(2026, 11, 22, 23, 30, 0).unwrap();
        let mut failures = Vec::new();
        for step in 0..(7 * 12) {
            let at: DateTime<Utc> =
                monday + Duration::hours(2 * step) + Duration::minutes(7 * step);
            let prepared = prepare(dir.path(), FakeClock::fixed(at)).await.unwrap();
            let opened = daemon::Core::open(
                &prepared.config,
                Arc::new(ManualClock::new(at)),
                HttpConfig::default(),
            )
            .unwrap();
            let Cycle {
                status,
                plan,
                applied,
            } = cycle(opened).await.unwrap();
            let errors: Vec<String> = status
                .sources
                .iter()
                .filter_map(|s| s.last_error.clone())
                .chain(applied.problems.iter().map(|p| p.to_string()))
                .chain(applied.error.clone())
                .chain(plan.errors.iter().map(|e| e.to_string()))
                .collect();
            if !errors.is_empty() || Summary::of(&plan).doors.is_empty() {
                failures.push(format!("{at}: {errors:?}"));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }
}
