//! `klar reload --config site.toml [--confirm]`: asks the running daemon (`klar run`) to reload
//! the site config and every pack now, as a save or the dashboard's button does, and prints
//! what the reload did: the rooms it changed, or why it was refused. `--confirm` applies a
//! change the guard refused (it fails a live booking, or removes most windows in force); it
//! never applies one that does not load or fails its cases.
//!
//! Also the client `klar diff` uses to ask the daemon for a preview.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use klar_adapters::http::{HttpClient, HttpConfig, HttpRequest};

use super::{BadInput, Outcome};

#[derive(clap::Args)]
pub struct Args {
    /// The site config of the running daemon (for its `[web] listen` and token).
    #[arg(long)]
    pub config: PathBuf,
    /// Apply even if the guard refuses the change (it must still load and pass its cases).
    #[arg(long)]
    pub confirm: bool,
    /// The daemon's dashboard URL; default: `[web] listen` of the config, else
    /// http://127.0.0.1:7878/.
    #[arg(long)]
    pub url: Option<String>,
}

pub fn run(args: Args) -> Outcome {
    let daemon = Daemon::of(&args.config, args.url.as_deref())?;
    let path = if args.confirm {
        "api/reload?confirm=1"
    } else {
        "api/reload"
    };
    let (status, answer) = daemon.request(HttpRequest::post(&daemon.url(path))?.no_retry())?;
    if status != 200 && status != 409 {
        return Err(BadInput(format!(
            "{}: the daemon answered {status}: {}",
            daemon.base,
            String::from_utf8_lossy(&answer).trim()
        ))
        .into());
    }
    let answer: serde_json::Value = serde_json::from_slice(&answer)
        .map_err(|e| anyhow::anyhow!("{}: not the daemon's answer: {e}", daemon.base))?;
    let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
    let refused = answer["outcome"] == "refused";
    if !refused {
        println!("{}", text(&answer["summary"]));
        for line in answer["rooms"].as_array().into_iter().flatten() {
            println!("  {}", text(line));
        }
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "reload refused; generation {} stays in force:",
        answer["generation"]
    );
    for p in answer["problems"].as_array().into_iter().flatten() {
        println!("  {}", text(p));
    }
    if answer["confirmable"] == true {
        let rooms: Vec<String> = answer["rooms"]
            .as_array()
            .into_iter()
            .flatten()
            .map(text)
            .collect();
        if !rooms.is_empty() {
            println!("what it would change:");
            for r in rooms {
                println!("  {r}");
            }
        }
        println!(
            "The change loads and passes its cases; to apply it anyway: klar reload --config {} --confirm",
            args.config.display()
        );
    }
    Ok(ExitCode::from(1))
}

/// The running daemon's web server, found from the site config.
pub struct Daemon {
    /// `http://127.0.0.1:7878/`
    pub base: String,
    token: Option<String>,
    runtime: tokio::runtime::Runtime,
    http: HttpClient,
}

impl Daemon {
    /// The daemon `config` runs: `url`, else its `[web] listen` (a wildcard address reached on
    /// loopback), with its token (`KLAR_WEB_TOKEN`, else `[web] token_file`). Reads only the
    /// `[web]` table, so a config that does not load elsewhere (the reason to reload) still
    /// finds its daemon.
    pub fn of(config: &Path, url: Option<&str>) -> anyhow::Result<Daemon> {
        let text = std::fs::read_to_string(config)
            .map_err(|e| BadInput(format!("{}: cannot read: {e}", config.display())))?;
        let web = toml::from_str::<toml::Table>(&text)
            .ok()
            .and_then(|t| t.get("web").and_then(|w| w.as_table()).cloned())
            .unwrap_or_default();
        let base = match url {
            Some(u) => {
                let u = u.trim_end_matches('/');
                format!("{u}/")
            }
            None => {
                let listen = web
                    .get("listen")
                    .and_then(|v| v.as_str())
                    .unwrap_or("127.0.0.1:7878")
                    .replace("0.0.0.0", "127.0.0.1")
                    .replace("[::]", "[::1]");
                format!("http://{listen}/")
            }
        };
        let token = match std::env::var(crate::daemon::web::TOKEN_ENV) {
            Ok(v) if !v.trim().is_empty() => Some(v.trim().to_owned()),
            _ => web
                .get("token_file")
                .and_then(|v| v.as_str())
                .map(|f| config.parent().unwrap_or(Path::new(".")).join(f))
                .and_then(|p| std::fs::read_to_string(p).ok())
                .map(|t| t.trim().to_owned()),
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let http = HttpClient::new(HttpConfig {
            request_timeout: std::time::Duration::from_secs(150),
            first_request_timeout: std::time::Duration::from_secs(150),
            ..HttpConfig::default()
        })
        .map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(Daemon {
            base,
            token,
            runtime,
            http,
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends `request` (JSON accepted, the token added) and returns the status and body.
    pub fn request(&self, request: HttpRequest) -> anyhow::Result<(u16, Vec<u8>)> {
        let mut request = request.header("Accept", "application/json");
        if let Some(t) = &self.token {
            request = request.header("Authorization", &format!("Bearer {t}"));
        }
        let answer = self.runtime.block_on(self.http.send(&request)).map_err(|e| {
            BadInput(format!(
                "no klar daemon answers at {} ({e}): is klar run started with this config? (--url names another address)",
                self.base
            ))
        })?;
        Ok((answer.status, answer.body))
    }
}
