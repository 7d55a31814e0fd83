//! One reconcile cycle: observe, diff, apply each action on its own, read back and verify.
//!
//! A refused write (a capacity, an object the controller does not know) fails that action only:
//! the others are still applied, removals and shortenings first, and every failure is reported
//! with its object. Only a controller that cannot be reached stops the cycle, since every further
//! write would meet the same closed door; the next cycle starts again from what it holds.

use chrono::{DateTime, Utc};
use tracing::debug;

use super::{Action, Controller, ControllerError, Observed, Problem, ProblemKind, blocked, diff};
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

/// One action the controller did not take: refused, or accepted but not found at the read-back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure<K> {
    /// The object concerned.
    pub key: K,
    /// `create`, `update` or `delete`.
    pub verb: &'static str,
    /// Why, in words (never a secret).
    pub error: String,
}

impl<K: std::fmt::Display> std::fmt::Display for Failure<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.verb, self.key, self.error)
    }
}

/// What one cycle changed, what it could not do, and what the controller holds afterwards.
#[derive(Debug, Clone, PartialEq)]
pub struct Report<K, O> {
    pub controller: String,
    /// The actions the controller took, in order; empty when it was already in step.
    pub actions: Vec<Action<K, O>>,
    /// The actions it did not take. The others were applied all the same.
    pub failures: Vec<Failure<K>>,
    /// Everything the controller could not realise as planned (overflow, unbound, blocked).
    pub problems: Vec<Problem>,
    /// What the controller holds after the cycle (the read-back; the first observation when
    /// nothing was written).
    pub observed: Observed<K, O>,
}

impl<K, O> Report<K, O> {
    /// Whether everything planned is on the controller: no failure and no problem.
    pub fn is_complete(&self) -> bool {
        self.failures.is_empty() && self.problems.is_empty()
    }
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
    /// The test hook stopped the apply.
    #[error("{controller}: apply interrupted after {applied} actions")]
    Interrupted { controller: String, applied: usize },
}

impl ReconcileError {
    /// Whether the next cycle may succeed without anything changing on klar's side.
    pub fn is_transient(&self) -> bool {
        match self {
            ReconcileError::Controller { source, .. } => source.is_transient(),
            ReconcileError::Interrupted { .. } => true,
        }
    }
}

