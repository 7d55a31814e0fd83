//! Planning the municipality's week end to end (rules, reasons, caps, merge, conflicts) on one
//! core and on two, with the native anchor decision and with the anchor pack in Rhai; the rule
//! runtimes' share alone is in `decide`. A counting allocator reports the heap planning needs
//! at its peak, beside the heap the site and its bookings already hold.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use criterion::{Criterion, criterion_group, criterion_main};
use klar_engine::plan::{PlanInput, plan};
use klar_engine::rules::RuleRuntime;
use klar_engine::rules::pack::{LoadOptions, load};
use klar_engine::scale::native::NativeMargins;

/// The system allocator, counting the bytes live and their peak.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is passed to the system allocator unchanged; only counters are added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract for `alloc` is the system allocator's.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(live, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `alloc` above, with this layout.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The heap `f` needs at its peak beyond what was live before it, and what was live before.
fn peak_heap(f: impl FnOnce()) -> (usize, usize) {
    let before = LIVE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    f();
    (PEAK.load(Ordering::Relaxed).saturating_sub(before), before)
}

fn planning(c: &mut Criterion) {
    let site = common::municipality();
    let anchor = load(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/anchor"),
        &LoadOptions::default(),
    )
    .expect("rules/anchor loads");
    let one = common::pool(1);
    let two = common::pool(2);
    let mut group = c.benchmark_group("plan");
    group.sample_size(10);
    let mut ids = Vec::new();
    for (name, pack) in [
        (
            "native",
            Arc::new(NativeMargins::new("anchor")) as Arc<dyn RuleRuntime>,
        ),
        ("rhai_anchor", anchor),
    ] {
        let packs = vec![pack];
        let input = PlanInput {
            bookings: &site.bookings,
            packs: &packs,
            site: &site.site,
            now: site.spec.start(),
        };
        let (peak, before) = peak_heap(|| {
            std::hint::black_box(two.install(|| plan(&input)));
        });
        eprintln!(
            "plan: {name}: {} bookings, heap at the peak of planning +{} MB over the {} MB the site and bookings hold",
            site.bookings.len(),
            peak / (1 << 20),
            before / (1 << 20)
        );
        for (cores, pool) in [(1, &one), (2, &two)] {
            let id = format!("{name}_{cores}_core{}", if cores > 1 { "s" } else { "" });
            group.bench_function(&id, |b| b.iter(|| pool.install(|| plan(&input))));
            ids.push(id);
        }
    }
    group.finish();
    let others: Vec<&str> = ids[1..].iter().map(String::as_str).collect();
    common::print_ratios("plan", &ids[0], &others, 1);
}

criterion_group!(benches, planning);
criterion_main!(benches);
