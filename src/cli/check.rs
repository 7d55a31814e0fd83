//! `klar check --config site.toml [--bookings FILE]`: proves what `klar run` needs before it
//! runs. The config parses and its values make sense; every pack compiles and passes its cases
//! (as `klar run` loads them); the packs' settings have their defaults' types; every door,
//! zone, output and group a room names exists in the installation or has a binding; every table
//! the daemon reads (`[[sources]]`, `[controller]`, `[mqtt]`, `[daemon]`, `[web]`) parses. With
//! bookings (`--bookings`, else the store's last good snapshots when there is a store) it
//! decides them and reports the bookings a rule fails on, grouped by cause, and what the
//! controller could not realise. Given several configs, it also reports sites that would write
//! to one controller under one owner marker, and it warns about secret files other users of this
//! machine can read.
//!
//! Every error is one line, `file:line:col: ...` in klar's words, with the fix where it is
//! plain. Exit codes (README): 0 nothing wrong (warnings allowed); 1 the config is usable but
//! running it found a problem (a case fails, a booking fails its rules, the controller cannot
//! hold the plan); 2 the config itself is wrong (it does not parse, a value, a setting, a pack
//! that does not compile, a room bound to nothing) or cannot be read.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use chrono::{SubsecRound, Utc};
use klar_adapters::controllers::mqtt::MqttConfig;
use klar_adapters::controllers::unilock::{UnilockDriver, driver_for};
use klar_adapters::http::{HttpClient, HttpConfig};
use klar_adapters::sources::{self, BuildContext};
use klar_engine::model::{DoorId, DoorLevel, GroupId, OutputId, PersonKey, Window, ZoneId};
use klar_engine::plan::{Plan, PlanEntry, PlannedWindow, Target};
use klar_engine::reconcile::{Observed, ProblemKind};
use klar_engine::reload::causes::causes;
use klar_engine::reload::wording::in_klar_words;
use klar_engine::reload::{ReloadProblem, TomlPlaces, load_initial};
use klar_engine::rules::pack::LoadOptions;
use klar_engine::site::SiteConfig;

use super::{Outcome, parse_at};
use crate::daemon::settings::DaemonSettings;
use crate::daemon::web;

#[derive(clap::Args)]
pub struct Args {
    /// The site config. Give several (`--config a.toml --config b.toml`) to also check that
    /// sites sharing a controller have owner ids of their own.
    #[arg(long, required = true)]
    config: Vec<PathBuf>,
    /// Bookings to decide (a JSON array in the common model); default: the store's last good
    /// snapshots, when there is a store.
    #[arg(long)]
    bookings: Option<PathBuf>,
    /// Decide the bookings as of this time (RFC 3339, local time, or `now`, the default).
    #[arg(long)]
    at: Option<String>,
}

/// What a check found: config errors (exit 2), problems found running it (exit 1), warnings.
#[derive(Default)]
struct Findings {
    config: Vec<String>,
    problems: Vec<String>,
    warnings: Vec<String>,
}

pub fn run(args: Args) -> Outcome {
    let mut worst = 0u8;
    let mut sites = Vec::new();
    for path in &args.config {
        let (site, code) = check_one(&args, path)?;
        worst = worst.max(code);
        sites.extend(site.map(|site| (path.clone(), site)));
    }
    let shared = shared_owners(&sites);
    for e in &shared {
        eprintln!("error: {e}");
    }
    if !shared.is_empty() {
        worst = 2;
    }
    Ok(ExitCode::from(worst))
}

