//! The daemon's status: sources and their health, the rule set in force and the last reload
//! error, the last plan and apply. Kept by the core after every poll, plan, apply and reload.

use chrono::{DateTime, Utc};
use klar_engine::plan::Plan;
use klar_engine::reload::{ReloadProblem, RuleSet};
use serde::Serialize;

#[derive(Debug, Clone, Default, Serialize)]
pub struct Status {
    pub sources: Vec<SourceStatus>,
    pub rules: RulesStatus,
    pub plan: Option<PlanStatus>,
    pub last_apply: Option<ApplyStatus>,
    /// Set when the store was found damaged at start, moved aside and started anew.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub store_rebuilt: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct SourceStatus {
    pub name: String,
    pub kind: String,
    pub bookings: usize,
    pub last_poll: Option<DateTime<Utc>>,
    pub last_good: Option<DateTime<Utc>>,
    pub last_scope: Option<String>,
    pub last_error: Option<String>,
    /// The guard's verdict on the last poll: healthy, degraded (failed; last good in force) or
    /// held back (a mass disappearance waiting for confirmation).
    pub health: Option<klar_adapters::sources::guard::Health>,
    pub polls: u64,
    pub failures: u64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct RulesStatus {
    pub generation: u64,
    /// `name version` of each pack in force.
    pub packs: Vec<String>,
    pub last_reload: Option<DateTime<Utc>>,
    /// Why the last reload was refused (the previous rules stay in force); empty after a good one.
    pub errors: Vec<ReloadProblem>,
}

impl RulesStatus {
    pub fn of(rules: &RuleSet) -> Self {
        RulesStatus {
            generation: rules.generation,
            packs: rules
                .packs
                .iter()
                .map(|p| format!("{} {}", p.pack().name, p.pack().version))
                .collect(),
            last_reload: None,
            errors: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct PlanStatus {
    pub at: DateTime<Utc>,
    pub rules_generation: u64,
    pub targets: usize,
    pub windows: usize,
    pub rule_errors: Vec<String>,
}

impl PlanStatus {
    pub fn of(plan: &Plan, generation: u64) -> Self {
        PlanStatus {
            at: plan.at,
            rules_generation: generation,
            targets: plan.entries.len(),
            windows: plan.entries.iter().map(|e| e.windows.len()).sum(),
            rule_errors: plan.errors.iter().map(ToString::to_string).collect(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ApplyStatus {
    pub at: DateTime<Utc>,
    pub actions: usize,
    pub problems: Vec<String>,
    pub error: Option<String>,
    /// Nothing was applied: a source has not answered yet since a fresh store (the apply waits
    /// for it rather than clear the controller with an empty plan).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub waiting: bool,
}
