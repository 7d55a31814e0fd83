//! `klar sync`: one reconcile cycle now, printing what changed on the controller.

use super::Outcome;

#[derive(clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> Outcome {
    anyhow::bail!("klar sync is not built yet")
}
