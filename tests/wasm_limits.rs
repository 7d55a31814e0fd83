//! Misbehaving Wasm guests (rules/wasm-fixtures): an endless loop, an allocation bomb, a panic
//! and nonsense output are each stopped within their limits and reported with the pack's name
//! and the booking; that booking fails closed, and every other booking, of this pack and of
//! another pack in the same plan, still gets its effects.

mod common;
#[path = "common/wasm.rs"]
mod wasm;

use std::sync::Arc;
use std::time::{Duration, Instant};

use klar_engine::plan::{Plan, PlanInput, plan};
use klar_engine::rules::{RuleErrorKind, RuleRuntime};

use common::repo;
use wasm::{at, booking, fixture_pack, load, site};

/// Plans three bookings with the fixture pack and the Rhai margins pack: A-1 (tagged
/// `misbehave`, hall 1, morning), then B-2 (hall 1, evening) and C-3 (hall 2). The planner
/// decides a pack's bookings in id order, so B-2 and C-3 come after the failure, in the same
/// batch. Returns the plan and how long planning took.
fn plan_with(fixture: &str, deterministic: bool) -> (Plan, Duration) {
    let tmp = tempfile::tempdir().expect("a scratch folder");
    let bad = load(&fixture_pack(tmp.path(), "wild", fixture), deterministic);
    let margins = load(&repo().join("rules/margins"), deterministic);
    let packs: Vec<Arc<dyn RuleRuntime>> = vec![bad, margins];
    let bookings = vec![
        booking(
            "A-1",
            "7",
            "2026-11-24T09:00:00+01:00",
            "2026-11-24T10:00:00+01:00",
            &["misbehave"],
        ),
        booking(
            "B-2",
            "7",
            "2026-11-24T16:00:00+01:00",
            "2026-11-24T18:00:00+01:00",
            &[],
        ),
        booking(
            "C-3",
            "8",
            "2026-11-24T16:00:00+01:00",
            "2026-11-24T17:00:00+01:00",
            &[],
        ),
    ];
    let site = site();
    let started = Instant::now();
    let plan = plan(&PlanInput {
        bookings: &bookings,
        packs: &packs,
        site: &site,
        now: at("2026-11-24T07:00:00+01:00"),
    });
    (plan, started.elapsed())
}

/// The one error is the fixture's, on A-1; A-1 got nothing from either pack; B-2 and C-3 got
/// the effects of both packs.
fn assert_only_a1_failed(plan: &Plan, kind: RuleErrorKind, words: &[&str]) {
    assert_eq!(plan.errors.len(), 1, "{:#?}", plan.errors);
    let e = &plan.errors[0];
    assert_eq!(
        (e.pack.as_str(), e.booking.as_str(), e.kind),
        ("wild", "A-1", kind),
        "{e}"
    );
    let text = e.to_string();
    assert!(text.starts_with("wild: booking A-1: "), "{text}");
    assert!(
        text.contains("guest.wasm"),
        "the component is named: {text}"
    );
    for w in words {
        assert!(text.contains(w), "{w:?} is not in: {text}");
    }

    let windows = |target: &str| -> Vec<(String, Vec<String>)> {
        plan.entries
            .iter()
            .filter(|e| e.target.to_string() == target)
            .flat_map(|e| &e.windows)
            .map(|w| {
                let mut packs: Vec<String> = w
                    .reasons
                    .iter()
                    .map(|r| format!("{} {}", r.pack, r.booking))
                    .collect();
                packs.sort();
                (w.window.to_string(), packs)
            })
            .collect()
    };
    // Hall 1: only B-2's evening (margins adds 15 minutes either side); nothing for A-1.
    assert_eq!(
        windows("door D-HAL-1 unlocked"),
        vec![(
            "[2026-11-24T14:45:00Z, 2026-11-24T17:15:00Z)".to_owned(),
            vec!["margins B-2".to_owned(), "wild B-2".to_owned()]
        )]
    );
    assert_eq!(
        windows("door D-HAL-2 unlocked"),
        vec![(
            "[2026-11-24T14:45:00Z, 2026-11-24T16:15:00Z)".to_owned(),
            vec!["margins C-3".to_owned(), "wild C-3".to_owned()]
        )]
    );
    // The member's grant comes from B-2 only: A-1 failed closed.
    assert_eq!(
        windows("person halls:member:1042 in group Hal-brugere"),
        vec![(
            "[2026-11-24T15:00:00Z, 2026-11-24T17:00:00Z)".to_owned(),
            vec!["margins B-2".to_owned()]
        )]
    );
}

#[test]
fn an_endless_loop_stops_at_the_epoch_deadline() {
    let (plan, took) = plan_with("fixture-endless-loop", false);
    assert_only_a1_failed(
        &plan,
        RuleErrorKind::Limit,
        &["time limit (100 ms)", "endless loop"],
    );
    assert!(took < Duration::from_secs(5), "took {took:?}");
}

#[test]
fn an_endless_loop_stops_when_its_fuel_runs_out() {
    let (plan, took) = plan_with("fixture-endless-loop", true);
    assert_only_a1_failed(&plan, RuleErrorKind::Limit, &["fuel limit", "endless loop"]);
    assert!(took < Duration::from_secs(5), "took {took:?}");
}

#[test]
fn an_allocation_bomb_stops_at_the_memory_cap() {
    for deterministic in [false, true] {
        let (plan, took) = plan_with("fixture-alloc-bomb", deterministic);
        assert_only_a1_failed(
            &plan,
            RuleErrorKind::Limit,
            &["memory grew past the cap (16 MiB)"],
        );
        assert!(took < Duration::from_secs(5), "took {took:?}");
    }
}

#[test]
fn a_panic_is_a_trap_and_the_next_booking_gets_a_fresh_instance() {
    let (plan, _) = plan_with("fixture-panic", true);
    assert_only_a1_failed(&plan, RuleErrorKind::Trap, &["unreachable", "panicked"]);
}

#[test]
fn nonsense_output_is_refused_effect_by_effect() {
    let (plan, _) = plan_with("fixture-nonsense", true);
    assert_only_a1_failed(
        &plan,
        RuleErrorKind::BadOutput,
        &[
            "effect 1 (door_mode): the door is empty",
            "effect 2 (door_mode): the window ends (2026-11-24T08:00:00Z) before or when it starts (2026-11-24T09:00:00Z)",
        ],
    );
}
