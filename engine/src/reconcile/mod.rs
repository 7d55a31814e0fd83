//! Reconciliation: the `Controller` boundary and the pure `diff(desired, observed) -> actions`.
//!
//! A controller holds objects of its own kind (UniLock: shared-exception periods, table
//! exceptions, persons, special days; MQTT: retained schedules). The reconciler reads what the
//! controller holds ([`Controller::observe`]); the driver turns the plan's targets and windows
//! into the objects it wants klar to own, within the room other writers leave
//! ([`Controller::desired`]); the pure [`diff`] gives the actions, each applied on its own
//! ([`reconcile`]): one refused write never keeps the others from the controller. A read-back
//! then says what the controller really holds, and [`Controller::realized`] turns that back into
//! the plan's terms, so the store and the audit record what was applied, not what was meant.
//!
//! Ownership works like a BACnet priority slot: klar owns only the objects it created (the driver
//! marks them with its site's owner), removes only its own effect, and never touches an object
//! someone else holds. A desired object whose key is held by another writer is reported as
//! blocked, not overwritten.
//!
//! Every action is an idempotent upsert or delete of a whole object, so an apply interrupted
//! after any number of actions converges when the next cycle runs.

mod audit;
mod cycle;
mod diff;
mod run;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::{Debug, Display};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::Window;
use crate::plan::{Plan, Target};

pub use audit::{AppliedWindow, AuditChange, ChangeReason, applied_windows, audit_changes};
pub use cycle::{CycleError, CycleReport, sync_cycle};
pub use diff::{blocked, diff};
pub use run::{Failure, ReconcileError, ReconcileOptions, Report, reconcile};

/// A system klar drives: it holds objects, reports them, and applies actions to them.
///
/// The trait is generic over the controller's own object model: `Key` names one object klar
/// may own (UniLock: "klar's periods in shared exception 12"), `Object` is its whole value.
/// Objects are compared by value, so `Object` must carry everything that matters on the
/// controller and nothing that does not (no timestamps of when it was written).
///
/// Methods block; call them from `spawn_blocking` in async code. A driver is constructed by its
/// adapter; construction is not part of the trait.
pub trait Controller {
    /// Names one object klar owns. `Display` is for people and must not contain secrets.
    type Key: Clone + Ord + Debug + Display + Send;
    /// An object's whole value. `Display` is for people and must not contain secrets (a PIN is
    /// shown as "PIN set").
    type Object: Clone + PartialEq + Debug + Display + Send;

    /// A short name for reports and logs: `unilock-sim`, `unilock-http`, `mqtt`.
    fn name(&self) -> &str;

    /// The objects klar wants on the controller for this plan, given what it holds now (the
    /// room other writers leave in a shared capacity, [`Observed::room`]). Pure: no I/O. What
    /// cannot be realised (a capacity exceeded, a target with no binding) is reported in
    /// [`Desired::problems`], never dropped in silence.
    fn desired(
        &self,
        plan: &Plan,
        observed: &Observed<Self::Key, Self::Object>,
    ) -> Desired<Self::Key, Self::Object>;

    /// The windows of each plan target that the objects in `observed` realise: what the
    /// controller holds of the plan, in the plan's terms. Pure. A target the controller holds
    /// nothing of may be left out. The audit and the store record this, not the plan.
    fn realized(
        &self,
        plan: &Plan,
        observed: &Observed<Self::Key, Self::Object>,
    ) -> BTreeMap<Target, Vec<Window>>;

    /// Whether an update takes something away (a window removed or shortened, a membership
    /// ended). Such updates are applied before the others, after the deletes. Default: no.
    fn narrows(&self, before: &Self::Object, after: &Self::Object) -> bool {
        let _ = (before, after);
        false
    }

    /// What the controller holds now: the objects klar owns, and the keys other writers hold.
    fn observe(&mut self) -> Result<Observed<Self::Key, Self::Object>, ControllerError>;

