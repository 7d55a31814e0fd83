//! A rule that misbehaves on one booking (loops, allocates without end, gives up or panics,
//! returns nonsense), in a Rhai pack and in a Wasm pack: the plan reports the failure with the
//! pack and the booking, that booking's room stays in normal operation on the controller (fails
//! closed), and the other bookings, in the same room and in another room, get their doors.

mod fault_common;
#[path = "common/wasm.rs"]
mod wasm;

use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use fault_common::{Site, controller, describe, local};
use klar_engine::model::Booking;
use klar_engine::plan::{Plan, PlanInput, plan};
use klar_engine::reconcile::{ReconcileOptions, sync_cycle};
use klar_engine::rules::pack::{LoadOptions, load};
use klar_engine::rules::{RuleErrorKind, RuleRuntime};

/// The controller tests' site with a second hall: room `halls:2`, door D-201 on a table of its
/// own.
fn site() -> Site {
    Site::with(&format!(
        "{}\n[rooms.\"halls:2\"]\nname = \"Hal 2\"\ndoors = [\"D-201\"]\n\
         [controller.installation.tables.hall2]\nall = [\"00:00 locked\"]\n\
         [controller.installation.doors.\"D-201\"]\ntable = \"hall2\"\n",
        controller::SITE
    ))
}

fn booking(id: &str, resource: &str, start: (u32, u32), end: (u32, u32), tags: &[&str]) -> Booking {
    let t = |(h, m): (u32, u32)| local(h, m).to_rfc3339();
    serde_json::from_value(serde_json::json!({
        "id": id, "source": "halls", "resource": resource, "title": format!("Booking {id}"),
        "start": t(start), "end": t(end), "tags": tags,
        "responsible": {"name": "Mette Hansen", "member_no": "1042", "pin": "4711"},
    }))
    .expect("a valid booking")
}

/// A-1 (hall 1, morning, tagged `misbehave`), B-2 (hall 1, afternoon), C-3 (hall 2).
fn bookings() -> Vec<Booking> {
    vec![
        booking("A-1", "1", (9, 0), (10, 0), &["misbehave"]),
        booking("B-2", "1", (13, 0), (14, 0), &[]),
        booking("C-3", "2", (13, 0), (15, 0), &[]),
    ]
}

/// A Rhai pack that unlocks the room's doors for each booking, and runs `misbehave` first on a
/// booking tagged so.
fn rhai_pack(dir: &Path, misbehave: &str) -> Arc<dyn RuleRuntime> {
    let pack = dir.join("wild");
    std::fs::create_dir_all(pack.join("rules")).expect("create the pack");
    std::fs::write(
        pack.join("pack.toml"),
        "name = \"wild\"\nversion = \"0.1.0\"\nruntime = \"rhai\"\n",
    )
    .expect("write pack.toml");
    std::fs::write(
        pack.join("rules/wild.rhai"),
        format!(
            "fn decide(booking, room, ctx) {{\n    if booking.has_tag(\"misbehave\") {{\n        {misbehave}\n    }}\n    let effects = [];\n    for door in room.doors {{ effects.push(unlock(door, booking.start, booking.end)); }}\n    effects\n}}\n"
        ),
    )
    .expect("write the rule");
    load(&pack, &LoadOptions::default()).unwrap_or_else(|e| panic!("{e}"))
}

/// A Wasm pack running a guest of rules/wasm-fixtures (each misbehaves on `misbehave`).
fn wasm_pack(dir: &Path, fixture: &str) -> Arc<dyn RuleRuntime> {
    let pack = wasm::fixture_pack(dir, "wild", fixture);
    load(&pack, &LoadOptions::default()).unwrap_or_else(|e| panic!("{e}"))
}

/// Plans and applies the three bookings with `pack` on a fresh embedded simulator at 08:00;
/// returns the plan, and the installation's state at each instant asked.
fn run(site: &Site, pack: Arc<dyn RuleRuntime>, at: &[DateTime<Utc>]) -> (Plan, Vec<String>) {
    let now = local(8, 0);
    let plan = plan(&PlanInput {
        bookings: &bookings(),
        packs: &[pack],
        site: &site.config,
        now,
    });
    let mut controller = site.embedded();
    sync_cycle(
        &mut controller,
        &plan,
        &mut site.store(),
        ReconcileOptions::at(now),
    )
    .expect("the apply succeeds");
    let states = at
        .iter()
        .map(|t| describe(&controller.simulator().state_at(*t)))
        .collect();
    (plan, states)
}

