//! `klar diff --config site.toml [--candidate PATH]...`: what a change of rules or config would do
//! to the doors, before it goes live. The current config and its packs against a candidate:
//! another site config (`--candidate site-new.toml`), another version of a pack
//! (`--candidate ../school-v2`, replacing the pack of the same name), or, with no candidate,
//! the files on disk against the rule set in force in the running daemon (its `/api/diff`).
//!
//! Over the known bookings of a period (the next 7 days by default, `--days`): from
//! `--bookings`, else the store's last good snapshots, else one poll of the sources. Per
//! object, each window added, removed, moved or changed in level, with its bookings; bookings a
//! rule newly fails on (by cause) or decides again; bookings newly bound or unbound; a line
//! per room. A table in the site's local time, or JSON (UTC). Exit 1 when the candidate fails
//! a booking the current rules decide (the daemon's guard would refuse it).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use chrono::{DateTime, Duration, SubsecRound, Utc};
use chrono_tz::Tz;
use klar_adapters::http::{HttpClient, HttpConfig, HttpRequest};
use klar_adapters::sources::{self, BuildContext, PollRequest};
use klar_engine::model::{Booking, Window};
use klar_engine::plan::{PlanInput, plan};
use klar_engine::reload::PlanDiff;
use klar_engine::reload::diff::{ChangeKind, compare};
use klar_engine::rules::RuleRuntime;
use klar_engine::rules::pack::{self, LoadOptions, MANIFEST, PackManifest};
use klar_engine::site::SiteConfig;
use serde::Serialize;

use super::{BadInput, Outcome, load_site, parse_at};
use crate::local_time;

