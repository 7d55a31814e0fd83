//! `klar`: makes rooms ready when they are booked.
//!
//! The binary wires the engine and the adapters together and owns everything that touches the
//! world: the clock, the network, files, signals. Each subcommand is one file in `cli/`.

mod cli;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "klar", version, about = "Makes rooms ready when they are booked: bookings in, rules, door access control out.")]
struct Klar {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Plan: the effects the rules give for a bookings file, as a table or JSON.
    Plan(cli::plan::Args),
    /// Check a site config and compile every rule pack it names.
    Check(cli::check::Args),
    /// Rule packs: run their test cases (`klar rules test`).
    Rules(cli::rules::Args),
}

fn main() -> ExitCode {
    let klar = Klar::parse();
    let result = match klar.command {
        Command::Plan(args) => cli::plan::run(args),
        Command::Check(args) => cli::check::run(args),
        Command::Rules(args) => cli::rules::run(args),
    };
    cli::exit(result)
}
