//! The daemon's web server: serves the status on loopback and stops with the daemon.
//!
//! Routes: `/healthz`, `/api/status` (the [`super::status::Status`] as JSON), `POST /api/sync`
//! (poll every source's full horizon now) and `POST /api/reload` (validate and swap the rules
//! again).

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use axum::Json;
use axum::extract::State;
use axum::routing::{get, post};
use tokio::sync::watch;

use super::tasks::{Handle, Running};

/// Binds `addr`, serves until shutdown, returns the URL it serves on.
pub async fn serve(
    running: &Running,
    addr: SocketAddr,
    mut shutdown: watch::Receiver<bool>,
) -> anyhow::Result<String> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding the dashboard to {addr}"))?;
    let local = listener.local_addr().context("the dashboard's address")?;
    let app = axum::Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/api/status", get(status))
        .route("/api/sync", post(sync))
        .route("/api/reload", post(reload))
        .with_state(running.handle());
    tokio::spawn(async move {
        let stop = async move {
            let _ = shutdown.wait_for(|s| *s).await;
        };
        if let Err(e) = axum::serve(listener, app)
            .with_graceful_shutdown(stop)
            .await
        {
            tracing::warn!(error = %e, "The web server stopped with an error.");
        }
    });
    Ok(format!("http://{local}/"))
}

async fn status(State(daemon): State<Arc<Handle>>) -> Json<super::status::Status> {
    Json(daemon.core.status())
}

async fn sync(State(daemon): State<Arc<Handle>>) -> &'static str {
    daemon.sync_now();
    "full poll of every source requested"
}

async fn reload(State(daemon): State<Arc<Handle>>) -> &'static str {
    daemon.reload_all();
    "reload requested"
}
