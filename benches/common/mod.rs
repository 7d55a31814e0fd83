//! What the benchmarks share: the generated municipality, rayon pools of a chosen size, and
//! the ratio of each measurement to its baseline in the same run.
//!
//! In test mode (`cargo test --benches`, a debug build) the municipality is 1/50 of its size,
//! so every bench's set-up takes well under a few seconds and each benchmark runs once.

#![allow(dead_code)] // each bench uses its own part of this module

use std::path::PathBuf;

use klar_engine::model::{Booking, room_key};
use klar_engine::rules::{Ctx, Decision};
use klar_engine::scale::{ScaleSite, ScaleSpec, generate};

/// Every bench generates the same municipality.
pub const SEED: u64 = 2026;

/// The municipality of issue 9, or 1/50 of it in a debug build.
pub fn municipality() -> ScaleSite {
    let spec = ScaleSpec::municipal(SEED);
    let spec = if cfg!(debug_assertions) {
        spec.scaled_down(50)
    } else {
        spec
    };
    generate(&spec)
}

/// Contexts for the first `n` bookings that are not cancelled (what the planner would decide),
/// with the pack's settings.
pub fn contexts(site: &ScaleSite, n: usize) -> Vec<(&Booking, Ctx)> {
    site.bookings
        .iter()
        .filter(|b| !b.is_cancelled())
        .take(n)
        .map(|b| (b, Ctx::for_booking(b, &site.site, Default::default())))
        .collect()
}

/// The decisions for `contexts`, borrowing the rooms from the site.
pub fn decisions<'a>(site: &'a ScaleSite, contexts: &'a [(&'a Booking, Ctx)]) -> Vec<Decision<'a>> {
    contexts
        .iter()
        .map(|(booking, ctx)| Decision {
            booking,
            room: &site.site.rooms[&room_key(&booking.source, &booking.resource)],
            ctx,
        })
        .collect()
}

/// A rayon pool of exactly `threads` threads.
pub fn pool(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("a rayon pool")
}

/// Criterion's mean estimate for `group/id` from this run, in nanoseconds. None in test mode,
/// where criterion measures nothing.
fn estimate(group: &str, id: &str) -> Option<f64> {
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target"));
    let path = dir
        .join("criterion")
        .join(group)
        .join(id)
        .join("new/estimates.json");
    let text = std::fs::read_to_string(path).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    json["mean"]["point_estimate"].as_f64()
}

/// Prints each measurement of `group` as a ratio to its `baseline`, from criterion's own
/// estimates of this run, divided by `per` (bookings per iteration) for a time per item.
pub fn print_ratios(group: &str, baseline: &str, others: &[&str], per: u64) {
    if cfg!(debug_assertions) {
        return; // test mode: nothing was measured
    }
    let Some(base) = estimate(group, baseline) else {
        eprintln!("{group}: no estimate for the baseline {baseline}");
        return;
    };
    let per = per.max(1) as f64;
    eprintln!("{group}: {baseline} {} (the baseline)", human(base / per));
    for id in others {
        match estimate(group, id) {
            Some(t) => eprintln!(
                "{group}: {id} {} = {:.1}x {baseline}",
                human(t / per),
                t / base
            ),
            None => eprintln!("{group}: {id}: no estimate"),
        }
    }
}

/// Nanoseconds as people read them.
pub fn human(ns: f64) -> String {
    if ns < 1_000.0 {
        format!("{ns:.0} ns")
    } else if ns < 1_000_000.0 {
        format!("{:.2} us", ns / 1_000.0)
    } else if ns < 1_000_000_000.0 {
        format!("{:.1} ms", ns / 1_000_000.0)
    } else {
        format!("{:.2} s", ns / 1_000_000_000.0)
    }
}
