//! klar's engine: everything between a booking and a controller action, with no HTTP, no clock
//! and no vendor.
//!
//! A tour, in the order data flows:
//! - [`model`]: the common model. A [`model::Booking`] comes in from a source; rules answer with
//!   [`model::Effect`]s, each on a target with a half-open [`model::Window`].
//! - [`site`]: the site configuration: rooms bound to doors, zones, outputs and groups; holiday
//!   periods and Danish public holidays; caps.
//! - [`rules`]: the [`rules::RuleRuntime`] boundary, the context a rule sees, rule packs and
//!   their test cases, and the two runtimes (Rhai scripts and Wasm components).
//! - [`plan`]: the pure planner, `plan(bookings, rules, site, now) -> Plan`: reasons, union of
//!   windows per target, caps, horizon, reported conflicts.
//! - [`reconcile`]: the pure `diff(desired, observed) -> actions` and the `Controller` boundary.
//! - [`store`]: SQLite: last good snapshot per source, applied state, audit log.
//! - [`reload`]: hot reload of rule packs and site config, validated before it applies.
//! - [`private_file`]: files holding credentials or personal data, created and kept 0600.

pub mod model;
pub mod plan;
pub mod private_file;
pub mod reconcile;
pub mod reload;
pub mod rules;
pub mod scale;
pub mod site;
pub mod store;
