//! Door safety at the controller seam, tried with the `klar` binary on the sample school site
//! and docs/controller.md's own example, the answers asked of the simulator: whether a PIN
//! opens a door at an instant, and what a door or zone is then.
//!
//! - a shared exception never carries one target's window to another it drives;
//! - one refused write, or a table full of an operator's exceptions, never keeps a cancellation
//!   from the doors;
//! - two people under one member number (two clubs, two sources) never get each other's access;
//! - two sites on one controller never touch each other's objects;
//! - the files holding PINs are the owner's only;
//! - explain and state say what the controller holds.

mod common;
#[path = "common/controller.rs"]
mod controller;

use std::path::{Path, PathBuf};
use std::process::Output;

use chrono::{DateTime, TimeZone, Utc};
use controller::SimProcess;
use klar_adapters::controllers::unilock::driver::load_database;
use klar_adapters::controllers::unilock::protocol::{Credential, OpensRequest, Value};
use klar_adapters::controllers::unilock::{UnilockSimulator, driver_for};
use klar_engine::model::{DoorLevel, Secret};
use klar_engine::site::SiteConfig;

/// The PINs of this file's people; none may ever be printed.
const PINS: [&str; 5] = ["4711", "8080", "5555", "2468", "1357"];

/// A local time in Copenhagen in the week of Monday 23 November 2026.
fn at(day: u32, h: u32, m: u32) -> DateTime<Utc> {
    chrono_tz::Europe::Copenhagen
        .with_ymd_and_hms(2026, 11, day, h, m, 0)
        .unwrap()
        .with_timezone(&Utc)
}

fn klar(args: &[&str], config: &Path) -> Output {
    let out = common::klar()
        .args(args)
        .arg("--config")
        .arg(config)
        .output()
        .expect("run klar");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    for pin in PINS {
        assert!(
            !stdout.contains(pin) && !stderr.contains(pin),
            "a PIN was printed by klar {args:?}:\n{stdout}\n{stderr}"
        );
    }
    out
}

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn sync(config: &Path, bookings: &Path, when: &str) -> Output {
    klar(
        &[
            "sync",
            "--bookings",
            bookings.to_str().unwrap(),
            "--at",
            when,
        ],
        config,
    )
}

fn write(dir: &Path, name: &str, content: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    path
}

/// The sample site, its pack found from wherever the copy lives, its controller optionally
/// replaced (`[controller]`'s `kind = "unilock-sim"` line).
fn school(controller: Option<&str>) -> String {
    let text = std::fs::read_to_string(common::repo().join("examples/school/site.toml")).unwrap();
    let pack = common::repo().join("rules/school");
    let text = text.replace(
        "packs = [\"../../rules/school\"]",
        &format!("packs = [{:?}]", pack.display().to_string()),
    );
    match controller {
        Some(c) => text.replace("[controller]\nkind = \"unilock-sim\"", c),
        None => text,
    }
}

fn http(port: u16) -> String {
    format!("[controller]\nkind = \"unilock-http\"\nurl = \"http://127.0.0.1:{port}\"")
}

/// The embedded simulator as the last sync in `dir` left it.
fn embedded(dir: &Path) -> UnilockSimulator {
    let site = SiteConfig::load(&dir.join("site.toml")).unwrap();
    let (_, driver) = driver_for(&site).unwrap();
    let db = load_database(&dir.join("klar.unilock-sim.json")).unwrap();
    UnilockSimulator::with_database(driver.installation().clone(), db)
}

fn opens(sim: &UnilockSimulator, door: &str, pin: &str, when: DateTime<Utc>) -> bool {
    sim.opens(&OpensRequest {
        door: door.into(),
        at: when,
        credential: Credential {
            pin: Some(Secret::new(pin)),
            card: None,
        },
    })
    .unwrap()
    .opens
}

fn level(sim: &UnilockSimulator, door: &str, when: DateTime<Utc>) -> Value {
    sim.door(door, when).unwrap().value
}

