//! The reload guard: a candidate rule set that compiles and passes its cases is still tried on
//! the live bookings before it swaps. It is refused, and the rule set in force stays, when it
//! fails a booking the rules in force decide, or removes more than a share of the windows in
//! force (like the sources' mass-disappearance guard), unless the reload is confirmed or the
//! site is being commissioned (`[rules.reload] commissioning = true`).

use std::collections::BTreeSet;
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::causes::Cause;
use super::diff::{ChangeKind, PlanDiff, compare};
use super::places::TomlPlaces;
use super::{ReloadProblem, RuleSet};
use crate::model::Booking;
use crate::plan::{Plan, PlanInput, plan};
use crate::site::SiteConfig;

/// `[rules.reload]` in the site config: what the guard refuses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReloadPolicy {
    /// Commissioning: a reload the guard would refuse is applied anyway, and its diff shown.
    pub commissioning: bool,
    /// A reload that removes more than this share of the windows in force (0 to 1)...
    pub max_removed_share: f64,
    /// ...and more than this many of them is refused.
    pub max_removed_windows: usize,
}

impl Default for ReloadPolicy {
    fn default() -> Self {
        ReloadPolicy {
            commissioning: false,
            max_removed_share: 0.5,
            max_removed_windows: 3,
        }
    }
}

impl ReloadPolicy {
    /// Pure checks serde cannot make.
    pub fn validate(&self) -> Result<(), String> {
        if !(0.0..=1.0).contains(&self.max_removed_share) {
            return Err(format!(
                "[rules.reload] max_removed_share = {} must be between 0 and 1 (0.5: half the windows in force)",
                self.max_removed_share
            ));
        }
        Ok(())
    }
}

/// The bookings in force and now: what a candidate is tried on.
#[derive(Debug, Clone, Copy)]
pub struct Live<'a> {
    pub bookings: &'a [Booking],
    pub now: DateTime<Utc>,
    /// Apply even if the guard would refuse (`klar reload --confirm`, the dashboard's button).
    pub confirm: bool,
}

/// What trying a candidate on the live bookings found.
#[derive(Debug, Clone)]
pub struct Verdict {
    pub diff: PlanDiff,
    /// Why the guard would refuse, one line each; empty when it would not.
    pub reasons: Vec<ReloadProblem>,
}

/// Plans the live bookings with the rules in force and with the candidate, and judges the
/// difference. `config` is the site config file (for the places of settings).
pub fn judge(current: &RuleSet, candidate: &RuleSet, live: &Live<'_>, config: &Path) -> Verdict {
    judge_since(current, current, candidate, live, config)
}

/// [`judge`], with the windows removed counted from `baseline`: the rule set a person last
/// started or confirmed. Measured from the rules in force alone, a series of saves could each
/// remove less than the share and together remove every window.
pub fn judge_since(
    baseline: &RuleSet,
    current: &RuleSet,
    candidate: &RuleSet,
    live: &Live<'_>,
    config: &Path,
) -> Verdict {
    let before = plan_with(current, &current.site, live);
    let after = plan_with(candidate, &candidate.site, live);
    let diff = compare(
        &before,
        &after,
        live.bookings,
        &[&candidate.site, &current.site],
    );
    let mut reasons = Vec::new();
    if !diff.newly_failing.is_empty() {
        let blamed = blame_settings(current, candidate, live, &diff, config);
        reasons.push(failing_problem(
            &diff.newly_failing,
            &blamed,
            candidate,
            config,
        ));
    }
    let policy = &candidate.site.rules.reload;
    let since = (baseline.generation != current.generation).then(|| {
        let base = plan_with(baseline, &baseline.site, live);
        compare(
            &base,
            &after,
            live.bookings,
            &[&candidate.site, &baseline.site],
        )
    });
    let radius = since.as_ref().unwrap_or(&diff);
    let removed = radius
        .changes
        .iter()
        .filter(|c| c.kind == ChangeKind::Removed)
        .count();
    let before_windows = radius.counts.windows_before;
    #[allow(clippy::cast_precision_loss)] // window counts are far below 2^52
    let share = if before_windows == 0 {
        0.0
    } else {
        removed as f64 / before_windows as f64
    };
    if removed > policy.max_removed_windows && share > policy.max_removed_share {
        // Doors first: they are what people stand in front of.
        let rank = |o: &str| {
            [
                "door ", "zone ", "person ", "group ", "output ", "day ", "shared ",
            ]
            .iter()
            .position(|p| o.starts_with(p))
            .unwrap_or(7)
        };
        let objects: BTreeSet<(usize, &str)> = radius
            .changes
            .iter()
            .filter(|c| c.kind == ChangeKind::Removed)
            .map(|c| (rank(&c.object), c.object.as_str()))
            .collect();
        let named: Vec<&str> = objects.iter().take(4).map(|(_, o)| *o).collect();
        let more = objects.len().saturating_sub(named.len());
        let place = TomlPlaces::read(config).and_then(|p| {
            p.get(&["rules", "reload", "max_removed_share"])
                .map(|pl| pl.line)
        });
        reasons.push(ReloadProblem {
            snippet: None,
            file: config.to_owned(),
            line: place.and_then(|l| u32::try_from(l).ok()),
            column: None,
            message: format!(
                "would remove {removed} of the {before_windows} windows in force{} ({:.0} %, more than {:.0} %): {}{}",
                if since.is_some() {
                    format!(
                        " with generation {} (the rules last started or confirmed)",
                        baseline.generation
                    )
                } else {
                    String::new()
                },
                share * 100.0,
                policy.max_removed_share * 100.0,
                named.join(", "),
                if more > 0 {
                    format!(" and {more} more")
                } else {
                    String::new()
                }
            ),
        });
    }
    Verdict { diff, reasons }
}

