//! `klar check --config site.toml`: validates the site config and compiles every rule pack it
//! names, printing each error with file:line:column and a pointer under the offending text.

use std::path::PathBuf;
use std::process::ExitCode;

use klar_engine::rules::pack::{self, LoadOptions};

use super::{Outcome, load_site};

#[derive(clap::Args)]
pub struct Args {
    /// The site config.
    #[arg(long)]
    config: PathBuf,
}

pub fn run(args: Args) -> Outcome {
    let site = load_site(&args.config)?;
    println!(
        "{}: {} ({} rooms, {} sources, {} rule packs)",
        args.config.display(),
        site.site.name,
        site.rooms.len(),
        site.sources.len(),
        site.rules.packs.len()
    );
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
                if let Some(names) = &room.packs {
                    for name in names {
                        if !packs.iter().any(|p| &p.pack().name == name) {
                            println!(
                                "error: {}: room {key:?} names pack {name:?}, which is not loaded",
                                args.config.display()
                            );
                            return Ok(ExitCode::from(1));
                        }
                    }
                }
            }
            println!("ok");
            Ok(ExitCode::SUCCESS)
        }
        Err(errors) => {
            for e in &errors {
                eprintln!("error: {e}");
            }
            eprintln!("{} error(s)", errors.len());
            Ok(ExitCode::from(1))
        }
    }
}
