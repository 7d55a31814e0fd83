//! The daemon tests' harness: a small rule pack with accepted cases, a site on the fake WinKAS
//! server and the embedded simulator, `klar run` as a process with its log in a file, and the
//! simulator's saved state read back.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use klar_adapters::controllers::unilock::driver::load_database;
use klar_adapters::controllers::unilock::protocol::Value;
use klar_adapters::controllers::unilock::{UnilockSimulator, driver_for};
use klar_engine::model::DoorLevel;
use klar_engine::rules::cases;
use klar_engine::rules::pack::{LoadOptions, load};

/// Every door unlocked 15 minutes around a booking; in rooms named "Hal 2", `hal2` minutes.
/// The one case covers Hal 1 only, so changing `hal2` keeps the pack's cases passing.
pub fn rule(hal2: u32) -> String {
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
name = "Daemon test"
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

/// A site folder: the pack `rules/t` (cases accepted), `site.toml` on the fake at `url`.
pub struct SiteDir {
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    pub rule_file: PathBuf,
}

pub fn site(url: &str, password: &str) -> SiteDir {
    site_with(url, password, "")
}

/// The same site with `extra` TOML appended (an `[mqtt]` table).
pub fn site_with(url: &str, password: &str, extra: &str) -> SiteDir {
    let dir = tempfile::tempdir().unwrap();
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
    std::fs::write(dir.path().join("winkas.password"), password).unwrap();
    let config = dir.path().join("site.toml");
    std::fs::write(&config, SITE.replace("@URL@", url) + extra).unwrap();
    SiteDir {
        dir,
        config,
        rule_file,
    }
}

/// `klar run` as a child process, its stderr in a file.
pub struct Daemon {
    pub child: Child,
    pub log: PathBuf,
}

impl Daemon {
    pub fn start(config: &Path, log_name: &str) -> Daemon {
        let log = config.with_file_name(log_name);
        let child = Command::new(env!("CARGO_BIN_EXE_klar"))
            .args(["run", "--config"])
            .arg(config)
            .args(["--listen", "127.0.0.1:0"])
            .env_remove("RUST_LOG")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("klar run starts");
        Daemon { child, log }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGTERM, then the exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let killed = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill runs");
        assert!(killed.success());
        self.child.wait().unwrap()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Door D-HAL2's level at `at`, from the simulator's saved state.
pub fn door_at(config: &Path, at: DateTime<Utc>) -> Option<DoorLevel> {
    let site = klar_engine::site::SiteConfig::load(config).ok()?;
    let (_, driver) = driver_for(&site).ok()?;
    let db = load_database(&config.with_file_name("klar.unilock-sim.json")).ok()?;
    let sim = UnilockSimulator::with_database(driver.installation().clone(), db);
    match sim.door("D-HAL2", at).ok()?.value {
        Value::Level(level) => Some(level),
        _ => None,
    }
}

/// Polls `check` every 50 ms until it holds or 30 s have passed. A real process and a real
/// file watcher are involved, so a bounded wait, not injected time.
pub fn wait_for(what: &str, daemon: &Daemon, mut check: impl FnMut() -> bool) {
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
