//! `klar run`: the daemon: poll, plan, reconcile, reload, serve the dashboard.

use super::Outcome;

#[derive(clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> Outcome {
    anyhow::bail!("klar run is not built yet")
}
