//! `klar plan` on the sample site: every window names its booking and rule line; JSON parses
//! and holds the hand-checked windows; bad input is one line naming the file, exit code 2.

mod common;
#[path = "common/rules.rs"]
mod rules;

use common::{klar, repo};
use rules::{manifest, run, write_files};

fn sample(format: &str) -> rules::Run {
    let dir = repo().join("examples/school");
    run(klar()
        .args(["plan", "--config"])
        .arg(dir.join("site.toml"))
        .arg("--bookings")
        .arg(dir.join("bookings.json"))
        .args(["--at", "2026-11-23T07:00", "--format", format]))
}

#[test]
fn every_window_of_the_sample_plan_names_its_booking_and_rule_line() {
    let r = sample("table");
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let lines: Vec<&str> = r.stdout.lines().collect();
    let mut windows = 0;
    for (i, line) in lines.iter().enumerate() {
        // A window line: two spaces, then a local date.
        if line.starts_with("  20") {
            windows += 1;
            let reason = lines.get(i + 1).copied().unwrap_or_default();
            assert!(
                reason.trim_start().starts_with("booking ")
                    && reason.contains(" by school 1.1.0 at rules/")
                    && reason.contains(".rhai:"),
                "window without a reason: {line:?} then {reason:?}"
            );
        }
    }
    assert!(windows >= 20, "{}", r.stdout);
    // The sound check's card + PIN wins where both bookings are in their own time; from
    // 18:15 the concert's own time wins over the sound check's after-margin.
    assert!(r.stdout.contains("Conflicts (2):"), "{}", r.stdout);
    assert!(
        r.stdout.contains(
            "door D-AULA card_pin 2026-11-25 18:15 .. 2026-11-25 18:30: door D-AULA is unlocked here: a booking's own time wins"
        ),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("Unbound bookings (1"), "{}", r.stdout);
    assert!(!r.stdout.contains("4711"), "a PIN reached the plan");
}

#[test]
fn the_json_plan_parses_and_holds_the_hand_checked_windows() {
    let r = sample("json");
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let plan: serde_json::Value = serde_json::from_str(&r.stdout).expect("the plan is JSON");
    assert_eq!(plan["packs"][0]["name"], "school");
    let entries = plan["entries"].as_array().unwrap();
    for e in entries {
        for w in e["windows"].as_array().unwrap() {
            for reason in w["reasons"].as_array().unwrap() {
                assert!(reason["booking"].as_str().is_some_and(|b| !b.is_empty()));
                assert!(
                    reason["rule"]["line"].as_u64().is_some_and(|l| l > 0),
                    "{reason}"
                );
            }
        }
    }
    // Håndbold U12 and U14 back to back (16:00-17:30, 17:30-19:00), after school hours: the
    // hall's north door is card + PIN 15:45-19:15 local = 14:45Z-18:15Z, one window.
    let door = entries
        .iter()
        .find(|e| e["target"]["door"] == "D-HAL-N" && e["target"]["level"] == "card_pin")
        .expect("the hall door at card + PIN");
    assert_eq!(door["windows"][0]["from"], "2026-11-23T14:45:00Z");
    assert_eq!(door["windows"][0]["to"], "2026-11-23T18:15:00Z");
    assert_eq!(door["windows"][0]["reasons"].as_array().unwrap().len(), 2);
    // The cancelled badminton booking is nowhere.
    assert!(!r.stdout.contains("W-88421"));
    assert!(!r.stdout.contains("4711"), "a PIN reached the plan");
}

#[test]
fn malformed_bookings_are_one_line_naming_the_file_and_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    let bookings = tmp.path().join("bookings.json");
    std::fs::write(
        &bookings,
        "[{\"id\": \"B-1\", \"source\": \"halls\", \"titel\": \"x\"}]",
    )
    .unwrap();
    let r = run(klar()
        .args(["plan", "--config"])
        .arg(repo().join("examples/school/site.toml"))
        .arg("--bookings")
        .arg(&bookings));
    assert_eq!(r.code, Some(2), "{}", r.stdout);
    assert_eq!(r.stderr.trim_end().lines().count(), 1, "{}", r.stderr);
    assert!(
        r.stderr.contains(&bookings.display().to_string()),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("titel"), "{}", r.stderr);
}

