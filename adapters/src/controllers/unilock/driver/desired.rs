//! The objects klar wants on the controller for a plan.
//!
//! Aggregation never opens more than asked: a shared exception's periods and a table's
//! exceptions change everything that follows them, so a window goes in only where every door,
//! zone and output following that object is asked for that window at the value it sets (and
//! never onto a table a person group's access follows). The rest of the target's window is
//! reported, naming what else the object would have opened. Capacities are shared with other
//! writers: klar fits its windows, earliest first, into the room they leave, and reports the
//! rest as waiting.

use std::collections::BTreeMap;

use chrono::{Months, NaiveDate};
use klar_engine::model::{PersonKey, Window, difference, intersection, union};
use klar_engine::plan::{Plan, Target};
use klar_engine::reconcile::{Desired, Observed, Problem, ProblemKind};

use super::route::{Object, Route, value_words};
use super::{UnilockDriver, UnilockKey, UnilockObject, local_dates};
use crate::controllers::unilock::protocol::{
    DayType, Membership, MembershipValidity, PersonRecord, Value, windows_text,
};
use crate::controllers::unilock::sim::{
    EXCEPTIONS_PER_TABLE, PERIODS_PER_MEMBERSHIP, VALIDITY_PERIODS_PER_PERSON,
};

/// Windows asked of one UniLock object, with the targets asking.
type Candidates = Vec<(Target, Vec<Window>)>;

/// A membership's windows, and the shared exception it follows if bound so.
type GroupWindows = (Vec<Window>, Option<u32>);

fn problem(target: Option<&Target>, kind: ProblemKind, message: String) -> Problem {
    Problem {
        target: target.cloned(),
        kind,
        message,
    }
}

impl UnilockDriver {
    /// The objects klar wants for this plan, given what the controller holds (`observed`: the
    /// room other writers leave, the objects of an older klar).
    pub fn desired(
        &self,
        plan: &Plan,
        observed: &Observed<UnilockKey, UnilockObject>,
    ) -> Desired<UnilockKey, UnilockObject> {
        let mut problems = Vec::new();
        let asked = self.asked(plan);
        let mut shared: BTreeMap<u32, Candidates> = BTreeMap::new();
        let mut tables: BTreeMap<String, BTreeMap<Value, Candidates>> = BTreeMap::new();
        let mut defaults: BTreeMap<String, bool> = BTreeMap::new();
        let mut blocks: BTreeMap<(String, String), Vec<Window>> = BTreeMap::new();
        let mut days: BTreeMap<NaiveDate, DayType> = BTreeMap::new();
        let mut members: BTreeMap<PersonKey, BTreeMap<String, GroupWindows>> = BTreeMap::new();

        for entry in &plan.entries {
            let target = &entry.target;
            let windows: Vec<Window> = entry.windows.iter().map(|w| w.window).collect();
            match self.route(target) {
                Route::Shared(id) => shared
                    .entry(id)
                    .or_default()
                    .push((target.clone(), windows)),
                Route::Table {
                    table,
                    value,
                    default,
                } => {
                    *defaults.entry(table.clone()).or_insert(true) &= default;
                    tables
                        .entry(table)
                        .or_default()
                        .entry(value)
                        .or_default()
                        .push((target.clone(), windows));
                }
                Route::Member {
                    person,
                    group,
                    shared: se,
                } => {
                    if let Some(id) = se {
                        shared
                            .entry(id)
                            .or_default()
                            .push((target.clone(), windows.clone()));
                    }
                    members
                        .entry(person)
                        .or_default()
                        .entry(group)
                        .or_insert((Vec::new(), se))
                        .0
                        .extend(windows);
                }
                Route::Block { group, door } => {
                    blocks.entry((group, door)).or_default().extend(windows)
                }
                Route::Day(day_type) => {
                    let today = plan.at.with_timezone(&self.inst.time_zone).date_naive();
                    let last = today
                        .checked_add_months(Months::new(12))
                        .unwrap_or(NaiveDate::MAX);
                    for w in &windows {
                        for date in local_dates(w, &self.inst) {
                            if date > last {
                                problems.push(problem(
                                    Some(target),
                                    ProblemKind::Overflow,
                                    format!(
                                        "special day {date} is more than one year ahead; it waits"
                                    ),
                                ));
                            } else if let Some(other) = days.insert(date, day_type)
                                && other != day_type
                            {
                                problems.push(problem(
                                    Some(target),
                                    ProblemKind::Overflow,
                                    format!("{date} is asked to be both {other} and {day_type}; one calendar entry per date, the last wins"),
                                ));
                            }
                        }
                    }
                }
                Route::Unbound(message) => {
                    problems.push(problem(Some(target), ProblemKind::Unbound, message))
                }
            }
        }

        let mut objects = BTreeMap::new();
        for (id, candidates) in shared {
            let periods = self.shared_periods(id, &candidates, &asked, &mut problems);
            let key = UnilockKey::SharedPeriods(id);
            let room = observed
                .room
                .get(&key)
                .copied()
                .unwrap_or(self.inst.settings.shared_exception_capacity);
            let periods = fit(
                periods,
                room,
                &format!("shared exception {id}"),
                "periods",
                "the earliest",
                &mut problems,
            );
            if !periods.is_empty() {
                objects.insert(key, UnilockObject::Periods(periods));
            }
        }
        for (table, by_value) in tables {
            let default = defaults.get(&table).copied().unwrap_or(false);
            let list = self.table_exceptions(&table, default, &by_value, &asked, &mut problems);
            let key = UnilockKey::TableExceptions(table.clone());
            let room = observed
                .room
                .get(&key)
                .copied()
                .unwrap_or(EXCEPTIONS_PER_TABLE);
            // When not all fit, what makes a door more secure than its weekly table goes first:
            // a card + PIN window left waiting while an unlock fits would leave the door more
            // open than asked.
            let mut list = list;
            if list.len() > room {
                list.sort_by_cached_key(|(w, v)| (!self.restricts(&table, w, *v), *w));
            }
            let mut list = fit(
                list,
                room,
                &format!("table {table}"),
                "exceptions",
                "those more secure than normal operation first, then the earliest",
                &mut problems,
            );
            list.sort();
            if !list.is_empty() {
                objects.insert(key, UnilockObject::Exceptions(list));
            }
        }
        for ((group, door), windows) in blocks {
            objects.insert(
                UnilockKey::Block { group, door },
                UnilockObject::Periods(union(windows)),
            );
        }
        for (date, day_type) in days {
            objects.insert(UnilockKey::SpecialDay(date), UnilockObject::Day(day_type));
        }
        for (key, groups) in members {
            let record = self.person(plan, &key, groups, &mut problems);
            objects.insert(
                UnilockKey::Person(key.to_string()),
                UnilockObject::Person(record),
            );
        }

        let legacy: Vec<String> = observed
            .foreign
            .iter()
            .filter(|k| matches!(k, UnilockKey::Legacy(_)))
            .map(ToString::to_string)
            .collect();
        if !legacy.is_empty() {
            let shown: Vec<&str> = legacy.iter().take(5).map(String::as_str).collect();
            problems.push(problem(
                None,
                ProblemKind::Blocked,
                format!(
                    "the controller holds {} object(s) an older klar wrote with the bare owner \"klar\" ({}{}); this site (owner {}) leaves them alone: set [controller] adopt_legacy_owner = true on the one site that wrote them",
                    legacy.len(),
                    shown.join("; "),
                    if legacy.len() > shown.len() { "; ..." } else { "" },
                    self.owner
                ),
            ));
        }
        Desired { objects, problems }
    }

