//! The plan's persons: who each granted person key is, with which credentials, and what the
//! audit needs to know about every booking.
//!
//! Identity is never assumed from a colliding key. A person key is scoped by the booking's
//! source (two WinKAS clubs' member 1042 in two sources are two persons), and where bookings of
//! one source name one key with different names or credentials (a second club's member 1042,
//! a PIN that changed), those records are kept apart: each becomes a person of its own,
//! `<key>#<its first booking>`, with only its own bookings' windows, and the collision is
//! reported. Credentials come only from the decided, non-cancelled bookings that produce the
//! grant, never from another booking that happens to name the same key.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use rayon::prelude::*;

use super::Target;
use super::doors::report_denied_grants;
use super::types::{Booked, BookingRef, Plan, PlanEntry, PlanWarning, PlannedWindow, WarningKind};
use crate::model::{Booking, BookingId, Person, PersonKey, SourceName, Window, union};

/// What tells two records under one key apart: the name as people write it, and the
/// credentials. Compared, never shown.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Identity {
    name: String,
    pin: Option<String>,
    card: Option<String>,
}

impl Identity {
    fn of(p: Option<&Person>) -> Identity {
        Identity {
            name: p
                .map(|p| p.name.split_whitespace().collect::<Vec<_>>().join(" "))
                .unwrap_or_default()
                .to_lowercase(),
            pin: p
                .and_then(|p| p.pin.as_ref())
                .map(|s| s.expose().to_owned()),
            card: p
                .and_then(|p| p.card.as_ref())
                .map(|s| s.expose().to_owned()),
        }
    }
}

type BookingKey = (SourceName, BookingId);

/// Fills `plan.persons`, `plan.bookings` and the person warnings, and keeps colliding records
/// apart. Runs last: it only reads and re-keys the plan's memberships.
pub(super) fn settle(bookings: &[Booking], plan: &mut Plan) {
    plan.bookings = facts(bookings, plan);

    // The bookings behind each granted key, and their copies as decided.
    let granting: BTreeSet<BookingKey> = plan
        .entries
        .iter()
        .filter(|e| matches!(e.target, Target::Membership { .. }))
        .flat_map(|e| e.windows.iter().flat_map(|w| w.reasons.iter()))
        .map(|r| (r.source.clone(), r.booking.clone()))
        .collect();
    let decided = decided_copies(bookings, &granting);

    // Per key: identity -> (its bookings, its record).
    let mut records: BTreeMap<PersonKey, BTreeMap<Identity, Records<'_>>> = BTreeMap::new();
    for e in &plan.entries {
        let Target::Membership { person, .. } = &e.target else {
            continue;
        };
        for r in e.windows.iter().flat_map(|w| w.reasons.iter()) {
            let booking = decided.get(&(r.source.clone(), r.booking.clone()));
            // A rule may grant a key that is not the booking's responsible person: that booking
            // says nothing about who the person is.
            let record = booking.and_then(|b| b.responsible.as_ref()).filter(|p| {
                p.key().map(|k| PersonKey::in_source(&r.source, &k)) == Some(person.clone())
            });
            let slot = records
                .entry(person.clone())
                .or_default()
                .entry(Identity::of(record))
                .or_insert_with(|| Records {
                    bookings: BTreeMap::new(),
                    record,
                });
            if let Some(b) = booking {
                slot.bookings
                    .insert((b.start, b.source.clone(), b.id.clone()), BookingRef::of(b));
            } else {
                slot.bookings.insert(
                    (
                        chrono::DateTime::<chrono::Utc>::MAX_UTC,
                        r.source.clone(),
                        r.booking.clone(),
                    ),
                    r.booking_ref(),
                );
            }
        }
    }

    let mut persons = BTreeMap::new();
    let mut warnings = Vec::new();
    // Old key -> (booking -> new key), for the keys whose records disagree.
    let mut split: BTreeMap<PersonKey, HashMap<BookingKey, PersonKey>> = BTreeMap::new();
    for (key, identities) in records {
        if identities.len() > 1 {
            let mut refs: Vec<BookingRef> = identities
                .values()
                .flat_map(|r| r.bookings.values().cloned())
                .collect();
            refs.sort();
            warnings.push(PlanWarning {
                kind: WarningKind::PersonConflict,
                person: key.clone(),
                bookings: refs,
                message: format!(
                    "{} different records (names or credentials) under one key; kept apart as {} persons, each valid for its own bookings only",
                    identities.len(),
                    identities.len()
                ),
            });
        }
        let several = identities.len() > 1;
        for (_, r) in identities {
            let first = r.bookings.values().next().expect("a record has a booking");
            let own = if several {
                PersonKey::new(format!("{key}#{}", first.id))
            } else {
                key.clone()
            };
            if several {
                let map = split.entry(key.clone()).or_default();
                for b in r.bookings.values() {
                    map.insert((b.source.clone(), b.id.clone()), own.clone());
                }
            }
            let person = r.record.cloned().unwrap_or_default();
            if person.pin.is_none() && person.card.is_none() {
                warnings.push(PlanWarning {
                    kind: WarningKind::NoCredentials,
                    person: own.clone(),
                    bookings: r.bookings.values().cloned().collect(),
                    message: "granted access but has no PIN and no card on record: no door that needs a key opens for them".into(),
                });
            }
            persons.insert(own, person);
        }
    }
    if !split.is_empty() {
        rekey(plan, &split);
    }
    warnings.sort();
    plan.persons = persons;
    plan.warnings.extend(warnings);
}