fn zone(sim: &SimProcess, zone: &str, when: DateTime<Utc>) -> String {
    let url = format!(
        "{}/v1/zones/{zone}?at={}",
        sim.url,
        when.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    let v: serde_json::Value = reqwest::blocking::get(url).unwrap().json().unwrap();
    v["value"].as_str().unwrap().to_owned()
}

/// docs/controller.md's first TOML example: the `[controller]` tables as the docs show them.
fn docs_controller() -> String {
    let docs = std::fs::read_to_string(common::repo().join("docs/controller.md")).unwrap();
    let start = docs.find("```toml\n").expect("a toml example") + "```toml\n".len();
    let end = start + docs[start..].find("```").unwrap();
    docs[start..end].to_owned()
}

/// A meeting room on docs/controller.md's installation, decided by the school pack.
fn office(controller: &str) -> String {
    format!(
        r#"[site]
name = "Kontoret"
time_zone = "Europe/Copenhagen"
horizon_hours = 48

[rules]
packs = [{:?}]

[rooms."planner:101"]
name = "Mødelokale 1"
doors = ["D-101"]
alarm_zone = "Z-ADMIN"
outputs = {{ lights = "K-101-LYS" }}
person_groups = ["Mødegæster"]

{controller}
"#,
        common::repo().join("rules/school").display().to_string()
    )
}

/// docs/controller.md's installation as it was written before: one shared exception unlocks
/// D-101, disarms Z-ADMIN and turns on K-101-LYS, and the door and the zone are bound to it.
const OLD_DOCS_CONTROLLER: &str = r#"[controller]
kind = "unilock-sim"
[controller.installation]
fictive_days = ["open_house", "festdag"]
[controller.installation.tables.office]
weekdays = ["00:00 locked", "07:00 card", "17:00 locked"]
weekend = ["00:00 locked"]
[controller.installation.tables.alarm]
all = ["00:00 armed", "07:00 disarmed", "17:00 armed"]
[controller.installation.tables.lights]
all = ["00:00 off"]
[controller.installation.doors."D-101"]
table = "office"
[controller.installation.zones."Z-ADMIN"]
table = "alarm"
[controller.installation.outputs."K-101-LYS"]
table = "lights"
[controller.installation.groups."Mødegæster"]
doors = ["D-101"]
[controller.installation.shared_exceptions.12]
name = "Mødelokale 1"
doors = { "D-101" = "unlocked" }
zones = ["Z-ADMIN"]
outputs = ["K-101-LYS"]
[controller.bindings]
"door:D-101" = { shared_exception = 12 }
"zone:Z-ADMIN" = { shared_exception = 12 }
"output:K-101-LYS" = { table = "lights" }
"group:Mødegæster" = { person_group = "Mødegæster" }
"#;

/// A Tuesday-evening board meeting in meeting room 1, Hanne (PIN 2468) responsible.
const EVENING: &str = r#"[{"id": "P-1", "source": "planner", "resource": "101", "title": "Bestyrelse",
  "start": "2026-11-24T19:00:00+01:00", "end": "2026-11-24T21:00:00+01:00",
  "responsible": {"name": "Hanne Bech", "email": "hanne@example.dk", "pin": "2468"}}]"#;

