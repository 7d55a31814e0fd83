//! One sync cycle with its record: reconcile the controller with the plan, then, only if that
//! succeeded, record in the store what was applied, the audit changes and the pack versions.
//!
//! A cycle that fails records nothing: the next cycle diffs against what the controller really
//! holds, so nothing is lost and nothing is applied twice.

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
    /// Bookings' windows created, extended, shortened, cancelled or expired by this cycle.
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
    let after = applied_windows(plan);
    let changes = audit_changes(&before, &after, plan.at);
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
