//! `klar demo --once`: one full cycle against the fake Pronestor and WinKAS servers and the
//! embedded simulator, from nothing but the binary and an empty folder.

use std::process::Command;

/// The demo pinned to a school day (`--at`): on a public holiday the school pack rightly opens
/// nothing, and the tests must not depend on the date they run. (The demo at every second hour
/// of a week: `src/cli/demo.rs`.)
const SCHOOL_DAY: &str = "2026-11-23T09:00:00+01:00";

/// A child process killed when dropped (a failing test leaves no demo running).
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn count(stdout: &str, label: &str) -> usize {
    let line = stdout
        .lines()
        .find(|l| l.starts_with(label))
        .unwrap_or_else(|| panic!("no {label:?} line in:\n{stdout}"));
    line[label.len()..]
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no number after {label:?}: {line}"))
}

#[test]
fn demo_once_opens_doors_grants_persons_and_names_the_dashboard() {
    let dir = tempfile::tempdir().unwrap();
    let demo = dir.path().join("klar-demo");
    let out = Command::new(env!("CARGO_BIN_EXE_klar"))
        .args(["demo", "--once", "--at", SCHOOL_DAY, "--port", "0", "--dir"])
        .arg(&demo)
        .output()
        .expect("klar demo runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{}\n{stdout}\n{stderr}", out.status);
    assert!(count(&stdout, "doors opened:") >= 2, "{stdout}");
    assert!(count(&stdout, "persons granted:") >= 1, "{stdout}");
    assert!(count(&stdout, "applied") >= 1, "{stdout}");
    assert!(stdout.contains("dashboard: http://127.0.0.1:"), "{stdout}");
    // The rules are the user's to edit, the site config has the fakes' URLs, no password is
    // printed.
    assert!(demo.join("rules/school/pack.toml").is_file());
    let site = std::fs::read_to_string(demo.join("site.toml")).unwrap();
    assert!(!site.contains("@WINKAS_URL@") && site.contains("http://127.0.0.1:"));
    let password = std::fs::read_to_string(demo.join("secrets/winkas.password")).unwrap();
    assert!(!stdout.contains(password.trim()) && !stderr.contains(password.trim()));

    // A second run keeps the user's (edited) rules and works again.
    let rule = demo.join("rules/school/pack.toml");
    let edited = std::fs::read_to_string(&rule).unwrap() + "\n# edited by the user\n";
    std::fs::write(&rule, &edited).unwrap();
    let again = Command::new(env!("CARGO_BIN_EXE_klar"))
        .args(["demo", "--once", "--at", SCHOOL_DAY, "--port", "0", "--dir"])
        .arg(&demo)
        .output()
        .unwrap();
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stdout)
    );
    assert_eq!(std::fs::read_to_string(&rule).unwrap(), edited);
}

