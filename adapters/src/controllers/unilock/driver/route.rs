//! Which UniLock object realises each plan target, and what the plan asks of every door, zone
//! and output (whatever realises it): the two things the driver checks an aggregation against.

use std::collections::BTreeMap;

use klar_engine::model::{DayKind, PersonKey, Window, union};
use klar_engine::plan::{Plan, Target};

use super::UnilockDriver;
use crate::controllers::unilock::config::Binding;
use crate::controllers::unilock::protocol::{DayType, Value};

/// A door, zone or output of the installation: `("door", "D-101")`.
pub(super) type Object = (&'static str, String);

/// The UniLock object a plan target's windows go into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Route {
    /// Periods of this shared exception.
    Shared(u32),
    /// Exceptions of this value on this table (`default`: the object's own table, unbound).
    Table {
        table: String,
        value: Value,
        default: bool,
    },
    /// A person's membership of a group (valid while a shared exception is active, if bound so).
    Member {
        person: PersonKey,
        group: String,
        shared: Option<u32>,
    },
    /// A block of a group at a door.
    Block { group: String, door: String },
    /// Special days of this type.
    Day(DayType),
    /// Nothing can realise it; the reason in words.
    Unbound(String),
}

/// What follows one table.
#[derive(Debug, Clone, Default)]
pub(super) struct Followers {
    objects: Vec<Object>,
    groups: Vec<String>,
}

/// Every table's followers, indexed once per installation.
pub(super) fn followers_of(
    inst: &crate::controllers::unilock::config::Installation,
) -> BTreeMap<String, Followers> {
    let mut out: BTreeMap<String, Followers> = BTreeMap::new();
    for (kind, map) in [
        ("door", &inst.doors),
        ("zone", &inst.zones),
        ("output", &inst.outputs),
    ] {
        for (id, table) in map {
            out.entry(table.clone())
                .or_default()
                .objects
                .push((kind, id.clone()));
        }
    }
    for (name, g) in &inst.groups {
        if let Some(t) = &g.time_table {
            out.entry(t.clone()).or_default().groups.push(name.clone());
        }
    }
    out
}

impl UnilockDriver {
    fn binding(&self, keys: &[String]) -> Option<(&String, &Binding)> {
        keys.iter().find_map(|k| self.bindings.get_key_value(k))
    }

    /// What a door, zone or output target sets, and the object it sets it on.
    pub(super) fn object_of(target: &Target) -> Option<(Object, Value)> {
        match target {
            Target::Door { door, level } => {
                Some((("door", door.to_string()), Value::Level(*level)))
            }
            Target::Zone { zone } => Some((("zone", zone.to_string()), Value::Off)),
            Target::Output { output } => Some((("output", output.to_string()), Value::On)),
            _ => None,
        }
    }

    /// Every object a shared exception drives, with the value it sets.
    pub(super) fn driven_by(&self, id: u32) -> Vec<(Object, Value)> {
        let Some(f) = self.inst.shared_exceptions.get(&id) else {
            return Vec::new();
        };
        let mut out: Vec<(Object, Value)> = f
            .doors
            .iter()
            .map(|(d, l)| (("door", d.clone()), Value::Level(*l)))
            .collect();
        out.extend(f.zones.iter().map(|z| (("zone", z.clone()), Value::Off)));
        out.extend(f.outputs.iter().map(|o| (("output", o.clone()), Value::On)));
        out
    }