#[derive(clap::Args)]
pub struct Args {
    /// The site config in force.
    #[arg(long)]
    config: PathBuf,
    /// The candidate: another site config (a file), or a rule pack folder that replaces the
    /// config's pack of the same name. May be given more than once (packs). Without it: the
    /// files on disk against the rules in force in the running daemon.
    #[arg(long)]
    candidate: Vec<PathBuf>,
    /// Bookings in the common model (a JSON array); default: the store's last good snapshots,
    /// else one poll of the sources.
    #[arg(long)]
    bookings: Option<PathBuf>,
    /// Where bookings come from without --bookings: `store` or `sources`.
    #[arg(long, value_enum)]
    from: Option<From>,
    /// Plan as of this time (RFC 3339, or local time in the site's zone; `now` by default).
    #[arg(long)]
    at: Option<String>,
    /// The period compared, in days from --at.
    #[arg(long, default_value_t = 7)]
    days: u32,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// The running daemon's dashboard URL (no candidate); default: `[web] listen`.
    #[arg(long)]
    url: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Format {
    Table,
    Json,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum From {
    Store,
    Sources,
}

/// The diff with what it compared, as `--format json` prints it.
#[derive(Serialize)]
struct Report {
    site: String,
    current: String,
    candidate: String,
    bookings: usize,
    bookings_from: String,
    #[serde(flatten)]
    diff: PlanDiff,
}

pub fn run(args: Args) -> Outcome {
    if args.candidate.is_empty() {
        return from_daemon(&args);
    }
    if args.days == 0 || args.days > 366 {
        return Err(BadInput("--days: 1 to 366".into()).into());
    }
    let current_site = load_site(&args.config)?;
    let tz = current_site.site.time_zone;
    let at = match args.at.as_deref() {
        Some(t) if t != "now" => parse_at(t, tz)?,
        _ => Utc::now().trunc_subsecs(0),
    };
    let current_packs = load_packs(&args.config, &current_site)?;
    let (candidate_site, candidate_packs, candidate_name) =
        candidate(&args, &current_site, &current_packs)?;
    let (bookings, bookings_from) = bookings(&args, &current_site, at)?;

    // Both plans over the period, from the same bookings at the same instant.
    let period = |site: &SiteConfig| {
        let mut s = site.clone();
        s.site.horizon_hours = args.days * 24;
        s
    };
    let (cs, ns) = (period(&current_site), period(&candidate_site));
    let before = plan(&PlanInput {
        bookings: &bookings,
        packs: &current_packs,
        site: &cs,
        now: at,
    });
    let after = plan(&PlanInput {
        bookings: &bookings,
        packs: &candidate_packs,
        site: &ns,
        now: at,
    });
    let diff = compare(&before, &after, &bookings, &[&ns, &cs]);
    let report = Report {
        site: current_site.site.name.clone(),
        current: args.config.display().to_string(),
        candidate: candidate_name,
        bookings: bookings.len(),
        bookings_from,
        diff,
    };
    print(&report, tz, args.format)
}

fn print(report: &Report, tz: Tz, format: Format) -> Outcome {
    match format {
        Format::Json => println!("{}", serde_json::to_string_pretty(report)?),
        Format::Table => print!("{}", table(report, tz)),
    }
    Ok(if report.diff.newly_failing.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Loads a config's packs with the settings checked against them.
fn load_packs(config: &Path, site: &SiteConfig) -> anyhow::Result<Vec<Arc<dyn RuleRuntime>>> {
    let packs = pack::load_all(site, &LoadOptions::default()).map_err(|errors| {
        let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
        BadInput(lines.join("\n"))
    })?;
    let infos: Vec<_> = packs.iter().map(|p| p.pack()).collect();
    let problems = klar_engine::reload::check_settings(config, site, &infos);
    if !problems.is_empty() {
        let lines: Vec<String> = problems.iter().map(ToString::to_string).collect();
        return Err(BadInput(lines.join("\n")).into());
    }
    Ok(packs)
}

/// A site config with its packs, and how to name it.
type Candidate = (SiteConfig, Vec<Arc<dyn RuleRuntime>>, String);

/// The candidate's site and packs, and how to name it.
fn candidate(
    args: &Args,
    current: &SiteConfig,
    packs: &[Arc<dyn RuleRuntime>],
) -> anyhow::Result<Candidate> {
    let sites: Vec<&PathBuf> = args.candidate.iter().filter(|p| p.is_file()).collect();
    let dirs: Vec<&PathBuf> = args.candidate.iter().filter(|p| p.is_dir()).collect();
    for p in &args.candidate {
        if !p.exists() {
            return Err(BadInput(format!(
                "--candidate {}: no such file or folder",
                p.display()
            ))
            .into());
        }
    }
    let (site, mut packs, mut name) = match sites.as_slice() {
        [] => (current.clone(), packs.to_vec(), String::new()),
        [one] => {
            let site = load_site(one)?;
            let packs = load_packs(one, &site)?;
            (site, packs, one.display().to_string())
        }
        _ => {
            return Err(
                BadInput("--candidate: at most one site config (and any packs)".into()).into(),
            );
        }
    };
    for dir in dirs {
        if !dir.join(MANIFEST).is_file() {
            return Err(BadInput(format!(
                "--candidate {}: not a rule pack (no {MANIFEST}) and not a site config",
                dir.display()
            ))
            .into());
        }
        let manifest = PackManifest::read(dir).map_err(|e| BadInput(e.to_string()))?;
        let Some(slot) = packs.iter().position(|p| p.pack().name == manifest.name) else {
            let names: Vec<&str> = packs.iter().map(|p| p.pack().name.as_str()).collect();
            return Err(BadInput(format!(
                "--candidate {}: pack {:?} is not one of the config's packs ({})",
                dir.display(),
                manifest.name,
                names.join(", ")
            ))
            .into());
        };
        let loaded = pack::load_reporting(dir, &LoadOptions::default()).map_err(|errors| {
            let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
            BadInput(lines.join("\n"))
        })?;
        packs[slot] = loaded;
        if !name.is_empty() {
            name.push_str(" + ");
        }
        name.push_str(&dir.display().to_string());
    }
    let infos: Vec<_> = packs.iter().map(|p| p.pack()).collect();
    let problems = klar_engine::reload::check_settings(&args.config, &site, &infos);
    if !problems.is_empty() {
        let lines: Vec<String> = problems.iter().map(ToString::to_string).collect();
        return Err(BadInput(lines.join("\n")).into());
    }
    Ok((site, packs, name))
}

/// The bookings to compare on, and where they came from.
fn bookings(
    args: &Args,
    site: &SiteConfig,
    at: DateTime<Utc>,
) -> anyhow::Result<(Vec<Booking>, String)> {
    if let Some(path) = &args.bookings {
        return Ok((super::load_bookings(path)?, path.display().to_string()));
    }
    let store = super::sync::store_path(site);
    let from = args.from.unwrap_or(if store.exists() {
        From::Store
    } else {
        From::Sources
    });
    match from {
        From::Store => {
            let b = super::sync::bookings_from(site, None)?;
            Ok((b, format!("the store {}", store.display())))
        }
        From::Sources => poll_sources(site, at, args.days),
    }
}

/// One full poll of every source over the period.
fn poll_sources(
    site: &SiteConfig,
    at: DateTime<Utc>,
    days: u32,
) -> anyhow::Result<(Vec<Booking>, String)> {
    let http = HttpClient::new(HttpConfig::default()).map_err(|e| anyhow::anyhow!("{e}"))?;
    let ctx = BuildContext {
        http,
        base_dir: site.base_dir.clone(),
        time_zone: site.site.time_zone,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let window = Window::new(at, at + Duration::days(i64::from(days)))
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut all = Vec::new();
    let mut names = Vec::new();
    for config in &site.sources {
        let mut source = sources::build(config, &ctx).map_err(|e| BadInput(e.to_string()))?;
        let outcome = runtime
            .block_on(source.poll(PollRequest { now: at, window }))
            .map_err(|e| BadInput(format!("source {}: {e}", config.name)))?;
        names.push(format!("{} ({})", config.name, outcome.bookings.len()));
        all.extend(outcome.bookings);
    }
    Ok((all, format!("a poll of the sources: {}", names.join(", "))))
}

/// No candidate: the running daemon compares the files on disk with the rules in force.
fn from_daemon(args: &Args) -> Outcome {
    let daemon = super::reload::Daemon::of(&args.config, args.url.as_deref())?;
    let (status, body) = daemon.request(HttpRequest::get(&daemon.url("api/diff"))?)?;
    if status != 200 {
        return Err(BadInput(format!(
            "{}: the daemon answered {status}: {}",
            daemon.base,
            String::from_utf8_lossy(&body).trim()
        ))
        .into());
    }
    let answer: serde_json::Value = serde_json::from_slice(&body)
        .map_err(|e| anyhow::anyhow!("{}: not the daemon's answer: {e}", daemon.base))?;
    let errors: Vec<String> = answer["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e.as_str().map(str::to_owned))
        .collect();
    if !errors.is_empty() {
        for e in &errors {
            eprintln!("error: {e}");
        }
        eprintln!(
            "The files on disk do not load; generation {} stays in force.",
            answer["generation"]
        );
        return Ok(ExitCode::from(2));
    }
    let diff: PlanDiff = serde_json::from_value(answer["diff"].clone())
        .map_err(|e| anyhow::anyhow!("{}: not a diff: {e}", daemon.base))?;
    let site = site_name_and_zone(&args.config);
    let report = Report {
        site: site.0,
        current: format!(
            "generation {} in force at {}",
            answer["generation"], daemon.base
        ),
        candidate: format!("the files on disk ({})", args.config.display()),
        bookings: answer["bookings"].as_u64().unwrap_or(0) as usize,
        bookings_from: "the daemon's bookings in force".into(),
        diff,
    };
    let refused: Vec<String> = answer["refused_for"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e.as_str().map(str::to_owned))
        .collect();
    let code = print(&report, site.1, args.format)?;
    if args.format == Format::Table && !refused.is_empty() {
        println!();
        println!("A reload of these files is refused by the guard:");
        for r in &refused {
            println!("  {r}");
        }
        println!(
            "(klar reload --config {} --confirm applies it anyway)",
            args.config.display()
        );
    }
    Ok(if refused.is_empty() {
        code
    } else {
        ExitCode::from(1)
    })
}

/// The site's name and zone from a config that may not load (the reason to ask the daemon).
fn site_name_and_zone(config: &Path) -> (String, Tz) {
    let table = std::fs::read_to_string(config)
        .ok()
        .and_then(|t| toml::from_str::<toml::Table>(&t).ok())
        .and_then(|t| t.get("site").and_then(|s| s.as_table()).cloned())
        .unwrap_or_default();
    let name = table
        .get("name")
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_owned();
    let tz = table
        .get("time_zone")
        .and_then(|v| v.as_str())
        .and_then(|z| z.parse().ok())
        .unwrap_or(chrono_tz::Europe::Copenhagen);
    (name, tz)
}

/// The diff as a table for people, times in the site's local time.
fn table(r: &Report, tz: Tz) -> String {
    let d = &r.diff;
    let mut out = String::new();
    let _ = writeln!(out, "klar diff: {}", r.site);
    let _ = writeln!(out, "  current:   {}", r.current);
    let _ = writeln!(out, "  candidate: {}", r.candidate);
    let _ = writeln!(
        out,
        "  {} bookings from {}, planned at {} up to {}",
        r.bookings,
        r.bookings_from,
        local_time::instant(d.at, tz),
        local_time::instant(d.until, tz)
    );
    let _ = writeln!(out);
    let _ = writeln!(out, "summary: {}", d.counts);
    if !d.rooms.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(out, "rooms");
        for room in &d.rooms {
            let _ = writeln!(out, "  {room}");
        }
    }
    if !d.newly_failing.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(out, "bookings the candidate's rules fail on (fail closed)");
        for c in &d.newly_failing {
            let _ = writeln!(out, "  {c}");
            for b in &c.bookings {
                let _ = writeln!(out, "    {}:{} {}", b.source, b.id, b.title);
            }
        }
    }
    for (title, list) in [
        ("bookings decided again", &d.newly_decided),
        ("bookings no room is bound to any more", &d.newly_unbound),
        ("bookings now bound to a room", &d.newly_bound),
    ] {
        if list.is_empty() {
            continue;
        }
        let _ = writeln!(out);
        let _ = writeln!(out, "{title}");
        for b in list {
            let _ = writeln!(out, "  {}:{} {}", b.source, b.id, b.title);
        }
    }
    let mut object = "";
    for c in &d.changes {
        if c.object != object {
            object = &c.object;
            let _ = writeln!(out);
            let _ = writeln!(out, "{object}");
        }
        let level = |l: Option<klar_engine::model::DoorLevel>| {
            l.map(|l| format!(" {l}")).unwrap_or_default()
        };
        let window = |w: &Option<Window>| {
            w.as_ref()
                .map_or_else(String::new, |w| local_time::window(w, tz))
        };
        let beside = |after: &Option<Window>, before: &Option<Window>| match (after, before) {
            (Some(a), Some(b)) => local_time::window_beside(a, b, tz),
            _ => window(after),
        };
        let line = match c.kind {
            ChangeKind::Added => format!("  added    {}{}", window(&c.after), level(c.level_after)),
            ChangeKind::Removed => {
                format!("  removed  {}{}", window(&c.before), level(c.level_before))
            }
            ChangeKind::Moved => format!(
                "  moved    {}{} -> {} ({})",
                window(&c.before),
                level(c.level_before),
                beside(&c.after, &c.before),
                match (&c.before, &c.after) {
                    (Some(b), Some(a)) => local_time::shift(b, a),
                    _ => String::new(),
                }
            ),
            ChangeKind::Level => format!(
                "  level    {}{} -> {}{}",
                window(&c.before),
                level(c.level_before),
                beside(&c.after, &c.before),
                level(c.level_after)
            ),
        };
        let _ = writeln!(out, "{line}");
        let names: Vec<String> = c
            .bookings
            .iter()
            .map(|b| format!("{}:{} {}", b.source, b.id, b.title))
            .collect();
        let _ = writeln!(out, "           {}", names.join("; "));
    }
    out
}
