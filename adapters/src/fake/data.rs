//! Realistic generated booking data around "now": Danish schools, halls and clubs, their rooms,
//! and responsible persons with member numbers. Deterministic from a seed.

use chrono::{DateTime, Duration, NaiveTime, Utc};
use chrono_tz::Europe::Copenhagen;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};

use crate::sources::time::local_to_utc;

/// A building or site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeLocation {
    pub id: u64,
    pub name: String,
    pub address: String,
    /// The Windows zone name Pronestor would show.
    pub time_zone: String,
}

/// A bookable resource. `is_room` is false for catering and equipment (Pronestor has those).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeResource {
    pub id: u64,
    pub name: String,
    pub location_id: u64,
    pub capacity: u32,
    pub is_room: bool,
    pub preparation_minutes: u32,
    pub follow_up_minutes: u32,
    pub deleted: bool,
}

/// A responsible person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakePerson {
    pub id: u64,
    pub first_name: String,
    pub last_name: String,
    pub email: Option<String>,
    pub mobile: Option<String>,
    pub member_no: Option<String>,
}

/// A booking (a Pronestor meeting with one room, or a WinKAS calendar entry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeBooking {
    pub id: u64,
    pub resource_id: u64,
    pub title: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub owner: Option<FakePerson>,
    /// Catering or equipment booked with the room (Pronestor).
    pub extras: Vec<u64>,
    pub deleted: bool,
    pub awaiting_approval: bool,
    /// The meeting lost its rooms (Pronestor "empty meeting").
    pub rooms_removed: bool,
    /// WinKAS: Enkel, Sæson or Seriel.
    pub booking_type: String,
}

/// Everything a fake serves.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FakeData {
    pub locations: Vec<FakeLocation>,
    pub resources: Vec<FakeResource>,
    pub bookings: Vec<FakeBooking>,
    next_id: u64,
}

const FIRST: &[&str] = &[
    "Mette", "Lars", "Anne", "Søren", "Camilla", "Henrik", "Louise", "Jens", "Signe", "Mads",
    "Ida", "Rasmus", "Birgitte", "Thomas", "Maja", "Jørgen",
];
const LAST: &[&str] = &[
    "Hansen",
    "Nielsen",
    "Jensen",
    "Pedersen",
    "Andersen",
    "Christensen",
    "Larsen",
    "Sørensen",
    "Rasmussen",
    "Jørgensen",
    "Madsen",
    "Kristensen",
    "Østergaard",
    "Møller",
];
const SCHOOL_TITLES: &[&str] = &[
    "Forældremøde 3.B",
    "Lærermøde",
    "Bestyrelsesmøde",
    "Skolebestyrelsen",
    "Elevrådsmøde",
    "Teammøde indskoling",
    "MUS-samtaler",
    "Pædagogisk råd",
];
const CLUB_TITLES: &[&str] = &[
    "Håndbold U12",
    "Badminton motion",
    "Floorball senior",
    "Yoga for seniorer",
    "Volleyball",
    "Gymnastik forældre/barn",
    "Futsal U15",
    "Kor-prøve",
    "Skakklubben",
    "Generalforsamling",
    "Fodbold U10 indendørs",
];

impl FakeData {
    /// Pronestor-flavoured: a school and a town hall, meeting rooms, catering and equipment.
    pub fn pronestor(seed: u64, now: DateTime<Utc>) -> FakeData {
        let mut data = FakeData {
            next_id: 5000,
            ..FakeData::default()
        };
        data.locations = vec![
            loc(1, "Nørrebro Skole", "Mimersgade 44, 2200 København N"),
            loc(2, "Rådhuset", "Rådhuspladsen 1, 1550 København V"),
        ];
        let rooms = [
            (101, "Mødelokale 1", 1, 8, 15, 15),
            (102, "Mødelokale 2 (Kantinen)", 1, 12, 0, 15),
            (103, "Festsalen", 1, 120, 30, 30),
            (104, "Lærerværelset", 1, 30, 0, 0),
            (201, "Bestyrelseslokalet", 2, 16, 15, 0),
            (202, "Byrådssalen", 2, 60, 30, 15),
        ];
        for (id, name, location_id, capacity, prep, follow) in rooms {
            data.resources.push(FakeResource {
                id,
                name: name.into(),
                location_id,
                capacity,
                is_room: true,
                preparation_minutes: prep,
                follow_up_minutes: follow,
                deleted: false,
            });
        }
        for (id, name, location_id) in [
            (901, "Kaffe og te", 1),
            (902, "Projektor", 1),
            (903, "Frokostbuffet", 2),
        ] {
            data.resources.push(FakeResource {
                id,
                name: name.into(),
                location_id,
                capacity: 0,
                is_room: false,
                preparation_minutes: 0,
                follow_up_minutes: 0,
                deleted: false,
            });
        }
        data.generate(seed, now, SCHOOL_TITLES, &["Møde"]);
        data
    }

