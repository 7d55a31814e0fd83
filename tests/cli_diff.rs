//! `klar diff` on the sample site (examples/school) and its bookings: a candidate site config
//! (longer margins, school ending earlier, a room no longer bound) and a candidate rule pack
//! (a rule that fails one booking), as a table and as JSON, each against a reviewed snapshot.

mod common;
#[path = "common/rules.rs"]
mod rules;

use std::path::Path;

use common::{klar, repo};
use rules::{copy_dir, run};

/// The sample site with its pack path made absolute, written into `dir` as `name`, changed by
/// `edit`.
fn site_in(dir: &Path, name: &str, edit: impl Fn(String) -> String) -> std::path::PathBuf {
    let text = std::fs::read_to_string(repo().join("examples/school/site.toml")).unwrap();
    let pack = repo().join("rules/school");
    let text = text.replace(
        "packs = [\"../../rules/school\"]",
        &format!("packs = [{:?}]", pack.display().to_string()),
    );
    let path = dir.join(name);
    std::fs::write(&path, edit(text)).unwrap();
    path
}

/// The output with the scratch folder's and the repository's paths made stable.
fn stable(text: &str, dir: &Path) -> String {
    text.replace(&dir.display().to_string(), "<dir>")
        .replace(&repo().display().to_string(), "<repo>")
}

fn diff(dir: &Path, current: &Path, candidate: &Path, format: &str) -> rules::Run {
    run(klar()
        .current_dir(dir)
        .args(["diff", "--config"])
        .arg(current)
        .arg("--candidate")
        .arg(candidate)
        .arg("--bookings")
        .arg(repo().join("examples/school/bookings.json"))
        .args(["--at", "2026-11-23T07:00", "--format", format]))
}

/// Longer margins before, school starting at noon (morning bookings are card + PIN), Mødelokale
/// 2 no longer bound.
fn candidate_config(text: String) -> String {
    let text = text
        .replace(
            "school_start = \"07:45\"",
            "school_start = \"12:00\"\nmargin_before = 30",
        )
        .replace("[rooms.\"planner:102\"]", "[rooms.\"planner:109\"]");
    assert!(text.contains("margin_before = 30") && text.contains("planner:109"));
    text
}

#[test]
fn a_candidate_config_as_a_table() {
    let tmp = tempfile::tempdir().unwrap();
    let current = site_in(tmp.path(), "site.toml", |t| t);
    let candidate = site_in(tmp.path(), "site-new.toml", candidate_config);
    let r = diff(tmp.path(), &current, &candidate, "table");
    assert_eq!(r.code, Some(0), "{}\n{}", r.stdout, r.stderr);
    insta::assert_snapshot!(stable(&r.stdout, tmp.path()));
}

#[test]
fn a_candidate_config_as_json() {
    let tmp = tempfile::tempdir().unwrap();
    let current = site_in(tmp.path(), "site.toml", |t| t);
    let candidate = site_in(tmp.path(), "site-new.toml", candidate_config);
    let r = diff(tmp.path(), &current, &candidate, "json");
    assert_eq!(r.code, Some(0), "{}\n{}", r.stdout, r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["at"], "2026-11-23T06:00:00Z", "JSON is UTC");
    assert_eq!(v["newly_unbound"][0]["id"], "P-5103");
    insta::assert_snapshot!(stable(&r.stdout, tmp.path()));
}

#[test]
fn a_candidate_pack_that_fails_a_booking_exits_1_and_names_the_cause() {
    let tmp = tempfile::tempdir().unwrap();
    let current = site_in(tmp.path(), "site.toml", |t| t);
    let pack = tmp.path().join("school");
    copy_dir(&repo().join("rules/school"), &pack);
    let doors = pack.join("rules/doors.rhai");
    let text = std::fs::read_to_string(&doors).unwrap();
    let edited = text.replacen(
        "    let effects = [];\n",
        "    let effects = [];\n    if booking.title == \"Julekoncert\" { throw \"no concerts\"; }\n",
        1,
    );
    assert_ne!(edited, text);
    std::fs::write(&doors, edited).unwrap();
    let r = diff(tmp.path(), &current, &pack, "table");
    assert_eq!(r.code, Some(1), "{}\n{}", r.stdout, r.stderr);
    insta::assert_snapshot!(stable(&r.stdout, tmp.path()));
}

#[test]
fn the_same_config_is_no_change() {
    let tmp = tempfile::tempdir().unwrap();
    let current = site_in(tmp.path(), "site.toml", |t| t);
    let r = diff(tmp.path(), &current, &current, "table");
    assert_eq!(r.code, Some(0), "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("summary: no change (51 windows)"),
        "{}",
        r.stdout
    );
}
