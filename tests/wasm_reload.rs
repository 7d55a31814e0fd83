//! Hot reload of a Wasm pack: a rebuilt `.wasm` in the pack folder is a change of that pack;
//! it is compiled and must pass the pack's cases before it is swapped in. A guest that fails
//! the cases, or a file that is not Wasm, is refused and the previous rules stay in force.

mod common;
#[path = "common/rules.rs"]
mod rules;
#[path = "common/wasm.rs"]
mod wasm;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

use klar_engine::reload::{ReloadOutcome, Reloader, RuleSetCell, classify, load_initial};
use klar_engine::rules::pack::LoadOptions;

use common::repo;
use rules::copy_dir;
use wasm::{fixture_wasm, margins_wasm_dir};

#[test]
fn a_rebuilt_guest_is_reloaded_only_if_it_passes_the_cases() {
    let tmp = tempfile::tempdir().unwrap();
    let rules_dir = tmp.path().join("rules");
    // The twin reads its cases from ../margins/cases.
    copy_dir(&repo().join("rules/margins"), &rules_dir.join("margins"));
    let pack = rules_dir.join("margins-wasm");
    std::fs::create_dir_all(&pack).unwrap();
    for file in ["pack.toml", "margins.wasm"] {
        std::fs::copy(margins_wasm_dir().join(file), pack.join(file)).unwrap();
    }
    copy_dir(
        &margins_wasm_dir().join("snapshots"),
        &pack.join("snapshots"),
    );
    let config = tmp.path().join("site.toml");
    std::fs::write(
        &config,
        "[site]\nname = \"reload\"\n[rules]\npacks = [\"rules/margins-wasm\"]\n\
         [rooms.\"halls:7\"]\ndoors = [\"D-HAL-N\"]\n",
    )
    .unwrap();

    let options = LoadOptions::default();
    let initial = load_initial(&config, &options).unwrap_or_else(|e| panic!("{e:?}"));
    assert!(
        initial.snapshot_drift.is_empty(),
        "{:?}",
        initial.snapshot_drift
    );
    let cell = Arc::new(RuleSetCell::new(initial.rules));
    let reloader = Reloader::new(config.clone(), options, cell.clone());
    let wasm_file = pack.join("margins.wasm");
    let changed = |p: &PathBuf| BTreeSet::from([p.clone()]);

    // The built file is a change of its pack; so is the guest's source (nothing to rebuild
    // there: the pack is loaded and tested again as it is).
    let current = cell.current();
    assert_eq!(
        classify(&config, &current, &changed(&wasm_file)).packs,
        BTreeSet::from([pack.clone()])
    );
    assert_eq!(
        classify(&config, &current, &changed(&pack.join("guest/src/lib.rs"))).packs,
        BTreeSet::from([pack.clone()])
    );

    // Another guest that does not make margins' decision: the cases refuse it.
    std::fs::copy(fixture_wasm("fixture-panic"), &wasm_file).unwrap();
    match reloader.reload(&changed(&wasm_file)) {
        ReloadOutcome::Refused(e) => {
            let text = format!("{e:?}");
            assert!(text.contains("case normal fails"), "{text}");
        }
        other => panic!("expected a refusal: {other:?}"),
    }
    assert_eq!(cell.current().generation, 1);

    // Not Wasm at all: refused, naming the file.
    std::fs::write(&wasm_file, b"half-written").unwrap();
    match reloader.reload(&changed(&wasm_file)) {
        ReloadOutcome::Refused(e) => {
            assert!(
                e.problems
                    .iter()
                    .any(|p| p.file == wasm_file && p.message.contains("not a WebAssembly file")),
                "{e:?}"
            );
        }
        other => panic!("expected a refusal: {other:?}"),
    }
    assert_eq!(cell.current().generation, 1);

    // The real guest again: swapped in.
    std::fs::copy(margins_wasm_dir().join("margins.wasm"), &wasm_file).unwrap();
    match reloader.reload(&changed(&wasm_file)) {
        ReloadOutcome::Swapped { generation, .. } => assert_eq!(generation, 2),
        other => panic!("expected a swap: {other:?}"),
    }
    assert_eq!(cell.current().packs[0].pack().name, "margins-wasm");
}
