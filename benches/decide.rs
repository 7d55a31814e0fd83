//! `decide` per booking for the shipped packs, beside the same decision in native Rust (the
//! floor): the anchor pack `rules/margins` in Rhai, the school pack in Rhai, one batch of 512
//! bookings per call as the planner makes them, one core, conversions in and out included.

mod common;

use std::path::Path;
use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use klar_engine::rules::pack::{LoadOptions, load};
use klar_engine::rules::{Ctx, Decision, RuleRuntime};
use klar_engine::scale::native::NativeMargins;

/// Bookings per call, as the planner batches them.
const BATCH: usize = 512;

fn pack(name: &str) -> Arc<dyn RuleRuntime> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("rules")
        .join(name);
    load(&dir, &LoadOptions::default())
        .unwrap_or_else(|e| panic!("the shipped pack {} must load: {e}", dir.display()))
}

fn deciding(c: &mut Criterion) {
    let site = common::municipality();
    let n = if cfg!(debug_assertions) {
        BATCH
    } else {
        10_240
    };
    let runtimes: Vec<(&str, Arc<dyn RuleRuntime>)> = vec![
        ("native_margins", Arc::new(NativeMargins::new("margins"))),
        ("rhai_margins", pack("margins")),
        ("rhai_school", pack("school")),
    ];
    let mut group = c.benchmark_group("decide");
    group.throughput(Throughput::Elements(n as u64));
    let mut ids = Vec::new();
    let mut outputs = Vec::new();
    for (id, runtime) in &runtimes {
        // Each pack sees its own settings, as the planner gives them.
        let contexts: Vec<(&klar_engine::model::Booking, Ctx)> = common::contexts(&site, n)
            .into_iter()
            .map(|(b, ctx)| {
                let ctx = Ctx {
                    settings: runtime.pack().settings.clone(),
                    ..ctx
                };
                (b, ctx)
            })
            .collect();
        let decisions: Vec<Decision<'_>> = common::decisions(&site, &contexts);
        let decided = runtime.decide(&decisions);
        let failed = decided.iter().filter(|r| r.is_err()).count();
        assert_eq!(
            failed,
            0,
            "{id}: {failed} bookings failed: {:?}",
            decided.iter().find(|r| r.is_err())
        );
        group.bench_function(*id, |b| {
            b.iter(|| {
                for batch in decisions.chunks(BATCH) {
                    std::hint::black_box(runtime.decide(batch));
                }
            })
        });
        let effects: Vec<Vec<klar_engine::model::Effect>> = decided
            .into_iter()
            .map(|r| r.expect("checked").into_iter().map(|e| e.effect).collect())
            .collect();
        outputs.push(effects);
        ids.push(*id);
    }
    // The floor is only a floor if it makes the same decision as the anchor pack.
    assert_eq!(
        outputs[0], outputs[1],
        "native and Rhai margins must decide alike"
    );
    group.finish();
    common::print_ratios("decide", "native_margins", &ids[1..], n as u64);
}

criterion_group!(benches, deciding);
criterion_main!(benches);
