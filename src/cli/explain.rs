//! `klar explain`: why a door, zone, output or person is in its state at an instant.
//!
//! Reads the controller through the site's driver (never writing to it), says the object's
//! state there and what decided it, then what the plan asks of it and where the controller
//! differs, the effects, bookings, rule lines and pack versions behind klar's part, the
//! bookings a rule failed on and the conflicts lost that touch it, and what of the plan the
//! controller cannot hold as asked. Without any klar part: "normal operation: weekly table X".

use std::path::PathBuf;
use std::process::ExitCode;

use chrono::{DateTime, Utc};
use klar_adapters::controllers::unilock::protocol::{Cause, Grant, ObjectState};
use klar_adapters::controllers::unilock::{SimError, UnilockSimulator};
use klar_engine::model::{BookingId, SourceName, room_key};
use klar_engine::plan::{Plan, Target};
use klar_engine::site::SiteConfig;

use super::state::{Inspection, inspect_at, words};
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
    /// The door, zone, output or person (person key, e.g. halls:member:1042).
    pub id: String,
    #[arg(long)]
    pub config: PathBuf,
    /// A bookings file; without it, the store's last good snapshots.
    #[arg(long)]
    pub bookings: Option<PathBuf>,
    #[arg(long)]
    pub at: String,
}

/// Whether a plan target concerns the object asked about, given the shared exceptions that
/// drive it.
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

fn reasons(
    out: &mut Vec<String>,
    plan: &Plan,
    kind: Kind,
    id: &str,
    shared: &[u32],
    at: DateTime<Utc>,
) -> usize {
    let mut n = 0;
    for (target, w) in plan.active(at) {
        if !concerns(kind, id, target, shared) {
            continue;
        }
        out.push(format!("  effect {target} {}", w.window));
        let mut seen = Vec::new();
        for r in &w.reasons {
            let line = format!(
                "    booking {}:{} ({}), rule {} in pack {} {}",
                r.source, r.booking, r.title, r.rule, r.pack, r.pack_version
            );
            if !seen.contains(&line) {
                out.push(line.clone());
                seen.push(line);
            }
        }
        n += 1;
    }
    n
}

fn state_lines(out: &mut Vec<String>, kind: &str, s: &ObjectState) {
    out.push(format!(
        "{kind} {}: {} (as the controller holds it)",
        s.id,
        words(kind, s.value)
    ));
    for (i, c) in s.causes.iter().enumerate() {
        let lead = if i == 0 { "because" } else { "also active" };
        out.push(format!("  {lead}: {c}"));
    }
}

fn grant_line(g: &Grant) -> String {
    let pin = if g.pin_set { "PIN set" } else { "no PIN" };
    let doors = if g.doors.is_empty() {
        "opens no door".to_owned()
    } else {
        format!("opens {}", g.doors.join(", "))
    };
    format!(
        "person {} ({}): {pin}, {} card(s), groups [{}], {doors}",
        g.person,
        g.name,
        g.cards,
        g.groups.join(", ")
    )
}

fn object_state(
    sim: &UnilockSimulator,
    kind: Kind,
    id: &str,
    at: DateTime<Utc>,
) -> Result<Option<(&'static str, ObjectState)>, SimError> {
    Ok(match kind {
        Kind::Door => Some(("door", sim.door(id, at)?)),
        Kind::Zone => Some(("zone", sim.zone(id, at)?)),
        Kind::Output => Some(("output", sim.output(id, at)?)),
        Kind::Person => None,
    })
}

pub fn run(args: Args) -> Outcome {
    let site = load_site(&args.config)?;
    let at = parse_at(&args.at, site.site.time_zone)?;
    let inspection =
        inspect_at(&site, args.bookings.as_deref(), at).map_err(|e| BadInput(format!("{e:#}")))?;
    for line in explain(&site, &inspection, args.kind, &args.id, at)? {
        println!("{line}");
    }
    Ok(ExitCode::SUCCESS)
}