/// Brings the controller in step with the plan as far as it accepts: observe, [`diff`], apply
/// each action on its own (deletes, then updates that take something away, then the other
/// updates, then creates), then read back and report what did not take. Idempotent: a second
/// run with the same plan applies nothing.
///
/// An error only when the controller cannot be observed or stops answering (unreachable, timed
/// out) during the apply: then the actions after it are not tried.
pub fn reconcile<C: Controller + ?Sized>(
    controller: &mut C,
    plan: &Plan,
    options: ReconcileOptions,
) -> Result<Report<C::Key, C::Object>, ReconcileError> {
    let name = controller.name().to_owned();
    let fail = |during: &'static str, applied: usize, source: ControllerError| {
        ReconcileError::Controller {
            controller: name.clone(),
            during,
            applied,
            source,
        }
    };
    let observed = controller.observe().map_err(|e| fail("observe", 0, e))?;
    let desired = controller.desired(plan, &observed);
    let mut problems = desired.problems.clone();
    for key in blocked(&desired.objects, &observed) {
        problems.push(Problem {
            target: None,
            kind: ProblemKind::Blocked,
            message: format!("{key} is held by another writer; klar leaves it alone"),
        });
    }
    let mut actions = diff(&desired.objects, &observed);
    // Removals and shortenings first: a cancelled booking's door closes before anything new
    // is tried, and capacity it frees is there for what comes after. The sort is stable.
    actions.sort_by_key(|a| match a {
        Action::Delete { .. } => 0,
        Action::Update { before, after, .. } if controller.narrows(before, after) => 1,
        Action::Update { .. } => 2,
        Action::Create { .. } => 3,
    });
    let mut applied = Vec::with_capacity(actions.len());
    let mut failures = Vec::new();
    for (i, action) in actions.into_iter().enumerate() {
        if options.stop_after == Some(i) {
            return Err(ReconcileError::Interrupted {
                controller: name.clone(),
                applied: applied.len(),
            });
        }
        debug!(controller = %name, verb = action.verb(), key = %action.key(), "Applying.");
        match controller.apply(&action, options.at) {
            Ok(()) => applied.push(action),
            // The controller is gone: every further write would wait for the same timeout.
            Err(e) if e.is_transient() => return Err(fail("apply", applied.len(), e)),
            Err(e) => failures.push(Failure {
                key: action.key().clone(),
                verb: action.verb(),
                error: e.to_string(),
            }),
        }
    }
    if applied.is_empty() && failures.is_empty() {
        return Ok(Report {
            controller: name,
            actions: applied,
            failures,
            problems,
            observed,
        });
    }
    let readback = controller
        .observe()
        .map_err(|e| fail("read-back", applied.len(), e))?;
    // A write the controller accepted but does not hold is a failure too.
    for action in diff(&desired.objects, &readback) {
        if !failures.iter().any(|f| &f.key == action.key()) {
            failures.push(Failure {
                key: action.key().clone(),
                verb: action.verb(),
                error: "the controller accepted the write but the read-back differs".into(),
            });
        }
    }
    applied.retain(|a| !failures.iter().any(|f| &f.key == a.key()));
    Ok(Report {
        controller: name,
        actions: applied,
        failures,
        problems,
        observed: readback,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::model::Window;
    use crate::plan::Target;
    use crate::reconcile::Desired;
    use chrono::TimeZone;

    /// A controller holding numbers under names. The plan's door ids are the names wanted
    /// (value 1); it refuses to write `refused` and, when `down`, answers nothing after the
    /// first write.
    struct Numbers {
        held: BTreeMap<String, u32>,
        refused: &'static str,
        down_after: Option<usize>,
        writes: usize,
        order: Vec<String>,
    }

    impl Controller for Numbers {
        type Key = String;
        type Object = u32;
        fn name(&self) -> &str {
            "numbers"
        }
        fn desired(&self, plan: &Plan, _: &Observed<String, u32>) -> Desired<String, u32> {
            Desired {
                objects: plan
                    .entries
                    .iter()
                    .filter_map(|e| match &e.target {
                        Target::Door { door, .. } => Some((door.to_string(), 1)),
                        _ => None,
                    })
                    .collect(),
                problems: Vec::new(),
            }
        }
        fn realized(&self, _: &Plan, _: &Observed<String, u32>) -> BTreeMap<Target, Vec<Window>> {
            BTreeMap::new()
        }
        fn narrows(&self, before: &u32, after: &u32) -> bool {
            after < before
        }
        fn observe(&mut self) -> Result<Observed<String, u32>, ControllerError> {
            Ok(Observed {
                owned: self.held.clone(),
                ..Observed::default()
            })
        }
        fn apply(
            &mut self,
            action: &Action<String, u32>,
            _: DateTime<Utc>,
        ) -> Result<(), ControllerError> {
            if self.down_after == Some(self.writes) {
                return Err(ControllerError::Unreachable("connection refused".into()));
            }
            self.writes += 1;
            self.order
                .push(format!("{} {}", action.verb(), action.key()));
            if action.key() == self.refused {
                return Err(ControllerError::Rejected("capacity exceeded".into()));
            }
            match action {
                Action::Create { key, object }
                | Action::Update {
                    key, after: object, ..
                } => {
                    self.held.insert(key.clone(), *object);
                }
                Action::Delete { key, .. } => {
                    self.held.remove(key);
                }
            }
            Ok(())
        }
    }

    fn plan_of(names: &[&str]) -> Plan {
        let at = Utc.with_ymd_and_hms(2026, 11, 23, 6, 0, 0).unwrap();
        let mut p = Plan::empty(
            "t".into(),
            at,
            Window::new(at, at + chrono::Duration::hours(1)).unwrap(),
            vec![],
        );
        p.entries = names
            .iter()
            .map(|n| crate::plan::PlanEntry {
                target: Target::Door {
                    door: (*n).into(),
                    level: crate::model::DoorLevel::Unlocked,
                },
                windows: vec![],
            })
            .collect();
        p
    }

    #[test]
    fn a_refused_write_never_keeps_the_others_from_the_controller() {
        // "cancelled" must go, "shrinks" is narrowed, "new" and "refused" are created.
        let mut c = Numbers {
            held: BTreeMap::from([
                ("cancelled".into(), 1),
                ("shrinks".into(), 5),
                ("grows".into(), 0),
            ]),
            refused: "refused",
            down_after: None,
            writes: 0,
            order: Vec::new(),
        };
        let p = plan_of(&["a-new", "refused", "shrinks", "grows"]);
        let report = reconcile(&mut c, &p, ReconcileOptions::at(p.at)).unwrap();
        assert_eq!(
            c.order,
            vec![
                "delete cancelled",
                "update shrinks",
                "update grows",
                "create a-new",
                "create refused"
            ],
            "removals and shortenings first"
        );
        assert_eq!(report.failures.len(), 1);
        assert_eq!(report.failures[0].key, "refused");
        assert!(report.failures[0].error.contains("capacity"));
        assert_eq!(report.actions.len(), 4);
        assert!(!c.held.contains_key("cancelled"));
        assert_eq!(c.held["a-new"], 1);
        assert_eq!(
            report.observed.owned, c.held,
            "the report holds the read-back"
        );
        assert!(!report.is_complete());
    }

    #[test]
    fn a_controller_that_stops_answering_stops_the_cycle() {
        let mut c = Numbers {
            held: BTreeMap::new(),
            refused: "",
            down_after: Some(1),
            writes: 0,
            order: Vec::new(),
        };
        let p = plan_of(&["a", "b", "c"]);
        let e = reconcile(&mut c, &p, ReconcileOptions::at(p.at)).unwrap_err();
        assert!(e.is_transient(), "{e}");
        assert_eq!(
            c.order,
            vec!["create a"],
            "no more writes into a closed door"
        );
    }
}
