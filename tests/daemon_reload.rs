//! `klar run` as a process against the fake WinKAS server and the embedded simulator: a rule
//! edit reaches the doors; a rule with a syntax error is refused with its file:line:column and
//! the previous rules stay in force; the fix reaches the doors; SIGTERM stops it cleanly.
//!
//! A real process and a real file watcher are involved, so this test waits for results with a
//! bounded polling loop (generous timeout) instead of injected time.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use klar_adapters::controllers::unilock::driver::load_database;
use klar_adapters::controllers::unilock::protocol::Value;
use klar_adapters::controllers::unilock::{UnilockSimulator, driver_for};
use klar_adapters::fake::FakeData;
use klar_adapters::fake::winkas::{FakeWinkas, FakeWinkasOptions};
use klar_engine::model::DoorLevel;
use klar_engine::rules::cases;
use klar_engine::rules::pack::{LoadOptions, load};

/// Every door unlocked 15 minutes around a booking; in rooms named "Hal 2", `hal2` minutes.
/// The one case covers Hal 1 only, so changing `hal2` keeps the pack's cases passing.
fn rule(hal2: u32) -> String {
    format!(
        "fn decide(booking, room, ctx) {{\n    if booking.is_cancelled {{ return []; }}\n    let m = minutes(15);\n    if room.name == \"Hal 2\" {{ m = minutes({hal2}); }}\n    let effects = [];\n    for door in room.doors {{ effects.push(unlock(door, booking.start - m, booking.end + m)); }}\n    effects\n}}\n"
    )
}

const CASE: &str = r#"
site:
  rooms:
    "halls:1": {name: Hal 1, doors: [D-HAL1]}
now: 2026-11-23T07:00:00+01:00
bookings:
  - {id: W-1, source: halls, resource: "1", title: Håndbold, start: 2026-11-23T16:00:00+01:00, end: 2026-11-23T18:00:00+01:00}
expect:
  "door D-HAL1 unlocked": ["2026-11-23 15:45 .. 2026-11-23 18:15"]
"#;

const SITE: &str = r#"
[site]
name = "Reload"
[rules]
packs = ["rules/t"]
[daemon]
log = "info"
debounce_ms = 150
[[sources]]
name = "halls"
kind = "winkas"
url = "@URL@"
username = "api-klar"
password_file = "winkas.password"
contract_code = "12345"
[rooms."halls:2"]
name = "Hal 2"
doors = ["D-HAL2"]
[controller]
kind = "unilock-sim"
[controller.installation.tables.locked]
all = ["00:00 locked"]
[controller.installation.doors."D-HAL2"]
table = "locked"
"#;

struct Daemon {
    child: Child,
    log: PathBuf,
}

impl Daemon {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The door's level at `at`, from the simulator's saved state.
fn door_at(config: &Path, at: DateTime<Utc>) -> Option<DoorLevel> {
    let site = klar_engine::site::SiteConfig::load(config).ok()?;
    let (_, driver) = driver_for(&site).ok()?;
    let db = load_database(&config.with_file_name("klar.unilock-sim.json")).ok()?;
    let sim = UnilockSimulator::with_database(driver.installation().clone(), db);
    match sim.door("D-HAL2", at).ok()?.value {
        Value::Level(level) => Some(level),
        _ => None,
    }
}

/// Polls `check` every 50 ms until it holds or 30 s have passed.
fn wait_for(what: &str, daemon: &Daemon, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if check() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!(
        "timed out waiting for: {what}\n--- klar run's log ---\n{}",
        daemon.log()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rule_edits_reach_the_doors_and_broken_rules_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let fake = FakeWinkas::start(FakeWinkasOptions {
        empty: true,
        ..FakeWinkasOptions::default()
    })
    .await
    .unwrap();
    let start = Utc::now() + chrono::Duration::minutes(90);
    let end = start + chrono::Duration::hours(1);
    fake.add_booking(FakeData::booking(2, "Badminton", start, end));

    let pack = dir.path().join("rules/t");
    std::fs::create_dir_all(pack.join("rules")).unwrap();
    std::fs::create_dir_all(pack.join("cases")).unwrap();
    std::fs::write(
        pack.join("pack.toml"),
        "name = \"t\"\nversion = \"1\"\nruntime = \"rhai\"\n",
    )
    .unwrap();
    let rule_file = pack.join("rules/doors.rhai");
    std::fs::write(&rule_file, rule(15)).unwrap();
    std::fs::write(pack.join("cases/hal1.yaml"), CASE).unwrap();
    let runtime = load(&pack, &LoadOptions::default()).unwrap();
    assert!(cases::accept(&pack, &runtime).passed());
    std::fs::write(dir.path().join("winkas.password"), fake.credentials().1).unwrap();
    let config = dir.path().join("site.toml");
    std::fs::write(&config, SITE.replace("@URL@", &fake.base_url())).unwrap();

    let log = dir.path().join("klar.log");
    let child = Command::new(env!("CARGO_BIN_EXE_klar"))
        .args(["run", "--config"])
        .arg(&config)
        .args(["--listen", "127.0.0.1:0"])
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .expect("klar run starts");
    let daemon = Daemon { child, log };
    let m = |minutes: i64| start - chrono::Duration::minutes(minutes);

    // The booking reaches the simulator with a 15-minute margin.
    wait_for("the booking's doors (15-minute margin)", &daemon, || {
        door_at(&config, m(10)) == Some(DoorLevel::Unlocked)
    });
    assert_eq!(door_at(&config, m(30)), Some(DoorLevel::Locked));

    // A rule edit: 45 minutes for Hal 2.
    std::fs::write(&rule_file, rule(45)).unwrap();
    wait_for("the edited rule's 45-minute margin", &daemon, || {
        door_at(&config, m(30)) == Some(DoorLevel::Unlocked)
    });

    // A syntax error: refused, reported with file:line:column, the 45-minute rules stay.
    std::fs::write(
        &rule_file,
        rule(5).replace("let effects = [];", "let effects = [;"),
    )
    .unwrap();
    wait_for("the syntax error reported", &daemon, || {
        daemon.log().contains("Reload refused")
    });
    let text = daemon.log();
    let line = text.lines().find(|l| l.contains("Reload refused")).unwrap();
    let place = format!("{}:5:", rule_file.canonicalize().unwrap().display());
    assert!(line.contains(&place), "{line}");
    assert_eq!(door_at(&config, m(30)), Some(DoorLevel::Unlocked));
    assert_eq!(door_at(&config, m(40)), Some(DoorLevel::Unlocked));

    // Fixed: 20 minutes.
    std::fs::write(&rule_file, rule(20)).unwrap();
    wait_for("the fixed rule's 20-minute margin", &daemon, || {
        door_at(&config, m(30)) == Some(DoorLevel::Locked)
            && door_at(&config, m(18)) == Some(DoorLevel::Unlocked)
    });

    // SIGTERM: a clean stop.
    let mut daemon = daemon;
    let pid = daemon.child.id().to_string();
    let killed = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let status = daemon.child.wait().unwrap();
    assert!(status.success(), "{status}\n{}", daemon.log());
    assert!(daemon.log().contains("Stopped."));
}