/// Configs given together whose sites would write with one owner marker on one controller: each
/// would take the other's objects for its own and remove them.
fn shared_owners(sites: &[(PathBuf, SiteConfig)]) -> Vec<String> {
    let controller = |site: &SiteConfig| -> Option<String> {
        let (c, _) = driver_for(site).ok()?;
        Some(match (c.kind.as_str(), &c.url) {
            ("unilock-http", Some(url)) => url.trim_end_matches('/').to_lowercase(),
            _ => {
                let file = c
                    .state_file
                    .as_ref()
                    .map(|p| site.resolve(p))
                    .unwrap_or_else(|| {
                        super::sync::state_file_beside(&super::sync::store_path(site))
                    });
                std::fs::canonicalize(&file)
                    .unwrap_or(file)
                    .display()
                    .to_string()
            }
        })
    };
    let mut out = Vec::new();
    for (i, (a_path, a)) in sites.iter().enumerate() {
        for (b_path, b) in &sites[i + 1..] {
            let owner = klar_adapters::controllers::unilock::owner_for(a);
            if owner == klar_adapters::controllers::unilock::owner_for(b)
                && controller(a).is_some()
                && controller(a) == controller(b)
            {
                out.push(format!(
                    "{} and {} drive one controller as the same site (owner {owner}): each would remove the other's objects; give one a [site] id of its own",
                    a_path.display(),
                    b_path.display()
                ));
            }
        }
    }
    out
}

/// The secret files a config names (a source's or MQTT's `password_file`, the MQTT client key,
/// `[web] token_file`) that other users of this machine can read.
pub(crate) fn secret_file_warnings(site: &SiteConfig) -> Vec<String> {
    const SECRET_KEYS: [&str; 3] = ["password_file", "token_file", "client_key_file"];
    let mut tables: Vec<(String, &toml::Table)> = site
        .sources
        .iter()
        .map(|s| (format!("[[sources]] {:?}", s.name), &s.settings))
        .collect();
    tables.push(("[mqtt]".into(), &site.mqtt));
    tables.push(("[web]".into(), &site.web));
    let mut out = Vec::new();
    for (what, table) in tables {
        for key in SECRET_KEYS {
            if let Some(path) = table.get(key).and_then(|v| v.as_str()) {
                let path = site.resolve(std::path::Path::new(path));
                out.extend(klar_engine::private_file::warning(
                    &format!("{what} {key}"),
                    &path,
                ));
            }
        }
    }
    out
}

/// Checks one config; returns it (when it parses) with its exit code (README: 0, 1 or 2).
fn check_one(args: &Args, config: &Path) -> anyhow::Result<(Option<SiteConfig>, u8)> {
    let site = match SiteConfig::load(config) {
        Ok(site) => site,
        Err(e) => {
            eprintln!("error: {}", ReloadProblem::from(e));
            eprintln!("1 error in the config; nothing else was checked");
            return Ok((None, 2));
        }
    };
    let places = TomlPlaces::read(config);
    let name = config.display().to_string();
    println!(
        "{name}: {} ({} rooms, {} sources, {} rule packs)",
        site.site.name,
        site.rooms.len(),
        site.sources.len(),
        site.rules.packs.len()
    );
    let mut found = Findings::default();

    // The rules, exactly as `klar run` loads them: compiled, settings typed, cases passing.
    let packs = match load_initial(config, &LoadOptions::default()) {
        Ok(prepared) => {
            for p in &prepared.rules.packs {
                let info = p.pack();
                println!(
                    "  pack {} {} ({}) compiles and passes its cases",
                    info.name,
                    info.version,
                    info.dir.display()
                );
            }
            for file in &prepared.snapshot_drift {
                found.warnings.push(format!(
                    "{}: the case passes but its snapshot is missing or differs (klar rules test --accept writes it)",
                    file.display()
                ));
            }
            Some(prepared.rules.packs)
        }
        Err(e) => {
            for p in &e.problems {
                // A case that fails is the rules' behaviour; everything else is the config.
                if p.message.starts_with("case ") {
                    found.problems.push(with_snippet(p));
                } else {
                    found.config.push(with_snippet(p));
                }
            }
            None
        }
    };
    if let Some(packs) = &packs {
        for (key, room) in &site.rooms {
            for (i, name) in room.packs.iter().flatten().enumerate() {
                if !packs.iter().any(|p| &p.pack().name == name) {
                    found.config.push(at(
                        config,
                        places.as_ref(),
                        &["rooms", key, "packs", &i.to_string()],
                        &format!("room {key:?} names pack {name:?}, which is not loaded"),
                    ));
                }
            }
        }
    }

    check_tables(&site, config, places.as_ref(), &mut found)?;
    found.warnings.extend(secret_file_warnings(&site));
    let safety = site.site.safety;
    println!(
        "  safety: windows at most {} min before and {} min after their booking",
        safety.max_before_minutes, safety.max_after_minutes
    );
    found.warnings.extend(
        holiday_warnings(&site)
            .into_iter()
            .map(|w| format!("{name}: {w}")),
    );
    if let Ok((_, driver)) = driver_for(&site) {
        check_bindings(&site, &driver, config, places.as_ref(), &mut found);
    }
    if let Some(packs) = &packs {
        check_bookings(args, config, &site, packs, &mut found)?;
    }

    for w in &found.warnings {
        println!("warning: {w}");
    }
    if found.config.is_empty() && found.problems.is_empty() {
        println!("ok");
        return Ok((Some(site), 0));
    }
    for e in found.config.iter().chain(&found.problems) {
        eprintln!("error: {e}");
    }
    let n = found.config.len() + found.problems.len();
    eprintln!("{n} error(s)");
    Ok((Some(site), if found.config.is_empty() { 1 } else { 2 }))
}

