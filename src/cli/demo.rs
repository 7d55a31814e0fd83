//! `klar demo`: everything on loopback with one command: fake vendors, simulator, dashboard.

use super::Outcome;

#[derive(clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> Outcome {
    anyhow::bail!("klar demo is not built yet")
}
