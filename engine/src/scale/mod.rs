//! A deterministic municipality for benchmarks: buildings, rooms bound to controller objects,
//! and a week of bookings, all from one seed.
//!
//! [`generate`] builds a [`SiteConfig`] and its bookings the way a Danish municipality looks:
//! schools (classrooms and meeting rooms on the booking planner, the gym let to clubs through the
//! hall-booking system), sports halls, town halls full of meeting rooms, and culture houses.
//! Clubs book the same hall at the same time every day of the week (a season series), staff book
//! meeting rooms, a few bookings are cancelled or tentative, and the responsible persons come
//! from a fixed pool so one person holds many bookings. [`native`] is the anchor decision written
//! in plain Rust: the floor every rule runtime is measured against.
//!
//! The generator uses its own tiny PRNG (splitmix64), so the engine needs no `rand` and the
//! same seed gives the same municipality on every machine and release.

pub mod native;

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use chrono_tz::Tz;

use crate::model::{
    Booking, BookingId, BookingStatus, DoorId, GroupId, OutputId, Person, ResourceId, Secret,
    SourceName, ZoneId,
};
use crate::site::{
    Caps, PublicHolidays, Room, RulesConfig, Safety, Site, SiteConfig, SourceConfig,
};

/// The source holding meeting rooms and classrooms (a Pronestor Planner: one location per
/// building).
pub const PLANNER: &str = "planner";
/// The source holding halls and gyms (a WinKAS hall-booking system).
pub const HALLS: &str = "halls";

/// How big a municipality to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScaleSpec {
    pub seed: u64,
    pub buildings: usize,
    /// Bookable resources (rooms), spread evenly over the buildings.
    pub resources: usize,
    /// Bookings, spread evenly over the resources and the days.
    pub bookings: usize,
    /// The first local day of the bookings.
    pub first_day: NaiveDate,
    pub days: u32,
}

impl ScaleSpec {
    /// The municipality of issue 9: 200 buildings, 2,000 resources, 100,000 bookings over a
    /// week starting Monday 23 November 2026 (no public holiday in it).
    pub fn municipal(seed: u64) -> ScaleSpec {
        ScaleSpec {
            seed,
            buildings: 200,
            resources: 2_000,
            bookings: 100_000,
            first_day: NaiveDate::from_ymd_opt(2026, 11, 23).expect("a valid date"),
            days: 7,
        }
    }

    /// The same shape, `1/factor` of the size (at least one building, resource and booking).
    pub fn scaled_down(&self, factor: usize) -> ScaleSpec {
        let factor = factor.max(1);
        ScaleSpec {
            buildings: (self.buildings / factor).max(1),
            resources: (self.resources / factor).max(1),
            bookings: (self.bookings / factor).max(1),
            ..self.clone()
        }
    }

    /// The instant a plan of the whole week should be made at: local midnight before the first
    /// day.
    pub fn start(&self) -> DateTime<Utc> {
        local(self.time_zone(), self.first_day, 0, 0)
    }

    /// Hours from [`ScaleSpec::start`] that cover every booking and its margins.
    pub fn horizon_hours(&self) -> u32 {
        (self.days + 1) * 24
    }

    pub fn time_zone(&self) -> Tz {
        chrono_tz::Europe::Copenhagen
    }
}

/// What a building is; it decides the rooms it has and who books them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuildingKind {
    School,
    SportsHall,
    TownHall,
    CultureHouse,
}

impl BuildingKind {
    fn name(self) -> &'static str {
        match self {
            BuildingKind::School => "Skole",
            BuildingKind::SportsHall => "Idrætshal",
            BuildingKind::TownHall => "Rådhus",
            BuildingKind::CultureHouse => "Kulturhus",
        }
    }

    /// The kind of the building's `n`-th room.
    fn room(self, n: usize) -> RoomKind {
        use RoomKind::*;
        let pattern: &[RoomKind] = match self {
            BuildingKind::School => &[Gym, Classroom, Classroom, Meeting, Classroom, Hall],
            BuildingKind::SportsHall => &[Hall, Hall, Meeting, Hall],
            BuildingKind::TownHall => &[Meeting],
            BuildingKind::CultureHouse => &[Hall, Meeting, Meeting, Classroom],
        };
        pattern[n % pattern.len()]
    }
}

