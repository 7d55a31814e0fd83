//! The daemon's status: sources and their health, the rule set in force and the last reloads
//! (what each changed, or why it was refused), the last plan and apply. Kept by the core after
//! every poll, plan, apply and reload. [`Status::problems`] says, in one list, everything that
//! keeps klar from being green: the overview, the page header and `/readyz` all read it.

use chrono::{DateTime, Utc};
use klar_adapters::sources::guard::Health;
use klar_engine::plan::Plan;
use klar_engine::reload::causes::{Cause, causes, one_line};
use klar_engine::reload::{PlanDiff, ReloadProblem, RuleSet};
use serde::Serialize;

/// How many reloads the status keeps, newest first.
pub const RELOADS_KEPT: usize = 20;

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
    /// The last reloads, newest first: what each changed on the live bookings, or why it was
    /// refused.
    pub reloads: Vec<ReloadRecord>,
}

/// One reload: when, what asked for it, and what it did.
#[derive(Debug, Clone, Serialize)]
pub struct ReloadRecord {
    /// Counts reloads since start, from 1.
    pub id: u64,
    pub at: DateTime<Utc>,
    /// What asked: `file` (a save), `dashboard`, `cli` (`klar reload`), `signal` (SIGHUP).
    pub trigger: String,
    /// `swapped`, `refused` or `unchanged`.
    pub outcome: String,
    /// The generation in force after it.
    pub generation: u64,
    /// Refused: why, one line each. Swapped: what the guard would have refused it for, had
    /// it not been confirmed or the site not been commissioning.
    pub problems: Vec<ReloadProblem>,
    /// Refused by the guard alone: confirming applies it.
    pub confirmable: bool,
    /// Applied although the guard would have refused it: confirmed, or commissioning.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub overridden_by: Option<String>,
    /// What it changes (swapped) or would have changed (refused by the guard) on the live
    /// bookings.
    pub diff: Option<PlanDiff>,
}

impl ReloadRecord {
    /// One line for people: `swapped: generation 3: 2 windows moved (of 40 windows)`.
    pub fn summary(&self) -> String {
        match self.outcome.as_str() {
            "refused" => {
                let why: Vec<String> = self.problems.iter().map(ToString::to_string).collect();
                format!(
                    "reload refused; generation {} stays in force: {}",
                    self.generation,
                    why.join("; ")
                )
            }
            "unchanged" => "nothing the rules depend on changed".to_owned(),
            _ => {
                let what = self
                    .diff
                    .as_ref()
                    .map_or_else(|| "applied".to_owned(), |d| d.counts.to_string());
                match &self.overridden_by {
                    Some(by) => format!(
                        "reload applied ({by}): generation {}: {what}",
                        self.generation
                    ),
                    None => format!("reload applied: generation {}: {what}", self.generation),
                }
            }
        }
    }
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
            reloads: Vec::new(),
        }
    }

    /// Records a reload, keeping the newest [`RELOADS_KEPT`].
    pub fn record(&mut self, record: ReloadRecord) {
        self.reloads.insert(0, record);
        self.reloads.truncate(RELOADS_KEPT);
    }

    /// The id the next reload gets.
    pub fn next_id(&self) -> u64 {
        self.reloads.first().map_or(1, |r| r.id + 1)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct PlanStatus {
    pub at: DateTime<Utc>,
    pub rules_generation: u64,
    pub targets: usize,
    pub windows: usize,
    pub rule_errors: Vec<String>,
    /// The rule errors grouped by cause (one rule line fails many bookings), largest first.
    pub causes: Vec<Cause>,
}

impl PlanStatus {
    /// `bookings` names the failed bookings (source, title) in the causes.
    pub fn of(plan: &Plan, generation: u64, bookings: &[klar_engine::model::Booking]) -> Self {
        PlanStatus {
            at: plan.at,
            rules_generation: generation,
            targets: plan.entries.len(),
            windows: plan.entries.iter().map(|e| e.windows.len()).sum(),
            rule_errors: plan.errors.iter().map(ToString::to_string).collect(),
            causes: causes(&plan.errors, bookings),
        }
    }
}

impl Status {
    /// Everything that keeps klar from being green, one line each, most urgent first: a reload
    /// refused, the last apply failed, what the controller cannot realise (a target unbound), a
    /// booking its rules fail on, a source whose last poll failed. Empty: all good.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if !self.rules.errors.is_empty() {
            let why: Vec<String> = self.rules.errors.iter().map(ToString::to_string).collect();
            out.push(format!(
                "the last reload was refused; generation {} stays in force: {}",
                self.rules.generation,
                why.join("; ")
            ));
        }
        if let Some(a) = &self.last_apply {
            if let Some(e) = &a.error {
                out.push(format!("the last apply failed: {e}"));
            }
            if !a.problems.is_empty() {
                out.push(format!(
                    "{} {} cannot be realised on the controller as planned: {}",
                    a.problems.len(),
                    if a.problems.len() == 1 {
                        "target"
                    } else {
                        "targets"
                    },
                    a.problems.join("; ")
                ));
            }
        }
        if let Some(p) = &self.plan
            && !p.causes.is_empty()
        {
            let failed: usize = p.causes.iter().map(|c| c.bookings.len()).sum();
            out.push(format!(
                "{failed} {} {} rules (fail closed): {}",
                if failed == 1 { "booking" } else { "bookings" },
                if failed == 1 {
                    "fails its"
                } else {
                    "fail their"
                },
                one_line(&p.causes)
            ));
        }
        for s in &self.sources {
            if let Some(Health::Degraded { .. }) = &s.health {
                out.push(format!(
                    "source {}: the last poll failed ({}); its last good bookings stay in force",
                    s.name,
                    s.last_error.as_deref().unwrap_or("no answer")
                ));
            }
        }
        out
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn green_only_when_nothing_is_wrong() {
        let mut s = Status::default();
        assert!(s.problems().is_empty());
        s.last_apply = Some(ApplyStatus {
            at: Utc::now(),
            actions: 0,
            problems: vec!["unbound: door D-NOPE unlocked: no binding".into()],
            error: Some("the controller did not answer".into()),
            waiting: false,
        });
        s.rules.errors.push(ReloadProblem {
            file: "site.toml".into(),
            line: Some(27),
            column: Some(1),
            message: "margin_before = \"45\" ...".into(),
            snippet: None,
        });
        let p = s.problems();
        assert_eq!(p.len(), 3, "{p:?}");
        assert!(p[0].starts_with(
            "the last reload was refused; generation 0 stays in force: site.toml:27:1: "
        ));
        assert_eq!(p[1], "the last apply failed: the controller did not answer");
        assert!(p[2].starts_with(
            "1 target cannot be realised on the controller as planned: unbound: door D-NOPE"
        ));
    }
}
