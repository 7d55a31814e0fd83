//! Reconciliation: the `Controller` boundary and the pure `diff(desired, observed) -> actions`.
