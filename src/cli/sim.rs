//! `klar sim`: the UniLock simulator as a standalone HTTP server.

use super::Outcome;

#[derive(clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> Outcome {
    anyhow::bail!("klar sim is not built yet")
}
