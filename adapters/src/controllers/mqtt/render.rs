//! The pure half of the MQTT driver: the plan and an instant turned into the retained messages
//! klar wants on the broker, and the next instant at which any of them changes.
//!
//! Per door, zone and output: `<prefix>/<kind>/<id>/state` (what holds now) and
//! `<prefix>/<kind>/<id>/schedule` (every planned window, JSON). The state is a function of the
//! plan and the clock alone, so it can be recomputed at any moment: after a restart, a reconnect,
//! or at a window edge.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use chrono::{DateTime, SecondsFormat, Utc};
use klar_engine::model::{DoorId, OutputId, Window, ZoneId};
use klar_engine::plan::{Plan, PlannedWindow, Target};
use klar_engine::reconcile::Desired;
use klar_engine::site::SiteConfig;
use serde::{Deserialize, Serialize};

use super::targets::{PatternKind, TargetFilter};

/// The kinds of target MQTT publishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Door,
    Zone,
    Output,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Door => "door",
            Kind::Zone => "zone",
            Kind::Output => "output",
        }
    }

    /// The state outside every window: the object follows its normal operation.
    pub fn normal_state(self) -> &'static str {
        match self {
            Kind::Door | Kind::Zone => "normal",
            Kind::Output => "off",
        }
    }

    fn pattern_kind(self) -> PatternKind {
        match self {
            Kind::Door => PatternKind::Door,
            Kind::Zone => PatternKind::Zone,
            Kind::Output => PatternKind::Output,
        }
    }
}

/// A door, zone or output as MQTT knows it (a door's levels are one topic).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MqttTarget {
    pub kind: Kind,
    pub id: String,
}

impl MqttTarget {
    pub fn door(id: &DoorId) -> Self {
        MqttTarget {
            kind: Kind::Door,
            id: id.0.clone(),
        }
    }
    pub fn zone(id: &ZoneId) -> Self {
        MqttTarget {
            kind: Kind::Zone,
            id: id.0.clone(),
        }
    }
    pub fn output(id: &OutputId) -> Self {
        MqttTarget {
            kind: Kind::Output,
            id: id.0.clone(),
        }
    }

    /// The MQTT target a plan target publishes to, if it is a door, zone or output; with the
    /// state its windows mean.
    pub fn of(target: &Target) -> Option<(MqttTarget, String)> {
        match target {
            Target::Door { door, level } => Some((MqttTarget::door(door), level.to_string())),
            Target::Zone { zone } => Some((MqttTarget::zone(zone), "disarmed".into())),
            Target::Output { output } => Some((MqttTarget::output(output), "on".into())),
            _ => None,
        }
    }

    /// `<prefix>/<kind>/<escaped id>/<leaf>`.
    pub fn topic(&self, prefix: &str, leaf: Leaf) -> String {
        format!(
            "{prefix}/{}/{}/{}",
            self.kind.as_str(),
            escape_id(&self.id),
            leaf.as_str()
        )
    }
}

impl fmt::Display for MqttTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind.as_str(), self.id)
    }
}

/// The last level of a target's topics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Leaf {
    State,
    Schedule,
}

impl Leaf {
    pub fn as_str(self) -> &'static str {
        match self {
            Leaf::State => "state",
            Leaf::Schedule => "schedule",
        }
    }
}