#[test]
fn a_zones_window_never_unlocks_the_card_pin_door_of_its_shared_exception() {
    // The installation as docs/controller.md used to show it: the zone's 18:30-21:15 would
    // have been written into shared exception 12 and unlocked D-101.
    let dir = tempfile::tempdir().unwrap();
    let config = write(dir.path(), "site.toml", &office(OLD_DOCS_CONTROLLER));
    let bookings = write(dir.path(), "bookings.json", EVENING);
    let out = sync(&config, &bookings, "2026-11-24T12:00");
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(!said.contains("+ shared exception 12"), "{said}");
    assert!(
        said.contains("problem: unbound: zone Z-ADMIN disarmed")
            && said.contains("it also sets door D-101 unlocked"),
        "{said}"
    );
    assert!(!said.contains("created   door D-101"), "{said}");
    let sim = embedded(dir.path());
    for (h, m) in [(18, 30), (18, 45), (19, 30), (21, 0), (21, 14)] {
        let when = at(24, h, m);
        assert_ne!(
            level(&sim, "D-101", when),
            Value::Level(DoorLevel::Unlocked),
            "{h}:{m}"
        );
        assert!(!opens(&sim, "D-101", "0000", when), "a stranger at {h}:{m}");
    }

    // The example as the docs show it now: card + PIN for the meeting, the organiser's PIN
    // opens, nobody else's, and the door is never unlocked.
    let dir = tempfile::tempdir().unwrap();
    let config = write(dir.path(), "site.toml", &office(&docs_controller()));
    let bookings = write(dir.path(), "bookings.json", EVENING);
    let out = sync(&config, &bookings, "2026-11-24T12:00");
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    assert!(
        said.contains("created   door D-101 card_pin for planner:P-1"),
        "{said}"
    );
    let sim = embedded(dir.path());
    for (h, m) in [(18, 45), (19, 30), (21, 14)] {
        let when = at(24, h, m);
        assert_eq!(
            level(&sim, "D-101", when),
            Value::Level(DoorLevel::CardPin),
            "{h}:{m}"
        );
        assert!(opens(&sim, "D-101", "2468", when), "Hanne at {h}:{m}");
        assert!(!opens(&sim, "D-101", "0000", when), "a stranger at {h}:{m}");
    }
    assert!(!opens(&sim, "D-101", "2468", at(24, 21, 15)));
    assert_eq!(
        sim.zone("Z-ADMIN", at(24, 18, 30)).unwrap().value,
        Value::Off
    );
}

/// W-1: hall 7, Monday 20:00-21:00, Mette (member 1042, PIN 4711).
fn w1(status: &str) -> String {
    format!(
        r#"{{"id": "W-1", "source": "halls", "resource": "7", "title": "Håndbold", "status": "{status}",
  "start": "2026-11-23T20:00:00+01:00", "end": "2026-11-23T21:00:00+01:00",
  "responsible": {{"name": "Mette Hansen", "member_no": "1042", "pin": "4711"}}}}"#
    )
}

/// P-1: meeting room 1 (D-ADM), Monday 15:00-17:00: unlocked until school ends, then card + PIN.
const P1: &str = r#"{"id": "P-1", "source": "planner", "resource": "101", "title": "Forældremøde",
  "start": "2026-11-23T15:00:00+01:00", "end": "2026-11-23T17:00:00+01:00",
  "responsible": {"name": "Lise Mortensen", "email": "lise@example.dk", "pin": "1357"}}"#;

