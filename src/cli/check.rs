//! `klar check --config site.toml`: validates the site config and compiles every rule pack it
//! names, printing each error with file:line:column and a pointer under the offending text.
//! It also parses every table the daemon reads (`[[sources]]`, `[controller]`, `[mqtt]`,
//! `[daemon]`, `[web]`) and warns about secrets `klar run` could not read on this machine, and
//! about secret files other users of it can. Given several configs, it reports sites that would
//! write to one controller under one owner marker.

use std::path::PathBuf;
use std::process::ExitCode;

use klar_adapters::controllers::mqtt::MqttConfig;
use klar_adapters::controllers::unilock::driver_for;
use klar_adapters::http::{HttpClient, HttpConfig};
use klar_adapters::sources::{self, BuildContext};
use klar_engine::rules::pack::{self, LoadOptions};
use klar_engine::site::SiteConfig;

use super::{Outcome, load_site};
use crate::daemon::settings::DaemonSettings;
use crate::daemon::web;

#[derive(clap::Args)]
pub struct Args {
    /// The site config. Give several (`--config a.toml --config b.toml`) to also check that
    /// sites sharing a controller have owner ids of their own.
    #[arg(long, required = true)]
    config: Vec<PathBuf>,
}

pub fn run(args: Args) -> Outcome {
    let mut failed = false;
    let mut sites = Vec::new();
    for path in &args.config {
        let (site, code) = check_one(path)?;
        failed |= code != ExitCode::SUCCESS;
        sites.push((path.clone(), site));
    }
    let shared = shared_owners(&sites);
    for e in &shared {
        eprintln!("error: {e}");
    }
    Ok(if failed || !shared.is_empty() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
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

/// Checks one config as `klar check --config` always has; returns it with its exit code.
fn check_one(path: &std::path::Path) -> anyhow::Result<(SiteConfig, ExitCode)> {
    let site = load_site(path)?;
    let config = path.display();
    println!(
        "{config}: {} ({} rooms, {} sources, {} rule packs)",
        site.site.name,
        site.rooms.len(),
        site.sources.len(),
        site.rules.packs.len()
    );
    let mut errors: Vec<String> = Vec::new();
    match pack::load_all(&site, &LoadOptions::default()) {
        Ok(packs) => {
            for p in &packs {
                let info = p.pack();
                println!(
                    "  pack {} {} ({}) compiles",
                    info.name,
                    info.version,
                    info.dir.display()
                );
            }
            for (key, room) in &site.rooms {
                for name in room.packs.iter().flatten() {
                    if !packs.iter().any(|p| &p.pack().name == name) {
                        errors.push(format!(
                            "{config}: room {key:?} names pack {name:?}, which is not loaded"
                        ));
                    }
                }
            }
        }
        Err(pack_errors) => errors.extend(pack_errors.iter().map(ToString::to_string)),
    }
    let mut warnings = check_tables(&site, &config.to_string(), &mut errors)?;
    warnings.extend(secret_file_warnings(&site));
    let safety = site.site.safety;
    println!(
        "  safety: windows at most {} min before and {} min after their booking",
        safety.max_before_minutes, safety.max_after_minutes
    );
    warnings.extend(
        holiday_warnings(&site)
            .into_iter()
            .map(|w| format!("{config}: {w}")),
    );
    for w in &warnings {
        println!("warning: {w}");
    }
    if errors.is_empty() {
        println!("ok");
        return Ok((site, ExitCode::SUCCESS));
    }
    for e in &errors {
        eprintln!("error: {e}");
    }
    eprintln!("{} error(s)", errors.len());
    Ok((site, ExitCode::from(1)))
}

/// Parses the tables the daemon reads. Errors go to `errors`; what only this machine lacks (an
/// unset environment variable, a missing secret file) comes back as warnings.
fn check_tables(
    site: &SiteConfig,
    config: &str,
    errors: &mut Vec<String>,
) -> anyhow::Result<Vec<String>> {
    let mut warnings = Vec::new();
    let ctx = BuildContext {
        http: HttpClient::new(HttpConfig::default())?,
        base_dir: site.base_dir.clone(),
        time_zone: site.site.time_zone,
    };
    for source in &site.sources {
        match sources::check(source) {
            Err(e) => errors.push(format!("{config}: {e}")),
            Ok(()) => match sources::build(source, &ctx) {
                Ok(_) => println!("  source {} ({}) ok", source.name, source.kind),
                Err(e) => warnings.push(format!("{config}: {e} (klar run needs it)")),
            },
        }
    }
    match driver_for(site) {
        Ok((c, _)) => println!("  controller {} ok", c.kind),
        Err(e) => errors.push(format!("{config}: {e}")),
    }
    match MqttConfig::from_table(&site.mqtt)
        .and_then(|c| c.map(|c| c.validate().map(|()| c)).transpose())
    {
        Ok(None) => {}
        Ok(Some(c)) => match c.resolve(&site.base_dir) {
            Ok(_) => println!("  mqtt ok"),
            Err(e) => warnings.push(format!("{config}: {e} (klar run needs it)")),
        },
        Err(e) => errors.push(format!("{config}: {e}")),
    }
    if let Err(e) = DaemonSettings::from_table(&site.daemon) {
        errors.push(format!("{config}: {e}"));
    }
    match web::configured_listen(site) {
        Err(e) => errors.push(format!("{config}: {e}")),
        Ok(listen) => match web::configured_token(site) {
            Err(e) => warnings.push(format!("{config}: {e} (klar run needs it)")),
            Ok(None) if !web::is_loopback(listen.ip()) => warnings.push(format!(
                "{config}: [web] listen = {listen} is off loopback and no token is set: klar run refuses to start unless {} is set (or set [web] token_file)",
                web::TOKEN_ENV
            )),
            Ok(_) => println!("  web {listen} ok"),
        },
    }
    Ok(warnings)
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
