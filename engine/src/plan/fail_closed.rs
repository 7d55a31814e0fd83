//! Fail closed per pack: one booking's effects from every pack that decided it. An error never
//! makes a target more open than the last good decision or the other packs' decisions
//! ([`FailClosed`] says what stays).

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::collect::{Collected, Collector};
use super::memory::{DecisionKey, Decisions, PackDecision, is_restrictive};
use super::types::{BookingRef, FailClosed, LastGoodUse, Reason, Target};
use crate::model::{Booking, Effect};
use crate::rules::{RuleError, RuleErrorKind, RuleRuntime, RuledEffect};

/// What one booking gave: its contributions, its rule errors, how it failed closed, and the
/// last good decisions to keep for it.
pub(super) struct Assembled {
    pub collected: Collected,
    pub errors: Vec<RuleError>,
    pub fail_closed: Option<FailClosed>,
    pub decisions: Vec<PackDecision>,
}

impl Assembled {
    /// A bug in klar panicked while planning one booking: it gets nothing (fail closed), the
    /// error says so, the rest of the plan goes on, and its last good decisions are kept.
    pub(super) fn planner_failed(
        booking: &Booking,
        packs: &[Arc<dyn RuleRuntime>],
        memory: Option<&Decisions>,
    ) -> Assembled {
        Assembled {
            collected: Collected::default(),
            errors: vec![RuleError {
                pack: "planner".into(),
                booking: booking.id.clone(),
                kind: RuleErrorKind::Runtime,
                message: "the planner failed on this booking's effects (a bug in klar); it gets no effects".into(),
                location: None,
            }],
            fail_closed: None,
            decisions: memory
                .map(|m| {
                    packs
                        .iter()
                        .filter_map(|p| m.get(&DecisionKey::of(booking, &p.pack().name)).cloned())
                        .collect()
                })
                .unwrap_or_default(),
        }
    }
}

/// One booking's effects from every pack that decided it, failing closed per pack.
pub(super) fn assemble(
    booking: &Booking,
    outcomes: Vec<(usize, Result<Vec<RuledEffect>, RuleError>)>,
    packs: &[Arc<dyn RuleRuntime>],
    memory: Option<&Decisions>,
    now: DateTime<Utc>,
    collector: &Collector<'_>,
) -> Assembled {
    let mut errors = Vec::new();
    let mut decisions = Vec::new();
    let mut failed: Vec<usize> = Vec::new();
    let mut decided: Vec<(usize, Vec<RuledEffect>)> = Vec::new();
    for (pack_index, result) in outcomes {
        match result {
            Ok(list) => {
                if let Some(memory) = memory {
                    decisions.push(decision(
                        booking,
                        packs[pack_index].pack(),
                        &list,
                        memory,
                        now,
                    ));
                }
                decided.push((pack_index, list));
            }
            Err(e) => {
                errors.push(e);
                failed.push(pack_index);
            }
        }
    }
    let mut effects: Vec<(Reason, RuledEffect)> = Vec::new();
    let mut fail_closed = None;
    if failed.is_empty() {
        for (pack_index, list) in decided {
            let info = packs[pack_index].pack();
            effects.extend(
                list.into_iter()
                    .map(|e| (Reason::new(booking, info, e.rule.clone()), e)),
            );
        }
    } else {
        // Complete: every failing pack has a last good decision for the booking as it is now,
        // so the booking is planned as completely as before the error. Only then does anything
        // permissive of the booking stay, from the last good decisions or the other packs.
        let found: Vec<Option<&PackDecision>> = failed
            .iter()
            .map(|&i| memory.and_then(|m| m.get(&DecisionKey::of(booking, &packs[i].pack().name))))
            .collect();
        let complete = found
            .iter()
            .all(|d| d.is_some_and(|d| d.same_times(booking)));
        let mut last_good = Vec::new();
        let mut withheld: BTreeSet<String> = BTreeSet::new();
        for d in found.into_iter().flatten() {
            decisions.push(d.clone());
            last_good.push(LastGoodUse {
                pack: d.pack.clone(),
                pack_version: d.pack_version.clone(),
                decided_at: d.decided_at,
                whole: complete,
            });
            for e in &d.effects {
                if complete || is_restrictive(&e.effect) {
                    let reason = Reason {
                        source: booking.source.clone(),
                        booking: booking.id.clone(),
                        title: booking.title.clone(),
                        pack: d.pack.clone(),
                        pack_version: d.pack_version.clone(),
                        rule: e.rule.clone(),
                        window: None,
                    };
                    effects.push((reason, e.clone()));
                } else {
                    withheld.extend(targets_of(&e.effect));
                }
            }
        }
        for (pack_index, list) in decided {
            let info = packs[pack_index].pack();
            for e in list {
                if complete || is_restrictive(&e.effect) {
                    effects.push((Reason::new(booking, info, e.rule.clone()), e));
                } else {
                    withheld.extend(targets_of(&e.effect));
                }
            }
        }
        fail_closed = Some(FailClosed {
            booking: BookingRef::of(booking),
            failed: failed
                .iter()
                .map(|&i| packs[i].pack().name.clone())
                .collect(),
            last_good,
            withheld: withheld.into_iter().collect(),
        });
    }
    let mut collected = Collected::default();
    for (reason, e) in effects {
        collector.effect(booking, e, reason, &mut collected);
    }
    Assembled {
        collected,
        errors,
        fail_closed,
        decisions,
    }
}

/// The decision to keep for a pack that decided a booking well: the previous one when nothing
/// changed (it keeps its `decided_at`), else a new one.
fn decision(
    booking: &Booking,
    info: &crate::rules::PackInfo,
    effects: &[RuledEffect],
    memory: &Decisions,
    now: DateTime<Utc>,
) -> PackDecision {
    if let Some(old) = memory.get(&DecisionKey::of(booking, &info.name))
        && old.same_times(booking)
        && old.pack_version == info.version
        && old.effects == effects
    {
        return old.clone();
    }
    PackDecision {
        source: booking.source.clone(),
        booking: booking.id.clone(),
        pack: info.name.clone(),
        pack_version: info.version.clone(),
        start: booking.start,
        end: booking.end,
        decided_at: now,
        effects: effects.to_vec(),
        inputs: None,
    }
}

/// The targets an effect drives, as the plan names them (for reports).
fn targets_of(effect: &Effect) -> Vec<String> {
    match effect {
        Effect::DoorMode { door, level, .. } => vec![
            Target::Door {
                door: door.clone(),
                level: *level,
            }
            .to_string(),
        ],
        Effect::Disarm { zone, .. } => vec![Target::Zone { zone: zone.clone() }.to_string()],
        Effect::SwitchOn { output, .. } => vec![
            Target::Output {
                output: output.clone(),
            }
            .to_string(),
        ],
        Effect::Grant { person, groups, .. } => groups
            .iter()
            .map(|group| {
                Target::Membership {
                    person: person.clone(),
                    group: group.clone(),
                }
                .to_string()
            })
            .collect(),
        Effect::Deny { group, doors, .. } => doors
            .iter()
            .map(|door| {
                Target::Deny {
                    group: group.clone(),
                    door: door.clone(),
                }
                .to_string()
            })
            .collect(),
        Effect::DayType { day, .. } => vec![Target::Day { day: day.clone() }.to_string()],
        Effect::SharedException { id, .. } => {
            vec![Target::SharedException { id: *id }.to_string()]
        }
    }
}