#[test]
fn a_full_table_or_a_refused_write_never_keeps_a_cancellation_from_the_doors() {
    let dir = tempfile::tempdir().unwrap();
    let port = common::free_port();
    let config = write(dir.path(), "site.toml", &school(Some(&http(port))));
    // The controller's own installation lacks meeting room 1's lights: writes to them are refused.
    let controller_site = school(None)
        .replace(
            "[controller.installation.tables.k_101_lys]\nall = [\"00:00 off\"]\n[controller.installation.outputs.\"K-101-LYS\"]\ntable = \"k_101_lys\"\n",
            "",
        );
    assert!(!controller_site.contains("k_101_lys"));
    let sim_config = write(dir.path(), "controller.toml", &controller_site);
    let sim = SimProcess::start(&sim_config, port, &dir.path().join("controller.json"));

    let first = write(dir.path(), "first.json", &format!("[{}]", w1("confirmed")));
    let out = sync(&config, &first, "2026-11-23T12:00");
    assert!(out.status.success(), "{}", text(&out));
    assert!(sim.pin_opens("D-HAL-N", "4711", at(23, 20, 30)));
    assert_eq!(zone(&sim, "Z-HAL", at(23, 20, 30)), "off");

    // An operator puts 7 exceptions of their own on D-ADM's table.
    let exceptions: Vec<serde_json::Value> = (0..7)
        .map(|i| serde_json::json!([{"from": at(25, 8 + i, 0), "to": at(25, 8 + i, 30)}, "locked"]))
        .collect();
    let write_op = serde_json::json!({"at": at(23, 12, 0), "op": "set_table_exceptions",
        "table": "d_adm", "owner": "adgangseditor", "exceptions": exceptions});
    let r = reqwest::blocking::Client::new()
        .post(format!("{}/v1/write", sim.url))
        .json(&write_op)
        .send()
        .unwrap();
    assert!(r.status().is_success(), "{}", r.text().unwrap());

    // W-1 is cancelled, and P-1 wants two exceptions on D-ADM (room for one) and the lights
    // the controller refuses.
    let second = write(
        dir.path(),
        "second.json",
        &format!("[{}, {P1}]", w1("cancelled")),
    );
    for when in ["2026-11-23T12:05", "2026-11-23T12:10"] {
        let out = sync(&config, &second, when);
        let said = text(&out);
        assert_eq!(out.status.code(), Some(1), "{said}");
        assert!(
            said.contains(
                "problem: overflow: table d_adm needs 2 exceptions; UniLock has room for 1"
            ),
            "{said}"
        );
        assert!(
            said.contains("failed: create table k_101_lys exceptions: controller refused"),
            "{said}"
        );
        // The cancellation reached the controller all the same.
        assert!(!sim.pin_opens("D-HAL-N", "4711", at(23, 20, 30)), "{said}");
        assert_eq!(sim.level("D-HAL-N", at(23, 20, 30)), "locked");
        assert_eq!(zone(&sim, "Z-HAL", at(23, 20, 30)), "on", "armed again");
        if when.ends_with("12:10") {
            assert!(
                said.contains(
                    "no change (all of the plan the controller can hold is on it; not all of it"
                ),
                "{said}"
            );
        }
        if when.ends_with("12:05") {
            assert!(
                said.contains("cancelled door D-HAL-N card_pin for halls:W-1"),
                "{said}"
            );
            // The audit records what the controller holds: the window that fitted, not the
            // one that waits, and not the lights it refused.
            assert!(
                said.contains("created   door D-ADM unlocked for planner:P-1"),
                "{said}"
            );
            assert!(!said.contains("created   door D-ADM card_pin"), "{said}");
            assert!(!said.contains("created   output K-101-LYS"), "{said}");
        }
    }
}

/// Mette and Karl, both member 1042 of different clubs in the halls source, and Sofie, member
/// 1042 in a second WinKAS source.
const NAMESAKES: &str = r#"[
 {"id": "W-10", "source": "halls", "resource": "7", "title": "Håndbold",
  "start": "2026-11-23T17:00:00+01:00", "end": "2026-11-23T18:00:00+01:00",
  "responsible": {"name": "Mette Hansen", "member_no": "1042", "pin": "4711"}},
 {"id": "W-11", "source": "halls", "resource": "8", "title": "Badminton",
  "start": "2026-11-24T18:00:00+01:00", "end": "2026-11-24T19:00:00+01:00",
  "responsible": {"name": "Karl Jensen", "member_no": "1042", "pin": "8080"}},
 {"id": "W-20", "source": "halls2", "resource": "7", "title": "Volleyball",
  "start": "2026-11-25T18:00:00+01:00", "end": "2026-11-25T19:00:00+01:00",
  "responsible": {"name": "Sofie Larsen", "member_no": "1042", "pin": "5555"}}
]"#;

