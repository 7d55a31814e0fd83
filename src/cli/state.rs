//! `klar state`: every door, zone, output and person grant at an instant, from a fresh simulator.
//!
//! Plans the bookings at the instant, applies the plan to a fresh embedded simulator of the
//! site's installation, and prints what it answers. PINs and cards show as "PIN set" and a
//! count, never their values.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use chrono::{DateTime, Utc};
use klar_adapters::controllers::unilock::protocol::{Cause, ObjectState, StateAt, Value};
use klar_adapters::controllers::unilock::{EmbeddedUnilock, driver_for};
use klar_engine::plan::Plan;
use klar_engine::reconcile::{ReconcileOptions, reconcile};
use klar_engine::site::SiteConfig;
use serde::Serialize;

use super::sync::{bookings_from, load_packs, make_plan};
use super::{BadInput, Outcome, load_site, parse_at};

#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    pub config: PathBuf,
    /// A bookings file; without it, the store's last good snapshots.
    #[arg(long)]
    pub bookings: Option<PathBuf>,
    /// The instant: RFC 3339, or local time in the site's zone.
    #[arg(long)]
    pub at: String,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
}

/// The plan at `at` applied to a fresh simulator.
pub(super) fn simulate(
    site: &SiteConfig,
    bookings: Option<&std::path::Path>,
    at: DateTime<Utc>,
) -> anyhow::Result<(Plan, EmbeddedUnilock)> {
    let bookings = bookings_from(site, bookings)?;
    let packs = load_packs(site)?;
    let plan = make_plan(site, &packs, &bookings, at);
    let sim = simulate_plan(site, &plan, at)?;
    Ok((plan, sim))
}

/// `plan` applied at `at` to a fresh simulator of the site's installation (also the
/// dashboard's explain view, with the daemon's bookings and rules).
pub(crate) fn simulate_plan(
    site: &SiteConfig,
    plan: &Plan,
    at: DateTime<Utc>,
) -> anyhow::Result<EmbeddedUnilock> {
    let (_, driver) = driver_for(site).map_err(|e| BadInput(e.to_string()))?;
    let mut sim = EmbeddedUnilock::open(driver, None).context("starting the simulator")?;
    reconcile(&mut sim, plan, ReconcileOptions::at(at))
        .context("applying the plan to the simulator")?;
    Ok(sim)
}

#[derive(Serialize)]
struct View {
    at: DateTime<Utc>,
    local: String,
    day_type: String,
    doors: Vec<Item>,
    zones: Vec<Item>,
    outputs: Vec<Item>,
    persons: Vec<PersonView>,
}

#[derive(Serialize)]
struct Item {
    id: String,
    state: String,
    because: Vec<String>,
}

#[derive(Serialize)]
struct PersonView {
    person: String,
    name: String,
    pin: &'static str,
    cards: usize,
    valid: bool,
    groups: Vec<String>,
    doors: Vec<String>,
}

/// A zone's or output's on/off in words.
pub(crate) fn words(kind: &str, v: Value) -> String {
    match (kind, v) {
        ("zone", Value::On) => "armed".into(),
        ("zone", Value::Off) => "disarmed".into(),
        (_, v) => v.to_string(),
    }
}

fn item(kind: &str, s: &ObjectState) -> Item {
    Item {
        id: s.id.clone(),
        state: words(kind, s.value),
        because: s.causes.iter().map(Cause::to_string).collect(),
    }
}

fn view(site: &SiteConfig, s: &StateAt) -> View {
    View {
        at: s.at,
        local: s
            .at
            .with_timezone(&site.site.time_zone)
            .format("%Y-%m-%d %H:%M %Z")
            .to_string(),
        day_type: s.day_type.to_string(),
        doors: s.doors.iter().map(|d| item("door", d)).collect(),
        zones: s.zones.iter().map(|z| item("zone", z)).collect(),
        outputs: s.outputs.iter().map(|o| item("output", o)).collect(),
        persons: s
            .grants
            .iter()
            .map(|g| PersonView {
                person: g.person.clone(),
                name: g.name.clone(),
                pin: if g.pin_set { "PIN set" } else { "no PIN" },
                cards: g.cards,
                valid: g.valid,
                groups: g.groups.clone(),
                doors: g.doors.clone(),
            })
            .collect(),
    }
}

pub fn run(args: Args) -> Outcome {
    let site = load_site(&args.config)?;
    let at = parse_at(&args.at, site.site.time_zone)?;
    let (_, sim) = simulate(&site, args.bookings.as_deref(), at)?;
    let v = view(&site, &sim.simulator().state_at(at));
    if args.format == Format::Json {
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{} at {} (day type {})",
        site.site.name, v.local, v.day_type
    );
    for (title, items) in [
        ("doors", &v.doors),
        ("zones", &v.zones),
        ("outputs", &v.outputs),
    ] {
        println!("{title}:");
        for i in items {
            println!("  {:<12} {:<9} {}", i.id, i.state, i.because.join("; "));
        }
    }
    println!("persons:");
    if v.persons.is_empty() {
        println!("  (none)");
    }
    for p in &v.persons {
        let valid = if p.valid { "valid" } else { "not valid now" };
        let doors = if p.doors.is_empty() {
            "no doors".to_owned()
        } else {
            format!("opens {}", p.doors.join(", "))
        };
        println!(
            "  {:<20} {:<16} {}, {} card(s), {valid}, groups [{}], {doors}",
            p.person,
            p.name,
            p.pin,
            p.cards,
            p.groups.join(", ")
        );
    }
    Ok(ExitCode::SUCCESS)
}
