//! `klar plan --config site.toml --bookings bookings.json [--at TIME] [--format table|json]`:
//! the effects the rules give for a bookings file, per target, with their reasons.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use chrono::{DateTime, SubsecRound, Utc};
use chrono_tz::Tz;
use klar_engine::model::Window;
use klar_engine::plan::{BookingRef, Plan, PlanInput, plan};
use klar_engine::rules::cases::show_instant;
use klar_engine::rules::pack::{self, LoadOptions};

use super::{BadInput, Outcome, load_bookings, load_site, parse_at};

#[derive(clap::Args)]
pub struct Args {
    /// The site config.
    #[arg(long)]
    config: PathBuf,
    /// Bookings in the common model: a JSON array (see the README).
    #[arg(long)]
    bookings: PathBuf,
    /// Plan as of this time (RFC 3339, or local time in the site's zone); now by default.
    #[arg(long)]
    at: Option<String>,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Format {
    Table,
    Json,
}

pub fn run(args: Args) -> Outcome {
    let site = load_site(&args.config)?;
    let bookings = load_bookings(&args.bookings)?;
    let tz = site.site.time_zone;
    let now = match &args.at {
        Some(at) => parse_at(at, tz)?,
        None => Utc::now().trunc_subsecs(0),
    };
    let packs = pack::load_all(&site, &LoadOptions::default()).map_err(|errors| {
        let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
        BadInput(lines.join("\n"))
    })?;
    let plan = plan(&PlanInput {
        bookings: &bookings,
        packs: &packs,
        site: &site,
        now,
    });
    match args.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&plan)?),
        Format::Table => print!("{}", table(&plan, tz)),
    }
    Ok(ExitCode::SUCCESS)
}

fn local(t: DateTime<Utc>, tz: Tz) -> String {
    show_instant(t, tz)
}

fn window(w: &Window, tz: Tz) -> String {
    format!("{} .. {}", local(w.from, tz), local(w.to, tz))
}

fn booking(b: &BookingRef) -> String {
    format!("{}:{} \"{}\"", b.source, b.id, b.title)
}

/// The plan for people: each target's windows in local time with their reasons, then
/// everything that did not go as the rules asked.
fn table(plan: &Plan, tz: Tz) -> String {
    let mut out = String::new();
    let packs: Vec<String> = plan
        .packs
        .iter()
        .map(|p| format!("{} {}", p.name, p.version))
        .collect();
    let _ = writeln!(
        out,
        "Plan for {} at {} ({tz}), horizon to {}; packs: {}",
        plan.site,
        local(plan.at, tz),
        local(plan.horizon.to, tz),
        if packs.is_empty() {
            "none".to_owned()
        } else {
            packs.join(", ")
        }
    );
    if plan.entries.is_empty() {
        let _ = writeln!(out, "\nNo effects in the horizon.");
    }
    for entry in &plan.entries {
        let _ = writeln!(out, "\n{}", entry.target);
        for w in &entry.windows {
            let _ = writeln!(out, "  {}", window(&w.window, tz));
            for r in &w.reasons {
                let _ = writeln!(
                    out,
                    "      booking {}:{} \"{}\" by {} {} at {}",
                    r.source, r.booking, r.title, r.pack, r.pack_version, r.rule
                );
            }
        }
    }
    if !plan.conflicts.is_empty() {
        let _ = writeln!(out, "\nConflicts ({}):", plan.conflicts.len());
        for c in &plan.conflicts {
            let _ = writeln!(
                out,
                "  {} {}: {}",
                c.target,
                window(&c.window, tz),
                c.resolution
            );
            let winners: Vec<String> = c.winners.iter().map(booking).collect();
            let losers: Vec<String> = c.losers.iter().map(booking).collect();
            let _ = writeln!(
                out,
                "      won: {}; lost: {}",
                winners.join(", "),
                losers.join(", ")
            );
        }
    }
    if !plan.adjustments.is_empty() {
        let _ = writeln!(
            out,
            "\nAdjusted by the site's caps ({}):",
            plan.adjustments.len()
        );
        for a in &plan.adjustments {
            let after = a
                .after
                .map_or_else(|| "nothing left".to_owned(), |w| window(&w, tz));
            let _ = writeln!(
                out,
                "  {} for {}: {:?}: {} -> {}",
                a.target,
                booking(&a.booking),
                a.kind,
                window(&a.before, tz),
                after
            );
        }
    }
    if !plan.errors.is_empty() {
        let _ = writeln!(
            out,
            "\nRule errors ({}; these bookings fail closed, per pack):",
            plan.errors.len()
        );
        for e in &plan.errors {
            let _ = writeln!(out, "  {e}");
        }
        for f in &plan.fail_closed {
            let kept: Vec<String> = f
                .last_good
                .iter()
                .map(|g| {
                    format!(
                        "{} {}'s last good decision ({})",
                        g.pack,
                        g.pack_version,
                        if g.whole {
                            "whole"
                        } else {
                            "restrictive parts"
                        }
                    )
                })
                .collect();
            let _ = writeln!(
                out,
                "  {}: restrictive effects kept{}{}",
                booking(&f.booking),
                if kept.is_empty() {
                    String::new()
                } else {
                    format!(", {}", kept.join(", "))
                },
                if f.withheld.is_empty() {
                    String::new()
                } else {
                    format!("; withheld: {}", f.withheld.join(", "))
                }
            );
        }
    }
    if !plan.rejected.is_empty() {
        let _ = writeln!(out, "\nRejected bookings ({}):", plan.rejected.len());
        for r in &plan.rejected {
            let _ = writeln!(out, "  {}: {}", booking(&r.booking), r.reason);
        }
    }
    if !plan.unbound.is_empty() {
        let _ = writeln!(
            out,
            "\nUnbound bookings ({}; no room is bound to their resource):",
            plan.unbound.len()
        );
        for b in &plan.unbound {
            let _ = writeln!(out, "  {}", booking(b));
        }
    }
    if !plan.warnings.is_empty() {
        let _ = writeln!(
            out,
            "\nGrants that cannot work as asked ({}):",
            plan.warnings.len()
        );
        for w in &plan.warnings {
            let _ = writeln!(out, "  {w}");
        }
    }
    out
}
