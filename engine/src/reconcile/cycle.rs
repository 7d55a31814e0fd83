//! One sync cycle with its record: reconcile the controller with the plan, then record in the
//! store what the controller holds of the plan afterwards, the audit changes and the pack
//! versions.
//!
//! The record is what the read-back shows, not the plan: an action the controller refused, a
//! window that waits for room, a target that is not bound are not recorded as applied, so the
//! next cycle and the audit stay truthful. A cycle that cannot reach the controller records
//! nothing: the next cycle diffs against what the controller really holds, so nothing is lost and
//! nothing is applied twice.

use super::{
    AuditChange, Controller, ReconcileError, ReconcileOptions, Report, applied_windows,
    audit_changes, reconcile,
};
use crate::plan::Plan;
use crate::store::{Store, StoreError};

/// What one cycle did.
#[derive(Debug, Clone, PartialEq)]
pub struct CycleReport<K, O> {
    pub report: Report<K, O>,
    /// Bookings' windows the controller gained or lost in this cycle, with the reason.
    pub changes: Vec<AuditChange>,
}

#[derive(Debug, thiserror::Error)]
pub enum CycleError {
    #[error(transparent)]
    Reconcile(#[from] ReconcileError),
    #[error("the controller was updated but the store could not record it: {0}")]
    Store(#[from] StoreError),
}

impl CycleError {
    pub fn is_transient(&self) -> bool {
        match self {
            CycleError::Reconcile(e) => e.is_transient(),
            CycleError::Store(e) => e.is_transient(),
        }
    }
}

/// Reconciles `controller` with `plan` and records the result in `store`.
pub fn sync_cycle<C: Controller + ?Sized>(
    controller: &mut C,
    plan: &Plan,
    store: &mut Store,
    options: ReconcileOptions,
) -> Result<CycleReport<C::Key, C::Object>, CycleError> {
    let before = store.applied(controller.name())?;
    let report = reconcile(controller, plan, options)?;
    let realized = controller.realized(plan, &report.observed);
    let after = applied_windows(plan, &realized);
    let changes = audit_changes(&before, &after, plan);
    let lines: Vec<String> = report.actions.iter().map(ToString::to_string).collect();
    store.record_apply(
        &report.controller,
        plan.at,
        &after,
        &changes,
        &lines,
        &plan.packs,
    )?;
    Ok(CycleReport { report, changes })
}