    /// Applies one action. Must be idempotent: a create of an object that exists is an upsert,
    /// a delete of an object that is gone succeeds. `at` is the cycle's instant (the controller
    /// may use it for checks such as "at most one year ahead").
    fn apply(
        &mut self,
        action: &Action<Self::Key, Self::Object>,
        at: DateTime<Utc>,
    ) -> Result<(), ControllerError>;
}

/// The objects a plan asks for, with what could not be realised.
#[derive(Debug, Clone, PartialEq)]
pub struct Desired<K, O> {
    pub objects: BTreeMap<K, O>,
    pub problems: Vec<Problem>,
}

impl<K, O> Default for Desired<K, O> {
    fn default() -> Self {
        Desired {
            objects: BTreeMap::new(),
            problems: Vec::new(),
        }
    }
}

/// What a controller holds: objects klar owns (by the driver's ownership marker), and keys that
/// another writer holds and klar must not touch.
#[derive(Debug, Clone, PartialEq)]
pub struct Observed<K, O> {
    pub owned: BTreeMap<K, O>,
    pub foreign: BTreeSet<K>,
    /// For objects whose capacity other writers share (UniLock: the 8 exceptions of a table,
    /// the periods of a shared exception), how many items klar's part may hold now. Absent:
    /// the whole capacity.
    pub room: BTreeMap<K, usize>,
}

impl<K, O> Default for Observed<K, O> {
    fn default() -> Self {
        Observed {
            owned: BTreeMap::new(),
            foreign: BTreeSet::new(),
            room: BTreeMap::new(),
        }
    }
}

/// Something in the plan the controller cannot realise as asked: reported, never dropped
/// silently.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// The plan target concerned, where there is one.
    pub target: Option<Target>,
    pub kind: ProblemKind,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// A controller capacity is exceeded; what fits is applied (earliest first), the rest waits.
    Overflow,
    /// The target has no usable binding to a controller object, or the object it is bound to
    /// would open more than the plan asks (a shared exception or table that also drives
    /// something not asked for then).
    Unbound,
    /// The key is held by another writer; klar leaves it alone.
    Blocked,
}

impl Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.kind {
            ProblemKind::Overflow => "overflow",
            ProblemKind::Unbound => "unbound",
            ProblemKind::Blocked => "blocked",
        };
        match &self.target {
            Some(t) => write!(f, "{kind}: {t}: {}", self.message),
            None => write!(f, "{kind}: {}", self.message),
        }
    }
}

/// One change to one object klar owns.
#[derive(Debug, Clone, PartialEq)]
pub enum Action<K, O> {
    Create { key: K, object: O },
    Update { key: K, before: O, after: O },
    Delete { key: K, before: O },
}

impl<K, O> Action<K, O> {
    pub fn key(&self) -> &K {
        match self {
            Action::Create { key, .. }
            | Action::Update { key, .. }
            | Action::Delete { key, .. } => key,
        }
    }

    pub fn verb(&self) -> &'static str {
        match self {
            Action::Create { .. } => "create",
            Action::Update { .. } => "update",
            Action::Delete { .. } => "delete",
        }
    }
}

impl<K: Display, O: Display> Display for Action<K, O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Action::Create { key, object } => write!(f, "+ {key}: {object}"),
            Action::Update { key, before, after } => write!(f, "~ {key}: {before} -> {after}"),
            Action::Delete { key, before } => write!(f, "- {key}: {before}"),
        }
    }
}

/// Why a controller call failed. Secrets never appear in the message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ControllerError {
    /// The controller could not be reached (connection refused, DNS, process down).
    #[error("controller unreachable: {0}")]
    Unreachable(String),
    /// The controller did not answer in time.
    #[error("controller timed out: {0}")]
    Timeout(String),
    /// The controller refused the request (a capacity, an unknown object).
    #[error("controller refused: {0}")]
    Rejected(String),
    /// The controller answered something the driver does not understand.
    #[error("controller protocol error: {0}")]
    Protocol(String),
}

impl ControllerError {
    /// Whether retrying later may succeed without anything changing on klar's side.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            ControllerError::Unreachable(_) | ControllerError::Timeout(_)
        )
    }
}