/// Why the object is in its state at `at`, as the lines `klar explain` prints. The dashboard's
/// explain view shows the same.
pub fn explain(
    site: &SiteConfig,
    inspection: &Inspection,
    kind: Kind,
    id: &str,
    at: DateTime<Utc>,
) -> anyhow::Result<Vec<String>> {
    let unknown = |e: SimError| BadInput(e.to_string());
    let mut out = vec![format!(
        "at {}",
        at.with_timezone(&site.site.time_zone)
            .format("%Y-%m-%d %H:%M %Z")
    )];
    let live = object_state(&inspection.live, kind, id, at).map_err(unknown)?;
    let planned = match &inspection.planned {
        Some(p) => object_state(p, kind, id, at).map_err(unknown)?,
        None => None,
    };
    // The shared exceptions behind the state, on the controller and in the plan.
    let mut shared: Vec<u32> = [&live, &planned]
        .into_iter()
        .flatten()
        .flat_map(|(_, s)| s.causes.iter())
        .filter_map(|c| match c {
            Cause::SharedException { id, .. } => Some(*id),
            _ => None,
        })
        .collect();
    shared.sort();
    shared.dedup();
    match &live {
        Some((word, s)) => {
            state_lines(&mut out, word, s);
            if let Some((_, p)) = &planned
                && p.value != s.value
            {
                out.push(format!(
                    "  differs from the plan, which asks: {} (klar sync applies what is missing)",
                    words(word, p.value)
                ));
            }
        }
        None => {
            let live = inspection
                .live
                .grants(at)
                .into_iter()
                .find(|g| g.person == id);
            let planned = inspection
                .planned
                .as_ref()
                .and_then(|p| p.grants(at).into_iter().find(|g| g.person == id));
            match &live {
                Some(g) => {
                    out.push(format!("{} (as the controller holds it)", grant_line(g)));
                    for r in &g.refused {
                        out.push(format!("  refused at {r}"));
                    }
                }
                None => out.push(format!(
                    "person {id}: not on the controller (klar grants nothing there now)"
                )),
            }
            // With a plan to compare: the doors it would have this person's keys open now.
            let live_doors = live.as_ref().map(|g| g.doors.clone()).unwrap_or_default();
            if inspection.planned.is_some() {
                let planned_doors = planned.map(|g| g.doors).unwrap_or_default();
                if planned_doors != live_doors {
                    out.push(format!(
                        "  differs from the plan, which opens: {} (klar sync applies what is missing)",
                        if planned_doors.is_empty() {
                            "no door".to_owned()
                        } else {
                            planned_doors.join(", ")
                        }
                    ));
                }
            }
        }
    }
    let Some(plan) = &inspection.plan else {
        out.push("  no bookings known (no store, no --bookings): the controller only".into());
        return Ok(out);
    };
    let weekly_only = matches!(
        live.as_ref().and_then(|(_, s)| s.causes.first()),
        Some(Cause::Weekly { .. })
    ) && planned
        .as_ref()
        .is_none_or(|(_, p)| matches!(p.causes.first(), Some(Cause::Weekly { .. })));
    let n = reasons(&mut out, plan, kind, id, &shared, at);
    if n == 0 && !weekly_only {
        out.push(
            "  no klar effect is active on it now: the state above is the controller's own"
                .to_owned(),
        );
    }
    for line in failed_bookings(site, plan, kind, id) {
        out.push(line);
    }
    for c in plan
        .conflicts
        .iter()
        .filter(|c| c.window.contains(at) && concerns(kind, id, &c.target, &shared))
    {
        let names = |list: &[klar_engine::plan::BookingRef]| {
            list.iter()
                .map(|b| format!("{}:{} ({})", b.source, b.id, b.title))
                .collect::<Vec<_>>()
                .join(", ")
        };
        out.push(format!(
            "  lost conflict: {} {}: {}; lost by {}, won by {}",
            c.target,
            c.window,
            c.resolution,
            names(&c.losers),
            names(&c.winners)
        ));
    }
    for p in inspection.problems.iter().filter(|p| {
        p.target
            .as_ref()
            .is_some_and(|t| concerns(kind, id, t, &shared))
    }) {
        out.push(format!("  cannot be held as planned: {p}"));
    }
    Ok(out)
}

/// The bookings a rule failed on whose room drives the object: they fail closed (restrictive
/// effects stay, opening ones only from a last good decision), which may be why it is closed.
fn failed_bookings(site: &SiteConfig, plan: &Plan, kind: Kind, id: &str) -> Vec<String> {
    let mut out = Vec::new();
    for e in &plan.errors {
        for ((source, booking), booked) in plan.bookings.iter().filter(|(k, _)| k.1 == e.booking) {
            let Some(room) = site.rooms.get(&room_key(source, &booked.resource)) else {
                continue;
            };
            let touches = match kind {
                Kind::Door => room.doors.iter().any(|d| d.as_str() == id),
                Kind::Zone => room.alarm_zone.as_ref().is_some_and(|z| z.as_str() == id),
                Kind::Output => room.outputs.values().any(|o| o.as_str() == id),
                Kind::Person => false,
            };
            if touches {
                out.push(format!(
                    "  failed booking {source}:{booking}: a rule of pack {} failed ({}); it fails closed: {}",
                    e.pack,
                    e.message,
                    what_stays(plan, source, booking)
                ));
            }
        }
    }
    out
}

/// What a booking a pack failed on keeps, in words: its restrictive effects always, a failing
/// pack's last good decision, and which opening effects are withheld.
fn what_stays(plan: &Plan, source: &SourceName, booking: &BookingId) -> String {
    let Some(f) = plan
        .fail_closed
        .iter()
        .find(|f| &f.booking.source == source && &f.booking.id == booking)
    else {
        return "restrictive effects stay, nothing opens for it".into();
    };
    let mut parts = vec!["restrictive effects stay".to_owned()];
    for g in &f.last_good {
        parts.push(format!(
            "{} {}'s last good decision stays ({})",
            g.pack,
            g.pack_version,
            if g.whole {
                "whole"
            } else {
                "restrictive parts"
            }
        ));
    }
    if f.withheld.is_empty() {
        parts.push("nothing is withheld".into());
    } else {
        parts.push(format!("withheld: {}", f.withheld.join(", ")));
    }
    parts.join("; ")
}
