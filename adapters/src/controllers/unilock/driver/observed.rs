//! What this site owns in a controller's database, the room other writers leave, and what of a
//! plan the owned objects realise.
//!
//! Ownership is by the site's owner marker, `klar:<site id>`: another site's klar on the same
//! controller is another writer like an operator. Objects an older klar wrote with the bare
//! owner `"klar"` are this site's only when it adopts them (then they are removed and written
//! again under its owner); otherwise they are another writer's, and reported.

use std::collections::BTreeMap;

use klar_engine::model::{Window, intersection};
use klar_engine::plan::{Plan, Target, local_midnight};
use klar_engine::reconcile::Observed;

use super::route::Route;
use super::{UnilockDriver, UnilockKey, UnilockObject};
use crate::controllers::unilock::LEGACY_OWNER;
use crate::controllers::unilock::protocol::{Database, MembershipValidity, Period};
use crate::controllers::unilock::sim::EXCEPTIONS_PER_TABLE;

/// Whose an object is, to this site.
enum Whose {
    Mine,
    /// An older klar's, adopted by this site.
    Adopted,
    Other,
    /// An older klar's, left alone.
    LegacyLeft,
}

impl UnilockDriver {
    fn whose(&self, owner: &str) -> Whose {
        if owner == self.owner {
            Whose::Mine
        } else if owner == LEGACY_OWNER {
            if self.adopt_legacy {
                Whose::Adopted
            } else {
                Whose::LegacyLeft
            }
        } else {
            Whose::Other
        }
    }

    /// Periods by whose they are: (this site's, an adopted older klar's, how many are others').
    fn split_periods(&self, periods: &[Period]) -> (Vec<Window>, Vec<Window>, usize) {
        let (mut mine, mut adopted, mut others) = (Vec::new(), Vec::new(), 0);
        for p in periods {
            match self.whose(&p.owner) {
                Whose::Mine => mine.push(p.window),
                Whose::Adopted => adopted.push(p.window),
                Whose::Other | Whose::LegacyLeft => others += 1,
            }
        }
        (mine, adopted, others)
    }

    /// What this site owns in a database, the keys other writers hold, and the room they leave
    /// in shared exceptions and tables.
    pub fn observed(&self, db: &Database) -> Observed<UnilockKey, UnilockObject> {
        let mut obs = Observed::default();
        let legacy_left = |list: &[Period]| list.iter().any(|p| p.owner == LEGACY_OWNER);
        for (id, periods) in &db.shared_exceptions {
            let key = UnilockKey::SharedPeriods(*id);
            let (mine, adopted, others) = self.split_periods(periods);
            if !mine.is_empty() {
                obs.owned.insert(key.clone(), UnilockObject::Periods(mine));
            }
            if !adopted.is_empty() {
                obs.owned.insert(
                    UnilockKey::Legacy(Box::new(key.clone())),
                    UnilockObject::Periods(adopted),
                );
            } else if !self.adopt_legacy && legacy_left(periods) {
                obs.foreign
                    .insert(UnilockKey::Legacy(Box::new(key.clone())));
            }
            obs.room.insert(
                key,
                self.inst
                    .settings
                    .shared_exception_capacity
                    .saturating_sub(others),
            );
        }
        for (table, list) in &db.table_exceptions {
            let key = UnilockKey::TableExceptions(table.clone());
            let (mut mine, mut adopted, mut others) = (Vec::new(), Vec::new(), 0);
            for e in list {
                match self.whose(&e.owner) {
                    Whose::Mine => mine.push((e.window, e.value)),
                    Whose::Adopted => adopted.push((e.window, e.value)),
                    Whose::Other | Whose::LegacyLeft => others += 1,
                }
            }
            mine.sort();
            adopted.sort();
            if !mine.is_empty() {
                obs.owned
                    .insert(key.clone(), UnilockObject::Exceptions(mine));
            }
            if !adopted.is_empty() {
                obs.owned.insert(
                    UnilockKey::Legacy(Box::new(key.clone())),
                    UnilockObject::Exceptions(adopted),
                );
            } else if !self.adopt_legacy && list.iter().any(|e| e.owner == LEGACY_OWNER) {
                obs.foreign
                    .insert(UnilockKey::Legacy(Box::new(key.clone())));
            }
            obs.room
                .insert(key, EXCEPTIONS_PER_TABLE.saturating_sub(others));
        }
        for (id, person) in &db.persons {
            let key = UnilockKey::Person(id.clone());
            match self.whose(&person.owner) {
                Whose::Mine => {
                    obs.owned.insert(key, UnilockObject::Person(person.clone()));
                }
                Whose::Adopted => {
                    obs.owned.insert(
                        UnilockKey::Legacy(Box::new(key)),
                        UnilockObject::Person(person.clone()),
                    );
                }
                Whose::LegacyLeft => {
                    obs.foreign
                        .insert(UnilockKey::Legacy(Box::new(key.clone())));
                    obs.foreign.insert(key);
                }
                Whose::Other => {
                    obs.foreign.insert(key);
                }
            }
        }
        for (date, day) in &db.special_days {
            let key = UnilockKey::SpecialDay(*date);
            match self.whose(&day.owner) {
                Whose::Mine => {
                    obs.owned.insert(key, UnilockObject::Day(day.day_type));
                }
                Whose::Adopted => {
                    obs.owned.insert(
                        UnilockKey::Legacy(Box::new(key)),
                        UnilockObject::Day(day.day_type),
                    );
                }
                Whose::LegacyLeft => {
                    obs.foreign
                        .insert(UnilockKey::Legacy(Box::new(key.clone())));
                    obs.foreign.insert(key);
                }
                Whose::Other => {
                    obs.foreign.insert(key);
                }
            }
        }
        for (group, doors) in &db.blocks {
            for (door, periods) in doors {
                let key = UnilockKey::Block {
                    group: group.clone(),
                    door: door.clone(),
                };
                let (mine, adopted, _) = self.split_periods(periods);
                if !mine.is_empty() {
                    obs.owned.insert(key.clone(), UnilockObject::Periods(mine));
                }
                if !adopted.is_empty() {
                    obs.owned.insert(
                        UnilockKey::Legacy(Box::new(key)),
                        UnilockObject::Periods(adopted),
                    );
                } else if !self.adopt_legacy && legacy_left(periods) {
                    obs.foreign.insert(UnilockKey::Legacy(Box::new(key)));
                }
            }
        }
        obs
    }