/// A problem's line, and under it the offending text with a pointer where there is one.
fn with_snippet(p: &ReloadProblem) -> String {
    match &p.snippet {
        Some(s) => format!("{p}\n{s}"),
        None => p.to_string(),
    }
}

/// `config:line:col: message` at the key `path`, else at the nearest table of it that has a
/// place, else `config: message`.
fn at(config: &Path, places: Option<&TomlPlaces>, path: &[&str], message: &str) -> String {
    let place = places.and_then(|p| {
        (1..=path.len())
            .rev()
            .find_map(|n| p.get(&path[..n]))
            .or_else(|| p.place_of(message))
    });
    match place {
        Some(p) => format!("{}:{}:{}: {message}", config.display(), p.line, p.column),
        None => format!("{}: {message}", config.display()),
    }
}

/// A table's error (`[controller]: unknown field `x`...`) in klar's words, at the key it names
/// (the first word in backticks, or the word before `:` in `[web] listen: ...`).
fn table_error(
    config: &Path,
    places: Option<&TomlPlaces>,
    table: &[&str],
    message: &str,
) -> String {
    let (prefix, rest) = match message.find("]: ") {
        Some(i) if message.starts_with('[') => (&message[..i + 3], &message[i + 3..]),
        _ => match message.split_once(": ") {
            Some((head, rest)) if head.starts_with('[') => (head, rest),
            _ => ("", message),
        },
    };
    let named = message.split('`').nth(1).map(str::to_owned).or_else(|| {
        prefix
            .trim_end_matches(": ")
            .rsplit(' ')
            .next()
            .filter(|w| !w.starts_with('['))
            .map(str::to_owned)
    });
    let mut path: Vec<&str> = table.to_vec();
    if let Some(key) = named.as_deref() {
        path.push(key);
    }
    let separator = if prefix.is_empty() || prefix.ends_with(' ') {
        ""
    } else {
        ": "
    };
    at(
        config,
        places,
        &path,
        &format!("{prefix}{separator}{}", in_klar_words(rest)),
    )
}