    /// A shared exception's periods: the candidates' windows where every object it drives is
    /// asked for them at the value it sets.
    fn shared_periods(
        &self,
        id: u32,
        candidates: &Candidates,
        asked: &BTreeMap<Object, BTreeMap<Value, Vec<Window>>>,
        problems: &mut Vec<Problem>,
    ) -> Vec<Window> {
        let driven = self.driven_by(id);
        let wanted: Vec<Window> = candidates
            .iter()
            .flat_map(|(_, ws)| ws.iter().copied())
            .collect();
        let allowed = driven.iter().fold(union(wanted.clone()), |acc, (o, v)| {
            intersection(&acc, asked_of(asked, o, *v))
        });
        for (target, windows) in candidates {
            let missing = difference(windows, &allowed);
            if missing.is_empty() {
                continue;
            }
            let others: Vec<String> = driven
                .iter()
                .filter(|(o, v)| !difference(&missing, asked_of(asked, o, *v)).is_empty())
                .map(|((kind, id), v)| format!("{kind} {id} {}", value_words(kind, *v)))
                .collect();
            problems.push(problem(
                Some(target),
                ProblemKind::Unbound,
                format!(
                    "{} not written to shared exception {id}: it also sets {}, which the plan does not ask for then; bind the target to a shared exception (or a table) that drives only what is asked together",
                    windows_text(&missing),
                    others.join(", ")
                ),
            ));
        }
        allowed
    }

