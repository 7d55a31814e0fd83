//! `klar run`: the daemon: poll, plan, reconcile, reload, serve the dashboard.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use klar_adapters::http::HttpConfig;
use tokio::sync::watch;
use tracing::info;

use super::Outcome;
use crate::daemon::{self, SystemClock};

#[derive(clap::Args)]
pub struct Args {
    /// The site config.
    #[arg(long)]
    pub config: PathBuf,
    /// The dashboard's address; default `[web] listen`, else 127.0.0.1:7878.
    #[arg(long)]
    pub listen: Option<std::net::SocketAddr>,
}

pub fn run(args: Args) -> Outcome {
    let site = super::load_site(&args.config)?;
    let settings =
        daemon::settings::DaemonSettings::from_table(&site.daemon).map_err(super::BadInput)?;
    init_logs(&settings.log);
    for warning in super::check::secret_file_warnings(&site) {
        tracing::warn!(problem = %warning, "A secret file others can read.");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        let listen = match args.listen {
            Some(addr) => addr,
            None => daemon::web::configured_listen(&site)?,
        };
        // The token and the address are checked, and the socket bound, before anything else
        // (the store, the controller, the tasks): a port in use is the only thing said, and a
        // refusal never stops klar in the middle of an apply.
        let bound = daemon::web::bind(&site, listen).await.map_err(|e| {
            match e.downcast_ref::<super::BadInput>() {
                Some(b) if b.0.contains("already in use") => super::BadInput(format!(
                    "{}: choose another address with --listen 127.0.0.1:PORT (127.0.0.1:0: any free port) or [web] listen",
                    b.0
                ))
                .into(),
                _ => e,
            }
        })?;
        let opened =
            daemon::Core::open(&args.config, Arc::new(SystemClock), HttpConfig::default())?;
        let (stop_tx, stop_rx) = watch::channel(false);
        let running = daemon::start(opened, stop_rx.clone())?;
        let url = daemon::web::serve_bound(&running, bound, stop_rx)?;
        info!(config = %running.core.config.display(), dashboard = %url, "klar is running.");
        shutdown_signal().await;
        info!("Shutting down: finishing the apply in progress.");
        stop_tx.send_replace(true);
        running.join().await;
        info!("Stopped.");
        Ok(ExitCode::SUCCESS)
    })
}

/// Logs to stderr with the level from `RUST_LOG`, else `[daemon] log`; control characters in
/// every field are escaped ([`daemon::logs`]).
pub fn init_logs(level: &str) {
    let spec = std::env::var("RUST_LOG")
        .ok()
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| level.to_owned());
    let filter = tracing_subscriber::EnvFilter::try_new(log_filter(&spec))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    use std::io::IsTerminal;
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .fmt_fields(daemon::logs::EscapedFields::default())
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .try_init();
}

/// The log filter for `spec` (`RUST_LOG` or `[daemon] log`). The file watcher's own crate is
/// kept at `info` unless named: at `trace` it logs every file event, and a log file in the
/// watched site folder would then feed itself without end.
fn log_filter(spec: &str) -> String {
    if spec.contains("notify") {
        spec.to_owned()
    } else {
        format!("{spec},notify=info")
    }
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[cfg(test)]
mod tests {
    use super::log_filter;

    #[test]
    fn the_file_watcher_stays_at_info_unless_named() {
        assert_eq!(log_filter("trace"), "trace,notify=info");
        assert_eq!(log_filter("klar=debug,warn"), "klar=debug,warn,notify=info");
        assert_eq!(log_filter("trace,notify=trace"), "trace,notify=trace");
        for spec in ["trace", "klar=debug,warn", "info"] {
            assert!(tracing_subscriber::EnvFilter::try_new(log_filter(spec)).is_ok());
        }
    }
}