/// Parses the tables the daemon reads. What only this machine lacks (an unset environment
/// variable, a missing secret file) is a warning.
fn check_tables(
    site: &SiteConfig,
    config: &Path,
    places: Option<&TomlPlaces>,
    found: &mut Findings,
) -> anyhow::Result<()> {
    let name = config.display();
    let ctx = BuildContext {
        http: HttpClient::new(HttpConfig::default())?,
        base_dir: site.base_dir.clone(),
        time_zone: site.site.time_zone,
    };
    for (i, source) in site.sources.iter().enumerate() {
        let index = i.to_string();
        match sources::check(source) {
            Err(e) => {
                let key = if e.message.starts_with("unknown kind") {
                    "kind".to_owned()
                } else {
                    e.message.split('`').nth(1).unwrap_or("name").to_owned()
                };
                found.config.push(at(
                    config,
                    places,
                    &["sources", &index, &key],
                    &format!(
                        "source {:?} ({}): {}",
                        e.source_name,
                        e.kind,
                        in_klar_words(&e.message)
                    ),
                ));
            }
            Ok(()) => match sources::build(source, &ctx) {
                Ok(_) => println!("  source {} ({}) ok", source.name, source.kind),
                Err(e) => found
                    .warnings
                    .push(format!("{name}: {e} (klar run needs it)")),
            },
        }
    }
    match driver_for(site) {
        Ok((c, _)) => println!("  controller {} ok", c.kind),
        Err(e) => found
            .config
            .push(table_error(config, places, &["controller"], &e.to_string())),
    }
    match MqttConfig::from_table(&site.mqtt)
        .and_then(|c| c.map(|c| c.validate().map(|()| c)).transpose())
    {
        Ok(None) => {}
        Ok(Some(c)) => match c.resolve(&site.base_dir) {
            Ok(_) => println!("  mqtt ok"),
            Err(e) => found
                .warnings
                .push(format!("{name}: {e} (klar run needs it)")),
        },
        Err(e) => found
            .config
            .push(table_error(config, places, &["mqtt"], &e.to_string())),
    }
    if let Err(e) = DaemonSettings::from_table(&site.daemon) {
        found
            .config
            .push(table_error(config, places, &["daemon"], &e));
    }
    match web::configured_listen(site) {
        Err(e) => found
            .config
            .push(table_error(config, places, &["web"], &e.to_string())),
        Ok(listen) => match web::configured_token(site) {
            Err(e) => found
                .warnings
                .push(format!("{name}: {e} (klar run needs it)")),
            Ok(None) if !web::is_loopback(listen.ip()) => found.warnings.push(format!(
                "{name}: [web] listen = {listen} is off loopback and no token is set: klar run refuses to start unless {} is set (or set [web] token_file)",
                web::TOKEN_ENV
            )),
            Ok(_) => println!("  web {listen} ok"),
        },
    }
    Ok(())
}

/// Every door, zone, output and group a room names must be in the installation or have a
/// binding: asked of the UniLock driver itself, with one window on each (a door at any level
/// it can take), so `klar check` and `klar sync` judge a binding the same way.
fn check_bindings(
    site: &SiteConfig,
    driver: &UnilockDriver,
    config: &Path,
    places: Option<&TomlPlaces>,
    found: &mut Findings,
) {
    let mqtt = MqttConfig::from_table(&site.mqtt)
        .ok()
        .flatten()
        .and_then(|c| c.filter().ok());
    let t0 = chrono::DateTime::from_timestamp(1_800_000_000, 0).expect("a valid instant");
    let window = Window::new(t0, t0 + chrono::Duration::hours(1)).expect("an hour");
    let unbound = |target: Target| -> Option<String> {
        if mqtt.as_ref().is_some_and(|f| f.owns(&target)) {
            return None;
        }
        let mut plan = Plan::empty(String::new(), t0, window, Vec::new());
        plan.entries.push(PlanEntry {
            target,
            windows: vec![PlannedWindow {
                window,
                reasons: Vec::new(),
            }],
        });
        driver
            .desired(&plan, &Observed::default())
            .problems
            .into_iter()
            .find(|p| p.kind == ProblemKind::Unbound)
            .map(|p| p.message)
    };
    let fix = "add it to [controller.installation] with a table of its own, or bind it in [controller.bindings]";
    for (key, room) in &site.rooms {
        for (i, door) in room.doors.iter().enumerate() {
            let levels = [
                DoorLevel::Unlocked,
                DoorLevel::Card,
                DoorLevel::CardPin,
                DoorLevel::Locked,
            ];
            let problems: Vec<String> = levels
                .iter()
                .filter_map(|&level| {
                    unbound(Target::Door {
                        door: DoorId::from(door.as_str()),
                        level,
                    })
                })
                .collect();
            if problems.len() == levels.len() {
                found.config.push(at(
                    config,
                    places,
                    &["rooms", key, "doors", &i.to_string()],
                    &format!(
                        "room {key:?} names door \"{door}\", which the controller cannot drive ({}): {fix} (\"door:{door}\")",
                        problems[0]
                    ),
                ));
            }
        }
        if let Some(zone) = &room.alarm_zone
            && let Some(p) = unbound(Target::Zone {
                zone: ZoneId::from(zone.as_str()),
            })
        {
            found.config.push(at(
                config,
                places,
                &["rooms", key, "alarm_zone"],
                &format!("room {key:?} names alarm zone \"{zone}\", which the controller cannot drive ({p}): {fix} (\"zone:{zone}\")"),
            ));
        }
        for (role, output) in &room.outputs {
            if let Some(p) = unbound(Target::Output {
                output: OutputId::from(output.as_str()),
            }) {
                found.config.push(at(
                    config,
                    places,
                    &["rooms", key, "outputs", role],
                    &format!("room {key:?} names output \"{output}\" ({role}), which the controller cannot drive ({p}): {fix} (\"output:{output}\")"),
                ));
            }
        }
        for (i, group) in room.person_groups.iter().enumerate() {
            if let Some(p) = unbound(Target::Membership {
                person: PersonKey::from("member:check"),
                group: GroupId::from(group.as_str()),
            }) {
                found.config.push(at(
                    config,
                    places,
                    &["rooms", key, "person_groups", &i.to_string()],
                    &format!("room {key:?} names person group \"{group}\" ({p}): add [controller.installation.groups.\"{group}\"] with its doors, or bind \"group:{group}\" to a UniLock person group"),
                ));
            }
        }
    }
}