/// What a room is used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoomKind {
    Classroom,
    Meeting,
    /// A sports hall or assembly hall, let to clubs.
    Hall,
    /// A school's gym: classes by day, clubs in the evening.
    Gym,
}

impl RoomKind {
    fn tag(self) -> &'static str {
        match self {
            RoomKind::Classroom => "classroom",
            RoomKind::Meeting => "meeting-room",
            RoomKind::Hall => "hall",
            RoomKind::Gym => "gym",
        }
    }
    fn source(self) -> &'static str {
        match self {
            RoomKind::Classroom | RoomKind::Meeting => PLANNER,
            RoomKind::Hall | RoomKind::Gym => HALLS,
        }
    }
    fn let_to_clubs(self) -> bool {
        matches!(self, RoomKind::Hall | RoomKind::Gym)
    }
}

/// A generated municipality: the site config (rooms bound to doors, zones, outputs and groups)
/// and a week of bookings, in a stable order.
#[derive(Debug, Clone)]
pub struct ScaleSite {
    pub spec: ScaleSpec,
    pub site: SiteConfig,
    pub bookings: Vec<Booking>,
    /// Each room's kind, by room key, for statistics and benchmarks that pick rooms.
    pub room_kinds: BTreeMap<String, RoomKind>,
    /// Each building's kind and its Pronestor location id (the building's number).
    pub buildings: Vec<BuildingKind>,
}

impl ScaleSite {
    /// The distinct locations (buildings) that hold resources of `source`.
    pub fn locations(&self, source: &str) -> Vec<String> {
        let mut out: Vec<String> = self
            .bookings
            .iter()
            .filter(|b| b.source.as_str() == source)
            .filter_map(|b| b.location.clone())
            .collect();
        out.sort();
        out.dedup();
        out
    }
}

/// The splitmix64 generator: tiny, fast, and good enough to spread test data.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// True `percent` times in a hundred.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// The pool of people who book: club contacts (member numbers, PINs) and staff (e-mail, PIN
/// for about half).
struct People {
    clubs: Vec<Person>,
    staff: Vec<Person>,
}

const FIRST: &[&str] = &[
    "Mette", "Lars", "Anne", "Jens", "Sofie", "Peter", "Ida", "Mads", "Karen", "Søren", "Freja",
    "Henrik",
];
const LAST: &[&str] = &[
    "Hansen",
    "Jensen",
    "Nielsen",
    "Pedersen",
    "Andersen",
    "Christensen",
    "Larsen",
    "Sørensen",
    "Rasmussen",
    "Jørgensen",
];
const ACTIVITIES: &[&str] = &[
    "Håndbold U12",
    "Badminton",
    "Volleyball senior",
    "Gymnastik",
    "Futsal",
    "Yoga",
    "Basketball U16",
    "Floorball",
    "Kor",
    "Dans",
];
const MEETINGS: &[&str] = &[
    "Teammøde",
    "Budgetmøde",
    "MED-udvalg",
    "Forældremøde",
    "Byggeudvalg",
    "Introduktion",
    "Styregruppe",
];

impl People {
    fn new(rng: &mut SplitMix64, clubs: usize, staff: usize) -> People {
        let name = |rng: &mut SplitMix64| {
            format!(
                "{} {}",
                FIRST[rng.below(FIRST.len() as u64) as usize],
                LAST[rng.below(LAST.len() as u64) as usize]
            )
        };
        let clubs = (0..clubs)
            .map(|i| Person {
                name: name(rng),
                member_no: Some(format!("{}", 1000 + i)),
                phone: Some(format!("+45 {:08}", 20_000_000 + rng.below(9_999_999))),
                pin: Some(Secret::new(format!("{:04}", rng.below(10_000)))),
                ..Person::default()
            })
            .collect();
        let staff = (0..staff)
            .map(|i| {
                let name = name(rng);
                Person {
                    email: Some(format!("medarbejder{i}@kommune.dk")),
                    pin: rng
                        .chance(50)
                        .then(|| Secret::new(format!("{:04}", rng.below(10_000)))),
                    name,
                    ..Person::default()
                }
            })
            .collect();
        People { clubs, staff }
    }
}

