//! `klar sim`: the UniLock simulator as a standalone HTTP server (docs/unilock-protocol.md).
//!
//! Prints `listening on http://127.0.0.1:PORT` once it accepts connections (with `--port 0`,
//! the port the system chose). With `--state-file` its database survives restarts.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use klar_adapters::controllers::unilock::driver::load_database;
use klar_adapters::controllers::unilock::server::serve;
use klar_adapters::controllers::unilock::{UnilockSimulator, driver_for};

use super::{BadInput, Outcome, load_site};

#[derive(clap::Args)]
pub struct Args {
    /// The site config whose `[controller.installation]` the simulator models.
    #[arg(long)]
    pub config: PathBuf,
    /// The port on 127.0.0.1; 0 lets the system choose.
    #[arg(long, default_value_t = 7070)]
    pub port: u16,
    /// Keeps the database in this file (loaded at start, saved after every write).
    #[arg(long)]
    pub state_file: Option<PathBuf>,
}

pub fn run(args: Args) -> Outcome {
    let site = load_site(&args.config)?;
    let (_, driver) = driver_for(&site).map_err(|e| BadInput(e.to_string()))?;
    let db = match &args.state_file {
        Some(path) => load_database(path).map_err(BadInput)?,
        None => Default::default(),
    };
    let sim = UnilockSimulator::with_database(driver.installation().clone(), db);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port))
            .await
            .with_context(|| format!("cannot listen on 127.0.0.1:{}", args.port))?;
        let addr = listener.local_addr()?;
        println!("listening on http://{addr}");
        std::io::stdout().flush()?;
        tokio::select! {
            served = serve(listener, sim, args.state_file) => served.context("the simulator server stopped")?,
            _ = tokio::signal::ctrl_c() => {}
        }
        Ok(ExitCode::SUCCESS)
    })
}