/// With bookings (a file, or the store): decides them as `klar run` would, and reports the
/// bookings a rule fails on (by cause) and what the controller could not realise.
fn check_bookings(
    args: &Args,
    config: &Path,
    site: &SiteConfig,
    packs: &[std::sync::Arc<dyn klar_engine::rules::RuleRuntime>],
    found: &mut Findings,
) -> anyhow::Result<()> {
    let (bookings, from) = match &args.bookings {
        Some(path) => (super::load_bookings(path)?, path.display().to_string()),
        None => {
            let store = super::sync::store_path(site);
            if !store.exists() {
                return Ok(());
            }
            (
                super::sync::bookings_from(site, None)?,
                format!("the store {}", store.display()),
            )
        }
    };
    let now = match args.at.as_deref() {
        Some(t) => parse_at(t, site.site.time_zone)?,
        None => Utc::now().trunc_subsecs(0),
    };
    let plan = klar_engine::plan::plan(&klar_engine::plan::PlanInput {
        bookings: &bookings,
        packs,
        site,
        now,
    });
    let failed = plan.errors.len();
    println!(
        "  {} bookings from {from}: {} decided, {failed} failed, {} not bound to a room",
        bookings.len(),
        bookings.len() - failed - plan.unbound.len() - plan.rejected.len(),
        plan.unbound.len()
    );
    for c in causes(&plan.errors, &bookings) {
        let names: Vec<String> = c
            .bookings
            .iter()
            .take(3)
            .map(|b| format!("{}:{} {:?}", b.source, b.id, b.title))
            .collect();
        let place = c.location.as_ref().and_then(|l| {
            packs.iter().find(|p| p.pack().name == c.pack).map(|p| {
                format!(
                    "{}:{}:{}",
                    p.pack().dir.join(&l.file).display(),
                    l.line,
                    l.column
                )
            })
        });
        found.problems.push(format!(
            "{}: {}; this fails {} {} (fail closed): {}{}",
            place.unwrap_or_else(|| c.pack.clone()),
            c.message,
            c.bookings.len(),
            if c.bookings.len() == 1 {
                "booking"
            } else {
                "bookings"
            },
            names.join(", "),
            if c.bookings.len() > names.len() {
                ", ..."
            } else {
                ""
            }
        ));
    }
    for r in &plan.rejected {
        found.warnings.push(format!(
            "booking {}:{} is not used: {}",
            r.booking.source, r.booking.id, r.reason
        ));
    }
    if let Ok((_, driver)) = driver_for(site) {
        let plan = match MqttConfig::from_table(&site.mqtt)
            .ok()
            .flatten()
            .and_then(|c| c.filter().ok())
        {
            Some(f) => f.exclude(&plan),
            None => plan,
        };
        for p in driver.desired(&plan, &Observed::default()).problems {
            match p.kind {
                ProblemKind::Unbound => found.config.push(format!(
                    "{}: the plan asks for what the controller cannot drive: {p}",
                    config.display()
                )),
                _ => found.problems.push(format!(
                    "{}: the controller cannot hold the plan as made: {p}",
                    config.display()
                )),
            }
        }
    }
    Ok(())
}