/// Generates the municipality `spec` describes. Deterministic: the same spec gives the same
/// site and the same bookings, in the same order.
pub fn generate(spec: &ScaleSpec) -> ScaleSite {
    let mut rng = SplitMix64::new(spec.seed);
    let tz = spec.time_zone();
    let buildings: Vec<BuildingKind> = (0..spec.buildings.max(1))
        .map(|b| match rng.below(10) {
            // The first building of each kind is guaranteed, so small specs have every kind.
            _ if b < 4 => [
                BuildingKind::School,
                BuildingKind::SportsHall,
                BuildingKind::TownHall,
                BuildingKind::CultureHouse,
            ][b],
            0..=3 => BuildingKind::School,
            4..=5 => BuildingKind::SportsHall,
            6..=7 => BuildingKind::TownHall,
            _ => BuildingKind::CultureHouse,
        })
        .collect();
    let people = People::new(
        &mut rng,
        (spec.resources / 2).max(1),
        (spec.resources * 2).max(1),
    );

    // Rooms: resource `r` is in building `r % buildings`, so every building gets its share.
    struct Resource {
        source: &'static str,
        id: String,
        name: String,
        building: usize,
        kind: RoomKind,
    }
    let mut per_building = vec![0usize; buildings.len()];
    let mut resources = Vec::with_capacity(spec.resources);
    let mut rooms = BTreeMap::new();
    let mut room_kinds = BTreeMap::new();
    for r in 0..spec.resources.max(1) {
        let b = r % buildings.len();
        let n = per_building[b];
        per_building[b] += 1;
        let kind = buildings[b].room(n);
        let source = kind.source();
        let id = format!("{}", (b + 1) * 100 + n + 1);
        let key = format!("{source}:{id}");
        let name = format!("{} {} rum {}", buildings[b].name(), b + 1, n + 1);
        let mut doors = vec![DoorId::new(format!("D-{:03}-{:02}", b + 1, n + 1))];
        // Halls and gyms are reached through the building's main entrance, as are some
        // meeting rooms: shared doors make windows merge and levels meet.
        if kind.let_to_clubs() || rng.chance(30) {
            doors.push(DoorId::new(format!("D-{:03}-MAIN", b + 1)));
        }
        let mut outputs = BTreeMap::new();
        outputs.insert(
            "lights".to_owned(),
            OutputId::new(format!("K-{:03}-{:02}-LYS", b + 1, n + 1)),
        );
        if kind.let_to_clubs() {
            outputs.insert(
                "ventilation".to_owned(),
                OutputId::new(format!("K-{:03}-{:02}-VENT", b + 1, n + 1)),
            );
        }
        let group = match kind {
            RoomKind::Hall | RoomKind::Gym => "HAL",
            RoomKind::Meeting => "MØDE",
            RoomKind::Classroom => "UNDERVISNING",
        };
        let room = Room {
            key: key.clone(),
            name: name.clone(),
            doors,
            alarm_zone: Some(ZoneId::new(format!("Z-{:03}", b + 1))),
            outputs,
            person_groups: vec![GroupId::new(format!("G-{:03}-{group}", b + 1))],
            shared_exceptions: vec![(b as u32 + 1) * 100 + n as u32 + 1],
            tags: vec![kind.tag().to_owned(), buildings[b].name().to_lowercase()],
            packs: None,
        };
        rooms.insert(key.clone(), room);
        room_kinds.insert(key, kind);
        resources.push(Resource {
            source,
            id,
            name,
            building: b,
            kind,
        });
    }

    // Bookings: resource `r` gets its share, day by day, in two-hour slots from 07:00.
    let per_resource = spec.bookings / resources.len();
    let extra = spec.bookings % resources.len();
    let mut bookings = Vec::with_capacity(spec.bookings);
    for (r, res) in resources.iter().enumerate() {
        let count = per_resource + usize::from(r < extra);
        for k in 0..count {
            let day = (k % spec.days as usize) as u32;
            let slot = (k / spec.days as usize) % 8;
            let date = spec.first_day + Duration::days(i64::from(day));
            let weekday =
                (day + chrono::Datelike::weekday(&spec.first_day).num_days_from_monday()) % 7;
            let school_hours = weekday < 5 && slot < 4;
            let series = res.kind.let_to_clubs() && !(res.kind == RoomKind::Gym && school_hours);
            let jitter = if series { 0 } else { rng.below(4) as u32 * 10 };
            let start = local(tz, date, 7 + 2 * slot as u32, jitter);
            let minutes = if series {
                90
            } else {
                30 + 15 * rng.below(6) as i64
            };
            let end = start + Duration::minutes(minutes);
            let (title, responsible, mut tags, attrs) = if series {
                // One club holds this slot all week: the same person, the same title.
                let club = (r * 8 + slot) % people.clubs.len();
                let mut attrs = BTreeMap::new();
                attrs.insert("winkas.booking_type".to_owned(), "Sæson".to_owned());
                attrs.insert("winkas.series".to_owned(), format!("{r}-{slot}"));
                (
                    ACTIVITIES[club % ACTIVITIES.len()].to_owned(),
                    Some(people.clubs[club].clone()),
                    vec!["club".to_owned()],
                    attrs,
                )
            } else if res.kind == RoomKind::Gym || res.kind == RoomKind::Classroom && school_hours {
                (
                    format!(
                        "Undervisning {}.{}",
                        1 + rng.below(9),
                        ["a", "b", "c"][rng.below(3) as usize]
                    ),
                    None,
                    vec!["school".to_owned()],
                    BTreeMap::new(),
                )
            } else {
                let who = rng.below(people.staff.len() as u64) as usize;
                (
                    MEETINGS[rng.below(MEETINGS.len() as u64) as usize].to_owned(),
                    Some(people.staff[who].clone()),
                    vec!["meeting".to_owned()],
                    BTreeMap::new(),
                )
            };
            if rng.chance(2) {
                tags.push("åbent-hus".to_owned());
            }
            let status = match rng.below(100) {
                0..=1 => BookingStatus::Cancelled,
                2..=4 => BookingStatus::Tentative,
                _ => BookingStatus::Confirmed,
            };
            let (setup, teardown) = if res.source == PLANNER && rng.chance(20) {
                (15, 15)
            } else {
                (0, 0)
            };
            bookings.push(Booking {
                id: BookingId::new(format!("{}", (r as u64 + 1) * 1000 + k as u64)),
                source: SourceName::new(res.source),
                resource: ResourceId::new(res.id.clone()),
                resource_name: Some(res.name.clone()),
                location: Some(format!("{}", res.building + 1)),
                title,
                start,
                end,
                setup_minutes: setup,
                teardown_minutes: teardown,
                status,
                responsible,
                attendees: Vec::new(),
                tags,
                attrs,
            });
        }
    }

    let site = SiteConfig {
        site: Site {
            name: format!("Kommune {} (seed {})", spec.buildings, spec.seed),
            id: None,
            time_zone: tz,
            horizon_hours: spec.horizon_hours(),
            public_holidays: PublicHolidays::Dk,
            holiday_periods: Vec::new(),
            caps: Caps {
                max_window_hours: Some(14),
                earliest_local: NaiveTime::from_hms_opt(5, 0, 0),
            },
            safety: Safety::default(),
            write_holidays: true,
        },
        rules: RulesConfig::default(),
        sources: vec![
            source_config(PLANNER, "pronestor"),
            source_config(HALLS, "winkas"),
        ],
        rooms,
        controller: toml::Table::new(),
        mqtt: toml::Table::new(),
        web: toml::Table::new(),
        store: toml::Table::new(),
        daemon: toml::Table::new(),
        base_dir: PathBuf::new(),
    };
    ScaleSite {
        spec: spec.clone(),
        site,
        bookings,
        room_kinds,
        buildings,
    }
}

