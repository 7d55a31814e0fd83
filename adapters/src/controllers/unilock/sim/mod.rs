//! `UnilockSimulator`: a faithful model of a UniLock installation (vendors/unilock.md).
//!
//! It holds the installation (doors with their security-level tables, zones, outputs, person
//! groups, what each shared exception drives) and a [`Database`] that writers change through
//! [`Write`]s: special days, table exceptions, shared-exception periods, persons, blocks. It
//! answers, for any instant, each door's level, each zone's armed state, each output's state,
//! and whether a PIN or card opens a door. Capacities are enforced with an error naming the
//! limit; nothing is dropped in silence.
//!
//! Settings for what UniLock does not publish ([I] in the vendor notes): periods are half-open
//! `[From, To)`; overlapping exceptions on one object are decided by `door_precedence` (default:
//! the most secure wins); access validity is a union of memberships; a block (deny) beats every
//! grant; a shared exception holds `shared_exception_capacity` periods (default 16).

pub mod table;

use chrono::{DateTime, Datelike, Months, NaiveDate, Utc};

use super::config::{Installation, Precedence};
use super::protocol::{
    Cause, Credential, Database, DayType, Grant, MembershipValidity, ObjectState, OpensAnswer,
    OpensRequest, Period, PersonRecord, SpecialDay, StateAt, Value, Write, WriteRequest,
};

/// Exceptions one table holds [C].
pub const EXCEPTIONS_PER_TABLE: usize = 8;
/// Global validity periods per person [C].
pub const VALIDITY_PERIODS_PER_PERSON: usize = 8;
/// Periods per group membership [C].
pub const PERIODS_PER_MEMBERSHIP: usize = 50;
/// Fictive special-day types [C].
pub const FICTIVE_DAY_TYPES: usize = 6;
/// Persons per k-point [C].
pub const PERSONS_PER_KPOINT: usize = 65_000;

/// Why the simulator refused a write or a query. Never contains a PIN or card value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SimError {
    #[error("unknown {kind} {id:?}")]
    Unknown { kind: &'static str, id: String },
    #[error("capacity exceeded: {0}")]
    Capacity(String),
    #[error("{0} is held by another owner")]
    Owned(String),
    #[error("invalid: {0}")]
    Invalid(String),
}

/// The simulated controller.
#[derive(Debug, Clone)]
pub struct UnilockSimulator {
    inst: Installation,
    db: Database,
}

impl UnilockSimulator {
    /// An installation with an empty database.
    pub fn new(inst: Installation) -> Self {
        UnilockSimulator {
            inst,
            db: Database::default(),
        }
    }

    /// An installation with a database kept from before (a state file).
    pub fn with_database(inst: Installation, db: Database) -> Self {
        UnilockSimulator { inst, db }
    }

    pub fn installation(&self) -> &Installation {
        &self.inst
    }

    pub fn database(&self) -> &Database {
        &self.db
    }