/// Where the site's holidays and the controller's weekly tables do not meet: `holiday` rows
/// that nothing writes, holidays that tables would not notice, and holiday periods mapped to a
/// day type the installation does not have. Read from the raw `[controller.installation]`, so
/// it works whatever the driver.
fn holiday_warnings(site: &SiteConfig) -> Vec<String> {
    use klar_engine::model::DayKind;
    let inst = site
        .controller
        .get("installation")
        .and_then(|v| v.as_table());
    let Some(inst) = inst else {
        return Vec::new();
    };
    let tables = inst.get("tables").and_then(|v| v.as_table());
    let used: std::collections::BTreeSet<&str> = ["doors", "zones", "outputs"]
        .iter()
        .filter_map(|k| inst.get(*k).and_then(|v| v.as_table()))
        .flat_map(|t| t.values())
        .filter_map(|r| r.get("table").and_then(|t| t.as_str()))
        .collect();
    let rows = |name: &str| -> Vec<String> {
        tables
            .and_then(|t| t.get(name))
            .and_then(|t| t.as_table())
            .map(|t| t.keys().cloned().collect())
            .unwrap_or_default()
    };
    let with_holiday: Vec<&str> = used
        .iter()
        .copied()
        .filter(|t| rows(t).iter().any(|r| r == "holiday"))
        .collect();
    let s = &site.site;
    let days: Vec<DayKind> = if s.write_holidays {
        let public = (s.public_holidays != klar_engine::site::PublicHolidays::None)
            .then_some(DayKind::Holiday);
        public
            .into_iter()
            .chain(s.holiday_periods.iter().filter_map(|p| p.controller_day()))
            .collect()
    } else {
        Vec::new()
    };
    let mut out = Vec::new();
    if !with_holiday.is_empty() && !days.contains(&DayKind::Holiday) {
        out.push(format!(
            "tables {} have a holiday row, but the site writes no holiday to the controller ([site] write_holidays, public_holidays, holiday_periods): the rows apply only on dates a rule sets to day type holiday",
            with_holiday.join(", ")
        ));
    }
    if days.contains(&DayKind::Holiday) {
        let deaf: Vec<&str> = used
            .iter()
            .copied()
            .filter(|t| {
                let r = rows(t);
                !r.iter().any(|k| k == "holiday") && r.iter().any(|k| k != "all")
            })
            .collect();
        if !deaf.is_empty() {
            out.push(format!(
                "the site writes its holidays to the controller, but tables {} have no holiday row: on holidays they follow the date's weekday",
                deaf.join(", ")
            ));
        }
    }
    let fictive: Vec<&str> = inst
        .get("fictive_days")
        .and_then(|v| v.as_array())
        .map(|a| a.iter().filter_map(|v| v.as_str()).collect())
        .unwrap_or_default();
    for p in s.holiday_periods.iter().filter(|_| s.write_holidays) {
        if let Some(DayKind::Special(name)) = p.controller_day()
            && !fictive.contains(&name.as_str())
        {
            out.push(format!(
                "holiday period {:?} has day_type {name:?}, which [controller.installation] fictive_days does not name: its dates would not reach the controller",
                p.name
            ));
        }
    }
    out
}
