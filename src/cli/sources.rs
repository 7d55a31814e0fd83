//! `klar sources`: what the configured booking sources report (`klar sources rooms`).

use super::Outcome;

#[derive(clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> Outcome {
    anyhow::bail!("klar sources is not built yet")
}
