//! `klar explain`: why a door, zone, output or person is in its state at an instant.

use super::Outcome;

#[derive(clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> Outcome {
    anyhow::bail!("klar explain is not built yet")
}
