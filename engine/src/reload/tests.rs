//! Reload without a watcher: validate, then swap, or keep the previous rules.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::*;
use crate::rules::cases;

/// Rules: every door of a room unlocked with a 15-minute margin; in rooms named "Hal 2" the
/// margin is `HAL2` minutes (no case covers Hal 2, so changing it keeps the cases passing).
fn rule(hal2: u32) -> String {
    format!(
        "fn decide(booking, room, ctx) {{\n    if booking.is_cancelled {{ return []; }}\n    let m = minutes(15);\n    if room.name == \"Hal 2\" {{ m = minutes({hal2}); }}\n    let effects = [];\n    for door in room.doors {{ effects.push(unlock(door, booking.start - m, booking.end + m)); }}\n    effects\n}}\n"
    )
}

const CASE: &str = r#"
site:
  rooms:
    "halls:7": {name: Hal 1, doors: [D-HAL]}
now: 2026-11-23T07:00:00+01:00
bookings:
  - {id: W-1, source: halls, resource: "7", title: Håndbold, start: 2026-11-23T16:00:00+01:00, end: 2026-11-23T18:00:00+01:00}
expect:
  "door D-HAL unlocked": ["2026-11-23 15:45 .. 2026-11-23 18:15"]
"#;

const SITE: &str = r#"
[site]
name = "Test"
[rules]
packs = ["rules/t"]
[[sources]]
name = "halls"
kind = "winkas"
[rooms."halls:8"]
name = "Hal 2"
doors = ["D-HAL2"]
"#;

struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let pack = dir.path().join("rules/t");
        std::fs::create_dir_all(pack.join("rules")).unwrap();
        std::fs::create_dir_all(pack.join("cases")).unwrap();
        std::fs::write(
            pack.join("pack.toml"),
            "name = \"t\"\nversion = \"1\"\nruntime = \"rhai\"\n",
        )
        .unwrap();
        std::fs::write(pack.join("rules/doors.rhai"), rule(15)).unwrap();
        std::fs::write(pack.join("cases/hal1.yaml"), CASE).unwrap();
        std::fs::write(dir.path().join("site.toml"), SITE).unwrap();
        let f = Fixture { dir };
        let runtime = crate::rules::pack::load(&f.pack(), &LoadOptions::default()).unwrap();
        assert!(cases::accept(&f.pack(), &runtime).passed());
        f
    }
    fn pack(&self) -> PathBuf {
        self.dir.path().join("rules/t")
    }
    fn config(&self) -> PathBuf {
        self.dir.path().join("site.toml")
    }
    fn rule_file(&self) -> PathBuf {
        self.pack().join("rules/doors.rhai")
    }
}

fn paths(p: &[&Path]) -> BTreeSet<PathBuf> {
    p.iter().map(|p| p.to_path_buf()).collect()
}

/// The margin the rule set in force gives Hal 2, in minutes.
fn hal2_margin(rules: &RuleSet) -> i64 {
    use crate::model::Booking;
    let start = chrono::DateTime::parse_from_rfc3339("2026-11-23T16:00:00+01:00")
        .unwrap()
        .with_timezone(&chrono::Utc);
    let booking: Booking = serde_json::from_value(serde_json::json!({
        "id": "W-2", "source": "halls", "resource": "8", "title": "X",
        "start": start, "end": start + chrono::Duration::hours(1),
    }))
    .unwrap();
    let plan = crate::plan::plan(&crate::plan::PlanInput {
        bookings: &[booking],
        packs: &rules.packs,
        site: &rules.site,
        now: start - chrono::Duration::hours(2),
    });
    let w = plan.entries[0].windows[0].window;
    (start - w.from).num_minutes()
}