#[test]
fn people_under_one_member_number_never_get_each_others_access() {
    let dir = tempfile::tempdir().unwrap();
    let site = school(None).replace(
        "# Rooms: \"<source>:<resource id>\"",
        "[[sources]]\nname = \"halls2\"\nkind = \"winkas\"\nusername = \"api-klar\"\npassword_env = \"KLAR_WINKAS_PASSWORD\"\ncontract_code = \"54321\"\n\n[rooms.\"halls2:7\"]\nname = \"Gymnastiksal\"\ndoors = [\"D-HAL-N\", \"D-HAL-S\"]\nalarm_zone = \"Z-HAL\"\nperson_groups = [\"Hal-ansvarlige\"]\n\n# Rooms: \"<source>:<resource id>\"",
    );
    let config = write(dir.path(), "site.toml", &site);
    let bookings = write(dir.path(), "bookings.json", NAMESAKES);
    let out = sync(&config, &bookings, "2026-11-23T12:00");
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    assert!(
        said.contains("warning: halls:member:1042 (halls:W-10, halls:W-11): 2 different records"),
        "{said}"
    );
    let sim = embedded(dir.path());
    // Monday, Mette's booking: her PIN, nobody else's.
    let mon = at(23, 17, 30);
    assert!(opens(&sim, "D-HAL-N", "4711", mon));
    assert!(
        !opens(&sim, "D-HAL-N", "8080", mon),
        "Karl's PIN in Mette's booking"
    );
    assert!(!opens(&sim, "D-HAL-N", "5555", mon));
    // Tuesday, Karl's booking in the small hall.
    let tue = at(24, 18, 30);
    assert!(opens(&sim, "D-HAL-S", "8080", tue));
    assert!(
        !opens(&sim, "D-HAL-S", "4711", tue),
        "Mette's PIN in Karl's booking"
    );
    // Wednesday, the other source's member 1042.
    let wed = at(25, 18, 30);
    assert!(opens(&sim, "D-HAL-N", "5555", wed));
    assert!(!opens(&sim, "D-HAL-N", "8080", wed));
    assert!(!opens(&sim, "D-HAL-N", "4711", wed));
    let persons: Vec<&String> = sim.database().persons.keys().collect();
    assert_eq!(
        persons,
        vec![
            "halls2:member:1042",
            "halls:member:1042#W-10",
            "halls:member:1042#W-11"
        ]
    );

    // The store and the controller's state hold the PINs: readable by their owner only.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for file in ["klar.db", "klar.unilock-sim.json"] {
            let mode = std::fs::metadata(dir.path().join(file))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{file}");
        }
    }
}

