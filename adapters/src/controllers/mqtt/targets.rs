//! Which plan targets a controller drives: patterns such as `"output:*"` or `"zone:Z-HAL"`, and
//! the pure [`TargetFilter::filter`] that cuts a plan down to the targets one controller owns.
//!
//! A site may use several controllers at once (UniLock for doors and PINs, MQTT for lights and
//! ventilation); the daemon routes each controller the plan filtered by its patterns.

use std::fmt;

use klar_engine::plan::{Plan, Target};

/// The kind of target a pattern names; the text before the `:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PatternKind {
    /// `door:<door id>` (any level).
    Door,
    /// `zone:<zone id>`.
    Zone,
    /// `output:<output id>`.
    Output,
    /// `group:<group>`: memberships of persons in the group.
    Group,
    /// `deny:<group>`: the group refused at doors.
    Deny,
    /// `day:<day type>` (`holiday`, `open_house`, ...).
    Day,
    /// `shared_exception:<id>`.
    SharedException,
}

impl PatternKind {
    fn parse(s: &str) -> Option<PatternKind> {
        Some(match s {
            "door" => PatternKind::Door,
            "zone" => PatternKind::Zone,
            "output" => PatternKind::Output,
            "group" => PatternKind::Group,
            "deny" => PatternKind::Deny,
            "day" => PatternKind::Day,
            "shared_exception" => PatternKind::SharedException,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PatternKind::Door => "door",
            PatternKind::Zone => "zone",
            PatternKind::Output => "output",
            PatternKind::Group => "group",
            PatternKind::Deny => "deny",
            PatternKind::Day => "day",
            PatternKind::SharedException => "shared_exception",
        }
    }

    /// The kind and the id a target is matched by.
    pub fn of(target: &Target) -> (PatternKind, String) {
        match target {
            Target::Door { door, .. } => (PatternKind::Door, door.0.clone()),
            Target::Zone { zone } => (PatternKind::Zone, zone.0.clone()),
            Target::Output { output } => (PatternKind::Output, output.0.clone()),
            Target::Membership { group, .. } => (PatternKind::Group, group.0.clone()),
            Target::Deny { group, .. } => (PatternKind::Deny, group.0.clone()),
            Target::Day { day } => (PatternKind::Day, day.name().to_owned()),
            Target::SharedException { id } => (PatternKind::SharedException, id.to_string()),
        }
    }
}

/// One pattern: `kind:id`, where `id` is exact, `*` (any), or ends in `*` (a prefix).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TargetPattern {
    pub kind: PatternKind,
    id: IdPattern,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum IdPattern {
    Exact(String),
    Prefix(String),
}

impl TargetPattern {
    /// Parses `"output:*"`, `"zone:Z-HAL"`, `"door:D-1*"`. The error says what is wrong.
    pub fn parse(text: &str) -> Result<TargetPattern, String> {
        let (kind, id) = text.split_once(':').ok_or_else(|| {
            format!("target pattern {text:?} must be \"<kind>:<id>\", e.g. \"output:*\"")
        })?;
        let kind = PatternKind::parse(kind.trim()).ok_or_else(|| {
            format!(
                "target pattern {text:?}: unknown kind {kind:?} (door, zone, output, group, deny, day, shared_exception)"
            )
        })?;
        let id = id.trim();
        if id.is_empty() {
            return Err(format!(
                "target pattern {text:?}: the id is empty (use \"*\" for all)"
            ));
        }
        let id = match id.strip_suffix('*') {
            Some(prefix) if prefix.contains('*') => {
                return Err(format!(
                    "target pattern {text:?}: \"*\" is allowed only at the end of the id"
                ));
            }
            Some(prefix) => IdPattern::Prefix(prefix.to_owned()),
            None if id.contains('*') => {
                return Err(format!(
                    "target pattern {text:?}: \"*\" is allowed only at the end of the id"
                ));
            }
            None => IdPattern::Exact(id.to_owned()),
        };
        Ok(TargetPattern { kind, id })
    }

    /// The id, when the pattern names exactly one.
    pub fn exact_id(&self) -> Option<&str> {
        match &self.id {
            IdPattern::Exact(id) => Some(id),
            IdPattern::Prefix(_) => None,
        }
    }

    /// Whether the pattern names this kind and id.
    pub fn matches_id(&self, kind: PatternKind, id: &str) -> bool {
        self.kind == kind
            && match &self.id {
                IdPattern::Exact(e) => e == id,
                IdPattern::Prefix(p) => id.starts_with(p.as_str()),
            }
    }

    pub fn matches(&self, target: &Target) -> bool {
        let (kind, id) = PatternKind::of(target);
        self.matches_id(kind, &id)
    }
}

impl fmt::Display for TargetPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.id {
            IdPattern::Exact(id) => write!(f, "{}:{id}", self.kind.as_str()),
            IdPattern::Prefix(p) => write!(f, "{}:{p}*", self.kind.as_str()),
        }
    }
}

/// The targets one controller owns: those matching any of its patterns.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TargetFilter {
    patterns: Vec<TargetPattern>,
}

impl TargetFilter {
    pub fn new(patterns: Vec<TargetPattern>) -> Self {
        TargetFilter { patterns }
    }

