//! `klar check --config site.toml`: validates the site config and compiles every rule pack it
//! names, printing each error with file:line:column and a pointer under the offending text.
//! It also parses every table the daemon reads (`[[sources]]`, `[controller]`, `[mqtt]`,
//! `[daemon]`, `[web]`) and warns about secrets `klar run` could not read on this machine.

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
    /// The site config.
    #[arg(long)]
    config: PathBuf,
}

pub fn run(args: Args) -> Outcome {
    let site = load_site(&args.config)?;
    let config = args.config.display();
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
    let warnings = check_tables(&site, &config.to_string(), &mut errors)?;
    for w in &warnings {
        println!("warning: {w}");
    }
    if errors.is_empty() {
        println!("ok");
        return Ok(ExitCode::SUCCESS);
    }
    for e in &errors {
        eprintln!("error: {e}");
    }
    eprintln!("{} error(s)", errors.len());
    Ok(ExitCode::from(1))
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
