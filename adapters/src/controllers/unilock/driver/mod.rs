//! The UniLock driver: the plan's targets and windows turned into the UniLock objects klar owns,
//! what klar owns read back out of the controller's database, and each action as a write.
//!
//! Bindings (`[controller.bindings]`) say which UniLock object realises a target; without one a
//! door, zone or output gets a klar-owned exception on its own table, and a group is the person
//! group of the same name. Windows bound to one shared exception are united into its periods.
//! What does not fit a capacity is reported as overflow: the earliest windows are applied, the
//! rest wait for a later cycle, and nothing is dropped in silence.

mod embedded;
mod http;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Months, NaiveDate, Utc};
use klar_engine::model::{DayKind, PersonKey, Window, union};
use klar_engine::plan::{Plan, Target};
use klar_engine::reconcile::{Action, Desired, Observed, Problem, ProblemKind};

use super::OWNER;
use super::config::{Binding, Installation};
use super::protocol::{
    Database, DayType, Membership, MembershipValidity, PersonRecord, Value, Write, WriteRequest,
    windows_text,
};
use super::sim::{EXCEPTIONS_PER_TABLE, PERIODS_PER_MEMBERSHIP, VALIDITY_PERIODS_PER_PERSON};

pub use embedded::{EmbeddedUnilock, load_database, save_database};
pub use http::HttpUnilock;

/// One UniLock object klar may own.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum UnilockKey {
    /// klar's periods in a shared exception.
    SharedPeriods(u32),
    /// klar's exceptions on a table.
    TableExceptions(String),
    /// A person klar created.
    Person(String),
    /// A special-day entry klar made.
    SpecialDay(NaiveDate),
    /// klar's periods in which a group is refused at a door.
    Block { group: String, door: String },
}

impl std::fmt::Display for UnilockKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UnilockKey::SharedPeriods(id) => write!(f, "shared exception {id}"),
            UnilockKey::TableExceptions(t) => write!(f, "table {t} exceptions"),
            UnilockKey::Person(id) => write!(f, "person {id}"),
            UnilockKey::SpecialDay(d) => write!(f, "special day {d}"),
            UnilockKey::Block { group, door } => write!(f, "group {group} blocked at {door}"),
        }
    }
}

/// The whole value of one object klar owns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnilockObject {
    Periods(Vec<Window>),
    Exceptions(Vec<(Window, Value)>),
    Person(PersonRecord),
    Day(DayType),
}

impl std::fmt::Display for UnilockObject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UnilockObject::Periods(ws) => f.write_str(&windows_text(ws)),
            UnilockObject::Exceptions(list) => {
                let parts: Vec<String> = list.iter().map(|(w, v)| format!("{w} {v}")).collect();
                f.write_str(&parts.join(", "))
            }
            UnilockObject::Person(p) => p.fmt(f),
            UnilockObject::Day(d) => d.fmt(f),
        }
    }
}

/// What one object is asked for on its table, and the plan targets asking.
type Asked = (Vec<(Window, Value)>, Vec<Target>);

/// A membership's windows, and the shared exception it follows if bound so.
type GroupWindows = (Vec<Window>, Option<u32>);

/// Turns plans into UniLock objects and back. Pure: holds the installation and the bindings.
#[derive(Debug, Clone)]
pub struct UnilockDriver {
    inst: Installation,
    bindings: BTreeMap<String, Binding>,
}

impl UnilockDriver {
    pub fn new(inst: Installation, bindings: BTreeMap<String, Binding>) -> Self {
        UnilockDriver { inst, bindings }
    }

    pub fn installation(&self) -> &Installation {
        &self.inst
    }

    fn binding(&self, keys: &[String]) -> Option<(&String, &Binding)> {
        keys.iter().find_map(|k| self.bindings.get_key_value(k))
    }

    /// Every door, zone and output following a table, as `door D-101`, `zone Z`, `output O`.
    fn followers(&self, table: &str) -> Vec<String> {
        let on = |kind: &str, map: &BTreeMap<String, String>| -> Vec<String> {
            map.iter()
                .filter(|(_, t)| t.as_str() == table)
                .map(|(id, _)| format!("{kind} {id}"))
                .collect()
        };
        let mut all = on("door", &self.inst.doors);
        all.extend(on("zone", &self.inst.zones));
        all.extend(on("output", &self.inst.outputs));
        all
    }

