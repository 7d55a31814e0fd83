//! `klar sources`: what the configured booking sources report (`klar sources rooms`).
//!
//! `klar sources rooms --config site.toml` asks every source for its resources and prints each
//! with its id, name and location, its room key (`<source>:<resource id>`) and whether the config
//! binds it; then the configured rooms no source reported. Exit code 1 when a source could not
//! be asked or a bound room is not reported.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::ExitCode;

use klar_adapters::http::{HttpClient, HttpConfig};
use klar_adapters::sources::{self, BuildContext, Resource};
use klar_engine::model::{SourceName, room_key};
use serde::Serialize;

use super::{BadInput, Outcome, load_site};

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(clap::Subcommand)]
pub enum Command {
    /// Every resource each source reports, and which are bound to rooms in the config.
    Rooms(RoomsArgs),
}

#[derive(clap::Args)]
pub struct RoomsArgs {
    #[arg(long)]
    pub config: PathBuf,
    /// Only this source.
    #[arg(long)]
    pub source: Option<String>,
    /// JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
struct Row {
    source: String,
    id: String,
    name: String,
    location: Option<String>,
    room_key: String,
    bound: bool,
    details: Vec<(String, String)>,
}

#[derive(Serialize)]
struct Report {
    resources: Vec<Row>,
    errors: Vec<(String, String)>,
    unreported_rooms: Vec<String>,
}

pub fn run(args: Args) -> Outcome {
    let Command::Rooms(args) = args.command;
    let site = load_site(&args.config)?;
    if let Some(only) = &args.source
        && !site.sources.iter().any(|s| &s.name == only)
    {
        return Err(BadInput(format!(
            "{}: no source named {only:?}",
            args.config.display()
        ))
        .into());
    }
    let http = HttpClient::new(HttpConfig::default()).map_err(|e| anyhow::anyhow!("{e}"))?;
    let ctx = BuildContext {
        http,
        base_dir: site.base_dir.clone(),
        time_zone: site.site.time_zone,
    };
    let mut built = Vec::new();
    for s in site
        .sources
        .iter()
        .filter(|s| args.source.as_ref().is_none_or(|o| o == &s.name))
    {
        built.push(
            sources::build(s, &ctx)
                .map_err(|e| BadInput(format!("{}: {e}", args.config.display())))?,
        );
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let now = chrono::Utc::now();
    let mut report = Report {
        resources: Vec::new(),
        errors: Vec::new(),
        unreported_rooms: Vec::new(),
    };
    let mut reported_keys = BTreeSet::new();
    for mut source in built {
        let name: SourceName = source.name().clone();
        match runtime.block_on(source.resources(now)) {
            Ok(list) => {
                for Resource {
                    id,
                    name: rname,
                    location,
                    details,
                } in list
                {
                    let key = room_key(&name, &id);
                    reported_keys.insert(key.clone());
                    report.resources.push(Row {
                        source: name.0.clone(),
                        id: id.0,
                        name: rname,
                        location,
                        bound: site.rooms.contains_key(&key),
                        room_key: key,
                        details,
                    });
                }
            }
            Err(e) => report.errors.push((name.0.clone(), e.to_string())),
        }
    }
    let asked: BTreeSet<&str> = site
        .sources
        .iter()
        .filter(|s| args.source.as_ref().is_none_or(|o| o == &s.name))
        .map(|s| s.name.as_str())
        .collect();
    let failed: BTreeSet<&str> = report.errors.iter().map(|(s, _)| s.as_str()).collect();
    report.unreported_rooms = site
        .rooms
        .keys()
        .filter(|k| {
            let source = k.split_once(':').map(|(s, _)| s).unwrap_or("");
            asked.contains(source) && !failed.contains(source) && !reported_keys.contains(*k)
        })
        .cloned()
        .collect();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_table(&report);
    }
    let ok = report.errors.is_empty() && report.unreported_rooms.is_empty();
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn print_table(report: &Report) {
    let header = [
        "SOURCE", "ID", "NAME", "LOCATION", "ROOM KEY", "BOUND", "DETAILS",
    ];
    let rows: Vec<[String; 7]> = report
        .resources
        .iter()
        .map(|r| {
            [
                r.source.clone(),
                r.id.clone(),
                r.name.clone(),
                r.location.clone().unwrap_or_else(|| "-".into()),
                r.room_key.clone(),
                if r.bound { "bound".into() } else { "-".into() },
                r.details
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(" "),
            ]
        })
        .collect();
    let mut widths = header.map(|h| h.chars().count());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row.iter()) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let text: Vec<String> = cells
            .iter()
            .zip(widths.iter())
            .map(|(c, w)| format!("{c:<w$}", w = *w))
            .collect();
        println!("{}", text.join("  ").trim_end());
    };
    line(&header.map(String::from));
    for row in &rows {
        line(row);
    }
    for (source, error) in &report.errors {
        println!("error: source {source}: {error}");
    }
    for key in &report.unreported_rooms {
        println!("warning: room {key} is configured but its source does not report it");
    }
}