/// An id made safe as one topic level: `%`, `/`, `+`, `#`, control characters and a leading `$`
/// are percent-encoded (UTF-8 bytes, upper-case hex); everything else, æøå included, stays.
/// Injective, so two ids never share a topic.
pub fn escape_id(id: &str) -> String {
    if id.is_empty() {
        return "%".into(); // cannot come from escaping a non-empty id: '%' is always encoded
    }
    let mut out = String::with_capacity(id.len());
    for (i, c) in id.char_indices() {
        let encode = matches!(c, '%' | '/' | '+' | '#') || c.is_control() || (i == 0 && c == '$');
        if encode {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// A topic klar publishes: the key of one object klar owns on the broker.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MqttTopic(pub String);

impl fmt::Display for MqttTopic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A retained message's value, compared by meaning (a schedule is compared as data, not text).
#[derive(Debug, Clone, PartialEq)]
pub enum MqttPayload {
    /// `unlocked`, `card`, `card_pin`, `locked`, `normal`; `disarmed`; `on`, `off`.
    State(String),
    Schedule(ScheduleDoc),
    /// Something on a topic of klar's layout that klar did not write in this form.
    Unrecognised(String),
}

impl MqttPayload {
    /// The bytes published.
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            MqttPayload::State(s) | MqttPayload::Unrecognised(s) => s.as_bytes().to_vec(),
            MqttPayload::Schedule(doc) => {
                serde_json::to_vec(doc).expect("a schedule document always serializes")
            }
        }
    }

    /// Reads a retained message back, by the topic's leaf.
    pub fn parse(leaf: Leaf, bytes: &[u8]) -> MqttPayload {
        let text = String::from_utf8_lossy(bytes).into_owned();
        match leaf {
            Leaf::State => MqttPayload::State(text),
            Leaf::Schedule => match serde_json::from_slice(bytes) {
                Ok(doc) => MqttPayload::Schedule(doc),
                Err(_) => MqttPayload::Unrecognised(text),
            },
        }
    }
}

impl fmt::Display for MqttPayload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MqttPayload::State(s) => f.write_str(s),
            MqttPayload::Schedule(doc) => {
                let ws: Vec<String> = doc
                    .windows
                    .iter()
                    .map(|w| format!("{} {}", w.state, w.window()))
                    .collect();
                if ws.is_empty() {
                    f.write_str("no windows")
                } else {
                    f.write_str(&ws.join(", "))
                }
            }
            MqttPayload::Unrecognised(s) => write!(f, "unrecognised ({} bytes)", s.len()),
        }
    }
}

/// The retained JSON on `<prefix>/<kind>/<id>/schedule`: every planned window of the target,
/// so a device can enforce them itself while klar is away.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduleDoc {
    pub kind: Kind,
    pub id: String,
    /// The state outside every window.
    pub normal: String,
    /// The schedule is complete up to this instant (the plan's horizon); later windows are not
    /// known yet.
    #[serde(with = "rfc3339")]
    pub until: DateTime<Utc>,
    pub windows: Vec<ScheduleWindow>,
}

/// One window `[from, to)`: the state it means and the bookings it is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduleWindow {
    #[serde(with = "rfc3339")]
    pub from: DateTime<Utc>,
    #[serde(with = "rfc3339")]
    pub to: DateTime<Utc>,
    pub state: String,
    /// `"<source>:<booking id>"` of each booking behind the window; no titles, no persons.
    pub bookings: Vec<String>,
}

impl ScheduleWindow {
    fn window(&self) -> String {
        match Window::new(self.from, self.to) {
            Ok(w) => w.to_string(),
            Err(_) => format!("[{}, {})", self.from, self.to),
        }
    }
}

/// RFC 3339 in UTC with `Z`, to the second unless there is a fraction.
mod rfc3339 {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&t.to_rfc3339_opts(super::SecondsFormat::AutoSi, true))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let text = String::deserialize(d)?;
        DateTime::parse_from_rfc3339(&text)
            .map(|t| t.with_timezone(&Utc))
            .map_err(serde::de::Error::custom)
    }
}

/// The doors, zones and outputs of the site's rooms: they get topics even when no window is
/// planned, so a window that ends puts `off`/`normal` on the broker instead of nothing.
pub fn site_targets(site: &SiteConfig) -> BTreeSet<MqttTarget> {
    let mut out = BTreeSet::new();
    for room in site.rooms.values() {
        out.extend(room.doors.iter().map(MqttTarget::door));
        out.extend(room.alarm_zone.iter().map(MqttTarget::zone));
        out.extend(room.outputs.values().map(MqttTarget::output));
    }
    out
}

/// A target's windows with the state each means, sorted.
type Timeline<'p> = Vec<(Window, String, &'p PlannedWindow)>;

