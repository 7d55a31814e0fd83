//! Safe commissioning, at the binary: `klar run` on the demo's site (the school pack, fake
//! Pronestor and WinKAS, the embedded simulator) and `klar check` on the sample site.
//!
//! - A wrong-typed setting (`margin_before = "45"`) and a misspelt one are refused at their
//!   `site.toml` line, by the reload and by `klar check`; the controller is not touched.
//! - A rule error only a live booking reaches (an endless loop for one title) passes the pack's
//!   cases but is refused by the reload guard, naming the loop's line; the controller is not
//!   touched, the status is not green, and `klar reload --confirm` applies it.
//! - `klar check` on a room bound to a door the installation does not have fails at the door's
//!   line, as do a pack whose cases fail and a rule that fails every booking given.

mod dashboard_common;
#[path = "common/rules.rs"]
mod rules;

use std::path::{Path, PathBuf};
use std::process::Command;

use dashboard_common::{DemoSite, Klar, client, wait_for};
use rules::{copy_dir, run};
use serde_json::Value;

fn klar() -> Command {
    Command::new(env!("CARGO_BIN_EXE_klar"))
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn api(url: &str, path: &str) -> Value {
    client()
        .get(format!("{url}{path}"))
        .send()
        .unwrap()
        .json()
        .unwrap()
}

fn readyz(url: &str) -> (u16, String) {
    let r = client().get(format!("{url}readyz")).send().unwrap();
    (r.status().as_u16(), r.text().unwrap())
}

/// The simulator's saved database: what the controller holds.
fn controller(config: &Path) -> Vec<u8> {
    std::fs::read(config.with_file_name("klar.unilock-sim.json")).unwrap()
}

/// Waits for the daemon to be ready (sources read, plan applied, nothing wrong).
fn start(site: &DemoSite) -> (Klar, String) {
    let mut klar = Klar::start(&site.config, "127.0.0.1:0", &[]);
    let url = klar.url();
    wait_for("ready", || (readyz(&url).0 == 200).then_some(()));
    (klar, url)
}

/// The newest reload after `after` (its id), once there is one.
fn reload_after(url: &str, after: u64) -> Value {
    wait_for("a reload", || {
        let s = api(url, "api/status");
        let r = s["rules"]["reloads"][0].clone();
        (r["id"].as_u64().unwrap_or(0) > after).then_some(r)
    })
}

fn line_of(text: &str, starts: &str) -> usize {
    text.lines()
        .position(|l| l.starts_with(starts))
        .unwrap_or_else(|| panic!("no line starts with {starts:?}"))
        + 1
}

#[test]
fn a_setting_of_the_wrong_type_or_name_is_refused_at_its_line_and_the_doors_stay() {
    let site = DemoSite::start();
    let (klar_run, url) = start(&site);
    let config = &site.config;
    let held = controller(config);
    let text = std::fs::read_to_string(config).unwrap();
    let line = line_of(&text, "margin_before = 15");

    std::fs::write(
        config,
        text.replace("margin_before = 15", "margin_before = \"45\""),
    )
    .unwrap();
    let r = reload_after(&url, 0);
    assert_eq!(r["outcome"], "refused", "{r}");
    assert_eq!(
        r["confirmable"], false,
        "a config error is not confirmable: {r}"
    );
    let p = &r["problems"][0];
    assert_eq!(p["line"], line, "{r}");
    assert_eq!(p["column"], 1, "{r}");
    let message = p["message"].as_str().unwrap();
    assert!(
        message.starts_with("[rules.settings.school] margin_before = \"45\" is a text")
            && message.ends_with("write margin_before = 45"),
        "{message}"
    );
    assert_eq!(api(&url, "api/status")["rules"]["generation"], 1);
    assert_eq!(controller(config), held, "a refused reload touches nothing");
    let (code, body) = readyz(&url);
    assert_eq!(code, 503, "{body}");
    assert!(body.contains("the last reload was refused"), "{body}");
    assert!(body.contains(&format!("site.toml:{line}:1")), "{body}");

    // `klar check` says the same, as a config error.
    let c = run(klar().args(["check", "--config"]).arg(config));
    assert_eq!(c.code, Some(2), "{}\n{}", c.stdout, c.stderr);
    assert!(
        c.stderr.contains(&format!(
            "{}:{line}:1: [rules.settings.school] margin_before = \"45\"",
            config.display()
        )),
        "{}",
        c.stderr
    );

    // A misspelt setting is not ignored.
    std::fs::write(
        config,
        text.replace(
            "margin_before = 15",
            "margin_before = 15\nventilaton_before = 45",
        ),
    )
    .unwrap();
    let r = reload_after(&url, r["id"].as_u64().unwrap());
    assert_eq!(r["outcome"], "refused", "{r}");
    assert_eq!(r["problems"][0]["line"], line + 1, "{r}");
    assert!(
        r["problems"][0]["message"].as_str().unwrap().contains(
            "ventilaton_before: pack school has no such setting (did you mean ventilation_before?)"
        ),
        "{r}"
    );
    assert_eq!(controller(config), held);

    // Fixed: applied, green again.
    std::fs::write(config, &text).unwrap();
    let r = reload_after(&url, r["id"].as_u64().unwrap());
    assert_eq!(r["outcome"], "swapped", "{r}");
    wait_for("green again", || (readyz(&url).0 == 200).then_some(()));
    drop(klar_run);
}

/// A booking in the plan with a door window, whose title no case of the school pack uses.
fn live_booking_with_a_door(url: &str, site: &DemoSite) -> (String, String) {
    let cases: String = std::fs::read_dir(site.dir.path().join("rules/school/cases"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    let plan = api(url, "api/plan");
    for entry in plan["entries"].as_array().unwrap() {
        if entry["target"]["kind"] != "door" {
            continue;
        }
        for w in entry["windows"].as_array().unwrap() {
            for reason in w["reasons"].as_array().unwrap() {
                let title = reason["title"].as_str().unwrap();
                if !title.is_empty() && !title.contains('"') && !cases.contains(title) {
                    return (
                        title.to_owned(),
                        entry["target"]["door"].as_str().unwrap().to_owned(),
                    );
                }
            }
        }
    }
    panic!("no live booking with a door window: {plan}");
}

#[test]
fn a_rule_error_only_a_live_booking_reaches_is_refused_until_confirmed() {
    let site = DemoSite::start();
    let (klar_run, url) = start(&site);
    let config = &site.config;
    let (title, door) = live_booking_with_a_door(&url, &site);
    let held = controller(config);
    let doors_rule = site.dir.path().join("rules/school/rules/doors.rhai");
    let text = std::fs::read_to_string(&doors_rule).unwrap();
    let spin = format!("    if booking.title == {title:?} {{\n        loop {{ }}\n    }}\n");
    let edited = text.replacen(
        "    let effects = [];\n",
        &format!("    let effects = [];\n{spin}"),
        1,
    );
    assert_ne!(edited, text);
    let loop_line = line_of(&edited, "        loop { }");
    std::fs::write(&doors_rule, &edited).unwrap();

    let r = reload_after(&url, 0);
    assert_eq!(r["outcome"], "refused", "{r}");
    assert_eq!(r["confirmable"], true, "{r}");
    let p = &r["problems"][0];
    assert!(
        p["file"].as_str().unwrap().ends_with("rules/doors.rhai"),
        "{r}"
    );
    assert_eq!(p["line"], loop_line, "the loop's line: {r}");
    let message = p["message"].as_str().unwrap();
    assert!(message.starts_with("would fail "), "{message}");
    assert!(
        message.contains(&format!("rules/doors.rhai:{loop_line}:9: ")),
        "{message}"
    );
    assert!(message.contains(&title), "{message}");
    assert!(
        r["diff"]["counts"]["newly_failing"].as_u64() > Some(0),
        "the refusal carries its diff: {r}"
    );
    // The rules in force, the controller and the booking's door stay as they were.
    assert_eq!(api(&url, "api/status")["rules"]["generation"], 1);
    assert_eq!(controller(config), held, "a refused reload touches nothing");
    let plan = api(&url, "api/plan");
    assert!(
        plan["errors"].as_array().unwrap().is_empty(),
        "the rules in force decide every booking: {plan}"
    );
    assert!(
        plan["entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["target"]["door"] == door.as_str()
                && e["windows"].to_string().contains(&title)),
        "{door} keeps the window of {title:?}"
    );
    let (code, body) = readyz(&url);
    assert_eq!(code, 503, "{body}");
    assert!(body.contains("would fail"), "{body}");
    let page = client().get(&url).send().unwrap().text().unwrap();
    assert!(
        page.contains("class=\"health bad\"") && page.contains("Apply anyway"),
        "the overview is red and offers the confirmation"
    );

    // `klar diff` against the running daemon shows what it would do, and exits 1.
    let d = run(klar()
        .args(["diff", "--config"])
        .arg(config)
        .args(["--url", &url]));
    assert_eq!(d.code, Some(1), "{}\n{}", d.stdout, d.stderr);
    assert!(
        d.stdout
            .contains("bookings the candidate's rules fail on (fail closed)")
            && d.stdout.contains(&title)
            && d.stdout
                .contains("A reload of these files is refused by the guard"),
        "{}",
        d.stdout
    );

    // Confirmed, it applies: the booking now fails closed, and the status says so.
    let c = run(klar()
        .args(["reload", "--config"])
        .arg(config)
        .args(["--url", &url, "--confirm"]));
    assert_eq!(c.code, Some(0), "{}\n{}", c.stdout, c.stderr);
    assert!(
        c.stdout
            .starts_with("reload applied (confirmed): generation 2: "),
        "{}",
        c.stdout
    );
    wait_for("the booking failing in the plan", || {
        let plan = api(&url, "api/plan");
        plan["errors"]
            .as_array()
            .is_some_and(|e| !e.is_empty())
            .then_some(())
    });
    let (code, body) = readyz(&url);
    assert_eq!(code, 503, "{body}");
    assert!(
        body.contains("fail their rules") || body.contains("fails its rules"),
        "{body}"
    );
    assert!(
        body.contains(&format!("1 cause: rules/doors.rhai:{loop_line}:9")),
        "{body}"
    );
    drop(klar_run);
}

/// The sample site in a scratch folder (its own copy of the school pack), changed by `edit`.
fn sample_site(dir: &Path, edit: impl Fn(String) -> String) -> PathBuf {
    copy_dir(&repo().join("rules/school"), &dir.join("rules/school"));
    let text = std::fs::read_to_string(repo().join("examples/school/site.toml")).unwrap();
    let text = text.replace("\"../../rules/school\"", "\"rules/school\"");
    let config = dir.join("site.toml");
    std::fs::write(&config, edit(text)).unwrap();
    config
}

#[test]
fn check_fails_on_an_unbound_door_at_its_line() {
    let tmp = tempfile::tempdir().unwrap();
    let config = sample_site(tmp.path(), |t| {
        t.replace(
            "name = \"Aula\"\ndoors = [\"D-AULA\"]",
            "name = \"Aula\"\ndoors = [\"D-AULA\", \"D-NOPE\"]",
        )
    });
    let text = std::fs::read_to_string(&config).unwrap();
    let line = line_of(&text, "doors = [\"D-AULA\", \"D-NOPE\"]");
    let r = run(klar().args(["check", "--config"]).arg(&config));
    assert_eq!(r.code, Some(2), "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains(&format!(
            "{}:{line}:20: room \"planner:200\" names door \"D-NOPE\", which the controller cannot drive",
            config.display()
        )),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("\"door:D-NOPE\""), "{}", r.stderr);
    assert!(!r.stdout.contains("\nok\n"), "{}", r.stdout);
}

#[test]
fn check_runs_the_cases_and_decides_the_bookings() {
    // A pack whose cases fail: check says so (exit 1), each problem on its own line.
    let tmp = tempfile::tempdir().unwrap();
    let config = sample_site(tmp.path(), |t| t);
    let doors = tmp.path().join("rules/school/rules/doors.rhai");
    let text = std::fs::read_to_string(&doors).unwrap();
    std::fs::write(
        &doors,
        text.replace(
            "let from = booking.start - minutes(s.margin_before);",
            "let from = booking.start - minutes(s.margin_before + 5);",
        ),
    )
    .unwrap();
    let r = run(klar().args(["check", "--config"]).arg(&config));
    assert_eq!(r.code, Some(1), "{}\n{}", r.stdout, r.stderr);
    let failing: Vec<&str> = r
        .stderr
        .lines()
        .filter(|l| l.starts_with("error: ") && l.contains("cases/") && l.contains("fails"))
        .collect();
    assert!(!failing.is_empty(), "{}", r.stderr);
    assert!(failing.iter().all(|l| l.len() < 1000), "{}", r.stderr);

    // A rule that fails every booking given (their ids are longer than the cases'), so the
    // cases pass: one cause, every booking its consequence.
    std::fs::write(
        &doors,
        text.replacen(
            "    let effects = [];\n",
            "    let effects = [];\n    if booking.id.len() > 4 { throw \"broken\"; }\n",
            1,
        ),
    )
    .unwrap();
    let r = run(klar()
        .args(["check", "--config"])
        .arg(&config)
        .arg("--bookings")
        .arg(repo().join("examples/school/bookings.json"))
        .args(["--at", "2026-11-23T07:00"]));
    assert_eq!(r.code, Some(1), "{}\n{}", r.stdout, r.stderr);
    let causes: Vec<&str> = r
        .stderr
        .lines()
        .filter(|l| l.contains("the rule threw: broken"))
        .collect();
    assert_eq!(causes.len(), 1, "one cause: {}", r.stderr);
    assert!(
        causes[0].contains("rules/doors.rhai:23:")
            && causes[0].contains("the rule threw: broken; this fails 11 bookings (fail closed): "),
        "{}",
        r.stderr
    );
}