/// The bookings a poll might return after `percent` of them changed: of every hundred, the
/// first `percent` move half an hour later, and every fifth changed booking is cancelled
/// instead. Deterministic, in the same order, with the same ids.
pub fn changed(bookings: &[Booking], percent: usize) -> Vec<Booking> {
    let mut out = bookings.to_vec();
    let mut n = 0usize;
    for (i, b) in out.iter_mut().enumerate() {
        if i % 100 >= percent {
            continue;
        }
        if n % 5 == 4 && !b.is_cancelled() {
            b.status = BookingStatus::Cancelled;
        } else {
            b.start += Duration::minutes(30);
            b.end += Duration::minutes(30);
        }
        n += 1;
    }
    out
}

fn source_config(name: &str, kind: &str) -> SourceConfig {
    SourceConfig {
        name: name.to_owned(),
        kind: kind.to_owned(),
        settings: toml::Table::new(),
    }
}

/// A local wall-clock time on `date` as a UTC instant, by the site's one DST policy.
fn local(tz: Tz, date: NaiveDate, hour: u32, minute: u32) -> DateTime<Utc> {
    let naive = date
        .and_hms_opt(hour.min(23), minute.min(59), 0)
        .expect("hour and minute are clamped");
    crate::site::local_time::instant_at_local(tz, naive).expect("a generated date is mid-calendar")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_municipal_spec_has_the_promised_size_and_every_booking_is_bound_and_valid() {
        let s = generate(&ScaleSpec::municipal(7));
        assert_eq!(s.site.rooms.len(), 2_000);
        assert_eq!(s.bookings.len(), 100_000);
        assert_eq!(s.buildings.len(), 200);
        s.site.validate().unwrap();
        let mut ids = std::collections::BTreeSet::new();
        let end = s.spec.start() + Duration::hours(i64::from(s.spec.horizon_hours()));
        for b in &s.bookings {
            b.validate().unwrap();
            assert!(
                s.site
                    .rooms
                    .contains_key(&crate::model::room_key(&b.source, &b.resource))
            );
            assert!(
                ids.insert((b.source.clone(), b.id.clone())),
                "duplicate id {}",
                b.id
            );
            assert!(b.start >= s.spec.start() && b.end <= end);
        }
        let cancelled = s.bookings.iter().filter(|b| b.is_cancelled()).count();
        assert!((1_000..3_000).contains(&cancelled), "{cancelled} cancelled");
        let series = s.bookings.iter().filter(|b| b.has_tag("club")).count();
        assert!(series > 20_000, "{series} club bookings");
        let persons: std::collections::BTreeSet<_> = s
            .bookings
            .iter()
            .filter_map(|b| b.responsible.as_ref().and_then(Person::key))
            .collect();
        assert!(
            persons.len() > 1_000 && persons.len() < 10_000,
            "{} persons",
            persons.len()
        );
        assert!(s.locations(PLANNER).len() + s.locations(HALLS).len() > 200);
    }

    #[test]
    fn the_same_seed_gives_the_same_site_and_another_seed_does_not() {
        let spec = ScaleSpec::municipal(1).scaled_down(50);
        let a = generate(&spec);
        let b = generate(&spec);
        assert_eq!(a.bookings, b.bookings);
        assert_eq!(a.site.rooms, b.site.rooms);
        let c = generate(&ScaleSpec { seed: 2, ..spec });
        assert_ne!(a.bookings, c.bookings);
    }

    #[test]
    fn changed_touches_the_given_share_of_bookings() {
        let s = generate(&ScaleSpec::municipal(1).scaled_down(20));
        let after = changed(&s.bookings, 1);
        let differ = s
            .bookings
            .iter()
            .zip(&after)
            .filter(|(a, b)| a != b)
            .count();
        assert_eq!(differ, s.bookings.len().div_ceil(100));
        assert!(after.iter().zip(&s.bookings).all(|(a, b)| a.id == b.id));
        assert_eq!(changed(&s.bookings, 0), s.bookings);
    }

    #[test]
    fn a_club_series_keeps_its_person_and_time_over_the_week() {
        let s = generate(&ScaleSpec::municipal(3).scaled_down(20));
        let mut series: BTreeMap<&str, Vec<&Booking>> = BTreeMap::new();
        for b in &s.bookings {
            if let Some(id) = b.attrs.get("winkas.series") {
                series.entry(id).or_default().push(b);
            }
        }
        assert!(!series.is_empty());
        for list in series.values() {
            let key = list[0].responsible.as_ref().and_then(Person::key);
            assert!(key.is_some());
            for b in list {
                assert_eq!(b.responsible.as_ref().and_then(Person::key), key);
                assert_eq!(b.title, list[0].title);
                assert_eq!(b.end - b.start, Duration::minutes(90));
            }
        }
    }
}
