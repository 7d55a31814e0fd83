//! `decide` per booking for the shipped packs, beside the same decision in native Rust (the
//! floor): the anchor decision of issue 9 as the Rhai pack `rules/anchor`, as `rules/margins`
//! (the same decision, written plainly) and as its Wasm twin `rules/margins-wasm` on a live
//! instance; the school pack in Rhai. One batch of 512 bookings per call as the planner makes
//! them, conversions in and out included; one core, and the anchor also on two (batches spread
//! over a rayon pool, as the planner spreads them).

mod common;

use std::path::Path;
use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use klar_engine::model::{Booking, Effect};
use klar_engine::rules::pack::{LoadOptions, load};
use klar_engine::rules::{Ctx, Decision, RuleRuntime};
use klar_engine::scale::native::NativeMargins;
use rayon::prelude::*;

/// Bookings per call, as the planner batches them.
const BATCH: usize = 512;

fn pack(name: &str) -> Arc<dyn RuleRuntime> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("rules")
        .join(name);
    load(&dir, &LoadOptions::default()).unwrap_or_else(|e| {
        panic!(
            "the shipped pack {} must load (Wasm packs: run scripts/build-guests): {e}",
            dir.display()
        )
    })
}

/// Contexts with the pack's own settings, as the planner gives them.
fn contexts<'a>(
    site: &'a klar_engine::scale::ScaleSite,
    n: usize,
    runtime: &dyn RuleRuntime,
) -> Vec<(&'a Booking, Ctx)> {
    common::contexts(site, n)
        .into_iter()
        .map(|(b, ctx)| {
            let ctx = Ctx {
                settings: runtime.pack().settings.clone(),
                ..ctx
            };
            (b, ctx)
        })
        .collect()
}

/// Every booking's effects, failing the bench on any rule error.
fn effects(id: &str, runtime: &dyn RuleRuntime, decisions: &[Decision<'_>]) -> Vec<Vec<Effect>> {
    decisions
        .chunks(BATCH)
        .flat_map(|batch| runtime.decide(batch))
        .map(|r| {
            r.unwrap_or_else(|e| panic!("{id}: a booking failed: {e}"))
                .into_iter()
                .map(|e| e.effect)
                .collect()
        })
        .collect()
}

fn deciding(c: &mut Criterion) {
    let site = common::municipality();
    let n = if cfg!(debug_assertions) {
        BATCH
    } else {
        10_240
    };
    let runtimes: Vec<(&str, Arc<dyn RuleRuntime>)> = vec![
        ("native_anchor", Arc::new(NativeMargins::new("anchor"))),
        ("rhai_anchor", pack("anchor")),
        ("rhai_margins", pack("margins")),
        ("wasm_margins", pack("margins-wasm")),
        ("rhai_school", pack("school")),
    ];
    let mut group = c.benchmark_group("decide");
    group.throughput(Throughput::Elements(n as u64));
    let mut ids = Vec::new();
    let mut floor: Option<Vec<Vec<Effect>>> = None;
    for (id, runtime) in &runtimes {
        let contexts = contexts(&site, n, runtime.as_ref());
        let decisions: Vec<Decision<'_>> = common::decisions(&site, &contexts);
        let decided = effects(id, runtime.as_ref(), &decisions);
        // The floor is only a floor if it makes the same decision as the anchor's packs.
        match &floor {
            None => floor = Some(decided),
            Some(native) if *id != "rhai_school" => {
                assert_eq!(native, &decided, "{id} must decide as native Rust does")
            }
            Some(_) => {}
        }
        group.bench_function(*id, |b| {
            b.iter(|| {
                for batch in decisions.chunks(BATCH) {
                    std::hint::black_box(runtime.decide(batch));
                }
            })
        });
        ids.push(id.to_string());
        if *id == "rhai_anchor" {
            let two = common::pool(2);
            let id = "rhai_anchor_2_cores";
            group.bench_function(id, |b| {
                b.iter(|| {
                    two.install(|| {
                        decisions.par_chunks(BATCH).for_each(|batch| {
                            std::hint::black_box(runtime.decide(batch));
                        })
                    })
                })
            });
            ids.push(id.to_string());
        }
    }
    group.finish();
    let others: Vec<&str> = ids[1..].iter().map(String::as_str).collect();
    common::print_ratios("decide", "native_anchor", &others, n as u64);
}

criterion_group!(benches, deciding);
criterion_main!(benches);
