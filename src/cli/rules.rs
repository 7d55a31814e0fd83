//! `klar rules test [PACK...] [--accept] [--dir rules]`: runs each pack's cases, shows a diff
//! where a result changed, and writes snapshots only with `--accept`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use klar_engine::rules::cases::{self, PackReport, SnapshotState};
use klar_engine::rules::pack::{self, LoadOptions, MANIFEST};

use super::{BadInput, Outcome};

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Run the packs' cases (`cases/*.yaml`) and compare with their snapshots.
    Test(TestArgs),
}

#[derive(clap::Args)]
struct TestArgs {
    /// Packs to test: a folder name under --dir, or a path to a pack. All packs when none.
    packs: Vec<String>,
    /// Write new and changed snapshots (expectations must still hold).
    #[arg(long)]
    accept: bool,
    /// The folder holding the packs.
    #[arg(long, default_value = "rules")]
    dir: PathBuf,
}

pub fn run(args: Args) -> Outcome {
    match args.command {
        Command::Test(t) => test(t),
    }
}

fn test(args: TestArgs) -> Outcome {
    let dirs = pack_dirs(&args)?;
    let options = LoadOptions {
        deterministic: true,
    };
    let (mut cases_run, mut failed) = (0usize, 0usize);
    for dir in &dirs {
        let runtime = match pack::load_reporting(dir, &options) {
            Ok(r) => r,
            Err(errors) => {
                println!("{}: does not load", dir.display());
                for e in errors {
                    println!("{}", indent(&e.to_string(), "  "));
                }
                failed += 1;
                continue;
            }
        };
        let info = runtime.pack();
        println!("{} {} ({})", info.name, info.version, dir.display());
        let report = if args.accept {
            cases::accept(dir, &runtime)
        } else {
            cases::run_pack_cases(dir, &runtime)
        };
        cases_run += report.cases.len();
        failed += print_report(&report);
    }
    println!();
    if failed == 0 {
        println!("{cases_run} cases passed in {} pack(s)", dirs.len());
        Ok(ExitCode::SUCCESS)
    } else {
        println!(
            "{failed} failed of {cases_run} cases in {} pack(s)",
            dirs.len()
        );
        if !args.accept {
            println!("(a changed result is accepted with: klar rules test --accept)");
        }
        Ok(ExitCode::from(1))
    }
}

/// Prints a pack's report; returns how many cases (or the pack itself) failed.
fn print_report(report: &PackReport) -> usize {
    let mut failed = 0;
    if let Some(problem) = &report.problem {
        println!("  FAILED  {problem}");
        failed += 1;
    }
    for case in &report.cases {
        let status = match (case.passed(), case.snapshot) {
            (true, SnapshotState::Written) => "written",
            (true, _) => "ok",
            (false, _) => "FAILED",
        };
        println!("  {status:<7} {}", case.name);
        for p in &case.problems {
            println!("{}", indent(p, "          "));
        }
        match case.snapshot {
            SnapshotState::Differs if !case.passed() => {
                println!(
                    "          the result differs from {} (- snapshot, + now):",
                    cases::snapshot_path(&report.dir, &case.name).display()
                );
            }
            SnapshotState::Missing => println!(
                "          no snapshot yet ({}); the result would be:",
                cases::snapshot_path(&report.dir, &case.name).display()
            ),
            _ => {}
        }
        if !case.passed()
            && let Some(diff) = &case.diff
        {
            println!("{}", indent(diff.trim_end(), "          "));
        }
        if !case.passed() {
            failed += 1;
        }
    }
    failed
}

fn indent(text: &str, prefix: &str) -> String {
    text.lines()
        .map(|l| format!("{prefix}{l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The pack folders to test: those named, or every folder under `--dir` with a `pack.toml`.
fn pack_dirs(args: &TestArgs) -> anyhow::Result<Vec<PathBuf>> {
    if args.packs.is_empty() {
        let entries = std::fs::read_dir(&args.dir)
            .map_err(|e| BadInput(format!("{}: cannot read: {e}", args.dir.display())))?;
        let mut dirs: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.join(MANIFEST).is_file())
            .collect();
        dirs.sort();
        if dirs.is_empty() {
            return Err(BadInput(format!(
                "{}: no rule packs (folders with {MANIFEST})",
                args.dir.display()
            ))
            .into());
        }
        return Ok(dirs);
    }
    args.packs
        .iter()
        .map(|name| {
            let as_path = Path::new(name);
            let dir = if as_path.join(MANIFEST).is_file() {
                as_path.to_owned()
            } else {
                args.dir.join(name)
            };
            if dir.join(MANIFEST).is_file() {
                Ok(dir)
            } else {
                Err(BadInput(format!(
                    "{name}: no such rule pack (looked for {})",
                    dir.join(MANIFEST).display()
                ))
                .into())
            }
        })
        .collect()
}
