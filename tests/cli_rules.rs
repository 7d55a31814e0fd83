//! `klar rules test` and `klar check`: the shipped packs pass; a changed expectation or result
//! fails with a diff; `--accept` writes snapshots; an endless loop stops at the operation limit
//! and names the rule; compile errors point at the text.

mod common;
#[path = "common/rules.rs"]
mod rules;

use std::time::{Duration, Instant};

use common::{klar, repo};
use rules::{ONE_BOOKING_CASE, copy_dir, manifest, run, write_files};

#[test]
fn every_shipped_pack_passes_its_cases() {
    let r = run(klar()
        .args(["rules", "test", "--dir"])
        .arg(repo().join("rules")));
    assert_eq!(r.code, Some(0), "{}\n{}", r.stdout, r.stderr);
    for pack in ["margins 1.0.0", "unilock-parity 1.0.0", "school 1.1.0"] {
        assert!(r.stdout.contains(pack), "{}", r.stdout);
    }
    assert!(!r.stdout.contains("FAILED"), "{}", r.stdout);
}

#[test]
fn an_edited_expectation_fails_naming_both_windows() {
    let tmp = tempfile::tempdir().unwrap();
    let pack = tmp.path().join("margins");
    copy_dir(&repo().join("rules/margins"), &pack);
    let case = pack.join("cases/normal.yaml");
    let text = std::fs::read_to_string(&case).unwrap();
    let edited = text.replace(
        "\"door D-101 unlocked\": [\"2026-11-23 08:45 ..",
        "\"door D-101 unlocked\": [\"2026-11-23 08:30 ..",
    );
    assert_ne!(edited, text, "the case has the line this test edits");
    std::fs::write(&case, edited).unwrap();

    let r = run(klar().args(["rules", "test", "--dir"]).arg(tmp.path()));
    assert_eq!(r.code, Some(1), "{}", r.stdout);
    assert!(r.stdout.contains("FAILED  normal"), "{}", r.stdout);
    assert!(
        r.stdout.contains(
            "door D-101 unlocked: expected [2026-11-23 08:30 .. 2026-11-23 10:15], the plan has [2026-11-23 08:45 .. 2026-11-23 10:15]"
        ),
        "{}",
        r.stdout
    );
    // The other cases still pass.
    assert!(r.stdout.contains("ok      midnight"), "{}", r.stdout);
}

#[test]
fn a_changed_result_fails_with_a_line_diff_until_accepted() {
    let tmp = tempfile::tempdir().unwrap();
    let pack = tmp.path().join("margins");
    copy_dir(&repo().join("rules/margins"), &pack);
    // The rule changes (20-minute margins) and the case's expectation with it: only the
    // snapshot still holds the old result.
    let toml = std::fs::read_to_string(pack.join("pack.toml")).unwrap();
    std::fs::write(
        pack.join("pack.toml"),
        toml.replace("margin_minutes = 15", "margin_minutes = 20"),
    )
    .unwrap();
    let case = pack.join("cases/midnight.yaml");
    let text = std::fs::read_to_string(&case).unwrap();
    std::fs::write(
        &case,
        text.replace(
            "2026-11-27 21:45 .. 2026-11-28 01:45",
            "2026-11-27 21:40 .. 2026-11-28 01:50",
        ),
    )
    .unwrap();

    let r = run(klar()
        .args(["rules", "test", "margins", "--dir"])
        .arg(tmp.path()));
    assert_eq!(r.code, Some(1), "{}", r.stdout);
    let start = r
        .stdout
        .find("FAILED  midnight")
        .expect("the midnight case fails");
    let midnight = &r.stdout[start..];
    assert!(midnight.contains("the result differs from"), "{}", r.stdout);
    assert!(
        midnight.contains("-  - local: 2026-11-27 21:45 .. 2026-11-28 01:45"),
        "{}",
        r.stdout
    );
    assert!(
        midnight.contains("+  - local: 2026-11-27 21:40 .. 2026-11-28 01:50"),
        "{}",
        r.stdout
    );
    let before = std::fs::read_to_string(pack.join("snapshots/midnight.snap")).unwrap();
    assert!(before.contains("21:45"), "a failing run writes no snapshot");

    // Accepting writes the new snapshot only where the expectation holds.
    let r = run(klar()
        .args(["rules", "test", "margins", "--accept", "--dir"])
        .arg(tmp.path()));
    assert_eq!(
        r.code,
        Some(1),
        "other cases still expect 15 minutes: {}",
        r.stdout
    );
    let after = std::fs::read_to_string(pack.join("snapshots/midnight.snap")).unwrap();
    assert!(
        after.contains("2026-11-27 21:40 .. 2026-11-28 01:50"),
        "{after}"
    );
}

