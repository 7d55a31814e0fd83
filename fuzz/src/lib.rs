//! What the fuzz targets run: each function feeds one input to one of klar's parsers, the way
//! the product does, and checks what the parser promises (no panic; where it says so, no
//! booking that ends before it starts, no plan window past the horizon).
//!
//! Kept in a library so that a crash found by `scripts/fuzz` replays with
//! `cargo fuzz run <target> <file>` and reads as ordinary Rust.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use chrono::{DateTime, Datelike, Duration, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use klar_adapters::sources::ical::{Target, expand};
use klar_adapters::sources::local::{LocalCalendar, bookings as local_bookings};
use klar_adapters::sources::pronestor::wire::list;
use klar_adapters::sources::pronestor::{
    Location, PronestorConfig, Room, meeting_bookings, parse_locations, parse_rooms,
};
use klar_adapters::sources::time::{parse_datetime, parse_time_zone, windows_time_zone};
use klar_adapters::sources::winkas::{Envelope, parse_events, parse_resources};
use klar_engine::model::{Booking, SourceName, Window};
use klar_engine::plan::{PlanInput, plan};
use klar_engine::rules::RuleRuntime;
use klar_engine::rules::pack::{LoadOptions, load};
use klar_engine::site::SiteConfig;
use serde_json::Value;

/// Zones a fuzz input picks from with its first byte: DST in both directions, no DST, and a
/// half-hour offset.
const ZONES: [Tz; 5] = [
    chrono_tz::Europe::Copenhagen,
    chrono_tz::UTC,
    chrono_tz::America::New_York,
    chrono_tz::Australia::Adelaide,
    chrono_tz::Asia::Kolkata,
];

/// The instant every target plans and polls around: the examples' Monday morning.
pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 6, 0, 0)
        .single()
        .expect("a valid instant")
}

fn window() -> Window {
    Window::new(now() - Duration::days(1), now() + Duration::days(14)).expect("a valid window")
}

fn split_zone(data: &[u8]) -> Option<(Tz, &str)> {
    let (&zone, rest) = data.split_first()?;
    let text = std::str::from_utf8(rest).ok()?;
    Some((ZONES[usize::from(zone) % ZONES.len()], text))
}

fn assert_bookings_end(bookings: &[Booking], what: &str) {
    for b in bookings {
        assert!(
            b.start < b.end,
            "{what} gave booking {} ending before it starts",
            b.id
        );
    }
}

/// The vendor date parser and the time-zone names.
pub fn dates(data: &[u8]) {
    let Some((tz, text)) = split_zone(data) else {
        return;
    };
    // (A leap second, `:60`, is kept by chrono as an extra second's nanoseconds, which RFC 3339
    // writes differently; only ordinary instants must read back.)
    if let Ok(t) = parse_datetime(text, tz)
        && (1..=9999).contains(&t.year())
        && t.nanosecond() < 1_000_000_000
    {
        // An instant the parser read, written back in RFC 3339, reads as itself.
        let again = parse_datetime(&t.to_rfc3339(), tz);
        assert_eq!(
            again,
            Ok(t),
            "{text:?} read as {t}, which does not read back"
        );
    }
    let _ = parse_time_zone(text);
    let _ = windows_time_zone(text);
}

fn pronestor_config() -> &'static PronestorConfig {
    static CONFIG: OnceLock<PronestorConfig> = OnceLock::new();
    CONFIG.get_or_init(|| {
        let table: toml::Table = toml::from_str(
            "url = \"https://skole.pronestor.com\"\nusername = \"u\"\npassword_env = \"P\"\n",
        )
        .expect("a valid settings table");
        PronestorConfig::parse(&table).expect("valid Pronestor settings")
    })
}

/// Pronestor's three answers: locations, resources, meetings (one booking per room).
pub fn pronestor(data: &[u8]) {
    let Some((tz, _)) = split_zone(data) else {
        return;
    };
    let Ok(body) = serde_json::from_slice::<Value>(&data[1..]) else {
        return;
    };
    let _ = parse_locations("GetLocations", &body);
    let rooms =
        parse_rooms(pronestor_config(), "GetResourcesByLocation", &body).unwrap_or_default();
    let mut by_id: std::collections::BTreeMap<String, Room> =
        rooms.into_iter().map(|r| (r.id.clone(), r)).collect();
    for (id, zone) in [("101", None), ("102", Some(chrono_tz::UTC)), ("200", None)] {
        by_id.entry(id.to_owned()).or_insert(Room {
            id: id.to_owned(),
            name: format!("Room {id}"),
            is_room: true,
            capacity: None,
            kind: None,
            time_zone: zone,
            preparation_minutes: 15,
            follow_up_minutes: 0,
        });
    }
    let location = Location {
        id: "1".into(),
        name: "Skolen".into(),
        time_zone: Some(tz),
    };
    let source = SourceName::new("planner");
    for meeting in list(&body).into_iter().flatten() {
        if let Ok((_, bookings)) = meeting_bookings(&source, meeting, &by_id, &location, tz) {
            assert_bookings_end(&bookings, "a Pronestor meeting");
        }
    }
}

