//! `klar rules test [PACK...] [--accept] [--dir rules]`: runs each pack's cases, shows a diff
//! where a result changed, and writes snapshots only with `--accept`, and only of cases that
//! meet their expectations: a failing case is never accepted. A rule that only moved to
//! another line (a comment added) passes; its snapshot is updated by `--accept`. The hint at
//! the end names the fix that applies: `--accept` for a changed result whose expectations hold,
//! the rule or the case for a failed expectation, `scripts/build-guests` for a Wasm pack that
//! is not built.

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

/// What failed, for the hint at the end.
#[derive(Default)]
struct Tally {
    cases: usize,
    /// Cases that fail an expectation (or the case file itself).
    expectations: usize,
    /// Cases whose only difference is the snapshot (missing or changed).
    snapshots: usize,
    /// Packs that do not load (a rule that does not compile, a Wasm pack not built).
    packs: usize,
    /// Snapshots written by `--accept`.
    written: Vec<PathBuf>,
    /// Packs not built.
    not_built: usize,
}

fn test(args: TestArgs) -> Outcome {
    let dirs = pack_dirs(&args)?;
    let options = LoadOptions {
        deterministic: true,
    };
    let mut tally = Tally::default();
    for dir in &dirs {
        if let Some(missing) = wasm_not_built(dir) {
            println!(
                "{}: not built: {} is missing; build it with scripts/build-guests (it needs: rustup target add wasm32-unknown-unknown)",
                dir.display(),
                missing.display()
            );
            tally.packs += 1;
            tally.not_built += 1;
            continue;
        }
        let runtime = match pack::load_reporting(dir, &options) {
            Ok(r) => r,
            Err(errors) => {
                println!("{}: does not load", dir.display());
                for e in errors {
                    println!("{}", indent(&e.to_string(), "  "));
                }
                tally.packs += 1;
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
        tally.cases += report.cases.len();
        print_report(&report, args.accept, &mut tally);
    }
    println!();
    if !tally.written.is_empty() {
        println!("wrote {} snapshot(s):", tally.written.len());
        for w in &tally.written {
            println!("  {}", w.display());
        }
    }
    let failed = tally.expectations + tally.snapshots;
    if failed + tally.packs == 0 {
        println!("{} cases passed in {} pack(s)", tally.cases, dirs.len());
        return Ok(ExitCode::SUCCESS);
    }
    let mut line = format!(
        "{failed} failed of {} cases in {} pack(s)",
        tally.cases,
        dirs.len()
    );
    if tally.not_built > 0 {
        line.push_str(&format!("; {} pack(s) not built", tally.not_built));
    }
    if tally.packs > tally.not_built {
        line.push_str(&format!(
            "; {} pack(s) do not load or have no cases",
            tally.packs - tally.not_built
        ));
    }
    println!("{line}");
    if tally.expectations > 0 {
        println!(
            "({} case(s) fail their expectations: fix the rule, or the case's expect/errors if the new result is right; --accept never writes a case that fails them)",
            tally.expectations
        );
    }
    if tally.snapshots > 0 {
        println!(
            "({} case(s) meet their expectations but their result differs from the snapshot: review the diff and accept it with klar rules test --accept)",
            tally.snapshots
        );
    }
    if tally.packs > tally.not_built {
        println!("(a pack that does not load: fix the error shown at its file:line:column)");
    }
    Ok(ExitCode::from(1))
}

/// The component a Wasm pack names, if it is missing: the guest was not built.
fn wasm_not_built(dir: &Path) -> Option<PathBuf> {
    let manifest = pack::PackManifest::read(dir).ok()?;
    if manifest.runtime != klar_engine::rules::RuntimeKind::Wasm {
        return None;
    }
    let file = dir.join(manifest.extra.get("component")?.as_str()?);
    (!file.exists()).then_some(file)
}

/// Prints a pack's report and counts what failed.
fn print_report(report: &PackReport, accepting: bool, tally: &mut Tally) {
    if let Some(problem) = &report.problem {
        println!("  FAILED  {problem}");
        tally.packs += 1;
    }
    for case in &report.cases {
        let path = cases::snapshot_path(&report.dir, &case.name);
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
            SnapshotState::Written => tally.written.push(path.clone()),
            SnapshotState::LinesMoved => println!(
                "          only rule lines moved (a comment or blank line?); {} names the old lines{}",
                path.display(),
                if accepting {
                    ""
                } else {
                    " (--accept updates it)"
                }
            ),
            SnapshotState::Differs if !case.passed() => {
                println!(
                    "          the result differs from {} (- snapshot, + now):",
                    path.display()
                );
            }
            SnapshotState::Missing => println!(
                "          no snapshot yet ({}); the result would be:",
                path.display()
            ),
            _ => {}
        }
        if accepting
            && !case.problems.is_empty()
            && matches!(
                case.snapshot,
                SnapshotState::Differs | SnapshotState::Missing
            )
        {
            println!("          not written: the case fails its expectations (fix them first)");
        }
        if !case.passed()
            && let Some(diff) = &case.diff
        {
            println!("{}", indent(diff.trim_end(), "          "));
        }
        if !case.passed() {
            if case.problems.is_empty() {
                tally.snapshots += 1;
            } else {
                tally.expectations += 1;
            }
        }
    }
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
