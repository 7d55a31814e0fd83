//! `klar state`: every door, zone, output and person grant at an instant, as the controller
//! holds them, and where that differs from the plan.
//!
//! Reads the controller through the site's driver (the embedded simulator's state file, or the
//! `unilock-http` controller's database) without writing to it, and plans the bookings at the
//! instant to compare: what the controller would hold with the plan applied is computed in
//! memory. PINs and cards show as "PIN set" and a count, never their values. Also the reading
//! `klar explain` and the dashboard's explain share ([`inspect`]).

use std::path::PathBuf;
use std::process::ExitCode;

use chrono::{DateTime, Utc};
use klar_adapters::controllers::mqtt::MqttConfig;
use klar_adapters::controllers::unilock::protocol::{Cause, Grant, ObjectState, StateAt, Value};
use klar_adapters::controllers::unilock::{UnilockSimulator, read_database};
use klar_engine::plan::Plan;
use klar_engine::reconcile::Problem;
use klar_engine::site::SiteConfig;
use serde::Serialize;

use super::sync::{bookings_from, load_packs, make_plan, state_file_beside, store_path};
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

/// The controller as it is, and as it would be with the plan applied.
pub(crate) struct Inspection {
    /// The plan at the instant; `None` when no bookings are known (no store, no file).
    pub plan: Option<Plan>,
    /// The controller's database as read.
    pub live: UnilockSimulator,
    /// The same with the plan applied (in memory only).
    pub planned: Option<UnilockSimulator>,
    /// What the plan asks that this controller cannot hold as asked.
    pub problems: Vec<Problem>,
}

/// Reads the site's controller and, with a plan, what it would hold with the plan applied. The
/// targets an `[mqtt]` table gives to MQTT are left out of the comparison: UniLock never gets
/// them. Blocking (a file or an HTTP request).
pub(crate) fn inspect(site: &SiteConfig, plan: Option<Plan>) -> anyhow::Result<Inspection> {
    let (driver, db) = read_database(site, Some(state_file_beside(&store_path(site))))
        .map_err(|e| anyhow::anyhow!("reading the controller: {e}"))?;
    let inst = driver.installation().clone();
    let (planned, problems) = match &plan {
        Some(plan) => {
            let mqtt = MqttConfig::from_table(&site.mqtt)
                .ok()
                .flatten()
                .and_then(|c| c.filter().ok());
            let plan = match mqtt {
                Some(filter) => filter.exclude(plan),
                None => plan.clone(),
            };
            let problems = driver.desired(&plan, &driver.observed(&db)).problems;
            let planned = driver.planned(&plan, &db);
            (
                Some(UnilockSimulator::with_database(inst.clone(), planned)),
                problems,
            )
        }
        None => (None, Vec::new()),
    };
    Ok(Inspection {
        plan,
        live: UnilockSimulator::with_database(inst, db),
        planned,
        problems,
    })
}

/// The plan at `at` from a bookings file or the store; `None` when neither has bookings.
fn plan_at(
    site: &SiteConfig,
    bookings: Option<&std::path::Path>,
    at: DateTime<Utc>,
) -> anyhow::Result<Option<Plan>> {
    if bookings.is_none() && !store_path(site).exists() {
        return Ok(None);
    }
    let bookings = bookings_from(site, bookings)?;
    let packs = load_packs(site)?;
    Ok(Some(make_plan(site, &packs, &bookings, at)))
}

/// The controller and the plan at `at`, for `klar state` and `klar explain`.
pub(super) fn inspect_at(
    site: &SiteConfig,
    bookings: Option<&std::path::Path>,
    at: DateTime<Utc>,
) -> anyhow::Result<Inspection> {
    let plan = plan_at(site, bookings, at)?;
    inspect(site, plan)
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
    /// How many doors, zones, outputs and persons differ from the plan (none without a plan).
    differences: usize,
    /// Whether a plan was compared (bookings were known).
    compared: bool,
    /// What the plan asks that the controller cannot hold as asked (unbound, waiting, blocked).
    problems: Vec<String>,
}

#[derive(Serialize)]
struct Item {
    id: String,
    state: String,
    because: Vec<String>,
    /// What the plan asks, when the controller holds something else.
    #[serde(skip_serializing_if = "Option::is_none")]
    plan: Option<String>,
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
    refused: Vec<String>,
    /// The doors the plan would have this person open now, when the controller differs.
    #[serde(skip_serializing_if = "Option::is_none")]
    plan_doors: Option<Vec<String>>,
}

/// A zone's or output's on/off in words.
pub(crate) fn words(kind: &str, v: Value) -> String {
    match (kind, v) {
        ("zone", Value::On) => "armed".into(),
        ("zone", Value::Off) => "disarmed".into(),
        (_, v) => v.to_string(),
    }
}