    /// Parses a list of pattern texts; the first bad one is the error.
    pub fn parse<S: AsRef<str>>(texts: &[S]) -> Result<TargetFilter, String> {
        texts
            .iter()
            .map(|t| TargetPattern::parse(t.as_ref()))
            .collect::<Result<Vec<_>, _>>()
            .map(TargetFilter::new)
    }

    pub fn patterns(&self) -> &[TargetPattern] {
        &self.patterns
    }

    pub fn owns(&self, target: &Target) -> bool {
        let (kind, id) = PatternKind::of(target);
        self.owns_id(kind, &id)
    }

    pub fn owns_id(&self, kind: PatternKind, id: &str) -> bool {
        self.patterns.iter().any(|p| p.matches_id(kind, id))
    }

    /// The plan cut down to the targets this filter owns: entries, conflicts and adjustments of
    /// other targets go, and so do the credentials of persons no kept membership needs. What is
    /// about bookings rather than targets (rule errors, rejected and unbound bookings) stays.
    /// Pure.
    pub fn filter(&self, plan: &Plan) -> Plan {
        let mut out = plan.clone();
        out.entries.retain(|e| self.owns(&e.target));
        out.conflicts.retain(|c| self.owns(&c.target));
        out.adjustments.retain(|a| self.owns(&a.target));
        out.persons.retain(|key, _| {
            out.entries
                .iter()
                .any(|e| matches!(&e.target, Target::Membership { person, .. } if person == key))
        });
        out
    }

    /// The plan without the targets this filter owns: what is left for the other controller
    /// when a site hands these targets to MQTT only. Pure.
    pub fn exclude(&self, plan: &Plan) -> Plan {
        let mut out = plan.clone();
        out.entries.retain(|e| !self.owns(&e.target));
        out.conflicts.retain(|c| !self.owns(&c.target));
        out.adjustments.retain(|a| !self.owns(&a.target));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
    use klar_engine::model::{DoorLevel, GroupId, PersonKey, Window};
    use klar_engine::plan::{PlanEntry, PlannedWindow};

    fn target(kind: &str, id: &str) -> Target {
        match kind {
            "door" => Target::Door {
                door: id.into(),
                level: DoorLevel::Unlocked,
            },
            "zone" => Target::Zone { zone: id.into() },
            "output" => Target::Output { output: id.into() },
            "group" => Target::Membership {
                person: PersonKey::new("p1"),
                group: GroupId::new(id),
            },
            _ => unreachable!(),
        }
    }

    #[test]
    fn patterns_match_exactly_or_by_prefix() {
        let f = TargetFilter::parse(&["output:*", "zone:Z-HAL", "door:D-1*"]).unwrap();
        assert!(f.owns(&target("output", "K-101-LYS")));
        assert!(f.owns(&target("zone", "Z-HAL")));
        assert!(!f.owns(&target("zone", "Z-HAL2")));
        assert!(!f.owns(&target("zone", "Z-ADMIN")));
        assert!(f.owns(&target("door", "D-101")));
        assert!(!f.owns(&target("door", "D-201")));
        assert!(!f.owns(&target("group", "Mødegæster")));
        assert_eq!(f.patterns()[2].to_string(), "door:D-1*");
    }

    #[test]
    fn bad_patterns_say_why() {
        assert!(
            TargetPattern::parse("output")
                .unwrap_err()
                .contains("<kind>:<id>")
        );
        assert!(
            TargetPattern::parse("lamp:*")
                .unwrap_err()
                .contains("unknown kind")
        );
        assert!(
            TargetPattern::parse("output:")
                .unwrap_err()
                .contains("empty")
        );
        assert!(
            TargetPattern::parse("output:K*X")
                .unwrap_err()
                .contains("only at the end")
        );
        assert!(
            TargetPattern::parse("output:**")
                .unwrap_err()
                .contains("only at the end")
        );
    }

    #[test]
    fn filter_keeps_owned_entries_and_drops_credentials() {
        let t0 = Utc.with_ymd_and_hms(2026, 11, 23, 8, 0, 0).unwrap();
        let w = Window::new(t0, t0 + chrono::Duration::hours(1)).unwrap();
        let mut plan = Plan::empty("s".into(), t0, w, vec![]);
        for t in [
            target("door", "D-1"),
            target("group", "G"),
            target("output", "K-1"),
        ] {
            plan.entries.push(PlanEntry {
                target: t,
                windows: vec![PlannedWindow {
                    window: w,
                    reasons: vec![],
                }],
            });
        }
        plan.persons
            .insert(PersonKey::new("p1"), klar_engine::model::Person::default());
        let f = TargetFilter::parse(&["output:*"]).unwrap();
        let out = f.filter(&plan);
        assert_eq!(out.entries.len(), 1);
        assert_eq!(out.entries[0].target, target("output", "K-1"));
        assert!(out.persons.is_empty());
        // Filtering twice changes nothing.
        assert_eq!(f.filter(&out), out);
        // A filter that owns the group keeps the person.
        let g = TargetFilter::parse(&["group:G"]).unwrap();
        assert_eq!(g.filter(&plan).persons.len(), 1);
        // Filter and exclude split the plan in two.
        let rest = f.exclude(&plan);
        assert_eq!(rest.entries.len(), 2);
        assert!(rest.entries.iter().all(|e| !f.owns(&e.target)));
        assert_eq!(rest.persons.len(), 1);
    }
}