#[test]
fn a_malformed_config_is_one_line_naming_the_file_and_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    let site = tmp.path().join("site.toml");
    std::fs::write(&site, "[site]\nname = \"X\"\nhorizon_hours = \"many\"\n").unwrap();
    let r = run(klar()
        .args(["plan", "--config"])
        .arg(&site)
        .arg("--bookings")
        .arg(repo().join("examples/school/bookings.json")));
    assert_eq!(r.code, Some(2), "{}", r.stdout);
    assert_eq!(r.stderr.trim_end().lines().count(), 1, "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!("{}:3:", site.display())),
        "{}",
        r.stderr
    );
}

#[test]
fn a_failing_rule_fails_its_booking_closed_and_the_others_go_on() {
    let tmp = tempfile::tempdir().unwrap();
    write_files(
        tmp.path(),
        &[
            ("pack/pack.toml", &manifest("picky")),
            (
                "pack/rules/doors.rhai",
                "fn decide(booking, room, ctx) {\n    if booking.title == \"Bad\" { throw \"no thanks\"; }\n    [unlock(room.doors[0], booking.start, booking.end)]\n}\n",
            ),
            (
                "site.toml",
                "[site]\nname = \"Test\"\n[rules]\npacks = [\"pack\"]\n[rooms.\"halls:7\"]\ndoors = [\"D-HAL\"]\n",
            ),
            (
                "bookings.json",
                r#"[{"id": "B-1", "source": "halls", "resource": "7", "title": "Bad", "start": "2026-11-23T10:00:00+01:00", "end": "2026-11-23T11:00:00+01:00"},
                    {"id": "B-2", "source": "halls", "resource": "7", "title": "Good", "start": "2026-11-23T12:00:00+01:00", "end": "2026-11-23T13:00:00+01:00"}]"#,
            ),
        ],
    );
    let r = run(klar()
        .args(["plan", "--config"])
        .arg(tmp.path().join("site.toml"))
        .arg("--bookings")
        .arg(tmp.path().join("bookings.json"))
        .args(["--at", "2026-11-23T07:00"]));
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(
        r.stdout
            .contains("  2026-11-23 12:00 .. 2026-11-23 13:00\n"),
        "{}",
        r.stdout
    );
    assert!(!r.stdout.contains("2026-11-23 10:00 .."), "{}", r.stdout);
    assert!(
        r.stdout.contains(
            "picky: booking B-1: rule error: the rule threw: no thanks (at rules/doors.rhai:2:"
        ),
        "{}",
        r.stdout
    );
}

#[test]
fn the_sample_site_syncs_to_its_simulated_controller_without_problems() {
    // The sample's installation must be drivable as written: every door, zone and output it
    // plans for follows a table klar may put exceptions on, so `klar sync` reports no problem.
    let dir = tempfile::tempdir().expect("a scratch folder");
    let sample = repo().join("examples/school");
    let config = std::fs::read_to_string(sample.join("site.toml"))
        .expect("read the sample config")
        .replace(
            "\"../../rules/school\"",
            &format!("{:?}", repo().join("rules/school")),
        );
    std::fs::write(dir.path().join("site.toml"), config).expect("write the config copy");
    let r = run(klar()
        .current_dir(dir.path())
        .args(["sync", "--config", "site.toml", "--bookings"])
        .arg(sample.join("bookings.json"))
        .args(["--at", "2026-11-24T08:00"]));
    assert_eq!(r.code, Some(0), "{}\n{}", r.stdout, r.stderr);
    assert!(!r.stdout.contains("problem:"), "{}", r.stdout);
    assert!(
        r.stdout
            .contains("created   door D-AULA unlocked for planner:P-5104"),
        "{}",
        r.stdout
    );
}