fn plan_with(rules: &RuleSet, site: &SiteConfig, live: &Live<'_>) -> Plan {
    plan(&PlanInput {
        bookings: live.bookings,
        packs: &rules.packs,
        site,
        now: live.now,
    })
}

/// A setting the candidate changed, shown as the site config writes it.
#[derive(Debug, Clone)]
struct Blamed {
    line: Option<usize>,
    text: String,
}

/// The settings whose change makes live bookings fail: each changed setting is put back to its
/// value in force, alone, and blamed if that decides a booking again. (Only when a reload would
/// be refused, so its cost does not matter to a good save.)
fn blame_settings(
    current: &RuleSet,
    candidate: &RuleSet,
    live: &Live<'_>,
    diff: &PlanDiff,
    config: &Path,
) -> Vec<Blamed> {
    let failing: BTreeSet<String> = diff
        .newly_failing
        .iter()
        .flat_map(|c| c.bookings.iter().map(|b| b.id.to_string()))
        .collect();
    let old = &current.site.rules.settings;
    let new = &candidate.site.rules.settings;
    let mut changed: Vec<(String, String)> = Vec::new();
    for (pack, table) in new {
        for (key, value) in table {
            if old.get(pack).and_then(|t| t.get(key)) != Some(value) {
                changed.push((pack.clone(), key.clone()));
            }
        }
    }
    for (pack, table) in old {
        for key in table.keys() {
            if new.get(pack).is_none_or(|t| !t.contains_key(key)) {
                changed.push((pack.clone(), key.clone()));
            }
        }
    }
    let places = TomlPlaces::read(config);
    let mut blamed = Vec::new();
    for (pack, key) in changed.into_iter().take(8) {
        let mut site = candidate.site.as_ref().clone();
        let table = site.rules.settings.entry(pack.clone()).or_default();
        match old.get(&pack).and_then(|t| t.get(&key)) {
            Some(v) => {
                table.insert(key.clone(), v.clone());
            }
            None => {
                table.remove(&key);
            }
        }
        let p = plan_with(candidate, &site, live);
        let still: BTreeSet<String> = p.errors.iter().map(|e| e.booking.to_string()).collect();
        if failing.iter().any(|id| !still.contains(id)) {
            let path = ["rules", "settings", pack.as_str(), key.as_str()];
            let place = places.as_ref().and_then(|p| p.get(&path));
            let text = match places.as_ref().and_then(|p| p.value_text(&path)) {
                Some(v) => format!("{key} = {v}"),
                None => format!("[rules.settings.{pack}] {key} removed"),
            };
            blamed.push(Blamed {
                line: place.map(|p| p.line),
                text,
            });
        }
    }
    blamed
}

/// `would fail 18 live bookings: rules/access.rhai:18:32: Function not found ... (from
/// site.toml:27 margin_before = "45")`.
fn failing_problem(
    causes: &[Cause],
    blamed: &[Blamed],
    candidate: &RuleSet,
    config: &Path,
) -> ReloadProblem {
    let failed: usize = causes.iter().map(|c| c.bookings.len()).sum();
    let mut message = format!(
        "would fail {failed} live {}: ",
        if failed == 1 { "booking" } else { "bookings" }
    );
    if causes.len() == 1 {
        message.push_str(&causes[0].to_string());
    } else {
        let parts: Vec<String> = causes
            .iter()
            .map(|c| format!("{c} ({})", c.bookings.len()))
            .collect();
        message.push_str(&format!("{} causes: {}", causes.len(), parts.join("; ")));
    }
    let examples: Vec<String> = causes
        .iter()
        .flat_map(|c| c.bookings.iter())
        .take(3)
        .map(|b| {
            if b.title.is_empty() {
                format!("{}:{}", b.source, b.id)
            } else {
                format!("{}:{} {:?}", b.source, b.id, b.title)
            }
        })
        .collect();
    message.push_str(&format!(
        " [{}{}]",
        examples.join(", "),
        if failed > examples.len() { ", ..." } else { "" }
    ));
    let name = config
        .file_name()
        .map_or_else(|| "site.toml".into(), |n| n.to_string_lossy().into_owned());
    if !blamed.is_empty() {
        let from: Vec<String> = blamed
            .iter()
            .map(|b| match b.line {
                Some(l) => format!("{name}:{l} {}", b.text),
                None => format!("{name} {}", b.text),
            })
            .collect();
        message.push_str(&format!(" (from {})", from.join(", ")));
    }
    // The place: the setting to blame, else the rule line of the largest cause.
    match (blamed.first(), causes.first()) {
        (Some(b), _) => ReloadProblem {
            snippet: None,
            file: config.to_owned(),
            line: b.line.and_then(|l| u32::try_from(l).ok()),
            column: None,
            message,
        },
        (
            None,
            Some(Cause {
                location: Some(l),
                pack,
                ..
            }),
        ) => ReloadProblem {
            snippet: None,
            file: candidate
                .packs
                .iter()
                .find(|p| &p.pack().name == pack)
                .map_or_else(|| l.file.clone().into(), |p| p.pack().dir.join(&l.file)),
            line: Some(l.line),
            column: (l.column > 0).then_some(l.column),
            message,
        },
        _ => ReloadProblem {
            snippet: None,
            file: config.to_owned(),
            line: None,
            column: None,
            message,
        },
    }
}
