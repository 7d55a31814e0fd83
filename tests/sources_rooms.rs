//! `klar sources rooms` against fake Pronestor and WinKAS servers on loopback, and
//! `klar fake winkas` as a process that a source can poll.

mod common;

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use klar_adapters::fake::pronestor::{FakePronestor, FakePronestorOptions};
use klar_adapters::fake::winkas::{FakeWinkas, FakeWinkasOptions};

/// Kills the `klar fake` process it holds when dropped, also when a test fails.
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn site(winkas: &FakeWinkas, pronestor: &FakePronestor) -> String {
    let (wuser, _, code) = winkas.credentials();
    let (puser, _) = pronestor.credentials();
    format!(
        r#"
[site]
name = "Testskolen"

[[sources]]
name = "halls"
kind = "winkas"
url = "{}"
username = "{wuser}"
password_file = "winkas.pw"
contract_code = "{code}"

[[sources]]
name = "planner"
kind = "pronestor"
url = "{}"
username = "{puser}"
password_file = "pronestor.pw"

[rooms."halls:1"]
name = "Hal 1"

[rooms."planner:103"]
name = "Festsalen"
"#,
        winkas.base_url(),
        pronestor.base_url()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_every_resource_and_marks_the_bound_ones() {
    let winkas = FakeWinkas::start(FakeWinkasOptions::default())
        .await
        .unwrap();
    let pronestor = FakePronestor::start(FakePronestorOptions::default())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("winkas.pw"), winkas.credentials().1).unwrap();
    std::fs::write(dir.path().join("pronestor.pw"), pronestor.credentials().1).unwrap();
    let config = dir.path().join("site.toml");
    std::fs::write(&config, site(&winkas, &pronestor)).unwrap();

    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_klar"))
        .args(["sources", "rooms", "--config"])
        .arg(&config)
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines[0].starts_with("SOURCE"));
    // 6 WinKAS resources, 9 Pronestor resources (6 rooms, 3 catering/equipment).
    assert_eq!(lines.len(), 1 + 6 + 9, "{stdout}");
    let hal1 = lines.iter().find(|l| l.contains("halls:1 ")).unwrap();
    assert!(
        hal1.contains("Hal 1") && hal1.contains("Nørrebrohallen") && hal1.contains("bound"),
        "{hal1}"
    );
    let fest = lines.iter().find(|l| l.contains("planner:103")).unwrap();
    assert!(
        fest.contains("Festsalen") && fest.contains("Nørrebro Skole") && fest.contains("bound"),
        "{fest}"
    );
    assert!(
        !lines
            .iter()
            .find(|l| l.contains("halls:2 "))
            .unwrap()
            .contains("bound")
    );

    // JSON, one source; a room bound to a resource the source does not report is exit code 1.
    let text =
        std::fs::read_to_string(&config).unwrap() + "\n[rooms.\"halls:99\"]\nname = \"Ghost\"\n";
    std::fs::write(&config, text).unwrap();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_klar"))
        .args([
            "sources", "rooms", "--json", "--source", "halls", "--config",
        ])
        .arg(&config)
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["resources"].as_array().unwrap().len(), 6);
    assert_eq!(report["unreported_rooms"], serde_json::json!(["halls:99"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_is_reported_per_source_without_the_password() {
    let winkas = FakeWinkas::start(FakeWinkasOptions::default())
        .await
        .unwrap();
    let pronestor = FakePronestor::start(FakePronestorOptions::default())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("winkas.pw"), "canary-wrong-pw-123").unwrap();
    std::fs::write(dir.path().join("pronestor.pw"), pronestor.credentials().1).unwrap();
    let config = dir.path().join("site.toml");
    std::fs::write(&config, site(&winkas, &pronestor)).unwrap();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_klar"))
        .args(["sources", "rooms", "--config"])
        .arg(&config)
        .output()
        .await
        .unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains("error: source halls: login rejected"), "{all}");
    assert!(
        all.contains("planner:101"),
        "the other source is still listed: {all}"
    );
    assert!(!all.contains("canary-wrong-pw-123"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn klar_fake_winkas_serves_what_a_source_can_read() {
    let mut child = Killed(
        std::process::Command::new(env!("CARGO_BIN_EXE_klar"))
            .args(["fake", "winkas", "--port", "0", "--seed", "3"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut stdout = BufReader::new(child.0.stdout.take().unwrap());
    let mut lines = Vec::new();
    loop {
        let mut line = String::new();
        assert!(
            stdout.read_line(&mut line).unwrap() > 0,
            "klar fake ended early: {lines:?}"
        );
        let done = line.contains("Ctrl-C");
        lines.push(line);
        if done {
            break;
        }
    }
    let url = lines[0]
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .to_owned();
    let password = lines
        .iter()
        .find_map(|l| l.split("password ").nth(1))
        .and_then(|rest| rest.split(',').next())
        .unwrap()
        .to_owned();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("pw"), &password).unwrap();
    let settings: toml::Table = toml::from_str(&format!(
        "url = '{url}'\nusername = 'api-klar'\ncontract_code = '12345'\npassword_file = 'pw'"
    ))
    .unwrap();
    let config = klar_engine::site::SourceConfig {
        name: "halls".into(),
        kind: "winkas".into(),
        settings,
    };
    let ctx = klar_adapters::sources::BuildContext {
        http: klar_adapters::http::HttpClient::new(klar_adapters::http::HttpConfig::for_tests())
            .unwrap(),
        base_dir: dir.path().to_owned(),
        time_zone: chrono_tz::Europe::Copenhagen,
    };
    let mut source = klar_adapters::sources::build(&config, &ctx).unwrap();
    let now = chrono::Utc::now();
    let window = klar_engine::model::Window::new(
        now - chrono::Duration::days(2),
        now + chrono::Duration::days(3),
    )
    .unwrap();
    let polled = source
        .poll(klar_adapters::sources::PollRequest { now, window })
        .await;
    drop(child);
    let polled = polled.unwrap();
    assert!(polled.bookings.len() >= 20, "{}", polled.bookings.len());
}