    /// WinKAS-flavoured: halls and club rooms of an association, season and single bookings.
    pub fn winkas(seed: u64, now: DateTime<Utc>) -> FakeData {
        let mut data = FakeData {
            next_id: 70_000,
            ..FakeData::default()
        };
        data.locations = vec![
            loc(10, "Nørrebrohallen", "Nørrebrogade 208, 2200 København N"),
            loc(11, "Amager Klubhus", "Englandsvej 61, 2300 København S"),
        ];
        for (id, name, location_id, capacity) in [
            (1, "Hal 1", 10, 200),
            (2, "Hal 2", 10, 120),
            (3, "Gymnastiksal A", 10, 40),
            (4, "Springsal", 10, 40),
            (5, "Klublokale", 11, 25),
            (6, "Multisal", 11, 60),
        ] {
            data.resources.push(FakeResource {
                id,
                name: name.into(),
                location_id,
                capacity,
                is_room: true,
                preparation_minutes: 0,
                follow_up_minutes: 0,
                deleted: false,
            });
        }
        data.generate(seed, now, CLUB_TITLES, &["Sæson", "Enkel", "Seriel"]);
        data
    }

    /// A municipality's worth of data for load tests and `klar bench`: `locations` buildings
    /// (ids from 1), `resources` rooms spread evenly over them (ids from 1), and `bookings`
    /// bookings spread evenly over the rooms and the week that starts at the local midnight
    /// before `now` (07:00 to 21:00, 90 minutes each, an owner with a member number for most).
    /// Deterministic from `seed`; the same shape serves either fake.
    pub fn municipal(
        seed: u64,
        now: DateTime<Utc>,
        locations: usize,
        resources: usize,
        bookings: usize,
    ) -> FakeData {
        let mut rng = StdRng::seed_from_u64(seed);
        let locations = locations.max(1);
        let mut data = FakeData {
            next_id: 1_000_000,
            ..FakeData::default()
        };
        data.locations = (1..=locations as u64)
            .map(|id| FakeLocation {
                id,
                name: format!("Bygning {id}"),
                address: format!("Kommunevej {id}, 8000 Aarhus C"),
                time_zone: "Romance Standard Time".into(),
            })
            .collect();
        data.resources = (0..resources as u64)
            .map(|i| FakeResource {
                id: i + 1,
                name: format!("Lokale {}", i + 1),
                location_id: i % locations as u64 + 1,
                capacity: 10 + (i % 10) as u32 * 10,
                is_room: true,
                preparation_minutes: 0,
                follow_up_minutes: 0,
                deleted: false,
            })
            .collect();
        let people: Vec<FakePerson> = (0..200).map(|i| person(&mut rng, i)).collect();
        let first_day = now.with_timezone(&Copenhagen).date_naive();
        let rooms = resources.max(1);
        data.bookings.reserve(bookings);
        for n in 0..bookings {
            // Room by room, then day by day, then slot by slot through the day.
            let room = n % rooms;
            let k = n / rooms;
            let day = (k % 7) as i64;
            let slot = (k / 7) % 7;
            let minute = (k / 49 % 6) as u32 * 10;
            let start_local = (first_day + Duration::days(day)).and_time(
                NaiveTime::from_hms_opt(7 + 2 * slot as u32, minute, 0).expect("hour < 24"),
            );
            let start = local_to_utc(start_local, Copenhagen);
            let owner = (rng.random_range(0..10) != 0)
                .then(|| people.choose(&mut rng).cloned())
                .flatten();
            data.next_id += 1;
            data.bookings.push(FakeBooking {
                id: data.next_id,
                resource_id: room as u64 + 1,
                title: CLUB_TITLES.choose(&mut rng).expect("non-empty").to_string(),
                start,
                end: start + Duration::minutes(90),
                owner,
                extras: Vec::new(),
                deleted: false,
                awaiting_approval: false,
                rooms_removed: false,
                booking_type: if slot >= 5 { "Sæson" } else { "Enkel" }.into(),
            });
        }
        data
    }

    fn generate(&mut self, seed: u64, now: DateTime<Utc>, titles: &[&str], kinds: &[&str]) {
        let mut rng = StdRng::seed_from_u64(seed);
        let today = now.with_timezone(&Copenhagen).date_naive();
        let rooms: Vec<u64> = self
            .resources
            .iter()
            .filter(|r| r.is_room)
            .map(|r| r.id)
            .collect();
        let extras: Vec<u64> = self
            .resources
            .iter()
            .filter(|r| !r.is_room)
            .map(|r| r.id)
            .collect();
        let people: Vec<FakePerson> = (0..10).map(|i| person(&mut rng, i)).collect();
        for day in -1..=2i64 {
            let date = today + Duration::days(day);
            for &room in &rooms {
                // Bookings do not overlap within a room: walk the day forward.
                let mut hour = 7 + rng.random_range(0..3u32);
                let count = rng.random_range(1..=3);
                for _ in 0..count {
                    let minute = *[0u32, 15, 30, 45].choose(&mut rng).expect("non-empty");
                    let length = rng.random_range(2..=8u32) * 15;
                    let start_local =
                        date.and_time(NaiveTime::from_hms_opt(hour, minute, 0).expect("hour < 24"));
                    let start = local_to_utc(start_local, Copenhagen);
                    let end = start + Duration::minutes(i64::from(length));
                    let owner = if rng.random_range(0..8) == 0 {
                        None
                    } else {
                        people.choose(&mut rng).cloned()
                    };
                    let mut extra = Vec::new();
                    if !extras.is_empty() && rng.random_bool(0.3) {
                        extra.push(*extras.choose(&mut rng).expect("non-empty"));
                    }
                    let b = FakeBooking {
                        id: 0,
                        resource_id: room,
                        title: titles.choose(&mut rng).expect("non-empty").to_string(),
                        start,
                        end,
                        owner,
                        extras: extra,
                        deleted: false,
                        awaiting_approval: rng.random_range(0..10) == 0,
                        rooms_removed: false,
                        booking_type: kinds.choose(&mut rng).expect("non-empty").to_string(),
                    };
                    self.add(b);
                    hour += 2 + length / 60 + rng.random_range(0..3u32);
                    if hour >= 21 {
                        break;
                    }
                }
            }
        }
    }

