//! `klar explain`: why a door, zone, output or person is in its state at an instant.
//!
//! Plans at the instant, applies to a fresh simulator, asks it for the object's state and what
//! decided it, and names the plan entries behind klar's part: effects, bookings, rule lines,
//! pack versions. Without any: "normal operation: weekly table X".

use std::path::PathBuf;
use std::process::ExitCode;

use chrono::{DateTime, Utc};
use klar_adapters::controllers::unilock::UnilockSimulator;
use klar_adapters::controllers::unilock::protocol::{Cause, ObjectState};
use klar_engine::plan::{Plan, Target};
use klar_engine::site::SiteConfig;

use super::state::{simulate, words};
use super::{BadInput, Outcome, load_site, parse_at};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    Door,
    Zone,
    Output,
    Person,
}

#[derive(clap::Args)]
pub struct Args {
    #[arg(value_enum)]
    pub kind: Kind,
    /// The door, zone, output or person (person key, e.g. member:1042).
    pub id: String,
    #[arg(long)]
    pub config: PathBuf,
    /// A bookings file; without it, the store's last good snapshots.
    #[arg(long)]
    pub bookings: Option<PathBuf>,
    #[arg(long)]
    pub at: String,
}

/// Whether a plan target concerns the object asked about, given the shared exceptions and
/// tables that drive it.
fn concerns(kind: Kind, id: &str, target: &Target, shared: &[u32]) -> bool {
    match (kind, target) {
        (Kind::Door, Target::Door { door, .. }) => door.as_str() == id,
        (Kind::Door, Target::Deny { door, .. }) => door.as_str() == id,
        (Kind::Zone, Target::Zone { zone }) => zone.as_str() == id,
        (Kind::Output, Target::Output { output }) => output.as_str() == id,
        (Kind::Person, Target::Membership { person, .. }) => person.as_str() == id,
        (_, Target::SharedException { id: se }) => shared.contains(se),
        (_, Target::Day { .. }) => kind != Kind::Person,
        _ => false,
    }
}

fn reasons(out: &mut Vec<String>, plan: &Plan, kind: Kind, id: &str, shared: &[u32]) -> usize {
    let mut n = 0;
    for (target, w) in plan.active(plan.at) {
        if !concerns(kind, id, target, shared) {
            continue;
        }
        out.push(format!("  effect {target} {}", w.window));
        for r in &w.reasons {
            out.push(format!(
                "    booking {}:{} ({}), rule {} in pack {} {}",
                r.source, r.booking, r.title, r.rule, r.pack, r.pack_version
            ));
        }
        n += 1;
    }
    n
}

fn state_lines(out: &mut Vec<String>, kind: &str, s: &ObjectState) {
    out.push(format!("{kind} {}: {}", s.id, words(kind, s.value)));
    for (i, c) in s.causes.iter().enumerate() {
        let lead = if i == 0 { "because" } else { "also active" };
        out.push(format!("  {lead}: {c}"));
    }
}

pub fn run(args: Args) -> Outcome {
    let site = load_site(&args.config)?;
    let at = parse_at(&args.at, site.site.time_zone)?;
    let (plan, sim) = simulate(&site, args.bookings.as_deref(), at)?;
    for line in explain(&site, &plan, sim.simulator(), args.kind, &args.id, at)? {
        println!("{line}");
    }
    Ok(ExitCode::SUCCESS)
}

/// Why the object is in its state at `at`, as the lines `klar explain` prints: `sim` holds
/// `plan` applied at `at` to a fresh simulator. The dashboard's explain view shows the same.
pub fn explain(
    site: &SiteConfig,
    plan: &Plan,
    sim: &UnilockSimulator,
    kind: Kind,
    id: &str,
    at: DateTime<Utc>,
) -> anyhow::Result<Vec<String>> {
    let unknown = |e: klar_adapters::controllers::unilock::SimError| BadInput(e.to_string());
    let mut out = vec![format!(
        "at {}",
        at.with_timezone(&site.site.time_zone)
            .format("%Y-%m-%d %H:%M %Z")
    )];
    let state = match kind {
        Kind::Door => Some(("door", sim.door(id, at).map_err(unknown)?)),
        Kind::Zone => Some(("zone", sim.zone(id, at).map_err(unknown)?)),
        Kind::Output => Some(("output", sim.output(id, at).map_err(unknown)?)),
        Kind::Person => None,
    };
    let shared: Vec<u32> = match &state {
        Some((_, s)) => s
            .causes
            .iter()
            .filter_map(|c| match c {
                Cause::SharedException { id, .. } => Some(*id),
                _ => None,
            })
            .collect(),
        None => Vec::new(),
    };
    match &state {
        Some((kind, s)) => {
            state_lines(&mut out, kind, s);
            if matches!(s.causes.first(), Some(Cause::Weekly { .. })) {
                return Ok(out);
            }
        }
        None => {
            let Some(g) = sim.grants(at).into_iter().find(|g| g.person == id) else {
                out.push(format!(
                    "person {id}: klar grants nothing now (no such person on the controller)"
                ));
                return Ok(out);
            };
            let pin = if g.pin_set { "PIN set" } else { "no PIN" };
            let doors = if g.doors.is_empty() {
                "opens no door".to_owned()
            } else {
                format!("opens {}", g.doors.join(", "))
            };
            out.push(format!(
                "person {} ({}): {pin}, {} card(s), groups [{}], {doors}",
                g.person,
                g.name,
                g.cards,
                g.groups.join(", ")
            ));
        }
    }
    if reasons(&mut out, plan, kind, id, &shared) == 0 {
        out.push(
            "  no klar effect is active on it now: the state above is the controller's own"
                .to_owned(),
        );
    }
    Ok(out)
}
