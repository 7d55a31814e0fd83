//! `klar`: makes rooms ready when they are booked.
//!
//! The binary wires the engine and the adapters together and owns everything that touches the
//! world: the clock, the network, files, signals. Each subcommand is one file in `cli/`.

mod cli;
mod daemon;
mod local_time;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "klar",
    version,
    about = "Makes rooms ready when they are booked: bookings in, rules, door access control out."
)]
struct Klar {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Plan: the effects the rules give for a bookings file, as a table or JSON.
    Plan(cli::plan::Args),
    /// Check a site config: everything `klar run` needs (rules compile and pass their cases,
    /// settings typed, rooms bound to the installation), and with bookings, decide them.
    Check(cli::check::Args),
    /// What a change of rules or config would do to the doors: windows added, removed, moved.
    Diff(cli::diff::Args),
    /// Ask the running daemon to reload its rules and config now (`--confirm`: past the guard).
    Reload(cli::reload::Args),
    /// Rule packs: run their test cases (`klar rules test`).
    Rules(cli::rules::Args),
    /// One reconcile cycle now, printing what changed on the controller.
    Sync(cli::sync::Args),
    /// Every door, zone, output and person grant at an instant.
    State(cli::state::Args),
    /// Why a door, zone, output or person is in its state at an instant.
    Explain(cli::explain::Args),
    /// The UniLock simulator as a standalone HTTP server.
    Sim(cli::sim::Args),
    /// Fake Pronestor and WinKAS servers, for commissioning without the real systems.
    Fake(cli::fake::Args),
    /// What the configured booking sources report (`klar sources rooms`).
    Sources(cli::sources::Args),
    /// The daemon: poll, plan, reconcile, reload rules, serve the dashboard.
    Run(cli::run::Args),
    /// Everything on loopback with one command: fake vendors, simulator, dashboard.
    Demo(cli::demo::Args),
    /// Run the benchmarks and print ratios against native Rust.
    Bench(cli::bench::Args),
}

fn main() -> ExitCode {
    let klar = Klar::parse();
    let result = match klar.command {
        Command::Plan(args) => cli::plan::run(args),
        Command::Check(args) => cli::check::run(args),
        Command::Diff(args) => cli::diff::run(args),
        Command::Reload(args) => cli::reload::run(args),
        Command::Rules(args) => cli::rules::run(args),
        Command::Sync(args) => cli::sync::run(args),
        Command::State(args) => cli::state::run(args),
        Command::Explain(args) => cli::explain::run(args),
        Command::Sim(args) => cli::sim::run(args),
        Command::Fake(args) => cli::fake::run(args),
        Command::Sources(args) => cli::sources::run(args),
        Command::Run(args) => cli::run::run(args),
        Command::Demo(args) => cli::demo::run(args),
        Command::Bench(args) => cli::bench::run(args),
    };
    cli::exit(result)
}
