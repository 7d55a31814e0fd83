//! `klar bench`: runs the benchmarks and prints a table of ratios against native Rust.

use super::Outcome;

#[derive(clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> Outcome {
    anyhow::bail!("klar bench is not built yet")
}