    /// A table's exceptions: the candidates' windows, per value, where every door, zone and
    /// output following the table is asked for them at that value. Never on a table a person
    /// group's access follows.
    fn table_exceptions(
        &self,
        table: &str,
        default: bool,
        by_value: &BTreeMap<Value, Candidates>,
        asked: &BTreeMap<Object, BTreeMap<Value, Vec<Window>>>,
        problems: &mut Vec<Problem>,
    ) -> Vec<(Window, Value)> {
        let (followers, groups) = self.followers(table);
        let mut all = Vec::new();
        for (value, candidates) in by_value {
            let wanted: Vec<Window> = candidates
                .iter()
                .flat_map(|(_, ws)| ws.iter().copied())
                .collect();
            let allowed = if groups.is_empty() {
                followers.iter().fold(union(wanted), |acc, o| {
                    intersection(&acc, asked_of(asked, o, *value))
                })
            } else {
                Vec::new()
            };
            for (target, windows) in candidates {
                let missing = difference(windows, &allowed);
                if missing.is_empty() {
                    continue;
                }
                let mut others: Vec<String> = followers
                    .iter()
                    .filter(|o| Some((*o).clone()) != Self::object_of(target).map(|(o, _)| o))
                    .filter(|o| !difference(&missing, asked_of(asked, o, *value)).is_empty())
                    .map(|(kind, id)| format!("{kind} {id}"))
                    .collect();
                others.extend(groups.iter().map(|g| format!("person group {g}'s access")));
                let advice = if default {
                    "give it a table of its own or bind it to a shared exception"
                } else {
                    "bind it to a table or shared exception that drives only what is asked together"
                };
                problems.push(problem(
                    Some(target),
                    ProblemKind::Unbound,
                    format!(
                        "{} not written to table {table:?}: {} follow(s) it too and is not asked for that then; {advice}",
                        windows_text(&missing),
                        others.join(", "),
                    ),
                ));
            }
            all.extend(allowed.into_iter().map(|w| (w, *value)));
        }
        all.sort();
        all
    }

    /// The person record for a key: memberships, validity (the union of their windows), and the
    /// credentials the plan carries for that key.
    fn person(
        &self,
        plan: &Plan,
        key: &PersonKey,
        groups: BTreeMap<String, GroupWindows>,
        problems: &mut Vec<Problem>,
    ) -> PersonRecord {
        let who = format!("person {key}");
        let all: Vec<Window> = groups
            .values()
            .flat_map(|(ws, _)| ws.iter().copied())
            .collect();
        let validity = fit(
            union(all),
            VALIDITY_PERIODS_PER_PERSON,
            &who,
            "global validity periods",
            "the earliest",
            problems,
        );
        let memberships = groups
            .into_iter()
            .map(|(group, (windows, se))| {
                // A membership that follows a shared exception is valid whenever it is active,
                // for other bookings too: only the person's global validity bounds it. Where
                // that validity is wider (other groups' windows), it would let the person in
                // through this group during someone else's period, so the membership lists its
                // own windows instead.
                let own = union(windows.clone());
                let follows = se.filter(|_| own == validity);
                let valid = match follows {
                    Some(id) => MembershipValidity::WhileShared {
                        shared_exception: id,
                    },
                    None => MembershipValidity::Periods {
                        periods: fit(
                            union(windows),
                            PERIODS_PER_MEMBERSHIP,
                            &format!("{who} in group {group}"),
                            "periods",
                            "the earliest",
                            problems,
                        ),
                    },
                };
                Membership { group, valid }
            })
            .collect();
        let credentials = plan.persons.get(key);
        PersonRecord {
            name: credentials
                .map(|p| p.name.clone())
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| key.to_string()),
            pin: credentials.and_then(|p| p.pin.clone()),
            cards: credentials
                .and_then(|p| p.card.clone())
                .into_iter()
                .collect(),
            validity,
            memberships,
            owner: self.owner.clone(),
        }
    }
}

impl UnilockDriver {
    /// Whether an exception of `value` on `table` during `w` is more secure, at some moment, than
    /// the table's weekly pattern (read on the dates' own weekdays, every quarter of an hour).
    fn restricts(&self, table: &str, w: &Window, value: Value) -> bool {
        let (Value::Level(level), Some(t)) = (value, self.inst.tables.get(table)) else {
            return false;
        };
        let mut at = w.from;
        while at < w.to {
            let local = at.with_timezone(&self.inst.time_zone);
            let weekday = chrono::Datelike::weekday(&local.date_naive());
            let weekly = t.value_at(
                DayType::Weekday(weekday),
                weekday,
                local.time(),
                &self.inst.fictive_days,
            );
            if matches!(weekly, Value::Level(l) if l < level) {
                return true;
            }
            at += chrono::Duration::minutes(15);
        }
        false
    }
}

fn asked_of<'a>(
    asked: &'a BTreeMap<Object, BTreeMap<Value, Vec<Window>>>,
    object: &Object,
    value: Value,
) -> &'a [Window] {
    asked
        .get(object)
        .and_then(|m| m.get(&value))
        .map(Vec::as_slice)
        .unwrap_or_default()
}

/// Keeps the first `cap` items (the earliest) and reports the rest as waiting.
fn fit<T: Clone + std::fmt::Debug>(
    items: Vec<T>,
    cap: usize,
    what: &str,
    unit: &str,
    order: &str,
    problems: &mut Vec<Problem>,
) -> Vec<T> {
    if items.len() > cap {
        problems.push(problem(
            None,
            ProblemKind::Overflow,
            format!(
                "{what} needs {} {unit}; UniLock has room for {cap} (beside other writers'): {cap} are applied ({order}), {} wait",
                items.len(),
                items.len() - cap
            ),
        ));
        items[..cap].to_vec()
    } else {
        items
    }
}
