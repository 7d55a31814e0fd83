//! The UniLock driver: the plan's targets and windows turned into the UniLock objects klar owns,
//! what klar owns read back out of the controller's database, and each action as a write.
//!
//! - [`route`]: which UniLock object realises each plan target (bindings, or by default the
//!   object's own table, or the person group of the same name).
//! - [`desired`]: the objects for a plan. A window goes into a shared exception or a table only
//!   where every object that follows it is asked for that window at that value: a zone's disarm
//!   never unlocks a door that shares its shared exception. What does not fit the room other
//!   writers leave is reported as waiting (earliest first applied), never dropped in silence.
//! - [`observed`]: what this site owns in a database (its owner marker is `klar:<site id>`),
//!   the room left in shared capacities, and back from objects to the plan's windows
//!   ([`UnilockDriver::realized`]) for the store and the audit.

mod desired;
mod embedded;
mod http;
mod observed;
mod route;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use klar_engine::model::{Window, difference};
use klar_engine::plan::Plan;
use klar_engine::reconcile::Action;

use super::LEGACY_OWNER;
use super::config::{Binding, Installation};
use super::protocol::{
    Database, DayType, MembershipValidity, PersonRecord, Value, Write, WriteRequest, windows_text,
};

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
    /// The same object as written by an older klar under the bare owner `"klar"`: observed as
    /// owned (and so removed, to be written again under this site's owner) only when the site
    /// adopts them (`[controller] adopt_legacy_owner = true`), else as held by another writer.
    Legacy(Box<UnilockKey>),
}

impl std::fmt::Display for UnilockKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UnilockKey::SharedPeriods(id) => write!(f, "shared exception {id}"),
            UnilockKey::TableExceptions(t) => write!(f, "table {t} exceptions"),
            UnilockKey::Person(id) => write!(f, "person {id}"),
            UnilockKey::SpecialDay(d) => write!(f, "special day {d}"),
            UnilockKey::Block { group, door } => write!(f, "group {group} blocked at {door}"),
            UnilockKey::Legacy(inner) => write!(f, "{inner} of an older klar (owner \"klar\")"),
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

impl UnilockObject {
    /// Whether going from `self` to `after` takes anything away: a period, an exception, a
    /// validity period, a membership period, or a credential.
    pub fn narrows_to(&self, after: &UnilockObject) -> bool {
        match (self, after) {
            (UnilockObject::Periods(a), UnilockObject::Periods(b)) => !difference(a, b).is_empty(),
            (UnilockObject::Exceptions(a), UnilockObject::Exceptions(b)) => {
                let values: BTreeSet<Value> = a.iter().map(|(_, v)| *v).collect();
                values.into_iter().any(|v| {
                    let of = |l: &[(Window, Value)]| -> Vec<Window> {
                        l.iter().filter(|(_, x)| *x == v).map(|(w, _)| *w).collect()
                    };
                    !difference(&of(a), &of(b)).is_empty()
                })
            }
            (UnilockObject::Person(a), UnilockObject::Person(b)) => {
                let validity = |p: &PersonRecord| {
                    if p.validity.is_empty() {
                        vec![
                            Window::new(DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC)
                                .expect("MIN < MAX"),
                        ]
                    } else {
                        p.validity.clone()
                    }
                };
                a.pin != b.pin
                    || a.cards.iter().any(|c| !b.cards.contains(c))
                    || !difference(&validity(a), &validity(b)).is_empty()
                    || a.memberships.iter().any(|m| {
                        match b.memberships.iter().find(|n| n.group == m.group) {
                            None => true,
                            Some(n) => match (&m.valid, &n.valid) {
                                (
                                    MembershipValidity::Periods { periods: x },
                                    MembershipValidity::Periods { periods: y },
                                ) => !difference(x, y).is_empty(),
                                (x, y) => x != y,
                            },
                        }
                    })
            }
            (a, b) => a != b,
        }
    }
}

/// Turns plans into UniLock objects and back. Pure: holds the installation, the bindings and
/// the site's owner marker.
#[derive(Debug, Clone)]
pub struct UnilockDriver {
    inst: Installation,
    bindings: BTreeMap<String, Binding>,
    owner: String,
    adopt_legacy: bool,
    /// What follows each table, indexed once.
    followers: BTreeMap<String, route::Followers>,
}

impl UnilockDriver {
    /// A driver writing as `owner` (`klar:<site id>`, [`super::owner_for`]). With
    /// `adopt_legacy`, objects an older klar wrote with the bare owner `"klar"` count as this
    /// site's: they are removed and written again under `owner`.
    pub fn new(
        inst: Installation,
        bindings: BTreeMap<String, Binding>,
        owner: String,
        adopt_legacy: bool,
    ) -> Self {
        UnilockDriver {
            followers: route::followers_of(&inst),
            inst,
            bindings,
            owner,
            adopt_legacy,
        }
    }

    pub fn installation(&self) -> &Installation {
        &self.inst
    }

    /// The owner marker on everything this driver writes.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// The write that performs an action.
    pub fn write_for(
        &self,
        action: &Action<UnilockKey, UnilockObject>,
        at: DateTime<Utc>,
    ) -> WriteRequest {
        let (key, object) = match action {
            Action::Create { key, object }
            | Action::Update {
                key, after: object, ..
            } => (key, Some(object)),
            Action::Delete { key, .. } => (key, None),
        };
        // An older klar's object is only ever removed, as its owner.
        let (key, object, owner) = match key {
            UnilockKey::Legacy(inner) => (inner.as_ref(), None, LEGACY_OWNER.to_owned()),
            key => (key, object, self.owner.clone()),
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
            UnilockKey::Legacy(_) => unreachable!("a legacy key wraps a plain key"),
        };
        WriteRequest { at, write }
    }

    /// The seed's readiness check, in UniLock's own terms: every window bound to a shared
    /// exception is exactly one of its klar periods (From/To equal), and every granted person is
    /// a member of the right groups with periods and global validity equal to the booking
    /// windows. Returns what is not in step, in words (never a PIN).
    pub fn readiness(&self, plan: &Plan, db: &Database) -> Vec<String> {
        let mut issues = Vec::new();
        let desired = self.desired(plan, &self.observed(db));
        for (key, want) in &desired.objects {
            match (key, want) {
                (UnilockKey::SharedPeriods(id), UnilockObject::Periods(ws)) => {
                    let have: BTreeSet<Window> = db
                        .shared_exceptions
                        .get(id)
                        .into_iter()
                        .flatten()
                        .filter(|p| p.owner == self.owner)
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

impl UnilockDriver {
    /// The database `live` would be with `plan` applied, computed in memory: what the plan asks
    /// of the controller, beside what other writers hold. Nothing is written anywhere and
    /// nothing is logged; a write the controller would refuse is left out, as it would be.
    pub fn planned(&self, plan: &Plan, live: &Database) -> Database {
        let observed = self.observed(live);
        let desired = self.desired(plan, &observed);
        let mut sim = super::UnilockSimulator::with_database(self.inst.clone(), live.clone());
        for action in klar_engine::reconcile::diff(&desired.objects, &observed) {
            let _ = sim.write(&self.write_for(&action, plan.at));
        }
        sim.database().clone()
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

#[cfg(test)]
mod tests;