    /// Adds a booking, giving it the next id when its id is 0. Returns the id.
    pub fn add(&mut self, mut booking: FakeBooking) -> u64 {
        if booking.id == 0 {
            self.next_id += 1;
            booking.id = self.next_id;
        }
        let id = booking.id;
        self.bookings.retain(|b| b.id != id);
        self.bookings.push(booking);
        id
    }

    pub fn booking_mut(&mut self, id: u64) -> Option<&mut FakeBooking> {
        self.bookings.iter_mut().find(|b| b.id == id)
    }

    pub fn resource(&self, id: u64) -> Option<&FakeResource> {
        self.resources.iter().find(|r| r.id == id)
    }

    pub fn location(&self, id: u64) -> Option<&FakeLocation> {
        self.locations.iter().find(|l| l.id == id)
    }

    /// A booking for tests: `resource`, `[start, end)`, a title, an owner with a member number.
    pub fn booking(
        resource_id: u64,
        title: &str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> FakeBooking {
        FakeBooking {
            id: 0,
            resource_id,
            title: title.into(),
            start,
            end,
            owner: Some(FakePerson {
                id: 77,
                first_name: "Mette".into(),
                last_name: "Hansen".into(),
                email: Some("mette.hansen@example.dk".into()),
                mobile: Some("+45 20 30 40 50".into()),
                member_no: Some("1042".into()),
            }),
            extras: Vec::new(),
            deleted: false,
            awaiting_approval: false,
            rooms_removed: false,
            booking_type: "Enkel".into(),
        }
    }
}

fn loc(id: u64, name: &str, address: &str) -> FakeLocation {
    FakeLocation {
        id,
        name: name.into(),
        address: address.into(),
        time_zone: "Romance Standard Time".into(),
    }
}

fn person(rng: &mut StdRng, i: u64) -> FakePerson {
    let first = *FIRST.choose(rng).expect("non-empty");
    let last = *LAST.choose(rng).expect("non-empty");
    let mail_name = |s: &str| {
        s.to_lowercase()
            .replace('ø', "oe")
            .replace('å', "aa")
            .replace('æ', "ae")
    };
    FakePerson {
        id: 100 + i,
        first_name: first.into(),
        last_name: last.into(),
        email: rng
            .random_bool(0.8)
            .then(|| format!("{}.{}@example.dk", mail_name(first), mail_name(last))),
        mobile: rng
            .random_bool(0.7)
            .then(|| format!("+45 {}", rng.random_range(20_000_000..=29_999_999u32))),
        member_no: rng
            .random_bool(0.8)
            .then(|| rng.random_range(1000..=9999u32).to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_data_and_bookings_around_now() {
        let now = DateTime::parse_from_rfc3339("2026-11-23T09:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let a = FakeData::winkas(7, now);
        assert_eq!(a, FakeData::winkas(7, now));
        assert_ne!(a.bookings, FakeData::winkas(8, now).bookings);
        assert!(a.bookings.len() >= 24);
        assert!(
            a.bookings
                .iter()
                .all(|b| b.start < b.end && (b.start - now).num_hours().abs() <= 72)
        );
        assert!(a.bookings.iter().any(|b| b.owner.is_none()));
    }

    #[test]
    fn a_municipality_has_the_asked_size_spread_over_its_locations() {
        let now = DateTime::parse_from_rfc3339("2026-11-23T06:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let d = FakeData::municipal(3, now, 20, 200, 5_000);
        assert_eq!(
            (d.locations.len(), d.resources.len(), d.bookings.len()),
            (20, 200, 5_000)
        );
        assert_eq!(d, FakeData::municipal(3, now, 20, 200, 5_000));
        for l in &d.locations {
            assert_eq!(
                d.resources.iter().filter(|r| r.location_id == l.id).count(),
                10
            );
        }
        let ids: std::collections::BTreeSet<u64> = d.bookings.iter().map(|b| b.id).collect();
        assert_eq!(ids.len(), d.bookings.len());
        assert!(
            d.bookings
                .iter()
                .all(|b| b.start >= now - Duration::hours(1)
                    && b.end <= now + Duration::days(7)
                    && d.resource(b.resource_id).is_some())
        );
    }
}
