//! The daemon's store file damaged or gone between two runs. A damaged store is moved aside
//! (`klar.db.corrupt-<time>`, its bytes kept for a post-mortem) with an ERROR line naming both
//! files, and `klar run` goes on with a new store rebuilt from the sources: it does not exit
//! (under a service manager that would be a restart loop in which nothing reaches the doors).
//! A missing store is simply rebuilt. Either way the controller ends up as before (the booking's
//! door opens, once) and is never emptied on the way: nothing is applied until the first poll.
//!
//! `klar run` is a real process on the real clock (time cannot be injected across processes):
//! the booking lies 90 minutes ahead and the door is read at a chosen instant inside it from
//! the simulator's saved state.

mod daemon_common;

use std::path::Path;
use std::time::{Duration, Instant};

use chrono::Utc;
use daemon_common::{Daemon, door_at, site};
use klar_adapters::controllers::unilock::driver::load_database;
use klar_adapters::fake::FakeData;
use klar_adapters::fake::winkas::{FakeWinkas, FakeWinkasOptions};
use klar_engine::model::DoorLevel;
use klar_engine::store::Store;

/// Waits (bounded: a real process) until `check` holds, failing at once if the daemon exits.
fn wait_running(daemon: &mut Daemon, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if check() {
            return;
        }
        let log = daemon.log();
        if let Some(status) = daemon.child.try_wait().expect("the child's status") {
            panic!("klar run exited ({status}) instead of going on\n--- its log ---\n{log}");
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}\n--- klar run's log ---\n{log}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The controller's exceptions on the `locked` table (D-HAL2's): klar's, as (from, to).
fn exceptions(config: &Path) -> Vec<String> {
    let db = load_database(&config.with_file_name("klar.unilock-sim.json")).expect("the state");
    db.table_exceptions
        .get("locked")
        .map(|list| list.iter().map(|e| format!("{e:?}")).collect())
        .unwrap_or_default()
}

/// While rebuilding, klar never took the booking's exception off the controller (an empty plan
/// applied before the first poll would have, locking a booking in progress out for a moment).
fn assert_nothing_removed(log: &str) {
    let removed: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("Applied.") && l.contains("action=-"))
        .collect();
    assert!(removed.is_empty(), "{removed:#?}\n--- the log ---\n{log}");
}

/// Whether the daemon logged its first changed poll (by then it has opened the store).
fn polled(log: &Path) -> bool {
    std::fs::read_to_string(log).is_ok_and(|l| l.contains("Bookings changed."))
}

/// The bookings the store's last good snapshot of `halls` holds (0 while there is no store).
fn stored(config: &Path) -> usize {
    let path = config.with_file_name("klar.db");
    if !path.exists() {
        return 0;
    }
    Store::open(&path)
        .ok()
        .and_then(|s| s.snapshot(&"halls".into()).ok().flatten())
        .map_or(0, |s| s.bookings.len())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_or_missing_store_is_rebuilt_from_the_sources() {
    let fake = FakeWinkas::start(FakeWinkasOptions {
        empty: true,
        ..FakeWinkasOptions::default()
    })
    .await
    .expect("the fake starts");
    let start = Utc::now() + chrono::Duration::minutes(90);
    fake.add_booking(FakeData::booking(
        2,
        "Badminton",
        start,
        start + chrono::Duration::hours(1),
    ));
    let s = site(&fake.base_url(), &fake.credentials().1);
    let config = &s.config;
    let during = start + chrono::Duration::minutes(10);
    let store = config.with_file_name("klar.db");

    let mut first = Daemon::start(config, "first.log");
    wait_running(&mut first, "the booking applied", || {
        door_at(config, during) == Some(DoorLevel::Unlocked)
    });
    let applied = exceptions(config);
    assert_eq!(applied.len(), 1, "{applied:?}");
    assert!(first.terminate().success());

    // Damaged: the file is overwritten with something that is not SQLite.
    let garbage = "this was klar.db until the disk lied about it\n".repeat(200);
    std::fs::write(&store, &garbage).expect("spoil the store");
    let mut second = Daemon::start(config, "second.log");
    let log = second.log.clone();
    wait_running(&mut second, "the booking polled and applied again", || {
        polled(&log) && stored(config) == 1 && door_at(config, during) == Some(DoorLevel::Unlocked)
    });
    let log = second.log();
    let line = log
        .lines()
        .find(|l| l.contains("The store is damaged"))
        .unwrap_or_else(|| panic!("no line says the store is damaged:\n{log}"));
    assert!(line.contains("ERROR"), "{line}");
    assert!(line.contains("klar.db.corrupt-"), "{line}");
    let aside: Vec<_> = std::fs::read_dir(s.dir.path())
        .expect("list the site folder")
        .filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("klar.db.corrupt-")
        })
        .collect();
    assert_eq!(aside.len(), 1, "one damaged file moved aside");
    assert_eq!(
        std::fs::read_to_string(aside[0].path()).expect("read it"),
        garbage,
        "kept as it was"
    );
    assert_eq!(exceptions(config), applied, "the same exception, once");
    assert_nothing_removed(&log);
    // /api/status says so too.
    let url = log
        .split("dashboard=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no dashboard URL in the log:\n{log}"));
    let status: serde_json::Value = reqwest::get(format!("{url}api/status"))
        .await
        .expect("GET /api/status")
        .json()
        .await
        .expect("JSON");
    let rebuilt = status["store_rebuilt"].as_str().unwrap_or_default();
    assert!(
        rebuilt.contains("was damaged") && rebuilt.contains("klar.db.corrupt-"),
        "{status:#}"
    );
    assert_eq!(
        stored(config),
        1,
        "the new store holds the source's snapshot"
    );
    assert!(second.terminate().success());

    // Missing: a new store, rebuilt the same way.
    std::fs::remove_file(&store).expect("remove the store");
    let mut third = Daemon::start(config, "third.log");
    let log = third.log.clone();
    wait_running(&mut third, "the booking polled and applied again", || {
        polled(&log) && stored(config) == 1 && door_at(config, during) == Some(DoorLevel::Unlocked)
    });
    assert_eq!(door_at(config, during), Some(DoorLevel::Unlocked));
    assert_eq!(exceptions(config), applied);
    assert_eq!(stored(config), 1);
    assert_nothing_removed(&third.log());
    assert!(third.terminate().success());
}
