//! The reload guard's cost: a settings change to the demo's site (the school pack, five rule
//! files) tried on 2,000 live bookings before it swaps: the bookings decided by the rules in
//! force and by the candidate, and the two plans compared (`reload::guard::judge`).
//!
//! Baseline in the same run: one plan of the same bookings (what every reload pays anyway).
//! Target: judging stays well inside the ~0.2 s a save takes to reach the controller
//! (docs/daemon.md).

mod common;

use std::path::Path;

use chrono::{DateTime, Duration, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use klar_engine::model::Booking;
use klar_engine::plan::{PlanInput, plan};
use klar_engine::reload::guard::{Live, judge};
use klar_engine::reload::load_initial;
use klar_engine::rules::pack::LoadOptions;

const BOOKINGS: usize = 2_000;

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-23T07:00:00+01:00")
        .expect("valid")
        .with_timezone(&Utc)
}

/// The demo's site in `dir`, the school pack from the repository, with `margin_before`.
fn site(dir: &Path, name: &str, margin_before: u32) -> std::path::PathBuf {
    let template = include_str!("../examples/demo/site.toml");
    let pack = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/school");
    let text = template
        .replace(
            "packs = [\"rules/school\"]",
            &format!("packs = [{:?}]", pack.display().to_string()),
        )
        .replace(
            "margin_before = 15",
            &format!("margin_before = {margin_before}"),
        )
        .replace("@PRONESTOR_URL@", "http://127.0.0.1:9")
        .replace("@WINKAS_URL@", "http://127.0.0.1:9/api/");
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write the site");
    path
}

/// `n` bookings over the demo's rooms, one every few minutes from now for a week, each an hour
/// or two, some with a responsible person.
fn bookings(n: usize) -> Vec<Booking> {
    let rooms = [
        ("planner", "101"),
        ("planner", "102"),
        ("planner", "103"),
        ("planner", "104"),
        ("halls", "1"),
        ("halls", "2"),
    ];
    (0..n)
        .map(|i| {
            let (source, resource) = rooms[i % rooms.len()];
            let start = now() + Duration::minutes(5 * i as i64);
            serde_json::from_value(serde_json::json!({
                "id": format!("B-{i}"), "source": source, "resource": resource,
                "title": format!("Booking {i}"),
                "start": start, "end": start + Duration::minutes(60 + 30 * (i % 3) as i64),
                "responsible": if i % 2 == 0 {
                    serde_json::json!({"name": format!("Person {i}"), "member_no": format!("{}", 1000 + i % 300)})
                } else {
                    serde_json::Value::Null
                },
            }))
            .expect("a booking")
        })
        .collect()
}

fn guard(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("a scratch folder");
    let current_config = site(dir.path(), "site.toml", 15);
    let candidate_config = site(dir.path(), "candidate.toml", 45);
    let current = load_initial(&current_config, &LoadOptions::default())
        .expect("the demo site loads")
        .rules;
    let candidate = load_initial(&candidate_config, &LoadOptions::default())
        .expect("the candidate loads")
        .rules;
    let live_bookings = bookings(if cfg!(debug_assertions) {
        100
    } else {
        BOOKINGS
    });
    let live = Live {
        bookings: &live_bookings,
        now: now(),
        confirm: false,
    };
    let verdict = judge(&current, &candidate, &live, &candidate_config);
    assert!(verdict.reasons.is_empty(), "{:?}", verdict.reasons);
    assert!(verdict.diff.counts.moved > 0, "the margin moves windows");
    eprintln!(
        "guard: {} live bookings, {} windows in force; the change: {}",
        live_bookings.len(),
        verdict.diff.counts.windows_before,
        verdict.diff.counts
    );

    let mut group = c.benchmark_group("guard");
    group.sample_size(10);
    group.bench_function("plan_once", |b| {
        b.iter(|| {
            plan(&PlanInput {
                bookings: &live_bookings,
                packs: &current.packs,
                site: &current.site,
                now: now(),
            })
        })
    });
    group.bench_function("judge", |b| {
        b.iter(|| judge(&current, &candidate, &live, &candidate_config))
    });
    group.finish();
    common::print_ratios("guard", "plan_once", &["judge"], 1);
}

criterion_group!(benches, guard);
criterion_main!(benches);
