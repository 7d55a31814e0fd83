//! The daemon's web server: the commissioning dashboard (server-rendered pages, see
//! [`super::dashboard`]), the JSON API, the actions, `/metrics`, `/healthz` and `/readyz`. Who
//! may use them is [`access`].

pub mod access;
pub mod server;
mod sessions;
pub mod settings;
mod throttle;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use tokio::sync::watch;

use super::dashboard;
use super::tasks::{Handle, Running, Trigger};
pub use access::{Access, TOKEN_ENV, configured_listen, configured_token, is_loopback};
pub use settings::WebSettings;

/// What the handlers share.
#[derive(Clone)]
pub struct Web {
    pub daemon: Arc<Handle>,
    pub access: Arc<Access>,
    pub live: Arc<dashboard::LiveController>,
    pub settings: Arc<WebSettings>,
}

/// The web server's socket, settings and access rules, bound before the daemon's tasks start,
/// so a refused address or a missing token stops klar before it touches the controller.
pub struct Bound {
    listener: tokio::net::TcpListener,
    access: Access,
    settings: WebSettings,
    limits: server::Limits,
    files: server::FileLimit,
}

/// Checks `[web]` and the access rules for `addr` with the site's token (see
/// [`configured_token`]), raises the file limit, and binds. Off loopback, or behind a proxy
/// (`public_origin`), without a token it refuses.
pub async fn bind(site: &klar_engine::site::SiteConfig, addr: SocketAddr) -> anyhow::Result<Bound> {
    // The access rules first: a missing token stops klar before it binds anything.
    access_for(site, addr)?;
    let listener = listen(addr).await?;
    bound(site, listener)
}

/// `[web]` and the access rules for serving `site` on `addr`: off loopback, or behind a proxy
/// (`public_origin`), a token is required.
fn access_for(
    site: &klar_engine::site::SiteConfig,
    addr: SocketAddr,
) -> anyhow::Result<(Access, WebSettings)> {
    let settings = WebSettings::of(site)?;
    let token = configured_token(site)?;
    if !is_loopback(addr.ip()) && token.is_none() {
        return Err(crate::cli::BadInput(format!(
            "the dashboard would listen on {addr}, off loopback, without a token: set [web] token_file = \"...\" in the site config or the {TOKEN_ENV} environment variable, or listen on 127.0.0.1"
        ))
        .into());
    }
    if let Some(origin) = settings.origin()
        && token.is_none()
    {
        return Err(crate::cli::BadInput(format!(
            "[web] public_origin = \"{origin}\": behind a proxy everyone who reaches it would reach the dashboard, so a token is required: set [web] token_file or the {TOKEN_ENV} environment variable"
        ))
        .into());
    }
    Ok((Access::new(token, &settings), settings))
}

/// Binds the dashboard's socket (with the server's backlog). A port in use is said plainly (the
/// caller adds how to choose another).
pub async fn listen(addr: SocketAddr) -> anyhow::Result<tokio::net::TcpListener> {
    server::listen(addr).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AddrInUse {
            crate::cli::BadInput(format!(
                "{addr} is already in use (another klar, or another program, listens there)"
            ))
            .into()
        } else {
            anyhow::Error::new(e).context(format!("binding the dashboard to {addr}"))
        }
    })
}

/// A socket bound early (before anything else starts) with the access rules and limits of
/// `site`; raises the file limit.
pub fn bound(
    site: &klar_engine::site::SiteConfig,
    listener: tokio::net::TcpListener,
) -> anyhow::Result<Bound> {
    let addr = listener.local_addr().context("the dashboard's address")?;
    let (access, settings) = access_for(site, addr)?;
    let files = server::raise_file_limit();
    let limits = server::Limits {
        header_timeout: settings.header_timeout(),
        request_timeout: settings.request_timeout(),
        connections: server::connection_limit(settings.max_connections, files.now),
    };
    Ok(Bound {
        listener,
        access,
        settings,
        limits,
        files,
    })
}

