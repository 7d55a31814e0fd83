//! The simulator as an HTTP server (`klar sim`), speaking docs/unilock-protocol.md. Its database
//! is saved to a state file after every write when one is given, so a restart keeps it.
//!
//! Requests are logged by operation and object, never with a PIN or card.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::json;
use tracing::{info, warn};

use super::driver::save_database;
use super::protocol::{OpensRequest, Write, WriteRequest};
use super::sim::{SimError, UnilockSimulator};

struct Shared {
    sim: UnilockSimulator,
    state_file: Option<PathBuf>,
}

type AppState = Arc<Mutex<Shared>>;

/// The router: `/v1/health`, `/v1/database`, `/v1/write`, `/v1/state`, `/v1/doors/{id}`,
/// `/v1/zones/{id}`, `/v1/outputs/{id}`, `/v1/opens`.
pub fn router(sim: UnilockSimulator, state_file: Option<PathBuf>) -> Router {
    let state: AppState = Arc::new(Mutex::new(Shared { sim, state_file }));
    Router::new()
        .route("/v1/health", get(|| async { Json(json!({"ok": true})) }))
        .route("/v1/database", get(database))
        .route("/v1/write", post(write))
        .route("/v1/state", get(state_at))
        .route("/v1/doors/{id}", get(door))
        .route("/v1/zones/{id}", get(zone))
        .route("/v1/outputs/{id}", get(output))
        .route("/v1/opens", post(opens))
        .with_state(state)
}

/// Serves until the listener fails or the future is dropped.
pub async fn serve(
    listener: tokio::net::TcpListener,
    sim: UnilockSimulator,
    state_file: Option<PathBuf>,
) -> std::io::Result<()> {
    axum::serve(listener, router(sim, state_file)).await
}

fn error(e: SimError) -> Response {
    let (status, kind) = match &e {
        SimError::Unknown { .. } => (StatusCode::NOT_FOUND, "unknown"),
        SimError::Capacity(_) => (StatusCode::UNPROCESSABLE_ENTITY, "capacity"),
        SimError::Owned(_) => (StatusCode::CONFLICT, "owned"),
        SimError::Invalid(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
    };
    (status, Json(json!({"error": e.to_string(), "kind": kind}))).into_response()
}

fn internal(message: String) -> Response {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        Json(json!({"error": message, "kind": "internal"})),
    )
        .into_response()
}

fn lock(state: &AppState) -> std::sync::MutexGuard<'_, Shared> {
    // A panic while holding the lock leaves a consistent database: writes replace whole parts.
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

async fn database(State(state): State<AppState>) -> Response {
    Json(lock(&state).sim.database().clone()).into_response()
}

fn describe(w: &Write) -> String {
    match w {
        Write::SetSharedPeriods { id, periods, .. } => {
            format!("set_shared_periods {id} ({} periods)", periods.len())
        }
        Write::SetTableExceptions {
            table, exceptions, ..
        } => format!("set_table_exceptions {table} ({})", exceptions.len()),
        Write::PutPerson { id, .. } => format!("put_person {id}"),
        Write::DeletePerson { id, .. } => format!("delete_person {id}"),
        Write::SetSpecialDay { date, day_type, .. } => format!("set_special_day {date} {day_type}"),
        Write::ClearSpecialDay { date, .. } => format!("clear_special_day {date}"),
        Write::SetBlock {
            group,
            door,
            periods,
            ..
        } => format!("set_block {group} {door} ({} periods)", periods.len()),
    }
}

async fn write(State(state): State<AppState>, Json(req): Json<WriteRequest>) -> Response {
    let mut shared = lock(&state);
    let what = describe(&req.write);
    if let Err(e) = shared.sim.write(&req) {
        warn!(write = %what, error = %e, "Write refused.");
        return error(e);
    }
    if let Some(path) = shared.state_file.clone()
        && let Err(e) = save_database(&path, shared.sim.database())
    {
        return internal(e);
    }
    info!(write = %what, "Write applied.");
    Json(json!({"ok": true})).into_response()
}

#[derive(Deserialize)]
struct At {
    at: DateTime<Utc>,
}

async fn state_at(State(state): State<AppState>, Query(At { at }): Query<At>) -> Response {
    Json(lock(&state).sim.state_at(at)).into_response()
}

async fn door(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(At { at }): Query<At>,
) -> Response {
    lock(&state)
        .sim
        .door(&id, at)
        .map_or_else(error, |s| Json(s).into_response())
}

async fn zone(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(At { at }): Query<At>,
) -> Response {
    lock(&state)
        .sim
        .zone(&id, at)
        .map_or_else(error, |s| Json(s).into_response())
}

async fn output(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(At { at }): Query<At>,
) -> Response {
    lock(&state)
        .sim
        .output(&id, at)
        .map_or_else(error, |s| Json(s).into_response())
}

async fn opens(State(state): State<AppState>, Json(req): Json<OpensRequest>) -> Response {
    lock(&state)
        .sim
        .opens(&req)
        .map_or_else(error, |a| Json(a).into_response())
}