    /// The windows of each plan target that this site's objects in `observed` realise.
    pub fn realized(
        &self,
        plan: &Plan,
        observed: &Observed<UnilockKey, UnilockObject>,
    ) -> BTreeMap<Target, Vec<Window>> {
        let periods = |key: &UnilockKey| -> Vec<Window> {
            match observed.owned.get(key) {
                Some(UnilockObject::Periods(ws)) => ws.clone(),
                _ => Vec::new(),
            }
        };
        let mut out = BTreeMap::new();
        for entry in &plan.entries {
            let windows: Vec<Window> = entry.windows.iter().map(|w| w.window).collect();
            let held: Vec<Window> = match self.route(&entry.target) {
                Route::Shared(id) => periods(&UnilockKey::SharedPeriods(id)),
                Route::Table { table, value, .. } => {
                    match observed.owned.get(&UnilockKey::TableExceptions(table)) {
                        Some(UnilockObject::Exceptions(list)) => list
                            .iter()
                            .filter(|(_, v)| *v == value)
                            .map(|(w, _)| *w)
                            .collect(),
                        _ => Vec::new(),
                    }
                }
                Route::Member { person, group, .. } => {
                    match observed.owned.get(&UnilockKey::Person(person.to_string())) {
                        Some(UnilockObject::Person(p)) => {
                            let valid = match p.memberships.iter().find(|m| m.group == group) {
                                None => Vec::new(),
                                Some(m) => match &m.valid {
                                    MembershipValidity::Always => windows.clone(),
                                    MembershipValidity::Periods { periods } => periods.clone(),
                                    MembershipValidity::WhileShared { shared_exception } => {
                                        periods(&UnilockKey::SharedPeriods(*shared_exception))
                                    }
                                },
                            };
                            if p.validity.is_empty() {
                                valid
                            } else {
                                intersection(&valid, &p.validity)
                            }
                        }
                        _ => Vec::new(),
                    }
                }
                Route::Block { group, door } => periods(&UnilockKey::Block { group, door }),
                Route::Day(day_type) => observed
                    .owned
                    .iter()
                    .filter_map(|(k, o)| match (k, o) {
                        (UnilockKey::SpecialDay(date), UnilockObject::Day(d)) if *d == day_type => {
                            let tz = self.inst.time_zone;
                            let next = date.succ_opt().unwrap_or(*date);
                            Window::new(local_midnight(tz, *date), local_midnight(tz, next)).ok()
                        }
                        _ => None,
                    })
                    .collect(),
                Route::Unbound(_) => Vec::new(),
            };
            let held = intersection(&windows, &held);
            if !held.is_empty() {
                out.insert(entry.target.clone(), held);
            }
        }
        out
    }
}