    /// Applies one write, or refuses it whole with the reason.
    pub fn write(&mut self, req: &WriteRequest) -> Result<(), SimError> {
        match &req.write {
            Write::SetSharedPeriods { id, owner, periods } => {
                if !self.inst.shared_exceptions.contains_key(id) {
                    return Err(SimError::Unknown {
                        kind: "shared exception",
                        id: id.to_string(),
                    });
                }
                let list = self.db.shared_exceptions.entry(*id).or_default();
                let others: Vec<Period> =
                    list.iter().filter(|p| &p.owner != owner).cloned().collect();
                let capacity = self.inst.settings.shared_exception_capacity;
                if others.len() + periods.len() > capacity {
                    return Err(SimError::Capacity(format!(
                        "shared exception {id} holds at most {capacity} periods; {} asked ({} of {owner}, {} of others)",
                        others.len() + periods.len(),
                        periods.len(),
                        others.len()
                    )));
                }
                let mut next = others;
                next.extend(periods.iter().map(|w| Period {
                    window: *w,
                    owner: owner.clone(),
                }));
                next.sort();
                *list = next;
                self.db.shared_exceptions.retain(|_, l| !l.is_empty());
            }
            Write::SetTableExceptions {
                table,
                owner,
                exceptions,
            } => {
                let t = self
                    .inst
                    .tables
                    .get(table)
                    .ok_or_else(|| SimError::Unknown {
                        kind: "table",
                        id: table.clone(),
                    })?;
                if let Some((_, v)) = exceptions
                    .iter()
                    .find(|(_, v)| v.is_level() != t.is_level_table())
                {
                    return Err(SimError::Invalid(format!(
                        "table {table:?} cannot take the value {v}"
                    )));
                }
                let list = self.db.table_exceptions.entry(table.clone()).or_default();
                let others: Vec<_> = list.iter().filter(|e| &e.owner != owner).cloned().collect();
                if others.len() + exceptions.len() > EXCEPTIONS_PER_TABLE {
                    return Err(SimError::Capacity(format!(
                        "table {table:?} holds at most {EXCEPTIONS_PER_TABLE} exceptions; {} asked ({} of {owner}, {} of others)",
                        others.len() + exceptions.len(),
                        exceptions.len(),
                        others.len()
                    )));
                }
                let mut next = others;
                next.extend(exceptions.iter().map(|(w, v)| super::protocol::Exception {
                    window: *w,
                    value: *v,
                    owner: owner.clone(),
                }));
                next.sort();
                *list = next;
                self.db.table_exceptions.retain(|_, l| !l.is_empty());
            }
            Write::PutPerson { id, person } => {
                if let Some(existing) = self.db.persons.get(id)
                    && existing.owner != person.owner
                {
                    return Err(SimError::Owned(format!("person {id:?}")));
                }
                self.check_person(id, person)?;
                if !self.db.persons.contains_key(id) && self.db.persons.len() >= PERSONS_PER_KPOINT
                {
                    return Err(SimError::Capacity(format!(
                        "at most {PERSONS_PER_KPOINT} persons per k-point"
                    )));
                }
                self.db.persons.insert(id.clone(), person.clone());
            }
            Write::DeletePerson { id, owner } => match self.db.persons.get(id) {
                Some(p) if &p.owner != owner => {
                    return Err(SimError::Owned(format!("person {id:?}")));
                }
                Some(_) => {
                    self.db.persons.remove(id);
                }
                None => {}
            },
            Write::SetSpecialDay {
                date,
                day_type,
                owner,
            } => {
                if let DayType::Fictive(n) = day_type
                    && (*n == 0
                        || usize::from(*n) > self.inst.fictive_days.len().min(FICTIVE_DAY_TYPES))
                {
                    return Err(SimError::Invalid(format!(
                        "fictive day type {n} is not configured (the installation names {} of {FICTIVE_DAY_TYPES})",
                        self.inst.fictive_days.len()
                    )));
                }
                let today = req.at.with_timezone(&self.inst.time_zone).date_naive();
                let last = today
                    .checked_add_months(Months::new(12))
                    .unwrap_or(NaiveDate::MAX);
                if *date > last {
                    return Err(SimError::Capacity(format!(
                        "special day {date} is more than one year ahead (last {last})"
                    )));
                }
                if let Some(existing) = self.db.special_days.get(date)
                    && &existing.owner != owner
                {
                    return Err(SimError::Owned(format!("special day {date}")));
                }
                self.db.special_days.insert(
                    *date,
                    SpecialDay {
                        day_type: *day_type,
                        owner: owner.clone(),
                    },
                );
            }
            Write::ClearSpecialDay { date, owner } => match self.db.special_days.get(date) {
                Some(d) if &d.owner != owner => {
                    return Err(SimError::Owned(format!("special day {date}")));
                }
                Some(_) => {
                    self.db.special_days.remove(date);
                }
                None => {}
            },
            Write::SetBlock {
                group,
                door,
                owner,
                periods,
            } => {
                if !self.inst.groups.contains_key(group) {
                    return Err(SimError::Unknown {
                        kind: "person group",
                        id: group.clone(),
                    });
                }
                if !self.inst.doors.contains_key(door) {
                    return Err(SimError::Unknown {
                        kind: "door",
                        id: door.clone(),
                    });
                }
                let list = self
                    .db
                    .blocks
                    .entry(group.clone())
                    .or_default()
                    .entry(door.clone())
                    .or_default();
                list.retain(|p| &p.owner != owner);
                list.extend(periods.iter().map(|w| Period {
                    window: *w,
                    owner: owner.clone(),
                }));
                list.sort();
                for doors in self.db.blocks.values_mut() {
                    doors.retain(|_, l| !l.is_empty());
                }
                self.db.blocks.retain(|_, d| !d.is_empty());
            }
        }
        Ok(())
    }