/// Everything the plan says about one target: its windows with their states, sorted.
fn schedules<'p>(
    plan: &'p Plan,
    known: &BTreeSet<MqttTarget>,
    filter: &TargetFilter,
) -> BTreeMap<MqttTarget, Timeline<'p>> {
    let owned = |t: &MqttTarget| filter.owns_id(t.kind.pattern_kind(), &t.id);
    let mut out: BTreeMap<MqttTarget, Vec<_>> = known
        .iter()
        .filter(|t| owned(t))
        .map(|t| (t.clone(), Vec::new()))
        .collect();
    for entry in &plan.entries {
        let Some((target, state)) = MqttTarget::of(&entry.target) else {
            continue;
        };
        if !owned(&target) {
            continue;
        }
        let list = out.entry(target).or_default();
        for w in &entry.windows {
            list.push((w.window, state.clone(), w));
        }
    }
    for list in out.values_mut() {
        list.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    }
    out
}

/// The state of a target at `at`: the state of the window holding `at`, or the normal state.
/// Where door levels overlap (the planner resolves them, so only in a hand-made plan) the more
/// secure level wins.
fn state_at(kind: Kind, windows: &Timeline<'_>, at: DateTime<Utc>) -> String {
    let active = windows.iter().filter(|(w, _, _)| w.contains(at));
    match kind {
        Kind::Door => active
            .filter_map(|(_, s, _)| klar_engine::model::DoorLevel::parse(s))
            .max()
            .map(|l| l.to_string()),
        Kind::Zone | Kind::Output => active.map(|(_, s, _)| s.clone()).next(),
    }
    .unwrap_or_else(|| kind.normal_state().to_owned())
}

/// The retained messages klar wants on the broker for `plan` at the instant `at`: a state and a
/// schedule topic for each door, zone and output that is `known` (from the site's rooms) or in
/// the plan, and owned by `filter`. Pure.
pub fn desired(
    plan: &Plan,
    at: DateTime<Utc>,
    known: &BTreeSet<MqttTarget>,
    filter: &TargetFilter,
    prefix: &str,
) -> Desired<MqttTopic, MqttPayload> {
    let mut desired = Desired::default();
    for (target, windows) in schedules(plan, known, filter) {
        let state = state_at(target.kind, &windows, at);
        let doc = ScheduleDoc {
            kind: target.kind,
            id: target.id.clone(),
            normal: target.kind.normal_state().to_owned(),
            until: plan.horizon.to,
            windows: windows
                .iter()
                .map(|(w, state, planned)| {
                    let mut bookings: Vec<String> = planned
                        .reasons
                        .iter()
                        .map(|r| format!("{}:{}", r.source, r.booking))
                        .collect();
                    bookings.sort();
                    bookings.dedup();
                    ScheduleWindow {
                        from: w.from,
                        to: w.to,
                        state: state.clone(),
                        bookings,
                    }
                })
                .collect(),
        };
        desired.objects.insert(
            MqttTopic(target.topic(prefix, Leaf::State)),
            MqttPayload::State(state),
        );
        desired.objects.insert(
            MqttTopic(target.topic(prefix, Leaf::Schedule)),
            MqttPayload::Schedule(doc),
        );
    }
    desired
}

/// The first instant strictly after `after` at which any state topic owned by `filter` changes:
/// the earliest window start or end. `None` when nothing changes any more within the plan.
pub fn next_edge(
    plan: &Plan,
    filter: &TargetFilter,
    after: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    plan.entries
        .iter()
        .filter(|e| MqttTarget::of(&e.target).is_some() && filter.owns(&e.target))
        .flat_map(|e| e.windows.iter())
        .flat_map(|w| [w.window.from, w.window.to])
        .filter(|t| *t > after)
        .min()
}

/// Whether a topic is one of klar's state or schedule topics under `prefix`, and which leaf.
pub fn parse_topic(prefix: &str, topic: &str) -> Option<Leaf> {
    let rest = topic.strip_prefix(prefix)?.strip_prefix('/')?;
    let mut levels = rest.split('/');
    let (kind, id, leaf) = (levels.next()?, levels.next()?, levels.next()?);
    if levels.next().is_some() || id.is_empty() || !matches!(kind, "door" | "zone" | "output") {
        return None;
    }
    match leaf {
        "state" => Some(Leaf::State),
        "schedule" => Some(Leaf::Schedule),
        _ => None,
    }
}
