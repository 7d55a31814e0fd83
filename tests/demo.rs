//! `klar demo --once`: one full cycle against the fake Pronestor and WinKAS servers and the
//! embedded simulator, from nothing but the binary and an empty folder.

use std::process::Command;

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
        .args(["demo", "--once", "--port", "0", "--dir"])
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
        .args(["demo", "--once", "--port", "0", "--dir"])
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