fn items(kind: &str, live: &[ObjectState], planned: Option<&[ObjectState]>) -> Vec<Item> {
    live.iter()
        .map(|s| Item {
            id: s.id.clone(),
            state: words(kind, s.value),
            because: s.causes.iter().map(Cause::to_string).collect(),
            plan: planned
                .and_then(|p| p.iter().find(|x| x.id == s.id))
                .filter(|p| p.value != s.value)
                .map(|p| words(kind, p.value)),
        })
        .collect()
}

fn persons(live: &[Grant], planned: Option<&[Grant]>) -> Vec<PersonView> {
    let mut out: Vec<PersonView> = live
        .iter()
        .map(|g| {
            let plan_doors = planned.map(|p| {
                p.iter()
                    .find(|x| x.person == g.person)
                    .map(|x| x.doors.clone())
                    .unwrap_or_default()
            });
            PersonView {
                person: g.person.clone(),
                name: g.name.clone(),
                pin: if g.pin_set { "PIN set" } else { "no PIN" },
                cards: g.cards,
                valid: g.valid,
                groups: g.groups.clone(),
                doors: g.doors.clone(),
                refused: g.refused.clone(),
                plan_doors: plan_doors.filter(|d| *d != g.doors),
            }
        })
        .collect();
    // Persons the plan has and the controller does not.
    for g in planned.unwrap_or_default() {
        if !live.iter().any(|l| l.person == g.person) {
            out.push(PersonView {
                person: g.person.clone(),
                name: g.name.clone(),
                pin: if g.pin_set { "PIN set" } else { "no PIN" },
                cards: g.cards,
                valid: false,
                groups: Vec::new(),
                doors: Vec::new(),
                refused: vec!["not on the controller".into()],
                plan_doors: Some(g.doors.clone()),
            });
        }
    }
    out
}

fn view(site: &SiteConfig, live: &StateAt, planned: Option<&StateAt>) -> View {
    let doors = items("door", &live.doors, planned.map(|p| p.doors.as_slice()));
    let zones = items("zone", &live.zones, planned.map(|p| p.zones.as_slice()));
    let outputs = items(
        "output",
        &live.outputs,
        planned.map(|p| p.outputs.as_slice()),
    );
    let persons = persons(&live.grants, planned.map(|p| p.grants.as_slice()));
    let differences = doors
        .iter()
        .chain(&zones)
        .chain(&outputs)
        .filter(|i| i.plan.is_some())
        .count()
        + persons.iter().filter(|p| p.plan_doors.is_some()).count();
    View {
        at: live.at,
        local: live
            .at
            .with_timezone(&site.site.time_zone)
            .format("%Y-%m-%d %H:%M %Z")
            .to_string(),
        day_type: live.day_type.to_string(),
        doors,
        zones,
        outputs,
        persons,
        differences,
        compared: planned.is_some(),
        problems: Vec::new(),
    }
}

pub fn run(args: Args) -> Outcome {
    let site = load_site(&args.config)?;
    let at = parse_at(&args.at, site.site.time_zone)?;
    let inspection =
        inspect_at(&site, args.bookings.as_deref(), at).map_err(|e| BadInput(format!("{e:#}")))?;
    let planned = inspection.planned.as_ref().map(|p| p.state_at(at));
    let mut v = view(&site, &inspection.live.state_at(at), planned.as_ref());
    v.problems = inspection
        .problems
        .iter()
        .map(ToString::to_string)
        .collect();
    if args.format == Format::Json {
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{} at {} (day type {}), as the controller holds it",
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
            if let Some(plan) = &i.plan {
                println!("  {:<12} differs from the plan, which asks: {plan}", "");
            }
        }
    }
    println!("persons:");
    if v.persons.is_empty() {
        println!("  (none)");
    }
    for p in &v.persons {
        let valid = if p.valid { "valid" } else { "not valid now" };
        let doors = if p.doors.is_empty() {
            "opens no door".to_owned()
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
        for r in &p.refused {
            println!("  {:<20} refused at {r}", "");
        }
        if let Some(plan) = &p.plan_doors {
            println!(
                "  {:<20} differs from the plan, which opens: {}",
                "",
                if plan.is_empty() {
                    "no door".to_owned()
                } else {
                    plan.join(", ")
                }
            );
        }
    }
    for p in &v.problems {
        println!("cannot be held as planned: {p}");
    }
    if !v.compared {
        println!("no bookings known (no store, no --bookings): the controller only");
    } else if v.differences == 0 {
        println!("the controller is in step with the plan here");
    } else {
        println!(
            "{} difference(s) from the plan: klar sync applies what is missing",
            v.differences
        );
    }
    Ok(ExitCode::SUCCESS)
}
