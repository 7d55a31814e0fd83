//! A full sync cycle against the fake Pronestor and WinKAS servers holding the municipality's
//! 2,000 resources (1,000 each, over 100 locations each): both sources polled for 48 hours
//! ahead, over loopback HTTP, with the vendors' JSON parsed and normalised. Twice, with 50,000
//! and with 100,000 bookings a week: the requests per cycle must not change (they grow with
//! locations and batches, not bookings); the baseline is the smaller municipality.
//!
//! In test mode (`cargo test --benches`) the municipality is 1/50 of its size.

mod common;

use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use klar_adapters::fake::municipal::{MunicipalFakes, MunicipalSpec};

fn spec(bookings: usize) -> MunicipalSpec {
    let site = klar_engine::scale::ScaleSpec::municipal(common::SEED);
    let spec = MunicipalSpec {
        seed: common::SEED,
        now: site.start(),
        locations: 100,
        resources: 2_000,
        bookings,
        lookahead_hours: 48,
    };
    if cfg!(debug_assertions) {
        MunicipalSpec {
            locations: 2,
            resources: 40,
            bookings: bookings / 50,
            ..spec
        }
    } else {
        spec
    }
}

fn syncing(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let mut group = c.benchmark_group("sync");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(8));
    let mut requests = Vec::new();
    for (id, bookings) in [
        ("cycle_50k_bookings", 50_000),
        ("cycle_100k_bookings", 100_000),
    ] {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut fakes = rt
            .block_on(MunicipalFakes::start(spec(bookings), dir.path()))
            .expect("the fakes start");
        let first = rt.block_on(fakes.cycle()).expect("the first cycle");
        let steady = rt.block_on(fakes.cycle()).expect("a cycle");
        eprintln!(
            "sync: {id}: {} resources, {} bookings in the window; requests per cycle {} (Pronestor {}, WinKAS {}); the first, with logins, {}",
            fakes.spec.resources,
            steady.bookings,
            steady.requests(),
            steady.pronestor_requests,
            steady.winkas_requests,
            first.requests()
        );
        requests.push(steady.requests());
        group.bench_function(id, |b| {
            b.iter_custom(|iters| {
                let t = Instant::now();
                for _ in 0..iters {
                    let report = rt.block_on(fakes.cycle()).expect("a cycle");
                    assert_eq!(report.requests(), steady.requests());
                }
                t.elapsed()
            })
        });
    }
    group.finish();
    assert_eq!(
        requests[0], requests[1],
        "requests per cycle must not grow with bookings"
    );
    common::print_ratios("sync", "cycle_50k_bookings", &["cycle_100k_bookings"], 1);
}

criterion_group!(benches, syncing);
criterion_main!(benches);
