//! `klar run` as a process against the fake WinKAS server and the embedded simulator: a rule
//! edit reaches the doors; a rule with a syntax error is refused with its file:line:column and
//! the previous rules stay in force; the fix reaches the doors; SIGTERM stops it cleanly.

mod daemon_common;

use chrono::Utc;
use daemon_common::{Daemon, door_at, rule, site, wait_for};
use klar_adapters::fake::FakeData;
use klar_adapters::fake::winkas::{FakeWinkas, FakeWinkasOptions};
use klar_engine::model::DoorLevel;

/// The running daemon's web server (its URL is in the log).
fn dashboard(daemon: &Daemon) -> String {
    daemon
        .log()
        .split_whitespace()
        .find_map(|w| w.strip_prefix("dashboard="))
        .expect("the log names the dashboard URL")
        .to_owned()
}

/// `/api/status` of the running daemon.
async fn api_status(daemon: &Daemon) -> serde_json::Value {
    let url = dashboard(daemon);
    reqwest::get(format!("{url}api/status"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rule_edits_reach_the_doors_and_broken_rules_are_refused() {
    let fake = FakeWinkas::start(FakeWinkasOptions {
        empty: true,
        ..FakeWinkasOptions::default()
    })
    .await
    .unwrap();
    let start = Utc::now() + chrono::Duration::minutes(90);
    let end = start + chrono::Duration::hours(1);
    fake.add_booking(FakeData::booking(2, "Badminton", start, end));
    let s = site(&fake.base_url(), &fake.credentials().1);
    let config = &s.config;
    let mut daemon = Daemon::start(config, "klar.log");
    let m = |minutes: i64| start - chrono::Duration::minutes(minutes);

    // The booking reaches the simulator with a 15-minute margin.
    wait_for("the booking's doors (15-minute margin)", &daemon, || {
        door_at(config, m(10)) == Some(DoorLevel::Unlocked)
    });
    assert_eq!(door_at(config, m(30)), Some(DoorLevel::Locked));

    // A rule edit: 45 minutes for Hal 2.
    std::fs::write(&s.rule_file, rule(45)).unwrap();
    wait_for("the edited rule's 45-minute margin", &daemon, || {
        door_at(config, m(30)) == Some(DoorLevel::Unlocked)
    });

    // A syntax error: refused, reported with file:line:column, the 45-minute rules stay.
    std::fs::write(
        &s.rule_file,
        rule(5).replace("let effects = [];", "let effects = [;"),
    )
    .unwrap();
    wait_for("the syntax error reported", &daemon, || {
        daemon.log().contains("Reload refused")
    });
    let text = daemon.log();
    let line = text.lines().find(|l| l.contains("Reload refused")).unwrap();
    let place = format!("{}:5:", s.rule_file.canonicalize().unwrap().display());
    assert!(line.contains(&place), "{line}");
    assert_eq!(door_at(config, m(30)), Some(DoorLevel::Unlocked));
    assert_eq!(door_at(config, m(40)), Some(DoorLevel::Unlocked));
    // ... and on the status the dashboard shows.
    let status = api_status(&daemon).await;
    let error = &status["rules"]["errors"][0];
    assert!(
        error["file"]
            .as_str()
            .unwrap()
            .ends_with("rules/doors.rhai"),
        "{status}"
    );
    assert_eq!(error["line"], 5, "{status}");
    assert!(error["column"].as_u64().unwrap() > 0, "{status}");
    assert_eq!(status["rules"]["generation"], 2, "{status}");

    // Fixed: 20 minutes.
    std::fs::write(&s.rule_file, rule(20)).unwrap();
    wait_for("the fixed rule's 20-minute margin", &daemon, || {
        door_at(config, m(30)) == Some(DoorLevel::Locked)
            && door_at(config, m(18)) == Some(DoorLevel::Unlocked)
    });

    let status = api_status(&daemon).await;
    assert_eq!(status["rules"]["errors"].as_array().map(Vec::len), Some(0));
    assert_eq!(status["rules"]["generation"], 3, "{status}");
    assert_eq!(
        status["sources"][0]["health"]["state"], "healthy",
        "{status}"
    );

    // The dashboard's actions: reload the rules, poll every source now.
    let url = dashboard(&daemon);
    let polls = status["sources"][0]["polls"].as_u64().unwrap();
    let client = reqwest::Client::new();
    for action in ["reload", "sync"] {
        let r = client
            .post(format!("{url}api/{action}"))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{action}: {}", r.status());
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let s = api_status(&daemon).await;
        if s["rules"]["generation"] == 4 && s["sources"][0]["polls"].as_u64() > Some(polls) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{s}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    // SIGTERM: a clean stop.
    let status = daemon.terminate();
    assert!(status.success(), "{status}\n{}", daemon.log());
    assert!(daemon.log().contains("Stopped."));
}