#[test]
fn a_new_pack_needs_accept_for_its_first_snapshots() {
    let tmp = tempfile::tempdir().unwrap();
    let pack = tmp.path().join("exact");
    write_files(
        &pack,
        &[
            ("pack.toml", &manifest("exact")),
            (
                "rules/doors.rhai",
                "fn decide(booking, room, ctx) {\n    room.doors.map(|d| unlock(d, booking.start, booking.end))\n}\n",
            ),
            ("cases/one.yaml", ONE_BOOKING_CASE),
        ],
    );
    let r = run(klar().args(["rules", "test"]).arg(&pack));
    assert_eq!(r.code, Some(1), "{}", r.stdout);
    assert!(r.stdout.contains("no snapshot yet"), "{}", r.stdout);
    assert!(!pack.join("snapshots/one.snap").exists());

    let r = run(klar().args(["rules", "test", "--accept"]).arg(&pack));
    assert_eq!(r.code, Some(0), "{}", r.stdout);
    let snap = std::fs::read_to_string(pack.join("snapshots/one.snap")).unwrap();
    assert!(
        snap.contains("halls:W-1 (Håndbold) at rules/doors.rhai:2"),
        "{snap}"
    );
    assert!(
        snap.contains("utc: 2026-11-23T15:00:00Z .. 2026-11-23T17:00:00Z"),
        "{snap}"
    );

    let r = run(klar().args(["rules", "test"]).arg(&pack));
    assert_eq!(r.code, Some(0), "{}", r.stdout);
}

#[test]
fn an_endless_loop_stops_at_the_operation_limit_and_names_the_rule() {
    let tmp = tempfile::tempdir().unwrap();
    let pack = tmp.path().join("spin");
    write_files(
        &pack,
        &[
            ("pack.toml", &manifest("spin")),
            (
                "rules/spin.rhai",
                "fn decide(booking, room, ctx) {\n    let n = 0;\n    while true { n += 1; }\n    []\n}\n",
            ),
            ("cases/one.yaml", ONE_BOOKING_CASE),
        ],
    );
    let started = Instant::now();
    let r = run(klar().args(["rules", "test", "--accept"]).arg(&pack));
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(r.code, Some(1), "{}", r.stdout);
    assert!(
        r.stdout.contains("unexpected rule error: spin: booking W-1: limit exceeded: rules/spin.rhai ran past the operation limit"),
        "{}",
        r.stdout
    );
    // Fail closed: the booking got no unlock.
    assert!(
        r.stdout.contains("expected door D-HAL unlocked"),
        "{}",
        r.stdout
    );
}

#[test]
fn check_points_at_a_compile_error() {
    let tmp = tempfile::tempdir().unwrap();
    let pack = tmp.path().join("typo");
    write_files(
        &pack,
        &[
            ("pack.toml", &manifest("typo")),
            (
                "rules/doors.rhai",
                "fn decide(booking, room, ctx) {\n    [unlock(dor, booking.start, booking.end)]\n}\n",
            ),
        ],
    );
    let site = tmp.path().join("site.toml");
    std::fs::write(
        &site,
        "[site]\nname = \"Test\"\n[rules]\npacks = [\"typo\"]\n",
    )
    .unwrap();
    let r = run(klar().args(["check", "--config"]).arg(&site));
    // A rule that does not compile is a config error: exit 2, as the README says.
    assert_eq!(r.code, Some(2), "{}\n{}", r.stdout, r.stderr);
    let rule = pack.join("rules/doors.rhai");
    assert!(
        r.stderr
            .contains(&format!("error: {}:2:13: ", rule.display())),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("dor"), "{}", r.stderr);
    assert!(
        r.stderr.contains(
            "   2 |     [unlock(dor, booking.start, booking.end)]\n     |             ^^^"
        ),
        "{}",
        r.stderr
    );
}

