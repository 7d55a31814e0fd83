//! The Wasm twin of the margins pack (rules/margins-wasm, Rust compiled to a component) makes
//! the same plans as the Rhai original for every one of margins' cases, under both ways of
//! limiting time; and `klar rules test margins-wasm` passes with those very case files.

mod common;
#[path = "common/rules.rs"]
mod rules;
#[path = "common/wasm.rs"]
mod wasm;

use std::path::PathBuf;
use std::sync::Arc;

use klar_engine::plan::{Plan, PlanInput, plan};
use klar_engine::rules::cases::read_case;
use klar_engine::rules::{RuleLocation, RuleRuntime};

use common::{klar, repo};
use rules::run;
use wasm::{load, margins_wasm_dir};

/// The plan with what names the pack and rule line made equal: that is all the twins may
/// differ in.
fn anonymous(mut plan: Plan) -> Plan {
    for p in &mut plan.packs {
        p.name = "pack".into();
    }
    for entry in &mut plan.entries {
        for w in &mut entry.windows {
            for r in &mut w.reasons {
                r.pack = "pack".into();
                r.rule = RuleLocation {
                    file: "rule".into(),
                    line: 0,
                    column: 0,
                };
            }
        }
    }
    for e in &mut plan.errors {
        e.pack = "pack".into();
        e.location = None;
    }
    plan
}

fn plan_case(
    case: &klar_engine::rules::cases::Case,
    name: &str,
    pack: &Arc<dyn RuleRuntime>,
) -> Plan {
    let site = case
        .site_config(name, &pack.pack().name)
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    plan(&PlanInput {
        bookings: &case.bookings,
        packs: std::slice::from_ref(pack),
        site: &site,
        now: case.now,
    })
}

#[test]
fn both_runtimes_make_identical_plans_for_every_margins_case() {
    let twin = margins_wasm_dir();
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo().join("rules/margins/cases"))
        .expect("margins has cases")
        .map(|e| e.expect("an entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 9, "margins' cases: {files:?}");
    for deterministic in [true, false] {
        let rhai = load(&repo().join("rules/margins"), deterministic);
        let wasm = load(&twin, deterministic);
        assert_eq!(wasm.pack().runtime, klar_engine::rules::RuntimeKind::Wasm);
        for file in &files {
            let name = file.file_stem().unwrap().to_string_lossy().into_owned();
            let case = read_case(file).unwrap_or_else(|e| panic!("{e}"));
            let from_rhai = plan_case(&case, &name, &rhai);
            let from_wasm = plan_case(&case, &name, &wasm);
            assert!(
                !from_rhai.entries.is_empty() || name == "cancelled",
                "{name}: an empty plan proves little"
            );
            assert_eq!(anonymous(from_wasm.clone()), anonymous(from_rhai), "{name}");
            // The Wasm plan's reasons name the pack and its component (the site's own
            // holidays aside: those are the site's, whatever the pack).
            for r in from_wasm
                .entries
                .iter()
                .flat_map(|e| &e.windows)
                .flat_map(|w| &w.reasons)
                .filter(|r| !klar_engine::plan::is_site(r))
            {
                assert_eq!(
                    (r.pack.as_str(), r.rule.file.as_str()),
                    ("margins-wasm", "margins.wasm")
                );
            }
        }
    }
}

#[test]
fn klar_rules_test_runs_the_wasm_pack_with_the_rhai_packs_cases() {
    let dir = margins_wasm_dir();
    let manifest = std::fs::read_to_string(dir.join("pack.toml")).unwrap();
    assert!(
        manifest.contains("cases = \"../margins/cases\""),
        "{manifest}"
    );
    let r = run(klar()
        .args(["rules", "test", "margins-wasm", "--dir"])
        .arg(repo().join("rules")));
    assert_eq!(r.code, Some(0), "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("margins-wasm 1.0.0"), "{}", r.stdout);
    for case in [
        "normal",
        "cancelled",
        "dst_march",
        "dst_october",
        "holiday",
        "overlapping",
    ] {
        assert!(
            r.stdout.contains(&format!("ok      {case}")),
            "{case}: {}",
            r.stdout
        );
    }
    assert!(
        r.stdout.contains("9 cases passed in 1 pack(s)"),
        "{}",
        r.stdout
    );
}

/// The snapshots of the twins differ only in the rule each reason names.
#[test]
fn the_twins_snapshots_differ_only_in_the_rule_location() {
    let twin = margins_wasm_dir().join("snapshots");
    let mut compared = 0;
    for entry in std::fs::read_dir(repo().join("rules/margins/snapshots")).unwrap() {
        let path = entry.unwrap().path();
        let rhai = std::fs::read_to_string(&path).unwrap();
        let wasm = std::fs::read_to_string(twin.join(path.file_name().unwrap()))
            .unwrap_or_else(|e| panic!("{}: no twin snapshot: {e}", path.display()));
        let strip = |text: &str, marker: &str| -> String {
            text.lines()
                .map(|l| match l.find(marker) {
                    Some(i) => &l[..i],
                    None => l,
                })
                .collect::<Vec<_>>()
                .join("\n")
        };
        assert_eq!(
            strip(&wasm, " at margins.wasm:"),
            strip(&rhai, " at rules/margins.rhai:"),
            "{}",
            path.display()
        );
        compared += 1;
    }
    assert!(compared >= 9);
}
