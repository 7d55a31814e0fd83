//! One reconcile cycle: observe, diff, apply action by action, read back and verify.

use chrono::{DateTime, Utc};
use tracing::{debug, info};

use super::{Action, Controller, ControllerError, Problem, ProblemKind, blocked, diff};
use crate::plan::Plan;

/// How one cycle runs.
#[derive(Debug, Clone, Copy)]
pub struct ReconcileOptions {
    /// The cycle's instant, passed to the controller with each action.
    pub at: DateTime<Utc>,
    /// Test hook: stop after this many actions, as if the process were killed mid-apply.
    pub stop_after: Option<usize>,
}

impl ReconcileOptions {
    pub fn at(at: DateTime<Utc>) -> Self {
        ReconcileOptions {
            at,
            stop_after: None,
        }
    }
}

/// What one cycle changed, and what it could not do.
#[derive(Debug, Clone, PartialEq)]
pub struct Report<K, O> {
    pub controller: String,
    /// The actions applied, in order; empty when the controller was already in step.
    pub actions: Vec<Action<K, O>>,
    /// Everything the controller could not realise as planned (overflow, unbound, blocked).
    pub problems: Vec<Problem>,
}

/// A cycle that did not finish. The next cycle starts from what the controller holds, so
/// nothing is lost: it re-diffs and applies what is still missing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReconcileError {
    #[error("{controller}: {during} failed after {applied} applied actions: {source}")]
    Controller {
        controller: String,
        during: &'static str,
        applied: usize,
        #[source]
        source: ControllerError,
    },
    /// The read-back after applying still differs from the desired state: a change did not take.
    #[error("{controller}: read-back differs after apply: {}", remaining.join("; "))]
    Unverified {
        controller: String,
        remaining: Vec<String>,
    },
    /// The test hook stopped the apply.
    #[error("{controller}: apply interrupted after {applied} actions")]
    Interrupted { controller: String, applied: usize },
}

impl ReconcileError {
    /// Whether the next cycle may succeed without anything changing on klar's side.
    pub fn is_transient(&self) -> bool {
        match self {
            ReconcileError::Controller { source, .. } => source.is_transient(),
            ReconcileError::Unverified { .. } => false,
            ReconcileError::Interrupted { .. } => true,
        }
    }
}

/// Brings the controller in step with the plan: observe, [`diff`], apply each action, then read
/// back and verify that nothing remains. Idempotent: a second run with the same plan applies
/// nothing.
pub fn reconcile<C: Controller + ?Sized>(
    controller: &mut C,
    plan: &Plan,
    options: ReconcileOptions,
) -> Result<Report<C::Key, C::Object>, ReconcileError> {
    let name = controller.name().to_owned();
    let desired = controller.desired(plan);
    let fail = |during: &'static str, applied: usize, source: ControllerError| {
        ReconcileError::Controller {
            controller: name.clone(),
            during,
            applied,
            source,
        }
    };
    let observed = controller.observe().map_err(|e| fail("observe", 0, e))?;
    let mut problems = desired.problems.clone();
    for key in blocked(&desired.objects, &observed) {
        problems.push(Problem {
            target: None,
            kind: ProblemKind::Blocked,
            message: format!("{key} is held by another writer; klar leaves it alone"),
        });
    }
    let actions = diff(&desired.objects, &observed);
    for (i, action) in actions.iter().enumerate() {
        if options.stop_after == Some(i) {
            return Err(ReconcileError::Interrupted {
                controller: name.clone(),
                applied: i,
            });
        }
        debug!(controller = %name, verb = action.verb(), key = %action.key(), "Applying.");
        controller
            .apply(action, options.at)
            .map_err(|e| fail("apply", i, e))?;
    }
    if !actions.is_empty() {
        let readback = controller
            .observe()
            .map_err(|e| fail("read-back", actions.len(), e))?;
        let remaining = diff(&desired.objects, &readback);
        if !remaining.is_empty() {
            return Err(ReconcileError::Unverified {
                controller: name.clone(),
                remaining: remaining
                    .iter()
                    .map(|a| format!("{} {}", a.verb(), a.key()))
                    .collect(),
            });
        }
        info!(controller = %name, actions = actions.len(), "Controller in step with the plan.");
    }
    Ok(Report {
        controller: name,
        actions,
        problems,
    })
}