/// Serves on the bound socket until shutdown; returns the URL it serves on.
pub fn serve_bound(
    running: &Running,
    bound: Bound,
    shutdown: watch::Receiver<bool>,
) -> anyhow::Result<String> {
    let Bound {
        listener,
        access,
        settings,
        limits,
        files,
    } = bound;
    let local = listener.local_addr().context("the dashboard's address")?;
    let fmt = |n: Option<u64>| n.map_or_else(|| "unlimited".to_owned(), |n| n.to_string());
    tracing::info!(
        file_limit = %fmt(files.now),
        file_limit_at_start = %fmt(files.before),
        max_connections = limits.connections,
        header_timeout_seconds = limits.header_timeout.as_secs(),
        request_timeout_seconds = limits.request_timeout.as_secs(),
        "Dashboard limits."
    );
    let web = Web {
        daemon: running.handle(),
        access: Arc::new(access),
        live: Arc::new(dashboard::LiveController::for_core(&running.core)),
        settings: Arc::new(settings),
    };
    let metrics = running.core.metrics.clone();
    let app = router(web);
    tokio::spawn(server::serve(listener, app, limits, metrics, shutdown));
    Ok(format!("http://{local}/"))
}

fn router(web: Web) -> axum::Router {
    axum::Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/api/status", get(status))
        .route("/api/sync", post(sync))
        .route("/api/reload", post(reload))
        .route("/api/diff", get(preview))
        .route("/login", get(access::login_form).post(access::login))
        .route("/logout", post(access::logout))
        .merge(dashboard::routes())
        .layer(axum::middleware::from_fn_with_state(
            web.clone(),
            dashboard::persons::hide_addresses,
        ))
        .layer(axum::middleware::from_fn_with_state(
            web.clone(),
            access::guard,
        ))
        .with_state(web)
}

async fn status(State(web): State<Web>) -> Json<super::status::Status> {
    Json(web.daemon.core.status())
}

/// Whether the request came from a form (a browser without our script): answer with a
/// redirect back to the overview rather than text.
fn from_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"))
}

/// `POST /api/sync`: a full poll of every source, now or when its cooldown ends; the answer
/// says which.
async fn sync(State(web): State<Web>, headers: HeaderMap) -> Response {
    web.daemon.core.metrics.requested("sync");
    let granted = web.daemon.sync_now();
    let now = web.daemon.core.clock.now();
    let when: Vec<String> = granted
        .iter()
        .map(|g| {
            let wait = (g.at - now).num_seconds();
            if wait <= 0 {
                format!("{} now", g.source)
            } else {
                format!("{} in {wait} s", g.source)
            }
        })
        .collect();
    let answer = format!(
        "full poll requested: {} (through the web, each source at most once per {} s)",
        when.join(", "),
        web.daemon.sync_cooldown.every().num_seconds()
    );
    if granted.iter().any(|g| !g.coalesced) {
        tracing::info!(polls = %when.join(", "), "Sync requested through the web server.");
    }
    if from_form(&headers) {
        return Redirect::to("/?requested=sync").into_response();
    }
    answer.into_response()
}

#[derive(serde::Deserialize, Default)]
struct ReloadParams {
    /// `1`: apply even if the guard refuses (the candidate must still be valid).
    confirm: Option<String>,
}

/// Whether a program asked for JSON (`klar reload`).
fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/json"))
}