/// Two schools of one municipality on one UniLock server: the same installation, their own
/// bookings.
#[test]
fn two_sites_on_one_controller_never_touch_each_others_objects() {
    let dir = tempfile::tempdir().unwrap();
    let port = common::free_port();
    let a_dir = dir.path().join("a");
    let b_dir = dir.path().join("b");
    std::fs::create_dir_all(&a_dir).unwrap();
    std::fs::create_dir_all(&b_dir).unwrap();
    let a = write(&a_dir, "site.toml", &school(Some(&http(port))));
    let b = write(
        &b_dir,
        "site.toml",
        &school(Some(&http(port)))
            .replace("name = \"Nørrebro Skole\"", "name = \"Vesterbro Skole\""),
    );
    let sim = SimProcess::start(&a, port, &dir.path().join("controller.json"));
    let a_bookings = write(&a_dir, "bookings.json", &format!("[{}]", w1("confirmed")));
    let b_bookings = write(&b_dir, "bookings.json", &format!("[{P1}]"));
    assert!(sync(&a, &a_bookings, "2026-11-23T12:00").status.success());
    let out = sync(&b, &b_bookings, "2026-11-23T12:01");
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        !text(&out).contains("- "),
        "B removed something: {}",
        text(&out)
    );
    // A's booking is intact: the door, the PIN.
    assert!(sim.pin_opens("D-HAL-N", "4711", at(23, 20, 30)));
    assert!(sim.pin_opens("D-ADM", "1357", at(23, 16, 30)));
    for (site, file) in [(&a, &a_bookings), (&b, &b_bookings)] {
        assert!(text(&sync(site, file, "2026-11-23T12:02")).contains("no change"));
    }
    // B's bookings all go: only B's objects go.
    let empty = write(&b_dir, "empty.json", "[]");
    let out = sync(&b, &empty, "2026-11-23T12:03");
    assert!(out.status.success(), "{}", text(&out));
    assert!(sim.pin_opens("D-HAL-N", "4711", at(23, 20, 30)));
    assert!(!sim.pin_opens("D-ADM", "1357", at(23, 16, 30)));
    let db: serde_json::Value = reqwest::blocking::get(format!("{}/v1/database", sim.url))
        .unwrap()
        .json()
        .unwrap();
    let owners = db.to_string();
    assert!(
        owners.contains("\"owner\":\"klar:norrebro-skole\""),
        "{owners}"
    );
    assert!(!owners.contains("\"owner\":\"klar\""), "{owners}");

    // klar check, given both configs, says when two would share one owner.
    let same = write(&b_dir, "same.toml", &school(Some(&http(port))));
    let out = klar(&["check", "--config", a.to_str().unwrap()], &same);
    let said = format!("{}{}", text(&out), String::from_utf8_lossy(&out.stderr));
    // A config error (README: exit 2).
    assert_eq!(out.status.code(), Some(2), "{said}");
    assert!(said.contains("klar:norrebro-skole"), "{said}");
    let out = klar(&["check", "--config", a.to_str().unwrap()], &b);
    let said = format!("{}{}", text(&out), String::from_utf8_lossy(&out.stderr));
    assert!(!said.contains("share"), "{said}");
}