/// `klar demo` running: an edit of the demo's site config (the school pack's margin) is
/// validated, swapped in and applied within a couple of seconds; Ctrl-C (SIGINT) stops it.
#[test]
fn demo_follows_an_edit_while_it_runs() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    use std::time::{Duration, Instant};

    let dir = tempfile::tempdir().unwrap();
    let demo = dir.path().join("klar-demo");
    let mut running = Running(
        Command::new(env!("CARGO_BIN_EXE_klar"))
            .args(["demo", "--at", SCHOOL_DAY, "--port", "0", "--dir"])
            .arg(&demo)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("klar demo starts"),
    );
    let child = &mut running.0;
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    // Reads every line (the demo must not find its stdout closed) and sends the dashboard URL.
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(u) = line.trim().strip_prefix("dashboard:") {
                let _ = tx.send(u.trim().to_owned());
            }
        }
    });
    let url = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the demo prints the dashboard URL");
    let status = |url: &str| -> serde_json::Value {
        reqwest::blocking::get(format!("{url}api/status"))
            .and_then(|r| r.json())
            .unwrap_or(serde_json::Value::Null)
    };
    let wait = |what: &str, check: &dyn Fn(&serde_json::Value) -> bool| {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let s = status(&url);
            if check(&s) {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}: {s}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    // The demo's clock stands still, so equal times do not tell one apply from the next: wait
    // for both sources read and the simulator written (an apply waits until every source has
    // answered, so the first one written holds both).
    let state = demo.join("klar.unilock-sim.json");
    wait("a plan with the fakes' bookings applied", &|s| {
        s["plan"]["targets"].as_u64().is_some_and(|n| n > 0)
            && s["sources"]
                .as_array()
                .is_some_and(|a| a.iter().all(|x| x["polls"].as_u64() > Some(0)))
            && s["last_apply"]["at"] == s["plan"]["at"]
            && state.exists()
    });
    let held = std::fs::read(&state).unwrap();

    let config = demo.join("site.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(text.contains("margin_before = 15"));
    let edited_at = Instant::now();
    std::fs::write(
        &config,
        text.replace("margin_before = 15", "margin_before = 45"),
    )
    .unwrap();
    // The demo's clock stands still, so every apply has the plan's `at`: wait for the apply
    // that moved windows, not the one before the edit (under load the status showed the new
    // plan with the old apply).
    let s = wait("the edit swapped in and applied", &|s| {
        s["rules"]["generation"] == 2
            && s["plan"]["rules_generation"] == 2
            && s["last_apply"]["at"] == s["plan"]["at"]
            && s["last_apply"]["error"].is_null()
            && s["last_apply"]["actions"].as_u64().is_some_and(|n| n > 0)
    });
    // The earlier margins moved windows, as the reload's diff says, and on the simulator.
    assert!(
        s["rules"]["reloads"][0]["diff"]["counts"]["moved"].as_u64() > Some(0),
        "{s}"
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::fs::read(&state).unwrap() == held {
        assert!(
            Instant::now() < deadline,
            "the simulator did not change: {s}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(edited_at.elapsed() < Duration::from_secs(5), "{s}");

    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap()
            .success()
    );
    let code = child.wait().unwrap();
    assert!(code.success(), "{code}");
}

/// The demo folder is the user's: started again, an edited site config is kept (only the
/// fakes' addresses, new each start, are written into it).
#[test]
fn demo_keeps_an_edited_site_config() {
    let dir = tempfile::tempdir().unwrap();
    let demo = dir.path().join("klar-demo");
    let once = || {
        let out = Command::new(env!("CARGO_BIN_EXE_klar"))
            .args(["demo", "--once", "--at", SCHOOL_DAY, "--port", "0", "--dir"])
            .arg(&demo)
            .output()
            .expect("klar demo runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
    };
    once();
    let config = demo.join("site.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    let url = |t: &str| -> Vec<String> {
        t.lines()
            .filter(|l| l.starts_with("url = "))
            .map(str::to_owned)
            .collect()
    };
    let first_urls = url(&text);
    let edited = text.replace("margin_before = 15", "margin_before = 20 # mine, keep it");
    assert_ne!(edited, text);
    std::fs::write(&config, &edited).unwrap();
    once();
    let after = std::fs::read_to_string(&config).unwrap();
    assert!(
        after.contains("margin_before = 20 # mine, keep it"),
        "{after}"
    );
    assert_ne!(url(&after), first_urls, "the new fakes' addresses");
    let mut expected = edited.clone();
    for (old, new) in first_urls.iter().zip(url(&after)) {
        expected = expected.replace(old.as_str(), &new);
    }
    assert_eq!(after, expected, "nothing but the addresses changed");
}

/// A port in use is the first and only thing the demo says, with the way out, before it
/// writes or starts anything.
#[test]
fn demo_on_a_busy_port_says_so_and_nothing_else() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let demo = dir.path().join("klar-demo");
    let out = Command::new(env!("CARGO_BIN_EXE_klar"))
        .args(["demo", "--port", &port.to_string(), "--dir"])
        .arg(&demo)
        .env_remove("RUST_LOG")
        .output()
        .expect("klar demo runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(
        stderr.trim_end(),
        format!(
            "error: 127.0.0.1:{port} is already in use (another klar, or another program, listens there): stop the other demo, or start this one on any free port with --port 0"
        )
    );
    assert!(!demo.exists(), "nothing was written");
    drop(taken);
}