/// A-1 failed with `kind` and every word; its morning is normal operation; B-2 and C-3 open
/// their doors; the audit names only B-2 and C-3.
fn assert_fails_closed(
    site: &Site,
    plan: &Plan,
    states: &[String],
    kind: RuleErrorKind,
    words: &[&str],
) {
    assert_eq!(plan.errors.len(), 1, "{:#?}", plan.errors);
    let e = &plan.errors[0];
    assert_eq!(
        (e.pack.as_str(), e.booking.as_str(), e.kind),
        ("wild", "A-1", kind),
        "{e}"
    );
    let text = e.to_string();
    for w in words {
        assert!(text.contains(w), "{w:?} is not in: {text}");
    }
    assert_eq!(
        states,
        [
            // 09:30, A-1: nothing opened.
            "D-101 locked, D-102 card, D-201 locked, Z-ADMIN armed, K-101-LYS off",
            // 13:30: B-2 in hall 1 and C-3 in hall 2.
            "D-101 unlocked, D-102 card, D-201 unlocked, Z-ADMIN armed, K-101-LYS off",
            // 14:30: C-3 only.
            "D-101 locked, D-102 card, D-201 unlocked, Z-ADMIN armed, K-101-LYS off",
        ],
        "{text}"
    );
    let mut audited: Vec<String> = site
        .store()
        .audit(100)
        .expect("read the audit")
        .into_iter()
        .map(|a| a.booking)
        .collect();
    audited.sort();
    audited.dedup();
    assert_eq!(audited, ["B-2", "C-3"]);
}

fn instants() -> [DateTime<Utc>; 3] {
    [local(9, 30), local(13, 30), local(14, 30)]
}

#[test]
fn rhai_rules_that_misbehave_fail_closed_for_their_booking_only() {
    let cases: [(&str, RuleErrorKind, &[&str]); 5] = [
        ("loop { }", RuleErrorKind::Limit, &["operation limit"]),
        (
            "let s = \"0123456789\"; loop { s += s; }",
            RuleErrorKind::Limit,
            &["grew past its limit"],
        ),
        (
            "throw \"the rule gave up\";",
            RuleErrorKind::Runtime,
            &["the rule gave up"],
        ),
        // Would overflow chrono (a panic, before the runtime checked): an error now.
        (
            "let x = minutes(9223372036854775807);",
            RuleErrorKind::Runtime,
            &["the time is out of range", "rules/wild.rhai:3"],
        ),
        (
            "return [unlock(room.doors[0], booking.end, booking.start)];",
            RuleErrorKind::BadOutput,
            &["rules/wild.rhai"],
        ),
    ];
    for (body, kind, words) in cases {
        let site = site();
        let tmp = tempfile::tempdir().expect("a scratch folder");
        let (plan, states) = run(&site, rhai_pack(tmp.path(), body), &instants());
        assert_fails_closed(&site, &plan, &states, kind, words);
    }
}

#[test]
fn wasm_rules_that_misbehave_fail_closed_for_their_booking_only() {
    let cases: [(&str, RuleErrorKind, &[&str]); 4] = [
        (
            "fixture-endless-loop",
            RuleErrorKind::Limit,
            &["time limit"],
        ),
        (
            "fixture-alloc-bomb",
            RuleErrorKind::Limit,
            &["memory grew past the cap"],
        ),
        ("fixture-panic", RuleErrorKind::Trap, &["panicked"]),
        (
            "fixture-nonsense",
            RuleErrorKind::BadOutput,
            &["the door is empty", "before or when it starts"],
        ),
    ];
    for (fixture, kind, words) in cases {
        let site = site();
        let tmp = tempfile::tempdir().expect("a scratch folder");
        let (plan, states) = run(&site, wasm_pack(tmp.path(), fixture), &instants());
        assert_fails_closed(&site, &plan, &states, kind, words);
    }
}
