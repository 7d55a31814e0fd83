//! Planning the municipality's week end to end (rules, reasons, caps, merge, conflicts) on one
//! core and on two, with the native anchor decision; the rule runtimes' share is in `decide`.

mod common;

use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use klar_engine::plan::{PlanInput, plan};
use klar_engine::rules::RuleRuntime;
use klar_engine::scale::native::NativeMargins;

fn planning(c: &mut Criterion) {
    let site = common::municipality();
    let packs: Vec<Arc<dyn RuleRuntime>> = vec![Arc::new(NativeMargins::new("margins"))];
    let input = PlanInput {
        bookings: &site.bookings,
        packs: &packs,
        site: &site.site,
        now: site.spec.start(),
    };
    let one = common::pool(1);
    let two = common::pool(2);
    let mut group = c.benchmark_group("plan");
    group.sample_size(10);
    group.bench_function("native_1_core", |b| b.iter(|| one.install(|| plan(&input))));
    group.bench_function("native_2_cores", |b| {
        b.iter(|| two.install(|| plan(&input)))
    });
    group.finish();
    common::print_ratios("plan", "native_1_core", &["native_2_cores"], 1);
}

criterion_group!(benches, planning);
criterion_main!(benches);
