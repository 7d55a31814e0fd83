//! The daemon: a few tasks joined by channels.
//!
//! ```text
//!  poller (one per source) ──bookings changed──┐
//!  reloader (watch, debounce, validate, swap) ─┼─> planner ──plan──> reconciler ──> controller
//!  tick (reconcile_every) ─────────────────────┘      (rebuilds the plan from scratch)
//!  web server (dashboard, /metrics) reads the status
//! ```
//! Each task does one job; the shared state is [`core::Core`]. Shutdown: every task watches one
//! shutdown channel; the reconciler finishes the apply it is in (each action is whole on the
//! controller) and then stops, so nothing is left half applied.

pub mod bookings;
pub mod clock;
pub mod core;
pub mod dashboard;
pub mod logs;
pub mod metrics;
pub mod schedule;
pub mod settings;
pub mod status;
pub mod sync_cooldown;
mod tasks;
pub mod web;

pub use clock::SystemClock;
pub use core::{Core, Opened};
pub use tasks::start;

#[cfg(test)]
mod ended_tests;
#[cfg(test)]
mod freshness_tests;
