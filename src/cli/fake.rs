//! `klar fake`: fake Pronestor and WinKAS servers for commissioning without the real systems.

use super::Outcome;

#[derive(clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> Outcome {
    anyhow::bail!("klar fake is not built yet")
}
