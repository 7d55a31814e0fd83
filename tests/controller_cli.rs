//! The binary with the real `margins` rule pack: `klar sync` twice (no change the second time),
//! a cancellation, a kill in the middle of an apply, `klar state`, `klar explain`, and a sync
//! against a `klar sim` process that is down, then up.

mod common;
#[path = "common/controller.rs"]
mod controller;

use std::path::Path;
use std::process::Output;

use controller::{PIN, SITE, SimProcess, Site, booking, cancelled, http_site, level, local};
use klar_adapters::controllers::unilock::driver::load_database;
use klar_adapters::controllers::unilock::{UnilockSimulator, driver_for};
use klar_engine::model::{Booking, DoorLevel};

fn with_margins(config: &str) -> String {
    let pack = common::repo().join("rules/margins");
    format!(
        "{config}\n[rules]\npacks = [{:?}]\n",
        pack.display().to_string()
    )
}

fn write_bookings(site: &Site, bookings: &[Booking]) -> std::path::PathBuf {
    let path = site.path("bookings.json");
    std::fs::write(&path, serde_json::to_string_pretty(bookings).unwrap()).unwrap();
    path
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
    assert!(
        !stdout.contains(PIN) && !stderr.contains(PIN),
        "a PIN was printed:\n{stdout}\n{stderr}"
    );
    out
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn sync(site: &Site, bookings: &Path, at: &str) -> Output {
    klar(
        &["sync", "--bookings", bookings.to_str().unwrap(), "--at", at],
        &site.config_path(),
    )
}

/// The embedded simulator as the last sync left it.
fn simulator(site: &Site) -> UnilockSimulator {
    let (_, driver) = driver_for(&site.config).unwrap();
    let db = load_database(&site.path("klar.unilock-sim.json")).unwrap();
    UnilockSimulator::with_database(driver.installation().clone(), db)
}

#[test]
fn sync_twice_then_cancel() {
    let site = Site::with(&with_margins(SITE));
    let file = write_bookings(&site, &[booking("B-1", (10, 0), (11, 0))]);
    let first = sync(&site, &file, "2026-11-23T08:00");
    assert!(first.status.success(), "{first:?}");
    let text = stdout(&first);
    assert!(text.contains("unilock-sim: 2 change(s)"), "{text}");
    assert!(text.contains("+ shared exception 12"), "{text}");
    assert!(
        text.contains("created   door D-101 unlocked for halls:B-1"),
        "{text}"
    );
    let sim = simulator(&site);
    assert_eq!(level(&sim, "D-101", local(9, 50)), DoorLevel::Unlocked);
    assert_eq!(level(&sim, "D-101", local(11, 15)), DoorLevel::Locked);
    assert!(controller::pin_opens(&sim, "D-102", PIN, local(10, 30)));

    let second = sync(&site, &file, "2026-11-23T08:00");
    assert!(second.status.success());
    assert_eq!(
        stdout(&second),
        "unilock-sim: no change (the controller is in step with the plan)\n"
    );
    // Without --bookings: the store's last good snapshot, and still no change.
    let from_store = klar(&["sync", "--at", "2026-11-23T08:00"], &site.config_path());
    assert_eq!(
        stdout(&from_store),
        "unilock-sim: no change (the controller is in step with the plan)\n"
    );

    let file = write_bookings(&site, &[cancelled(booking("B-1", (10, 0), (11, 0)))]);
    let third = sync(&site, &file, "2026-11-23T09:00");
    let text = stdout(&third);
    assert!(text.contains("- shared exception 12"), "{text}");
    assert!(
        text.contains("cancelled door D-101 unlocked for halls:B-1"),
        "{text}"
    );
    let sim = simulator(&site);
    assert_eq!(level(&sim, "D-101", local(9, 50)), DoorLevel::Locked);
    assert!(!controller::pin_opens(&sim, "D-102", PIN, local(10, 30)));
}

#[test]
fn killed_in_the_middle_of_an_apply_converges() {
    let bookings = [
        booking("B-1", (10, 0), (11, 0)),
        booking("B-2", (13, 0), (14, 0)),
    ];
    let reference = Site::with(&with_margins(SITE));
    let file = write_bookings(&reference, &bookings);
    assert!(sync(&reference, &file, "2026-11-23T08:00").status.success());
    let end_state = std::fs::read_to_string(reference.path("klar.unilock-sim.json")).unwrap();

    let site = Site::with(&with_margins(SITE));
    let file = write_bookings(&site, &bookings);
    let killed = common::klar()
        .args([
            "sync",
            "--bookings",
            file.to_str().unwrap(),
            "--at",
            "2026-11-23T08:00",
            "--config",
        ])
        .arg(site.config_path())
        .env("KLAR_TEST_STOP_AFTER_ACTIONS", "1")
        .output()
        .unwrap();
    assert_eq!(killed.status.code(), Some(137), "{killed:?}");
    let half = std::fs::read_to_string(site.path("klar.unilock-sim.json")).unwrap();
    assert_ne!(half, end_state, "one of two actions got through");
    let again = sync(&site, &file, "2026-11-23T08:00");
    assert!(
        stdout(&again).contains("unilock-sim: 1 change(s)"),
        "{}",
        stdout(&again)
    );
    assert_eq!(
        std::fs::read_to_string(site.path("klar.unilock-sim.json")).unwrap(),
        end_state
    );
}

#[test]
fn state_and_explain() {
    let site = Site::with(&with_margins(SITE));
    let file = write_bookings(&site, &[booking("B-1", (10, 0), (11, 0))]);
    assert!(sync(&site, &file, "2026-11-23T08:00").status.success());
    let args = |at: &'static str| {
        vec![
            "state",
            "--bookings",
            file.to_str().unwrap(),
            "--at",
            at,
            "--format",
            "json",
        ]
    };
    let out = klar(&args("2026-11-23T09:50"), &site.config_path());
    assert!(out.status.success(), "{out:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let door = v["doors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == "D-101")
        .unwrap();
    assert_eq!(door["state"], "unlocked");
    assert_eq!(v["persons"][0]["pin"], "PIN set");
    assert_eq!(
        v["persons"][0]["doors"],
        serde_json::json!([]),
        "the grant starts at 10:00"
    );
    let out = klar(&args("2026-11-23T10:30"), &site.config_path());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["persons"][0]["doors"],
        serde_json::json!(["D-101", "D-102"])
    );
    let text = klar(
        &[
            "state",
            "--bookings",
            file.to_str().unwrap(),
            "--at",
            "2026-11-23T10:30",
        ],
        &site.config_path(),
    );
    assert!(stdout(&text).contains("PIN set"), "{}", stdout(&text));

    let explain = |at: &str| {
        let out = klar(
            &[
                "explain",
                "door",
                "D-101",
                "--bookings",
                file.to_str().unwrap(),
                "--at",
                at,
            ],
            &site.config_path(),
        );
        assert!(out.status.success(), "{out:?}");
        stdout(&out)
    };
    let why = explain("2026-11-23T09:50");
    assert!(why.contains("door D-101: unlocked"), "{why}");
    assert!(why.contains("shared exception 12 period"), "{why}");
    assert!(why.contains("booking halls:B-1 (Møde B-1), rule"), "{why}");
    assert!(why.contains("margins.rhai"), "{why}");
    assert!(why.contains("in pack margins 1.0.0"), "{why}");
    let person = klar(
        &[
            "explain",
            "person",
            "halls:member:42",
            "--bookings",
            file.to_str().unwrap(),
            "--at",
            "2026-11-23T10:30",
        ],
        &site.config_path(),
    );
    let person = stdout(&person);
    assert!(person.contains("person halls:member:42 (Mette Hansen): PIN set, 0 card(s), groups [Mødegæster], opens D-101, D-102"), "{person}");
    assert!(
        person.contains("effect person halls:member:42 in group Mødegæster"),
        "{person}"
    );
    let normal = explain("2026-11-23T12:00");
    assert!(normal.contains("door D-101: locked"), "{normal}");
    assert!(
        normal.contains("normal operation: weekly table locked (mon)"),
        "{normal}"
    );
}

#[test]
fn sync_against_a_controller_that_is_down_then_up() {
    let port = common::free_port();
    let site = Site::with(&with_margins(&http_site(port, 2000)));
    let file = write_bookings(&site, &[booking("B-1", (10, 0), (11, 0))]);
    let down = sync(&site, &file, "2026-11-23T08:00");
    assert_eq!(down.status.code(), Some(2));
    let err = String::from_utf8_lossy(&down.stderr);
    assert!(
        err.contains("controller unreachable")
            && err.contains("the next sync applies what is missing"),
        "{err}"
    );

    let sim = SimProcess::start(&site.config_path(), port, &site.path("sim-state.json"));
    let up = sync(&site, &file, "2026-11-23T08:05");
    assert!(
        stdout(&up).contains("unilock-http: 2 change(s)"),
        "{}",
        stdout(&up)
    );
    assert_eq!(sim.level("D-101", local(9, 50)), "unlocked");
    assert!(sim.pin_opens("D-102", PIN, local(10, 30)));
    assert!(!sim.pin_opens("D-102", PIN, local(11, 30)));
    assert!(stdout(&sync(&site, &file, "2026-11-23T08:10")).contains("no change"));
}