/// WinKAS: the envelope, the resources and the calendar entries of one answer.
pub fn winkas(data: &[u8]) {
    let Some((tz, _)) = split_zone(data) else {
        return;
    };
    let Ok(value) = serde_json::from_slice::<Value>(&data[1..]) else {
        return;
    };
    let Ok(env) = Envelope::parse(value) else {
        return;
    };
    let _ = env.is_error();
    let _ = env.payload("CurrentToken");
    let resources = parse_resources(&env).unwrap_or_default();
    if let Ok((found, _unusable)) = parse_events(&SourceName::new("halls"), &env, &resources, tz) {
        let bookings: Vec<Booking> = found.into_values().collect();
        assert_bookings_end(&bookings, "a WinKAS entry");
    }
}

/// An ICS feed expanded for two weeks around [`now`]: one room's calendar, or a shared one.
pub fn ics(data: &[u8]) {
    let Some((tz, text)) = split_zone(data) else {
        return;
    };
    let target = Target {
        source: SourceName::new("cal"),
        resource: (data[0] & 0x80 == 0).then(|| "1".to_owned()),
        resource_name: None,
        location: None,
        time_zone: tz,
    };
    let window = window();
    if let Ok(bookings) = expand(text, &target, &window) {
        assert_bookings_end(&bookings, "an ICS event");
        for b in &bookings {
            assert!(
                b.start < window.to && window.from < b.end,
                "ICS booking {} lies outside the window",
                b.id
            );
        }
    }
}

/// The local calendar file (TOML or YAML by the first byte) and its bookings for two weeks.
pub fn local_calendar(data: &[u8]) {
    let Some((tz, text)) = split_zone(data) else {
        return;
    };
    let ext = if data[0] & 0x80 == 0 { "toml" } else { "yaml" };
    if let Ok(cal) = LocalCalendar::parse(text, ext) {
        let _ = local_bookings(&cal, &SourceName::new("local"), "site", tz, &window());
    }
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("fuzz/ lies in the repository")
        .to_owned()
}

/// The example school's site config and its rule packs, loaded once.
fn school() -> &'static (SiteConfig, Vec<Arc<dyn RuleRuntime>>) {
    static SCHOOL: OnceLock<(SiteConfig, Vec<Arc<dyn RuleRuntime>>)> = OnceLock::new();
    SCHOOL.get_or_init(|| {
        let site = SiteConfig::load(&repo().join("examples/school/site.toml"))
            .expect("examples/school/site.toml loads");
        let packs = site
            .rules
            .packs
            .iter()
            .map(|p| {
                load(
                    &site.resolve(p),
                    &LoadOptions {
                        deterministic: true,
                    },
                )
                .expect("the school's packs load")
            })
            .collect();
        (site, packs)
    })
}

/// A `--bookings` file, read the way `klar plan` reads it, then planned with the example
/// school's rules: every window of the plan ends, and inside the horizon.
pub fn bookings_json(data: &[u8]) {
    let Ok(bookings) = serde_json::from_slice::<Vec<Booking>>(data) else {
        return;
    };
    for b in &bookings {
        let _ = b.validate();
    }
    let (site, packs) = school();
    let p = plan(&PlanInput {
        bookings: &bookings,
        packs,
        site,
        now: now(),
    });
    for e in &p.entries {
        for w in &e.windows {
            assert!(w.window.from < w.window.to);
            assert!(
                w.window.to <= p.horizon.to,
                "{} ends past the horizon",
                w.window
            );
        }
    }
}

/// A site config: parsed, validated, and every table its owners parse (sources, controller,
/// MQTT).
pub fn site_config(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(site) = SiteConfig::parse(text, Path::new("site.toml"), PathBuf::from("/nonexistent"))
    else {
        return;
    };
    let _ = site.validate();
    for s in &site.sources {
        let _ = klar_adapters::sources::check(s);
    }
    if let Ok(c) = klar_adapters::controllers::unilock::UnilockConfig::from_table(&site.controller)
    {
        let _ = c.installation(site.site.time_zone);
    }
    if let Ok(Some(m)) = klar_adapters::controllers::mqtt::MqttConfig::from_table(&site.mqtt) {
        let _ = m.validate();
        let _ = m.filter();
    }
    for p in &site.site.holiday_periods {
        let _ = site.holiday_period(p.from);
        let _ = site.public_holiday(p.to);
    }
}
