//! `klar fake pronestor|winkas`: fake Pronestor and WinKAS servers for commissioning without the
//! real systems. Prints the URL, the credentials and a `[[sources]]` entry to paste, then serves
//! generated bookings around now until Ctrl-C.
//!
//! The first line is always `listening on <url>`, so scripts and tests can read it.

use std::io::Write as _;
use std::net::SocketAddr;
use std::process::ExitCode;

use anyhow::Context;
use klar_adapters::fake::FakeClock;
use klar_adapters::fake::pronestor::{FakePronestor, FakePronestorOptions, PronestorDateFormat};
use klar_adapters::fake::winkas::{FakeWinkas, FakeWinkasOptions, WinkasDateFormat};

use super::{BadInput, Outcome};

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub vendor: Vendor,
}

#[derive(clap::Subcommand)]
pub enum Vendor {
    /// A fake Pronestor Planner (`/Api.mvc/v1/...`, cookie login).
    Pronestor(Options),
    /// A fake WinKAS API (`/api/...`, token login with a licence number).
    Winkas(Options),
}

#[derive(clap::Args)]
pub struct Options {
    /// The port on 127.0.0.1; 0 lets the system choose.
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Seed of the generated rooms, bookings and people (same seed, same data).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// How dates are written. WinKAS: `danish` (dd-MM-yyyy HH:mm:ss, the default), `iso-local`,
    /// `iso-utc`. Pronestor: `ms` (/Date(ms)/, the default), `naive-local`, `iso-offset`.
    #[arg(long)]
    pub date_format: Option<String>,
}

pub fn run(args: Args) -> Outcome {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        match args.vendor {
            Vendor::Winkas(o) => {
                let fake = FakeWinkas::start(FakeWinkasOptions {
                    seed: o.seed,
                    clock: FakeClock::system(),
                    addr: SocketAddr::from(([127, 0, 0, 1], o.port)),
                    ..FakeWinkasOptions::default()
                })
                .await
                .with_context(|| format!("cannot listen on 127.0.0.1:{}", o.port))?;
                match o.date_format.as_deref() {
                    None | Some("danish") => {}
                    Some("iso-local") => fake.set_date_format(WinkasDateFormat::IsoLocal),
                    Some("iso-utc") => fake.set_date_format(WinkasDateFormat::IsoUtc),
                    Some(other) => {
                        return Err(BadInput(format!("--date-format {other:?}: expected danish, iso-local or iso-utc")).into());
                    }
                }
                let (user, password, code) = fake.credentials();
                let data = fake.data();
                println!("listening on {}", fake.base_url());
                println!("Fake WinKAS: {} resources, {} bookings around now (seed {}).", data.resources.len(), data.bookings.len(), o.seed);
                println!("Demo credentials (not secret): username {user}, password {password}, contract code {code}.");
                println!();
                println!("  # export KLAR_WINKAS_PASSWORD={password}");
                println!("  [[sources]]");
                println!("  name = \"halls\"");
                println!("  kind = \"winkas\"");
                println!("  url = \"{}\"", fake.base_url());
                println!("  username = \"{user}\"");
                println!("  password_env = \"KLAR_WINKAS_PASSWORD\"");
                println!("  contract_code = \"{code}\"");
                println!();
                println!("Ctrl-C stops the server.");
                std::io::stdout().flush()?;
                tokio::signal::ctrl_c().await?;
                drop(fake);
            }
            Vendor::Pronestor(o) => {
                let fake = FakePronestor::start(FakePronestorOptions {
                    seed: o.seed,
                    clock: FakeClock::system(),
                    addr: SocketAddr::from(([127, 0, 0, 1], o.port)),
                    ..FakePronestorOptions::default()
                })
                .await
                .with_context(|| format!("cannot listen on 127.0.0.1:{}", o.port))?;
                match o.date_format.as_deref() {
                    None | Some("ms") => {}
                    Some("naive-local") => fake.set_date_format(PronestorDateFormat::NaiveLocal),
                    Some("iso-offset") => fake.set_date_format(PronestorDateFormat::IsoOffset),
                    Some(other) => {
                        return Err(BadInput(format!("--date-format {other:?}: expected ms, naive-local or iso-offset")).into());
                    }
                }
                let (user, password) = fake.credentials();
                let data = fake.data();
                println!("listening on {}", fake.base_url());
                println!(
                    "Fake Pronestor Planner: {} locations, {} resources, {} meetings around now (seed {}).",
                    data.locations.len(),
                    data.resources.len(),
                    data.bookings.len(),
                    o.seed
                );
                println!("Demo credentials (not secret): username {user}, password {password}.");
                println!();
                println!("  # export KLAR_PRONESTOR_PASSWORD={password}");
                println!("  [[sources]]");
                println!("  name = \"planner\"");
                println!("  kind = \"pronestor\"");
                println!("  url = \"{}\"", fake.base_url());
                println!("  username = \"{user}\"");
                println!("  password_env = \"KLAR_PRONESTOR_PASSWORD\"");
                println!();
                println!("Ctrl-C stops the server.");
                std::io::stdout().flush()?;
                tokio::signal::ctrl_c().await?;
                drop(fake);
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}
