//! The subcommands, one file each, and what they share: loading inputs with one-line errors
//! and the exit-code convention.
//!
//! Exit codes: 0 success; 1 the command ran and found a problem (a case differs, a check
//! failed); 2 bad input (a malformed file, a config that does not parse) or a failure to run.

pub mod bench;
pub mod check;
pub mod demo;
pub mod diff;
pub mod explain;
pub mod fake;
pub mod plan;
pub mod reload;
pub mod rules;
pub mod run;
pub mod sim;
pub mod sources;
pub mod state;
pub mod sync;

use std::path::Path;
use std::process::ExitCode;

use klar_engine::model::Booking;
use klar_engine::site::SiteConfig;

/// Bad input from the user: printed as one line, exit code 2.
#[derive(Debug)]
pub struct BadInput(pub String);

impl std::fmt::Display for BadInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BadInput {}

/// What a subcommand returns: `Ok(code)` when it ran (0 or 1), an error otherwise (2).
pub type Outcome = anyhow::Result<ExitCode>;

/// Prints an error the way users read it and turns an outcome into the process's exit code.
pub fn exit(result: Outcome) -> ExitCode {
    match result {
        Ok(code) => code,
        Err(e) => {
            if let Some(bad) = e.downcast_ref::<BadInput>() {
                eprintln!("error: {bad}");
            } else {
                eprintln!("error: {e:#}");
            }
            ExitCode::from(2)
        }
    }
}

/// Loads and validates a site config; each problem is one line naming the file, line and
/// column, in klar's words. The packs' settings (`[rules.settings.<pack>]`) are checked against
/// the types their `pack.toml` defaults give, before any booking is decided.
pub fn load_site(path: &Path) -> anyhow::Result<SiteConfig> {
    let site = SiteConfig::load(path)
        .map_err(|e| BadInput(klar_engine::reload::ReloadProblem::from(e).to_string()))?;
    let problems = setting_problems(path, &site);
    if !problems.is_empty() {
        return Err(BadInput(problems.join("\nerror: ")).into());
    }
    Ok(site)
}

/// The site's settings checked against its packs' manifests (read, not compiled): one line
/// each. A pack whose manifest cannot be read is left to the pack loader to report.
pub fn setting_problems(path: &Path, site: &SiteConfig) -> Vec<String> {
    let manifests: Vec<klar_engine::rules::PackInfo> = site
        .rules
        .packs
        .iter()
        .map(|p| site.resolve(p))
        .filter_map(|dir| {
            klar_engine::rules::pack::PackManifest::read(&dir)
                .ok()
                .map(|m| m.info(&dir))
        })
        .collect();
    if manifests.len() < site.rules.packs.len() {
        // A pack that does not load is reported by the loader; its settings cannot be judged.
        let loaded: std::collections::BTreeSet<&str> =
            manifests.iter().map(|m| m.name.as_str()).collect();
        let mut only_loaded = site.clone();
        only_loaded
            .rules
            .settings
            .retain(|name, _| loaded.contains(name.as_str()));
        let infos: Vec<&klar_engine::rules::PackInfo> = manifests.iter().collect();
        return klar_engine::reload::check_settings(path, &only_loaded, &infos)
            .iter()
            .map(ToString::to_string)
            .collect();
    }
    let infos: Vec<&klar_engine::rules::PackInfo> = manifests.iter().collect();
    klar_engine::reload::check_settings(path, site, &infos)
        .iter()
        .map(ToString::to_string)
        .collect()
}

/// Loads a bookings file (a JSON array of bookings in the common model) and validates each.
pub fn load_bookings(path: &Path) -> anyhow::Result<Vec<Booking>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| BadInput(format!("{}: cannot read: {e}", path.display())))?;
    let bookings: Vec<Booking> = serde_json::from_str(&text).map_err(|e| {
        BadInput(format!(
            "{}:{}:{}: not a bookings file: {e}",
            path.display(),
            e.line(),
            e.column()
        ))
    })?;
    Ok(bookings)
}

/// Parses a `--at` time: RFC 3339 (`2026-11-23T09:50:00+01:00`), a local time in the site's
/// zone (`2026-11-23T09:50`, `2026-11-23 09:50`), or `now`.
pub fn parse_at(text: &str, tz: chrono_tz::Tz) -> anyhow::Result<chrono::DateTime<chrono::Utc>> {
    use chrono::TimeZone;
    if text.trim().eq_ignore_ascii_case("now") {
        return Ok(chrono::SubsecRound::trunc_subsecs(chrono::Utc::now(), 0));
    }
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&chrono::Utc));
    }
    for format in [
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M:%S",
    ] {
        if let Ok(naive) = chrono::NaiveDateTime::parse_from_str(text, format) {
            return tz
                .from_local_datetime(&naive)
                .earliest()
                .map(|t| t.with_timezone(&chrono::Utc))
                .ok_or_else(|| {
                    BadInput(format!(
                        "--at {text}: that local time does not exist in {tz} (a DST gap)"
                    ))
                    .into()
                });
        }
    }
    Err(BadInput(format!("--at {text:?}: expected RFC 3339 (2026-11-23T09:50:00+01:00) or local time (2026-11-23T09:50)")).into())
}