/// One identity's bookings (by start) and its record, if a booking gave one.
struct Records<'a> {
    bookings: BTreeMap<(chrono::DateTime<chrono::Utc>, SourceName, BookingId), BookingRef>,
    record: Option<&'a Person>,
}

/// The copy of each granting booking the planner decided: valid, not cancelled, and of
/// several with one id the one that starts first (as the planner chooses).
fn decided_copies<'a>(
    bookings: &'a [Booking],
    granting: &BTreeSet<BookingKey>,
) -> HashMap<BookingKey, &'a Booking> {
    let mut out: HashMap<BookingKey, &Booking> = HashMap::new();
    if granting.is_empty() {
        return out;
    }
    for b in bookings {
        if b.is_cancelled() || b.validate().is_err() {
            continue;
        }
        let key = (b.source.clone(), b.id.clone());
        if !granting.contains(&key) {
            continue;
        }
        match out.get(&key) {
            Some(kept) if (kept.start, kept.end) <= (b.start, b.end) => {}
            _ => {
                out.insert(key, b);
            }
        }
    }
    out
}

/// Every usable booking as the audit needs it; of several with one id, the one the planner
/// used.
fn facts(bookings: &[Booking], plan: &Plan) -> BTreeMap<BookingKey, Booked> {
    let failed: BTreeSet<&BookingId> = plan.errors.iter().map(|e| &e.booking).collect();
    let mut list: Vec<(BookingKey, Booked)> = bookings
        .par_iter()
        .filter(|b| b.validate().is_ok())
        .map(|b| {
            let mut booked = Booked::of(b);
            booked.failed = failed.contains(&b.id);
            ((b.source.clone(), b.id.clone()), booked)
        })
        .collect();
    // The earliest copy last, so it wins the collect below.
    list.par_sort_unstable_by(|a, b| (&a.0, b.1.start, b.1.end).cmp(&(&b.0, a.1.start, a.1.end)));
    list.into_iter().collect()
}

/// Moves the memberships of split keys to each record's own key, with its own bookings'
/// windows, and reports deny conflicts again under the new keys.
fn rekey(plan: &mut Plan, split: &BTreeMap<PersonKey, HashMap<BookingKey, PersonKey>>) {
    let mut kept = Vec::with_capacity(plan.entries.len());
    let mut moved: BTreeMap<Target, Vec<(Window, super::Reason)>> = BTreeMap::new();
    for entry in std::mem::take(&mut plan.entries) {
        let map = match &entry.target {
            Target::Membership { person, .. } => split.get(person),
            _ => None,
        };
        let (Some(map), Target::Membership { group, .. }) = (map, &entry.target) else {
            kept.push(entry);
            continue;
        };
        for w in entry.windows {
            for r in w.reasons {
                let own = r
                    .window
                    .and_then(|o| o.intersect(&w.window))
                    .unwrap_or(w.window);
                let Some(person) = map.get(&(r.source.clone(), r.booking.clone())) else {
                    continue;
                };
                moved
                    .entry(Target::Membership {
                        person: person.clone(),
                        group: group.clone(),
                    })
                    .or_default()
                    .push((own, r));
            }
        }
    }
    for (target, parts) in moved {
        let merged = union(parts.iter().map(|(w, _)| *w).collect());
        let windows = merged
            .into_iter()
            .map(|window| {
                let mut reasons: Vec<super::Reason> = parts
                    .iter()
                    .filter(|(w, _)| {
                        window.touches(w) && w.from >= window.from && w.to <= window.to
                    })
                    .map(|(_, r)| r.clone())
                    .collect();
                reasons.sort_unstable();
                reasons.dedup();
                PlannedWindow { window, reasons }
            })
            .collect();
        kept.push(PlanEntry { target, windows });
    }
    kept.sort_by(|a, b| a.target.cmp(&b.target));
    plan.entries = kept;
    plan.conflicts
        .retain(|c| !matches!(c.target, Target::Membership { .. }));
    report_denied_grants(plan);
}