    fn check_person(&self, id: &str, p: &PersonRecord) -> Result<(), SimError> {
        if p.validity.len() > VALIDITY_PERIODS_PER_PERSON {
            return Err(SimError::Capacity(format!(
                "person {id:?} has {} global validity periods; at most {VALIDITY_PERIODS_PER_PERSON}",
                p.validity.len()
            )));
        }
        for m in &p.memberships {
            if !self.inst.groups.contains_key(&m.group) {
                return Err(SimError::Unknown {
                    kind: "person group",
                    id: m.group.clone(),
                });
            }
            match &m.valid {
                MembershipValidity::Periods { periods }
                    if periods.len() > PERIODS_PER_MEMBERSHIP =>
                {
                    return Err(SimError::Capacity(format!(
                        "person {id:?} in group {:?} has {} periods; at most {PERIODS_PER_MEMBERSHIP}",
                        m.group,
                        periods.len()
                    )));
                }
                MembershipValidity::WhileShared { shared_exception }
                    if !self.inst.shared_exceptions.contains_key(shared_exception) =>
                {
                    return Err(SimError::Unknown {
                        kind: "shared exception",
                        id: shared_exception.to_string(),
                    });
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// The day type of a local date: its special-day entry, else its weekday.
    pub fn day_type(&self, date: NaiveDate) -> DayType {
        self.db
            .special_days
            .get(&date)
            .map_or(DayType::Weekday(date.weekday()), |d| d.day_type)
    }

    fn weekly(&self, table: &str, at: DateTime<Utc>) -> (Value, Cause) {
        let local = at.with_timezone(&self.inst.time_zone);
        let date = local.date_naive();
        let day_type = self.day_type(date);
        let t = &self.inst.tables[table];
        let value = t.value_at(
            day_type,
            date.weekday(),
            local.time(),
            &self.inst.fictive_days,
        );
        (
            value,
            Cause::Weekly {
                table: table.to_owned(),
                day_type,
            },
        )
    }

    fn shared_active(&self, id: u32, at: DateTime<Utc>) -> impl Iterator<Item = &Period> {
        self.db
            .shared_exceptions
            .get(&id)
            .into_iter()
            .flatten()
            .filter(move |p| p.window.contains(at))
    }

    /// A table-driven object's state: the weekly value, unless exceptions (the table's own,
    /// and the shared exceptions driving this object with `shared_value`) are active.
    fn decide(
        &self,
        id: &str,
        table: &str,
        shared: Vec<(u32, Value)>,
        at: DateTime<Utc>,
    ) -> ObjectState {
        let mut active: Vec<(Value, DateTime<Utc>, Cause)> = Vec::new();
        for e in self
            .db
            .table_exceptions
            .get(table)
            .into_iter()
            .flatten()
            .filter(|e| e.window.contains(at))
        {
            active.push((
                e.value,
                e.window.from,
                Cause::Exception {
                    table: table.to_owned(),
                    window: e.window,
                    owner: e.owner.clone(),
                },
            ));
        }
        for (se, value) in shared {
            for p in self.shared_active(se, at) {
                active.push((
                    value,
                    p.window.from,
                    Cause::SharedException {
                        id: se,
                        window: p.window,
                        owner: p.owner.clone(),
                    },
                ));
            }
        }
        if active.is_empty() {
            let (value, cause) = self.weekly(table, at);
            return ObjectState {
                id: id.to_owned(),
                value,
                causes: vec![cause],
            };
        }
        let rank = |v: &Value| match v {
            Value::Level(l) => *l as u8,
            Value::On => 1,
            Value::Off => 0,
        };
        match self.inst.settings.door_precedence {
            Precedence::MostSecure => {
                active.sort_by_key(|(v, from, _)| (std::cmp::Reverse(rank(v)), *from))
            }
            Precedence::LeastSecure => active.sort_by_key(|(v, from, _)| (rank(v), *from)),
            Precedence::LatestStart => active
                .sort_by_key(|(v, from, _)| (std::cmp::Reverse(*from), std::cmp::Reverse(rank(v)))),
        }
        ObjectState {
            id: id.to_owned(),
            value: active[0].0,
            causes: active.into_iter().map(|(_, _, c)| c).collect(),
        }
    }

    /// A door's security level at an instant, and why.
    pub fn door(&self, door: &str, at: DateTime<Utc>) -> Result<ObjectState, SimError> {
        let table = self.inst.doors.get(door).ok_or_else(|| SimError::Unknown {
            kind: "door",
            id: door.to_owned(),
        })?;
        let shared = self
            .inst
            .shared_exceptions
            .iter()
            .filter_map(|(id, f)| f.doors.get(door).map(|l| (*id, Value::Level(*l))))
            .collect();
        Ok(self.decide(door, table, shared, at))
    }

    /// A zone's state (`on` = armed) at an instant, and why.
    pub fn zone(&self, zone: &str, at: DateTime<Utc>) -> Result<ObjectState, SimError> {
        let table = self.inst.zones.get(zone).ok_or_else(|| SimError::Unknown {
            kind: "zone",
            id: zone.to_owned(),
        })?;
        let shared = self
            .inst
            .shared_exceptions
            .iter()
            .filter(|(_, f)| f.zones.iter().any(|z| z == zone))
            .map(|(id, _)| (*id, Value::Off))
            .collect();
        Ok(self.decide(zone, table, shared, at))
    }

    /// An output's state at an instant, and why.
    pub fn output(&self, output: &str, at: DateTime<Utc>) -> Result<ObjectState, SimError> {
        let table = self
            .inst
            .outputs
            .get(output)
            .ok_or_else(|| SimError::Unknown {
                kind: "output",
                id: output.to_owned(),
            })?;
        let shared = self
            .inst
            .shared_exceptions
            .iter()
            .filter(|(_, f)| f.outputs.iter().any(|o| o == output))
            .map(|(id, _)| (*id, Value::On))
            .collect();
        Ok(self.decide(output, table, shared, at))
    }

    fn membership_valid(&self, valid: &MembershipValidity, at: DateTime<Utc>) -> bool {
        match valid {
            MembershipValidity::Always => true,
            MembershipValidity::Periods { periods } => periods.iter().any(|w| w.contains(at)),
            MembershipValidity::WhileShared { shared_exception } => {
                self.shared_active(*shared_exception, at).next().is_some()
            }
        }
    }

    fn group_time_valid(&self, group: &str, at: DateTime<Utc>) -> bool {
        match self
            .inst
            .groups
            .get(group)
            .and_then(|g| g.time_table.as_deref())
        {
            None => true,
            Some(table) => self.weekly(table, at).0 == Value::On,
        }
    }

    fn blocked(&self, group: &str, door: &str, at: DateTime<Utc>) -> bool {
        self.db
            .blocks
            .get(group)
            .and_then(|d| d.get(door))
            .is_some_and(|l| l.iter().any(|p| p.window.contains(at)))
    }

    /// A person's access at an instant: valid groups and the doors they open.
    fn grant(&self, id: &str, p: &PersonRecord, at: DateTime<Utc>) -> Grant {
        let valid = p.validity.is_empty() || p.validity.iter().any(|w| w.contains(at));
        let groups: Vec<String> = p
            .memberships
            .iter()
            .filter(|m| self.membership_valid(&m.valid, at))
            .map(|m| m.group.clone())
            .collect();
        let mut doors: Vec<String> = Vec::new();
        if valid {
            for g in &groups {
                if !self.group_time_valid(g, at) {
                    continue;
                }
                for d in self
                    .inst
                    .groups
                    .get(g)
                    .map(|g| g.doors.as_slice())
                    .unwrap_or_default()
                {
                    doors.push(d.clone());
                }
            }
            doors.sort();
            doors.dedup();
        }
        // What the door would answer this person's own keys: deny beats grant, a locked door
        // opens for nobody, and a door at card or card + PIN needs the keys on record.
        let mut refused = Vec::new();
        doors.retain(|d| {
            let why = if groups.iter().any(|g| self.blocked(g, d, at)) {
                Some("refused: the person's group is blocked at this door")
            } else {
                self.key_refusal(p, d, at)
            };
            match why {
                None => true,
                Some(why) => {
                    refused.push(format!("{d}: {why}"));
                    false
                }
            }
        });
        Grant {
            person: id.to_owned(),
            name: p.name.clone(),
            pin_set: p.pin.is_some(),
            cards: p.cards.len(),
            valid,
            groups,
            doors,
            refused,
        }
    }

    /// Why a door refuses this person's keys at an instant by its level alone, if it does.
    fn key_refusal(&self, p: &PersonRecord, door: &str, at: DateTime<Utc>) -> Option<&'static str> {
        use klar_engine::model::DoorLevel;
        match self.door(door, at).ok()?.value {
            Value::Level(DoorLevel::Locked) => Some("door locked"),
            Value::Level(DoorLevel::Card) if p.pin.is_none() && p.cards.is_empty() => {
                Some("a card or PIN is needed and none is on record")
            }
            Value::Level(DoorLevel::CardPin) if p.pin.is_none() => {
                Some("card and PIN required and no PIN is on record")
            }
            _ => None,
        }
    }

    /// Whether a credential opens a door at an instant, and why, in words without the value.
    ///
    /// `unlocked` opens for anyone and `locked` for nobody. At `card` one key suffices: a card or
    /// a PIN on record. At `card_pin` the card and the PIN of the same person are needed; a
    /// person with no card on record opens with the PIN alone ([I]: a PIN-keypad person).
    pub fn opens(&self, req: &OpensRequest) -> Result<OpensAnswer, SimError> {
        let state = self.door(&req.door, req.at)?;
        let answer = |opens: bool, reason: &str| {
            Ok(OpensAnswer {
                opens,
                reason: reason.to_owned(),
            })
        };
        let level = match state.value {
            Value::Level(l) => l,
            _ => {
                return Err(SimError::Invalid(format!(
                    "door {:?} has a non-level table",
                    req.door
                )));
            }
        };
        use klar_engine::model::DoorLevel;
        match level {
            DoorLevel::Unlocked => return answer(true, "door unlocked"),
            DoorLevel::Locked => return answer(false, "door locked"),
            _ => {}
        }
        let Credential { card, pin } = &req.credential;
        let holders: Vec<(&String, &PersonRecord)> = self
            .db
            .persons
            .iter()
            .filter(|(_, p)| {
                let card_ok = card.as_ref().is_none_or(|c| p.cards.contains(c));
                let pin_ok = pin.as_ref().is_none_or(|x| p.pin.as_ref() == Some(x));
                (card.is_some() || pin.is_some()) && card_ok && pin_ok
            })
            .collect();
        if holders.is_empty() {
            return answer(false, "Nøgle afvist, ikke oprettet");
        }
        let mut last_reason = "no valid group membership for this door now";
        for (id, p) in holders {
            if level == DoorLevel::CardPin {
                let has_both = card.is_some() && pin.is_some();
                let pin_only_person = card.is_none() && pin.is_some() && p.cards.is_empty();
                if !has_both && !pin_only_person {
                    last_reason = "card and PIN required";
                    continue;
                }
            }
            let g = self.grant(id, p, req.at);
            if !g.valid {
                last_reason = "outside the person's validity periods";
                continue;
            }
            if g.doors.iter().any(|d| d == &req.door) {
                return answer(true, "valid key, valid group membership");
            }
            if g.groups
                .iter()
                .any(|grp| self.blocked(grp, &req.door, req.at))
            {
                last_reason = "refused: the person's group is blocked at this door";
            }
        }
        answer(false, last_reason)
    }

    /// Every person's access at an instant.
    pub fn grants(&self, at: DateTime<Utc>) -> Vec<Grant> {
        self.db
            .persons
            .iter()
            .map(|(id, p)| self.grant(id, p, at))
            .collect()
    }

    /// Every door, zone, output and person at an instant.
    pub fn state_at(&self, at: DateTime<Utc>) -> StateAt {
        let date = at.with_timezone(&self.inst.time_zone).date_naive();
        StateAt {
            at,
            day_type: self.day_type(date),
            doors: self
                .inst
                .doors
                .keys()
                .filter_map(|d| self.door(d, at).ok())
                .collect(),
            zones: self
                .inst
                .zones
                .keys()
                .filter_map(|z| self.zone(z, at).ok())
                .collect(),
            outputs: self
                .inst
                .outputs
                .keys()
                .filter_map(|o| self.output(o, at).ok())
                .collect(),
            grants: self.grants(at),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests;
