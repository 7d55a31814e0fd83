//! The reconciler's diff for the municipality's 2,000 rooms after 1% of the bookings changed
//! (moved half an hour, or cancelled), against the diff of a controller already in step.
//!
//! The controller's objects are modelled as one object per plan target holding its windows,
//! the shape every driver's `desired(plan)` has (UniLock: a shared exception's periods, a
//! person's memberships).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use klar_engine::model::Window;
use klar_engine::plan::{Plan, PlanInput, Target, plan};
use klar_engine::reconcile::{Observed, diff};
use klar_engine::rules::RuleRuntime;
use klar_engine::scale::native::NativeMargins;

fn objects(plan: &Plan) -> BTreeMap<Target, Vec<Window>> {
    plan.entries
        .iter()
        .map(|e| {
            (
                e.target.clone(),
                e.windows.iter().map(|w| w.window).collect(),
            )
        })
        .collect()
}

fn reconciling(c: &mut Criterion) {
    let site = common::municipality();
    let packs: Vec<Arc<dyn RuleRuntime>> = vec![Arc::new(NativeMargins::new("margins"))];
    let now = site.spec.start();
    let plan_of = |bookings| {
        plan(&PlanInput {
            bookings,
            packs: &packs,
            site: &site.site,
            now,
        })
    };
    let before = plan_of(&site.bookings);
    let changed = klar_engine::scale::changed(&site.bookings, 1);
    let after = plan_of(&changed);
    let observed = Observed {
        owned: objects(&before),
        foreign: BTreeSet::new(),
        room: Default::default(),
    };
    let desired_before = objects(&before);
    let desired_after = objects(&after);
    let actions = diff(&desired_after, &observed).len();
    assert!(actions > 0, "1% changed must change something");
    assert!(diff(&desired_before, &observed).is_empty());
    eprintln!(
        "reconcile: {} rooms, {} objects, {actions} actions after 1% changed",
        site.site.rooms.len(),
        desired_before.len()
    );

    let mut group = c.benchmark_group("reconcile");
    group.bench_function("diff_in_step", |b| {
        b.iter(|| diff(&desired_before, &observed))
    });
    group.bench_function("diff_1pct_changed", |b| {
        b.iter(|| diff(&desired_after, &observed))
    });
    group.bench_function("desired_from_plan", |b| b.iter(|| objects(&after)));
    group.finish();
    common::print_ratios(
        "reconcile",
        "diff_in_step",
        &["diff_1pct_changed", "desired_from_plan"],
        1,
    );
}

criterion_group!(benches, reconciling);
criterion_main!(benches);