#[test]
fn explain_and_state_say_what_the_controller_holds() {
    let dir = tempfile::tempdir().unwrap();
    let config = write(dir.path(), "site.toml", &school(None));
    let booked = write(dir.path(), "booked.json", &format!("[{}]", w1("confirmed")));
    assert!(sync(&config, &booked, "2026-11-23T12:00").status.success());
    // W-1 is cancelled in WinKAS, and nothing has synced since: the controller still lets
    // Mette in, and explain must say so rather than what the plan asks.
    let cancelled = write(
        dir.path(),
        "cancelled.json",
        &format!("[{}]", w1("cancelled")),
    );
    let explain = |kind: &str, id: &str, file: &Path| {
        let out = klar(
            &[
                "explain",
                kind,
                id,
                "--bookings",
                file.to_str().unwrap(),
                "--at",
                "2026-11-23T20:30",
            ],
            &config,
        );
        assert!(out.status.success(), "{out:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !stderr.contains("in step") && !stderr.contains("Applied"),
            "inspecting logs as if it applied: {stderr}"
        );
        text(&out)
    };
    let why = explain("door", "D-HAL-N", &cancelled);
    assert!(
        why.contains("door D-HAL-N: card_pin (as the controller holds it)"),
        "{why}"
    );
    assert!(why.contains("by klar:norrebro-skole"), "{why}");
    assert!(
        why.contains("differs from the plan, which asks: locked"),
        "{why}"
    );
    let person = explain("person", "halls:member:1042", &cancelled);
    assert!(person.contains("opens D-HAL-N, D-HAL-S"), "{person}");
    assert!(
        person.contains("differs from the plan, which opens: no door"),
        "{person}"
    );
    let sim = embedded(dir.path());
    assert!(opens(&sim, "D-HAL-N", "4711", at(23, 20, 30)));
    let before = std::fs::read(dir.path().join("klar.unilock-sim.json")).unwrap();
    let state = klar(
        &[
            "state",
            "--bookings",
            cancelled.to_str().unwrap(),
            "--at",
            "2026-11-23T20:30",
            "--format",
            "json",
        ],
        &config,
    );
    let v: serde_json::Value = serde_json::from_slice(&state.stdout).unwrap();
    let door = v["doors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == "D-HAL-N")
        .unwrap();
    assert_eq!(door["state"], "card_pin");
    assert_eq!(door["plan"], "locked");
    assert!(v["differences"].as_u64().unwrap() >= 3, "{v}");
    assert_eq!(
        std::fs::read(dir.path().join("klar.unilock-sim.json")).unwrap(),
        before,
        "inspecting never writes to the controller"
    );

    // A person the controller lists in a group whose door is locked then opens nothing there,
    // and says why: the view agrees with what the door answers the PIN.
    let mut db = load_database(&dir.path().join("klar.unilock-sim.json")).unwrap();
    db.table_exceptions
        .entry("d_hal_n".into())
        .or_default()
        .push(klar_adapters::controllers::unilock::protocol::Exception {
            window: klar_engine::model::Window::new(at(23, 20, 0), at(23, 21, 0)).unwrap(),
            value: Value::Level(DoorLevel::Locked),
            owner: "adgangseditor".into(),
        });
    klar_adapters::controllers::unilock::driver::save_database(
        &dir.path().join("klar.unilock-sim.json"),
        &db,
    )
    .unwrap();
    let person = explain("person", "halls:member:1042", &booked);
    assert!(
        person.contains("refused at D-HAL-N: door locked"),
        "{person}"
    );
    assert!(person.contains("opens D-HAL-S"), "{person}");
    assert!(!person.contains("opens D-HAL-N"), "{person}");
    assert!(!opens(
        &embedded(dir.path()),
        "D-HAL-N",
        "4711",
        at(23, 20, 30)
    ));

    // A conflict lost on the Aula's door, and a booking whose rule failed, are named.
    let aula = write(
        dir.path(),
        "aula.json",
        r#"[
 {"id": "P-5104", "source": "planner", "resource": "200", "title": "Julekoncert", "tags": ["offentlig"],
  "start": "2026-11-25T18:00:00+01:00", "end": "2026-11-25T20:30:00+01:00"},
 {"id": "P-5105", "source": "planner", "resource": "200", "title": "Lydprøve",
  "start": "2026-11-25T17:00:00+01:00", "end": "2026-11-25T18:15:00+01:00"}
]"#,
    );
    let out = klar(
        &[
            "explain",
            "door",
            "D-AULA",
            "--bookings",
            aula.to_str().unwrap(),
            "--at",
            "2026-11-25T18:10",
        ],
        &config,
    );
    let why = text(&out);
    assert!(
        why.contains("lost conflict: door D-AULA unlocked")
            && why.contains("lost by planner:P-5104 (Julekoncert)"),
        "{why}"
    );
}

#[test]
fn a_booking_whose_rule_failed_is_named_where_it_leaves_a_door_closed() {
    let dir = tempfile::tempdir().unwrap();
    // A second pack that gives up on one booking: it fails closed (nothing of it opens).
    let pack = dir.path().join("boom");
    std::fs::create_dir_all(pack.join("rules")).unwrap();
    write(
        &pack,
        "pack.toml",
        "name = \"boom\"\nversion = \"0.1.0\"\nruntime = \"rhai\"\n",
    );
    write(
        &pack.join("rules"),
        "boom.rhai",
        "fn decide(booking, room, ctx) {\n    if booking.title == \"boom\" { throw \"the rule gave up\"; }\n    []\n}\n",
    );
    let site = school(None).replace(
        "packs = [",
        &format!("packs = [{:?}, ", pack.display().to_string()),
    );
    let config = write(dir.path(), "site.toml", &site);
    let bookings = write(
        dir.path(),
        "bookings.json",
        r#"[{"id": "W-9", "source": "halls", "resource": "7", "title": "boom",
  "start": "2026-11-23T20:00:00+01:00", "end": "2026-11-23T21:00:00+01:00"}]"#,
    );
    let out = sync(&config, &bookings, "2026-11-23T12:00");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let out = klar(
        &[
            "explain",
            "door",
            "D-HAL-N",
            "--bookings",
            bookings.to_str().unwrap(),
            "--at",
            "2026-11-23T20:30",
        ],
        &config,
    );
    let why = text(&out);
    // The school pack's card+PIN is restrictive and stays; its disarm is withheld (issue 14's
    // per-pack fail closed), and explain says so.
    assert!(why.contains("door D-HAL-N: card_pin"), "{why}");
    assert!(
        why.contains("failed booking halls:W-9: a rule of pack boom failed")
            && why.contains("fails closed: restrictive effects stay")
            && why.contains("withheld: ")
            && why.contains("zone Z-HAL disarmed"),
        "{why}"
    );
}