#[test]
fn check_passes_the_sample_site() {
    let r = run(klar()
        .args(["check", "--config"])
        .arg(repo().join("examples/school/site.toml")));
    assert_eq!(r.code, Some(0), "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("pack school 1.1.0"), "{}", r.stdout);
}

#[test]
fn check_reports_every_broken_table_the_daemon_reads_and_warns_of_missing_secrets() {
    let tmp = tempfile::tempdir().unwrap();
    let site = tmp.path().join("site.toml");
    std::fs::write(
        &site,
        r#"
[site]
name = "Test"

[[sources]]
name = "halls"
kind = "winkas"
username = "klar"
contract_code = "12345"
password_env = "KLAR_TEST_SURELY_UNSET_PASSWORD"

[[sources]]
name = "typo"
kind = "winkas-cloud"

[controller]
kind = "unilock-telepathy"

[mqtt]
host = "127.0.0.1"
port = "not a number"

[daemon]
near_every_seconds = "often"
"#,
    )
    .unwrap();
    let r = run(klar()
        .env_remove("KLAR_TEST_SURELY_UNSET_PASSWORD")
        .args(["check", "--config"])
        .arg(&site));
    assert_eq!(r.code, Some(2), "{}\n{}", r.stdout, r.stderr);
    for needle in [
        "source \"typo\" (winkas-cloud): unknown kind",
        "[controller]: ",
        "unilock-telepathy",
        "[mqtt]: ",
        "[daemon]: ",
        "4 error(s)",
    ] {
        assert!(
            r.stderr.contains(needle),
            "{needle:?} missing:\n{}",
            r.stderr
        );
    }
    assert!(
        r.stdout.contains("warning: ")
            && r.stdout
                .contains("KLAR_TEST_SURELY_UNSET_PASSWORD is not set"),
        "{}",
        r.stdout
    );
}

#[test]
fn check_reads_the_web_table_and_warns_of_a_dashboard_off_loopback_without_a_token() {
    let tmp = tempfile::tempdir().unwrap();
    let site = tmp.path().join("site.toml");
    let write =
        |web: &str| std::fs::write(&site, format!("[site]\nname = \"Test\"\n{web}")).unwrap();

    write("[web]\nlisten = \"0.0.0.0:7878\"\n");
    let r = run(klar()
        .env_remove("KLAR_WEB_TOKEN")
        .args(["check", "--config"])
        .arg(&site));
    assert_eq!(r.code, Some(0), "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("warning: ") && r.stdout.contains("off loopback and no token"),
        "{}",
        r.stdout
    );

    write("[web]\nlisten = \"all interfaces\"\ntoken = \"x\"\n");
    let r = run(klar()
        .env_remove("KLAR_WEB_TOKEN")
        .args(["check", "--config"])
        .arg(&site));
    assert_eq!(r.code, Some(2), "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("[web]: unknown key `token`"),
        "{}",
        r.stderr
    );

    write("[web]\nlisten = \"all interfaces\"\n");
    let r = run(klar()
        .env_remove("KLAR_WEB_TOKEN")
        .args(["check", "--config"])
        .arg(&site));
    assert_eq!(r.code, Some(2), "{}\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("[web] listen: "), "{}", r.stderr);
}

#[test]
fn check_warns_where_the_sites_holidays_and_the_controllers_tables_do_not_meet() {
    let sample = std::fs::read_to_string(repo().join("examples/school/site.toml")).unwrap();
    // The sample itself: its holidays reach tables with holiday rows; no holiday warning.
    let r = run(klar()
        .args(["check", "--config"])
        .arg(repo().join("examples/school/site.toml")));
    assert!(!r.stdout.contains("holiday"), "{}", r.stdout);
    assert!(
        r.stdout.contains("safety: windows at most 120 min before"),
        "{}",
        r.stdout
    );

    let tmp = tempfile::tempdir().unwrap();
    let site = tmp.path().join("site.toml");
    let check = |text: &str| {
        let text = text.replace(
            "../../rules/school",
            &repo().join("rules/school").display().to_string(),
        );
        std::fs::write(&site, text).unwrap();
        run(klar()
            .env("KLAR_PRONESTOR_PASSWORD", "x")
            .env("KLAR_WINKAS_PASSWORD", "x")
            .args(["check", "--config"])
            .arg(&site))
    };
    // Holiday rows that nothing writes.
    let off = sample.replace(
        "public_holidays = \"dk\"",
        "public_holidays = \"dk\"\nwrite_holidays = false",
    );
    let r = check(&off);
    assert_eq!(r.code, Some(0), "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("warning: ")
            && r.stdout
                .contains("have a holiday row, but the site writes no holiday"),
        "{}",
        r.stdout
    );
    // Holidays a table would not notice, and a period mapped to a day type the controller lacks.
    let deaf = sample
        .replace("holiday = [\"00:00 locked\"]\nopen_house", "open_house")
        .replace(
            "to = 2027-02-21",
            "to = 2027-02-21\nday_type = \"skoleferie\"",
        );
    let r = check(&deaf);
    assert_eq!(r.code, Some(0), "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stdout
            .contains("tables d_adm, d_aula have no holiday row"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("holiday period \"Vinterferie\" has day_type \"skoleferie\""),
        "{}",
        r.stdout
    );
}