#[test]
fn a_passing_change_is_swapped_in_whole() {
    let f = Fixture::new();
    let initial = load_initial(&f.config(), &LoadOptions::default()).unwrap();
    assert_eq!(hal2_margin(&initial.rules), 15);
    let cell = Arc::new(RuleSetCell::new(initial.rules));
    let reloader = Reloader::new(f.config(), LoadOptions::default(), cell.clone());

    std::fs::write(f.rule_file(), rule(40)).unwrap();
    match reloader.reload(&paths(&[&f.rule_file()])) {
        ReloadOutcome::Swapped {
            generation,
            changes,
            snapshot_drift,
            ..
        } => {
            assert_eq!(generation, 2);
            assert!(!changes.site);
            assert!(changes.packs.contains(&f.pack()));
            assert!(snapshot_drift.is_empty(), "{snapshot_drift:?}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(hal2_margin(&cell.current()), 40);
}

#[test]
fn a_syntax_error_keeps_the_previous_rules_and_names_the_place() {
    let f = Fixture::new();
    let cell = Arc::new(RuleSetCell::new(
        load_initial(&f.config(), &LoadOptions::default())
            .unwrap()
            .rules,
    ));
    let reloader = Reloader::new(f.config(), LoadOptions::default(), cell.clone());
    let before = cell.current();

    std::fs::write(
        f.rule_file(),
        rule(40).replace("let effects = [];", "let effects = [;"),
    )
    .unwrap();
    let ReloadOutcome::Refused(e) = reloader.reload(&paths(&[&f.rule_file()])) else {
        panic!("a broken rule must be refused");
    };
    let p = &e.problems[0];
    assert!(p.file.ends_with("rules/doors.rhai"), "{e}");
    assert_eq!(p.line, Some(5), "{e}");
    assert!(p.column.is_some(), "{e}");
    assert!(Arc::ptr_eq(&before, &cell.current()));
    assert_eq!(hal2_margin(&cell.current()), 15);

    // Fixed: in force.
    std::fs::write(f.rule_file(), rule(30)).unwrap();
    assert!(matches!(
        reloader.reload(&paths(&[&f.rule_file()])),
        ReloadOutcome::Swapped { .. }
    ));
    assert_eq!(hal2_margin(&cell.current()), 30);
}

#[test]
fn a_change_that_breaks_a_case_is_refused() {
    let f = Fixture::new();
    let cell = Arc::new(RuleSetCell::new(
        load_initial(&f.config(), &LoadOptions::default())
            .unwrap()
            .rules,
    ));
    let reloader = Reloader::new(f.config(), LoadOptions::default(), cell.clone());
    std::fs::write(
        f.rule_file(),
        rule(15).replace("minutes(15)", "minutes(20)"),
    )
    .unwrap();
    let ReloadOutcome::Refused(e) = reloader.reload(&paths(&[&f.rule_file()])) else {
        panic!("a change the cases reject must be refused");
    };
    assert!(e.problems[0].file.ends_with("cases/hal1.yaml"), "{e}");
    assert!(e.to_string().contains("D-HAL"), "{e}");
    assert_eq!(cell.current().generation, 1);
}

#[test]
fn site_config_changes_reload_the_same_way() {
    let f = Fixture::new();
    let cell = Arc::new(RuleSetCell::new(
        load_initial(&f.config(), &LoadOptions::default())
            .unwrap()
            .rules,
    ));
    let reloader = Reloader::new(f.config(), LoadOptions::default(), cell.clone());
    std::fs::write(f.config(), SITE.replace("name = \"Test\"", "name = 7")).unwrap();
    let ReloadOutcome::Refused(e) = reloader.reload(&paths(&[&f.config()])) else {
        panic!("a broken config must be refused");
    };
    assert_eq!(e.problems[0].line, Some(3), "{e}");
    assert_eq!(cell.current().site.site.name, "Test");

    // A pack edit alone does not skip the still-pending config change.
    std::fs::write(f.config(), SITE.replace("\"Test\"", "\"Renamed\"")).unwrap();
    std::fs::write(f.rule_file(), rule(25)).unwrap();
    assert!(matches!(
        reloader.reload(&paths(&[&f.rule_file()])),
        ReloadOutcome::Swapped { .. }
    ));
    assert_eq!(cell.current().site.site.name, "Renamed");
}

#[test]
fn unrelated_paths_change_nothing() {
    let f = Fixture::new();
    let cell = Arc::new(RuleSetCell::new(
        load_initial(&f.config(), &LoadOptions::default())
            .unwrap()
            .rules,
    ));
    let reloader = Reloader::new(f.config(), LoadOptions::default(), cell);
    let store = f.dir.path().join("klar.db");
    let swap = f.pack().join("rules/.doors.rhai.swp");
    assert!(matches!(
        reloader.reload(&paths(&[&store, &swap])),
        ReloadOutcome::Unchanged
    ));
}

/// A pack with a setting: Hal 2's doors open `level` from `margin` minutes before; Hal 1 as the
/// case says. Bookings titled "Lærermøde" spin (a rule error only a live booking reaches).
const GUARDED_RULE: &str = "fn decide(booking, room, ctx) {\n    if booking.is_cancelled { return []; }\n    let m = minutes(15);\n    let level = \"unlocked\";\n    if room.name == \"Hal 2\" { m = minutes(ctx.settings.margin); level = ctx.settings.level; }\n    let effects = [];\n    for door in room.doors { effects.push(door_mode(door, level, booking.start - m, booking.end + m)); }\n    effects\n}\n";

fn guarded_fixture(settings: &str) -> Fixture {
    let f = Fixture::new();
    std::fs::write(
        f.pack().join("pack.toml"),
        "name = \"t\"\nversion = \"1\"\nruntime = \"rhai\"\n[settings]\nmargin = 15\nlevel = \"unlocked\"\n",
    )
    .unwrap();
    std::fs::write(f.rule_file(), GUARDED_RULE).unwrap();
    std::fs::write(f.config(), format!("{SITE}{settings}")).unwrap();
    let runtime = crate::rules::pack::load(&f.pack(), &LoadOptions::default()).unwrap();
    assert!(cases::accept(&f.pack(), &runtime).passed());
    f
}

/// Live bookings in Hal 2 (`halls:8`), one an hour from 10:00 on 2026-11-23, titled as given.
fn live_bookings(titles: &[&str]) -> Vec<crate::model::Booking> {
    let first = chrono::DateTime::parse_from_rfc3339("2026-11-23T10:00:00+01:00")
        .unwrap()
        .with_timezone(&chrono::Utc);
    titles
        .iter()
        .enumerate()
        .map(|(i, title)| {
            let start = first + chrono::Duration::hours(2 * i as i64);
            serde_json::from_value(serde_json::json!({
                "id": format!("W-{i}"), "source": "halls", "resource": "8", "title": title,
                "start": start, "end": start + chrono::Duration::hours(1),
            }))
            .unwrap()
        })
        .collect()
}

fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339("2026-11-23T07:00:00+01:00")
        .unwrap()
        .with_timezone(&chrono::Utc)
}

fn guarded(f: &Fixture) -> (Arc<RuleSetCell>, Reloader) {
    let cell = Arc::new(RuleSetCell::new(
        load_initial(&f.config(), &LoadOptions::default())
            .unwrap_or_else(|e| panic!("{e}"))
            .rules,
    ));
    let reloader = Reloader::new(f.config(), LoadOptions::default(), cell.clone());
    (cell, reloader)
}

#[test]
fn a_setting_of_the_wrong_type_or_name_is_refused_at_its_line() {
    let f = guarded_fixture("[rules.settings.t]\nmargin = 30\n");
    let (cell, reloader) = guarded(&f);
    let bookings = live_bookings(&["Badminton"]);
    let live = Live {
        bookings: &bookings,
        now: now(),
        confirm: false,
    };
    std::fs::write(
        f.config(),
        format!("{SITE}[rules.settings.t]\nmargin = \"45\"\nlevle = \"card\"\n"),
    )
    .unwrap();
    let ReloadOutcome::Refused(e) = reloader.reload_guarded(&paths(&[&f.config()]), &live) else {
        panic!("a wrong-typed setting must be refused");
    };
    assert!(
        !e.confirmable(),
        "a config error is not the guard's to confirm"
    );
    let margin = e
        .problems
        .iter()
        .find(|p| p.message.contains("margin"))
        .unwrap();
    let line = SITE.lines().count() as u32 + 2;
    assert_eq!((margin.line, margin.column), (Some(line), Some(1)), "{e}");
    assert!(margin.message.ends_with("write margin = 45"), "{e}");
    let typo = e
        .problems
        .iter()
        .find(|p| p.message.contains("levle"))
        .unwrap();
    assert_eq!(typo.line, Some(line + 1), "{e}");
    assert!(typo.message.contains("did you mean level?"), "{e}");
    // Confirming does not apply a config error.
    let confirmed = Live {
        confirm: true,
        ..live
    };
    assert!(matches!(
        reloader.reload_guarded(&paths(&[&f.config()]), &confirmed),
        ReloadOutcome::Refused(_)
    ));
    assert_eq!(cell.current().generation, 1);
}

#[test]
fn a_rule_error_only_live_bookings_reach_is_refused_until_confirmed() {
    let f = guarded_fixture("");
    let (cell, reloader) = guarded(&f);
    let bookings = live_bookings(&["Badminton", "Lærermøde"]);
    let live = Live {
        bookings: &bookings,
        now: now(),
        confirm: false,
    };
    // The spin passes the case (Hal 1, "Håndbold") and fails the live meeting in Hal 2.
    let spinning = GUARDED_RULE.replace(
        "    let effects = [];\n",
        "    let effects = [];\n    if booking.title == \"Lærermøde\" { loop { } }\n",
    );
    std::fs::write(f.rule_file(), &spinning).unwrap();
    let ReloadOutcome::Refused(e) = reloader.reload_guarded(&paths(&[&f.rule_file()]), &live)
    else {
        panic!("a rule that fails a live booking must be refused");
    };
    assert!(e.confirmable());
    assert_eq!(e.problems.len(), 1, "{e}");
    let p = &e.problems[0];
    assert!(p.file.ends_with("rules/doors.rhai"), "{e}");
    assert_eq!((p.line, p.column), (Some(7), Some(39)), "{e}");
    assert!(
        p.message
            .starts_with("would fail 1 live booking: rules/doors.rhai:7:39: "),
        "{e}"
    );
    assert!(p.message.contains("Lærermøde"), "{e}");
    let diff = e.diff.as_ref().unwrap();
    assert_eq!(diff.counts.newly_failing, 1);
    assert_eq!(diff.counts.removed, 1, "{diff:?}");
    assert_eq!(cell.current().generation, 1, "the rules in force stay");

    // Confirmed: it applies, and says what the guard found.
    let confirmed = Live {
        confirm: true,
        ..live
    };
    match reloader.reload_guarded(&paths(&[&f.rule_file()]), &confirmed) {
        ReloadOutcome::Swapped {
            generation,
            overridden,
            diff,
            ..
        } => {
            assert_eq!(generation, 2);
            assert_eq!(overridden.len(), 1);
            assert_eq!(diff.unwrap().counts.newly_failing, 1);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_setting_that_fails_live_bookings_is_named_with_its_line() {
    let f = guarded_fixture("[rules.settings.t]\nlevel = \"card_pin\"\n");
    let (cell, reloader) = guarded(&f);
    let bookings = live_bookings(&["Badminton", "Yoga", "Fodbold"]);
    let live = Live {
        bookings: &bookings,
        now: now(),
        confirm: false,
    };
    std::fs::write(
        f.config(),
        format!("{SITE}[rules.settings.t]\nlevel = \"wide_open\"\n"),
    )
    .unwrap();
    let ReloadOutcome::Refused(e) = reloader.reload_guarded(&paths(&[&f.config()]), &live) else {
        panic!("a setting that fails every live booking must be refused");
    };
    let p = &e.problems[0];
    let line = SITE.lines().count() + 2;
    assert_eq!(p.line, Some(line as u32), "{e}");
    assert!(p.message.starts_with("would fail 3 live bookings: "), "{e}");
    assert!(
        p.message
            .ends_with(&format!("(from site.toml:{line} level = \"wide_open\")")),
        "{e}"
    );
    assert_eq!(cell.current().generation, 1);
}

#[test]
fn removing_most_windows_in_force_is_refused_unless_commissioning() {
    let f = guarded_fixture("");
    let (cell, reloader) = guarded(&f);
    let bookings = live_bookings(&["A", "B", "C", "D", "E"]);
    let live = Live {
        bookings: &bookings,
        now: now(),
        confirm: false,
    };
    // Hal 2 opens nothing any more: every window in force goes.
    let none = GUARDED_RULE.replace(
        "    let effects = [];\n",
        "    let effects = [];\n    if room.name == \"Hal 2\" { return []; }\n",
    );
    std::fs::write(f.rule_file(), &none).unwrap();
    let ReloadOutcome::Refused(e) = reloader.reload_guarded(&paths(&[&f.rule_file()]), &live)
    else {
        panic!("removing every window in force must be refused");
    };
    assert!(e.confirmable());
    assert!(
        e.problems[0].message.starts_with(
            "would remove 5 of the 5 windows in force (100 %, more than 50 %): door D-HAL2"
        ),
        "{e}"
    );
    assert_eq!(cell.current().generation, 1);

    // Commissioning: the same change applies, with its diff.
    std::fs::write(
        f.config(),
        format!("{SITE}[rules.reload]\ncommissioning = true\n"),
    )
    .unwrap();
    match reloader.reload_guarded(&paths(&[&f.config()]), &live) {
        ReloadOutcome::Swapped {
            diff, overridden, ..
        } => {
            assert_eq!(diff.unwrap().counts.removed, 5);
            assert_eq!(overridden.len(), 1);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(cell.current().generation, 2);
}

#[test]
fn a_few_windows_removed_pass_the_guard() {
    let f = guarded_fixture("");
    let (_cell, reloader) = guarded(&f);
    let bookings = live_bookings(&["A", "B", "C", "D", "E"]);
    let live = Live {
        bookings: &bookings,
        now: now(),
        confirm: false,
    };
    let fewer = GUARDED_RULE.replace(
        "    let effects = [];\n",
        "    let effects = [];\n    if booking.title == \"A\" { return []; }\n",
    );
    std::fs::write(f.rule_file(), &fewer).unwrap();
    match reloader.reload_guarded(&paths(&[&f.rule_file()]), &live) {
        ReloadOutcome::Swapped {
            diff, overridden, ..
        } => {
            assert!(overridden.is_empty());
            assert_eq!(diff.unwrap().counts.removed, 1);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn saves_that_each_remove_a_little_cannot_add_up_unconfirmed() {
    let f = guarded_fixture("");
    let (cell, reloader) = guarded(&f);
    let titles: Vec<String> = (0..10).map(|i| format!("T{i}")).collect();
    let refs: Vec<&str> = titles.iter().map(String::as_str).collect();
    let bookings = live_bookings(&refs);
    let live = Live {
        bookings: &bookings,
        now: now(),
        confirm: false,
    };
    let without = |gone: &[&str]| {
        let test = gone
            .iter()
            .map(|t| format!("booking.title == {t:?}"))
            .collect::<Vec<_>>()
            .join(" || ");
        GUARDED_RULE.replace(
            "    let effects = [];\n",
            &format!("    let effects = [];\n    if {test} {{ return []; }}\n"),
        )
    };
    // 4 of 10: under half, applied.
    std::fs::write(f.rule_file(), without(&["T0", "T1", "T2", "T3"])).unwrap();
    assert!(matches!(
        reloader.reload_guarded(&paths(&[&f.rule_file()]), &live),
        ReloadOutcome::Swapped { .. }
    ));
    // 2 more: 2 of the 6 in force, but 6 of the 10 the started rules planned: refused.
    std::fs::write(
        f.rule_file(),
        without(&["T0", "T1", "T2", "T3", "T4", "T5"]),
    )
    .unwrap();
    let ReloadOutcome::Refused(e) = reloader.reload_guarded(&paths(&[&f.rule_file()]), &live)
    else {
        panic!("small saves must not add up to removing most windows unconfirmed");
    };
    assert!(
        e.problems[0].message.starts_with(
            "would remove 6 of the 10 windows in force with generation 1 (the rules last started or confirmed)"
        ),
        "{e}"
    );
    assert_eq!(cell.current().generation, 2);
    // Confirmed, it applies, and is the new baseline: a further small save passes.
    let confirmed = Live {
        confirm: true,
        ..live
    };
    assert!(matches!(
        reloader.reload_guarded(&paths(&[&f.rule_file()]), &confirmed),
        ReloadOutcome::Swapped { .. }
    ));
    std::fs::write(
        f.rule_file(),
        without(&["T0", "T1", "T2", "T3", "T4", "T5", "T6"]),
    )
    .unwrap();
    assert!(matches!(
        reloader.reload_guarded(&paths(&[&f.rule_file()]), &live),
        ReloadOutcome::Swapped { .. }
    ));
}