#[cfg(unix)]
#[test]
fn files_holding_pins_and_passwords_are_their_owners_only() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let open =
        |p: &Path| std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o644)).unwrap();

    // The demo's vendor passwords, its store and its controller state.
    let dir = tempfile::tempdir().unwrap();
    let demo = dir.path().join("demo");
    let out = common::klar()
        .args([
            "demo",
            "--once",
            "--at",
            "2026-11-23T09:00:00+01:00",
            "--port",
            "0",
            "--dir",
        ])
        .arg(&demo)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    for file in [
        "secrets/pronestor.password",
        "secrets/winkas.password",
        "klar.db",
        "klar.unilock-sim.json",
    ] {
        assert_eq!(mode(&demo.join(file)), 0o600, "{file}");
    }

    // A store and a state file an older klar left readable by everyone are tightened.
    let config = write(dir.path(), "site.toml", &school(None));
    let bookings = write(
        dir.path(),
        "bookings.json",
        &format!("[{}]", w1("confirmed")),
    );
    assert!(
        sync(&config, &bookings, "2026-11-23T12:00")
            .status
            .success()
    );
    for file in ["klar.db", "klar.unilock-sim.json"] {
        open(&dir.path().join(file));
    }
    assert!(
        sync(&config, &bookings, "2026-11-23T12:01")
            .status
            .success()
    );
    for file in ["klar.db", "klar.unilock-sim.json"] {
        assert_eq!(mode(&dir.path().join(file)), 0o600, "{file}");
    }

    // klar check warns about a password file others can read, and not once it is private.
    let secret = write(dir.path(), "winkas.password", "hemmeligt");
    open(&secret);
    let site = school(None).replace(
        "password_env = \"KLAR_WINKAS_PASSWORD\"",
        "password_file = \"winkas.password\"",
    );
    let config = write(dir.path(), "site.toml", &site);
    let out = klar(&["check"], &config);
    let said = text(&out);
    assert!(
        said.contains("warning: [[sources]] \"halls\" password_file:")
            && said.contains("can be read by other users of this machine"),
        "{said}"
    );
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert!(!text(&klar(&["check"], &config)).contains("other users"));
}

#[test]
fn a_grant_that_cannot_work_is_a_warning_in_the_plan() {
    let dir = tempfile::tempdir().unwrap();
    let config = write(dir.path(), "site.toml", &school(None));
    let bookings = common::repo().join("examples/school/bookings.json");
    let args = |format: &'static str| {
        vec![
            "plan",
            "--bookings",
            bookings.to_str().unwrap(),
            "--at",
            "2026-11-23T07:00",
            "--format",
            format,
        ]
    };
    let out = klar(&args("table"), &config);
    let said = text(&out);
    assert!(said.contains("Grants that cannot work as asked"), "{said}");
    assert!(
        said.contains("planner:email:lise.mortensen@norrebro-skole.dk (planner:P-5101): granted access but has no PIN and no card"),
        "{said}"
    );
    let v: serde_json::Value =
        serde_json::from_slice(&klar(&args("json"), &config).stdout).unwrap();
    let kinds: Vec<&str> = v["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"no_credentials"), "{v}");
    // Mette has a PIN: no warning names her.
    assert!(!said.contains("halls:member:1042 ("), "{said}");
}
