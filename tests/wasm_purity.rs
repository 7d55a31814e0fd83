//! A Wasm guest may keep global state on its instance, and one instance serves a whole batch:
//! `klar rules test` catches a rule that depends on it (a booking decided on its own gives
//! another result than in the batch).

mod common;
#[path = "common/rules.rs"]
mod rules;
#[path = "common/wasm.rs"]
mod wasm;

use common::klar;
use rules::run;
use wasm::fixture_pack;

#[test]
fn klar_rules_test_fails_a_guest_that_keeps_state_between_calls() {
    let tmp = tempfile::tempdir().unwrap();
    let pack = fixture_pack(tmp.path(), "stateful", "fixture-stateful");
    std::fs::create_dir_all(pack.join("cases")).unwrap();
    std::fs::write(
        pack.join("cases/two.yaml"),
        r#"description: Two bookings; each call unlocks the door named after its call count.
site:
  rooms:
    "halls:7": {doors: [D-HAL]}
now: 2026-11-23T07:00:00+01:00
bookings:
  - {id: W-1, source: halls, resource: "7", start: 2026-11-23T16:00:00+01:00, end: 2026-11-23T17:00:00+01:00}
  - {id: W-2, source: halls, resource: "7", start: 2026-11-23T18:00:00+01:00, end: 2026-11-23T19:00:00+01:00}
expect:
  "door D-CALL-1 unlocked": ["2026-11-23 16:00 .. 2026-11-23 17:00"]
  "door D-CALL-2 unlocked": ["2026-11-23 18:00 .. 2026-11-23 19:00"]
"#,
    )
    .unwrap();
    let r = run(klar()
        .args(["rules", "test", "stateful", "--accept", "--dir"])
        .arg(tmp.path()));
    assert_eq!(r.code, Some(1), "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stdout
            .contains("booking W-2 decided on its own gives another result than in a batch"),
        "{}",
        r.stdout
    );
}