    /// Every door, zone and output following a table, and the person groups whose access
    /// follows it (an exception on it would change who may enter).
    pub(super) fn followers(&self, table: &str) -> (&[Object], &[String]) {
        match self.followers.get(table) {
            Some(f) => (&f.objects, &f.groups),
            None => (&[], &[]),
        }
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

    /// Where a target's windows go.
    pub(super) fn route(&self, target: &Target) -> Route {
        if let Some(((kind, id), value)) = Self::object_of(target) {
            let keys = match target {
                Target::Door { level, .. } => {
                    vec![format!("door:{id}:{level}"), format!("door:{id}")]
                }
                _ => vec![format!("{kind}:{id}")],
            };
            let own = match kind {
                "door" => self.inst.doors.get(&id),
                "zone" => self.inst.zones.get(&id),
                _ => self.inst.outputs.get(&id),
            };
            return match self.binding(&keys) {
                Some((
                    key,
                    Binding {
                        shared_exception: Some(se),
                        ..
                    },
                )) => {
                    if self.driven_by(*se).contains(&((kind, id.clone()), value)) {
                        Route::Shared(*se)
                    } else {
                        Route::Unbound(format!(
                            "binding {key:?}: shared exception {se} does not set {kind} {id} to {} in the installation",
                            value_words(kind, value)
                        ))
                    }
                }
                Some((key, Binding { table: Some(t), .. })) => match self.inst.tables.get(t) {
                    Some(tab) if tab.is_level_table() == value.is_level() => Route::Table {
                        table: t.clone(),
                        value,
                        default: false,
                    },
                    _ => Route::Unbound(format!(
                        "binding {key:?}: table {t:?} cannot hold {}",
                        value_words(kind, value)
                    )),
                },
                Some((key, _)) => Route::Unbound(format!(
                    "binding {key:?} must name a shared_exception or a table"
                )),
                None => match own {
                    Some(t) => Route::Table {
                        table: t.clone(),
                        value,
                        default: true,
                    },
                    None => Route::Unbound(format!(
                        "{kind} {id} is not in the installation and has no binding"
                    )),
                },
            };
        }
        match target {
            Target::SharedException { id } => {
                if self.inst.shared_exceptions.contains_key(id) {
                    Route::Shared(*id)
                } else {
                    Route::Unbound(format!("shared exception {id} is not in the installation"))
                }
            }
            Target::Membership { person, group } => match self.group(group.as_str()) {
                Ok((group, shared)) => Route::Member {
                    person: person.clone(),
                    group,
                    shared,
                },
                Err(message) => Route::Unbound(message),
            },
            Target::Deny { group, door } => match self.group(group.as_str()) {
                Ok((group, _)) if self.inst.doors.contains_key(door.as_str()) => Route::Block {
                    group,
                    door: door.to_string(),
                },
                Ok(_) => Route::Unbound(format!("door {door} is not in the installation")),
                Err(message) => Route::Unbound(message),
            },
            Target::Day { day } => match day {
                DayKind::Holiday => Route::Day(DayType::Holiday),
                DayKind::Special(name) => {
                    match self.inst.fictive_days.iter().position(|f| f == name) {
                        Some(i) => Route::Day(DayType::Fictive(
                            u8::try_from(i + 1).expect("at most 6 fictive days: validated"),
                        )),
                        None => Route::Unbound(format!(
                            "no fictive day type {name:?} in installation.fictive_days ({})",
                            self.inst.fictive_days.join(", ")
                        )),
                    }
                }
            },
            _ => unreachable!("doors, zones and outputs are routed above"),
        }
    }

    /// What the plan asks of every door, zone and output, per value, whatever realises it: its
    /// own targets' windows, and those of a shared exception the rules ask for by number (the
    /// parity pack), for everything that shared exception drives.
    pub(super) fn asked(&self, plan: &Plan) -> BTreeMap<Object, BTreeMap<Value, Vec<Window>>> {
        let mut asked: BTreeMap<Object, BTreeMap<Value, Vec<Window>>> = BTreeMap::new();
        for entry in &plan.entries {
            let windows = entry.windows.iter().map(|w| w.window);
            if let Some((object, value)) = Self::object_of(&entry.target) {
                asked
                    .entry(object)
                    .or_default()
                    .entry(value)
                    .or_default()
                    .extend(windows);
            } else if let Target::SharedException { id } = &entry.target {
                let windows: Vec<Window> = windows.collect();
                for (object, value) in self.driven_by(*id) {
                    asked
                        .entry(object)
                        .or_default()
                        .entry(value)
                        .or_default()
                        .extend(&windows);
                }
            }
        }
        for values in asked.values_mut() {
            for windows in values.values_mut() {
                *windows = union(std::mem::take(windows));
            }
        }
        asked
    }
}

/// A value as it reads for an object: `unlocked`, `disarmed`, `on`.
pub(super) fn value_words(kind: &str, value: Value) -> String {
    match (kind, value) {
        ("zone", Value::Off) => "disarmed".into(),
        ("zone", Value::On) => "armed".into(),
        (_, v) => v.to_string(),
    }
}