    /// The person group a rule's group name means, and the shared exception its membership
    /// follows, if bound so.
    fn group(&self, group: &str) -> Result<(String, Option<u32>), String> {
        match self.binding(&[format!("group:{group}")]) {
            Some((
                _,
                Binding {
                    person_group: Some(g),
                    ..
                },
            )) => Ok((g.clone(), None)),
            Some((
                _,
                Binding {
                    shared_exception: Some(id),
                    ..
                },
            )) if self.inst.groups.contains_key(group) => Ok((group.to_owned(), Some(*id))),
            Some((key, _)) => Err(format!(
                "binding {key:?} must name a person_group (or a shared_exception for a group in the installation)"
            )),
            None if self.inst.groups.contains_key(group) => Ok((group.to_owned(), None)),
            None => Err(format!(
                "no person group {group:?} in the installation and no binding \"group:{group}\""
            )),
        }
    }

    /// The objects klar wants for this plan.
    pub fn desired(&self, plan: &Plan) -> Desired<UnilockKey, UnilockObject> {
        let mut problems = Vec::new();
        let mut shared: BTreeMap<u32, Vec<Window>> = BTreeMap::new();
        let mut tables: BTreeMap<String, Vec<(Window, Value)>> = BTreeMap::new();
        let mut blocks: BTreeMap<(String, String), Vec<Window>> = BTreeMap::new();
        let mut days: BTreeMap<NaiveDate, DayType> = BTreeMap::new();
        // Unbound doors, zones and outputs: table -> object -> (what it asks for, the targets).
        let mut defaults: BTreeMap<String, BTreeMap<String, Asked>> = BTreeMap::new();
        // person -> group -> (validity of the membership)
        let mut members: BTreeMap<PersonKey, BTreeMap<String, GroupWindows>> = BTreeMap::new();
        let unbound = |target: &Target, message: String| Problem {
            target: Some(target.clone()),
            kind: ProblemKind::Unbound,
            message,
        };

        for entry in &plan.entries {
            let target = &entry.target;
            let windows: Vec<Window> = entry.windows.iter().map(|w| w.window).collect();
            // Doors, zones and outputs: a shared exception driving the object as asked, a
            // table, or by default the object's own table.
            let mut table_or_shared =
                |keys: Vec<String>,
                 object: &str,
                 value: Value,
                 default_table: Option<&String>,
                 drives: &dyn Fn(u32) -> bool| {
                    match self.binding(&keys) {
                    Some((_, Binding { shared_exception: Some(id), .. })) if drives(*id) => {
                        shared.entry(*id).or_default().extend(&windows);
                    }
                    Some((key, Binding { shared_exception: Some(id), .. })) => problems.push(unbound(
                        target,
                        format!("binding {key:?}: shared exception {id} does not set {object} to {value} in the installation"),
                    )),
                    Some((_, Binding { table: Some(t), .. })) => {
                        tables.entry(t.clone()).or_default().extend(windows.iter().map(|w| (*w, value)))
                    }
                    Some((key, _)) => problems.push(unbound(target, format!("binding {key:?} must name a shared_exception or a table"))),
                    None => match default_table {
                        Some(t) => {
                            let slot = defaults.entry(t.clone()).or_default().entry(object.to_owned()).or_default();
                            slot.0.extend(windows.iter().map(|w| (*w, value)));
                            slot.1.push(target.clone());
                        }
                        None => problems.push(unbound(target, format!("{object} is not in the installation and has no binding"))),
                    },
                }
                };
            match target {
                Target::Door { door, level } => {
                    let (d, l) = (door.as_str(), *level);
                    table_or_shared(
                        vec![format!("door:{d}:{l}"), format!("door:{d}")],
                        &format!("door {d}"),
                        Value::Level(l),
                        self.inst.doors.get(d),
                        &|id| {
                            self.inst
                                .shared_exceptions
                                .get(&id)
                                .is_some_and(|f| f.doors.get(d) == Some(&l))
                        },
                    );
                }
                Target::Zone { zone } => {
                    let z = zone.as_str();
                    table_or_shared(
                        vec![format!("zone:{z}")],
                        &format!("zone {z}"),
                        Value::Off,
                        self.inst.zones.get(z),
                        &|id| {
                            self.inst
                                .shared_exceptions
                                .get(&id)
                                .is_some_and(|f| f.zones.iter().any(|x| x == z))
                        },
                    );
                }
                Target::Output { output } => {
                    let o = output.as_str();
                    table_or_shared(
                        vec![format!("output:{o}")],
                        &format!("output {o}"),
                        Value::On,
                        self.inst.outputs.get(o),
                        &|id| {
                            self.inst
                                .shared_exceptions
                                .get(&id)
                                .is_some_and(|f| f.outputs.iter().any(|x| x == o))
                        },
                    );
                }
                Target::SharedException { id } => {
                    if self.inst.shared_exceptions.contains_key(id) {
                        shared.entry(*id).or_default().extend(&windows);
                    } else {
                        problems.push(unbound(
                            target,
                            format!("shared exception {id} is not in the installation"),
                        ));
                    }
                }
                Target::Membership { person, group } => match self.group(group.as_str()) {
                    Ok((g, se)) => {
                        if let Some(id) = se {
                            shared.entry(id).or_default().extend(&windows);
                        }
                        let slot = members
                            .entry(person.clone())
                            .or_default()
                            .entry(g)
                            .or_insert((Vec::new(), se));
                        slot.0.extend(&windows);
                    }
                    Err(message) => problems.push(unbound(target, message)),
                },
                Target::Deny { group, door } => match self.group(group.as_str()) {
                    Ok((g, _)) if self.inst.doors.contains_key(door.as_str()) => blocks
                        .entry((g, door.to_string()))
                        .or_default()
                        .extend(&windows),
                    Ok(_) => problems.push(unbound(
                        target,
                        format!("door {door} is not in the installation"),
                    )),
                    Err(message) => problems.push(unbound(target, message)),
                },
                Target::Day { day } => {
                    let day_type = match day {
                        DayKind::Holiday => DayType::Holiday,
                        DayKind::Special(name) => {
                            match self.inst.fictive_days.iter().position(|f| f == name) {
                                Some(i) => DayType::Fictive(
                                    u8::try_from(i + 1).expect("at most 6 fictive days: validated"),
                                ),
                                None => {
                                    problems.push(unbound(
                                    target,
                                    format!("no fictive day type {name:?} in installation.fictive_days ({})", self.inst.fictive_days.join(", ")),
                                ));
                                    continue;
                                }
                            }
                        }
                    };
                    let today = plan.at.with_timezone(&self.inst.time_zone).date_naive();
                    let last = today
                        .checked_add_months(Months::new(12))
                        .unwrap_or(NaiveDate::MAX);
                    for w in &windows {
                        for date in local_dates(w, &self.inst) {
                            if date > last {
                                problems.push(Problem {
                                    target: Some(target.clone()),
                                    kind: ProblemKind::Overflow,
                                    message: format!(
                                        "special day {date} is more than one year ahead; it waits"
                                    ),
                                });
                            } else if let Some(other) = days.insert(date, day_type)
                                && other != day_type
                            {
                                problems.push(Problem {
                                    target: Some(target.clone()),
                                    kind: ProblemKind::Overflow,
                                    message: format!("{date} is asked to be both {other} and {day_type}; one calendar entry per date, the last wins"),
                                });
                            }
                        }
                    }
                }
            }
        }

        // An exception on a table changes every object following it: klar uses one by default only
        // when all of them are asked for exactly the same.
        for (table, asked) in defaults {
            let followers = self.followers(&table);
            let mut wants: Vec<Vec<(Window, Value)>> = followers
                .iter()
                .map(|f| {
                    let mut list = asked.get(f).map(|(l, _)| l.clone()).unwrap_or_default();
                    list.sort();
                    list
                })
                .collect();
            wants.dedup();
            if wants.len() == 1 {
                tables
                    .entry(table)
                    .or_default()
                    .extend(asked.into_values().next().into_iter().flat_map(|(l, _)| l));
                continue;
            }
            for (object, (_, targets)) in asked {
                for target in targets {
                    problems.push(unbound(
                        &target,
                        format!(
                            "{object} has no binding and shares table {table:?} with {}, which are not asked for the same windows; give it a table of its own or bind it to a shared exception",
                            followers.iter().filter(|f| **f != object).cloned().collect::<Vec<_>>().join(", ")
                        ),
                    ));
                }
            }
        }

        let mut objects = BTreeMap::new();
        let capacity = self.inst.settings.shared_exception_capacity;
        for (id, windows) in shared {
            let merged = fit(
                union(windows),
                capacity,
                &format!("shared exception {id}"),
                "periods",
                &mut problems,
            );
            objects.insert(
                UnilockKey::SharedPeriods(id),
                UnilockObject::Periods(merged),
            );
        }
        for (table, list) in tables {
            let mut by_value: BTreeMap<Value, Vec<Window>> = BTreeMap::new();
            for (w, v) in list {
                by_value.entry(v).or_default().push(w);
            }
            let mut all: Vec<(Window, Value)> = by_value
                .into_iter()
                .flat_map(|(v, ws)| union(ws).into_iter().map(move |w| (w, v)))
                .collect();
            all.sort();
            let all = fit(
                all,
                EXCEPTIONS_PER_TABLE,
                &format!("table {table}"),
                "exceptions",
                &mut problems,
            );
            objects.insert(
                UnilockKey::TableExceptions(table),
                UnilockObject::Exceptions(all),
            );
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
                &mut problems,
            );
            let memberships = groups
                .into_iter()
                .map(|(group, (windows, se))| {
                    let valid = match se {
                        Some(id) => MembershipValidity::WhileShared {
                            shared_exception: id,
                        },
                        None => MembershipValidity::Periods {
                            periods: fit(
                                union(windows),
                                PERIODS_PER_MEMBERSHIP,
                                &format!("{who} in group {group}"),
                                "periods",
                                &mut problems,
                            ),
                        },
                    };
                    Membership { group, valid }
                })
                .collect();
            let credentials = plan.persons.get(&key);
            let record = PersonRecord {
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
                owner: OWNER.to_owned(),
            };
            objects.insert(
                UnilockKey::Person(key.to_string()),
                UnilockObject::Person(record),
            );
        }
        Desired { objects, problems }
    }

    /// What klar owns in a database, and the keys other writers hold.
    pub fn observed(&self, db: &Database) -> Observed<UnilockKey, UnilockObject> {
        let mut obs = Observed::default();
        for (id, periods) in &db.shared_exceptions {
            let mine: Vec<Window> = periods
                .iter()
                .filter(|p| p.owner == OWNER)
                .map(|p| p.window)
                .collect();
            if !mine.is_empty() {
                obs.owned
                    .insert(UnilockKey::SharedPeriods(*id), UnilockObject::Periods(mine));
            }
        }
        for (table, list) in &db.table_exceptions {
            let mut mine: Vec<(Window, Value)> = list
                .iter()
                .filter(|e| e.owner == OWNER)
                .map(|e| (e.window, e.value))
                .collect();
            mine.sort();
            if !mine.is_empty() {
                obs.owned.insert(
                    UnilockKey::TableExceptions(table.clone()),
                    UnilockObject::Exceptions(mine),
                );
            }
        }
        for (id, person) in &db.persons {
            let key = UnilockKey::Person(id.clone());
            if person.owner == OWNER {
                obs.owned.insert(key, UnilockObject::Person(person.clone()));
            } else {
                obs.foreign.insert(key);
            }
        }
        for (date, day) in &db.special_days {
            let key = UnilockKey::SpecialDay(*date);
            if day.owner == OWNER {
                obs.owned.insert(key, UnilockObject::Day(day.day_type));
            } else {
                obs.foreign.insert(key);
            }
        }
        for (group, doors) in &db.blocks {
            for (door, periods) in doors {
                let mine: Vec<Window> = periods
                    .iter()
                    .filter(|p| p.owner == OWNER)
                    .map(|p| p.window)
                    .collect();
                if !mine.is_empty() {
                    obs.owned.insert(
                        UnilockKey::Block {
                            group: group.clone(),
                            door: door.clone(),
                        },
                        UnilockObject::Periods(mine),
                    );
                }
            }
        }
        obs
    }

    /// The write that performs an action.
    pub fn write_for(
        action: &Action<UnilockKey, UnilockObject>,
        at: DateTime<Utc>,
    ) -> WriteRequest {
        let owner = OWNER.to_owned();
        let (key, object) = match action {
            Action::Create { key, object }
            | Action::Update {
                key, after: object, ..
            } => (key, Some(object)),
            Action::Delete { key, .. } => (key, None),
        };
        let periods = |o: Option<&UnilockObject>| match o {
            Some(UnilockObject::Periods(ws)) => ws.clone(),
            _ => Vec::new(),
        };
        let write = match key {
            UnilockKey::SharedPeriods(id) => Write::SetSharedPeriods {
                id: *id,
                owner,
                periods: periods(object),
            },
            UnilockKey::TableExceptions(table) => Write::SetTableExceptions {
                table: table.clone(),
                owner,
                exceptions: match object {
                    Some(UnilockObject::Exceptions(list)) => list.clone(),
                    _ => Vec::new(),
                },
            },
            UnilockKey::Person(id) => match object {
                Some(UnilockObject::Person(p)) => Write::PutPerson {
                    id: id.clone(),
                    person: p.clone(),
                },
                _ => Write::DeletePerson {
                    id: id.clone(),
                    owner,
                },
            },
            UnilockKey::SpecialDay(date) => match object {
                Some(UnilockObject::Day(d)) => Write::SetSpecialDay {
                    date: *date,
                    day_type: *d,
                    owner,
                },
                _ => Write::ClearSpecialDay { date: *date, owner },
            },
            UnilockKey::Block { group, door } => Write::SetBlock {
                group: group.clone(),
                door: door.clone(),
                owner,
                periods: periods(object),
            },
        };
        WriteRequest { at, write }
    }

    /// The seed's readiness check, in UniLock's own terms: every window bound to a shared
    /// exception is exactly one of its klar periods (From/To equal), and every granted person is
    /// a member of the right groups with periods and global validity equal to the booking
    /// windows. Returns what is not in step, in words (never a PIN).
    pub fn readiness(&self, plan: &Plan, db: &Database) -> Vec<String> {
        let mut issues = Vec::new();
        let desired = self.desired(plan);
        for (key, want) in &desired.objects {
            match (key, want) {
                (UnilockKey::SharedPeriods(id), UnilockObject::Periods(ws)) => {
                    let have: BTreeSet<Window> = db
                        .shared_exceptions
                        .get(id)
                        .into_iter()
                        .flatten()
                        .filter(|p| p.owner == OWNER)
                        .map(|p| p.window)
                        .collect();
                    for w in ws.iter().filter(|w| !have.contains(w)) {
                        issues.push(format!(
                            "shared exception {id} has no period with From/To {w}"
                        ));
                    }
                    for w in have.iter().filter(|w| !ws.contains(w)) {
                        issues.push(format!(
                            "shared exception {id} has a period {w} no booking asks for"
                        ));
                    }
                }
                (UnilockKey::Person(id), UnilockObject::Person(want)) => {
                    let Some(have) = db.persons.get(id) else {
                        issues.push(format!("person {id} is missing"));
                        continue;
                    };
                    if have.validity != want.validity {
                        issues.push(format!(
                            "person {id}: validity {} instead of {}",
                            windows_text(&have.validity),
                            windows_text(&want.validity)
                        ));
                    }
                    for m in &want.memberships {
                        if !have.memberships.contains(m) {
                            issues.push(format!(
                                "person {id} is not a member of {} as booked",
                                m.group
                            ));
                        }
                    }
                    if have.pin != want.pin || have.cards != want.cards {
                        issues.push(format!(
                            "person {id}: credentials differ from the booking's"
                        ));
                    }
                }
                _ => {}
            }
        }
        issues
    }
}

/// The local dates a day window covers (its edges are local midnights).
fn local_dates(w: &Window, inst: &Installation) -> Vec<NaiveDate> {
    let first = w.from.with_timezone(&inst.time_zone).date_naive();
    let last = (w.to - Duration::seconds(1))
        .with_timezone(&inst.time_zone)
        .date_naive();
    first.iter_days().take_while(|d| *d <= last).collect()
}

/// Keeps the first `cap` items (the earliest) and reports the rest as overflow.
fn fit<T: Clone>(
    items: Vec<T>,
    cap: usize,
    what: &str,
    unit: &str,
    problems: &mut Vec<Problem>,
) -> Vec<T> {
    if items.len() > cap {
        problems.push(Problem {
            target: None,
            kind: ProblemKind::Overflow,
            message: format!("{what} needs {} {unit}; UniLock holds {cap}: the earliest {cap} are applied, {} wait", items.len(), items.len() - cap),
        });
        items[..cap].to_vec()
    } else {
        items
    }
}

#[cfg(test)]
mod tests;