/// Validates the site config and every pack, tries them on the live bookings and swaps them in
/// (or says why not), then answers with what the reload did: JSON for programs, one line for
/// the page's script (409 when refused), a redirect to the reload for a plain form.
async fn reload(
    State(web): State<Web>,
    Query(params): Query<ReloadParams>,
    headers: HeaderMap,
) -> Response {
    web.daemon.core.metrics.requested("reload");
    let confirm = params
        .confirm
        .as_deref()
        .is_some_and(|v| matches!(v, "1" | "true" | "yes"));
    let json = wants_json(&headers);
    let trigger = if json {
        Trigger::Cli
    } else {
        Trigger::Dashboard
    };
    tracing::info!(
        confirm,
        trigger = trigger.as_str(),
        "Reload requested through the web server."
    );
    let record = match tokio::time::timeout(
        std::time::Duration::from_secs(120),
        web.daemon.reload(trigger, confirm),
    )
    .await
    {
        Ok(Some(record)) => record,
        Ok(None) => {
            return (StatusCode::SERVICE_UNAVAILABLE, "klar is stopping\n").into_response();
        }
        Err(_) => {
            return (
                StatusCode::GATEWAY_TIMEOUT,
                "the reload did not finish within 2 minutes; see the log\n",
            )
                .into_response();
        }
    };
    let code = if record.outcome == "refused" {
        StatusCode::CONFLICT
    } else {
        StatusCode::OK
    };
    if json {
        let answer = serde_json::json!({
            "summary": record.summary(),
            "outcome": record.outcome,
            "generation": record.generation,
            "confirmable": record.confirmable,
            "problems": record.problems.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "rooms": record.diff.as_ref().map(|d| d.rooms.iter().map(ToString::to_string).collect::<Vec<_>>()).unwrap_or_default(),
            "record": record,
        });
        return (code, Json(answer)).into_response();
    }
    if from_form(&headers) {
        return Redirect::to(&format!("/reloads#reload-{}", record.id)).into_response();
    }
    let mut text = record.summary();
    if record.confirmable {
        text.push_str(" (Apply anyway, or klar reload --confirm, applies it)");
    }
    (code, text).into_response()
}

/// What reloading the files on disk now would change on the live bookings, against the rule
/// set in force, without applying anything (`klar diff` with no candidate asks this): the diff
/// and what the guard would refuse it for, or why the files do not load.
async fn preview(State(web): State<Web>) -> Response {
    let core = web.daemon.core.clone();
    let reloader = web.daemon.reloader.clone();
    let generation = core.rules.current().generation;
    let answer = tokio::task::spawn_blocking(move || {
        let bookings = core.bookings();
        let live = klar_engine::reload::Live {
            bookings: &bookings,
            now: core.clock.now(),
            confirm: false,
        };
        match reloader.preview(&live) {
            Ok(v) => serde_json::json!({
                "generation": generation,
                "bookings": bookings.len(),
                "diff": v.diff,
                "refused_for": v.reasons.iter().map(ToString::to_string).collect::<Vec<_>>(),
                "errors": Vec::<String>::new(),
            }),
            Err(e) => serde_json::json!({
                "generation": generation,
                "bookings": bookings.len(),
                "diff": null,
                "refused_for": Vec::<String>::new(),
                "errors": e.problems.iter().map(ToString::to_string).collect::<Vec<_>>(),
            }),
        }
    })
    .await;
    match answer {
        Ok(v) => Json(v).into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("the preview failed: {e}\n"),
        )
            .into_response(),
    }
}

async fn metrics(State(web): State<Web>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        web.daemon.core.metrics.render(),
    )
}

/// What is still missing before the daemon is ready; empty when ready. (What is wrong once it
/// runs is [`super::status::Status::problems`].)
pub fn missing(core: &super::Core) -> Vec<String> {
    let status = core.status();
    let mut missing = Vec::new();
    if core.metrics.last_apply_ok().is_none() {
        missing.push("no plan has been applied to the controller yet".to_owned());
    }
    for s in &status.sources {
        if s.last_good.is_none() {
            missing.push(format!(
                "source {} has not answered yet (no good poll, no stored snapshot)",
                s.name
            ));
        }
    }
    missing
}

/// 200 once the store is open (it is, or the daemon would not run), every source has been
/// read and a plan has been applied, and while nothing is wrong (no refused reload, no failed
/// apply, nothing the controller cannot realise, no booking its rules fail on, no source whose
/// last poll failed); 503 naming each problem otherwise.
async fn readyz(State(web): State<Web>) -> Response {
    let mut problems = missing(&web.daemon.core);
    let not_ready = !problems.is_empty();
    problems.extend(web.daemon.core.status().problems());
    if problems.is_empty() {
        let at = web
            .daemon
            .core
            .metrics
            .last_apply_ok()
            .map(|t| t.to_rfc3339())
            .unwrap_or_default();
        return format!(
            "ready: store open, rules loaded, every source read, plan applied at {at}\n"
        )
        .into_response();
    }
    let word = if not_ready { "not ready" } else { "degraded" };
    (
        StatusCode::SERVICE_UNAVAILABLE,
        format!("{word}: {}\n", problems.join("; ")),
    )
        .into_response()
}
