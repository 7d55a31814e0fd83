//! `klar bench`: measures the engine at municipal scale, in process, and prints a table of
//! times and their ratios to native Rust measured in the same run.
//!
//! The criterion benches in `benches/` are the thorough version; this is the one-command
//! summary. Build with `cargo run --release -- bench`: debug numbers are meaningless.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use klar_engine::model::{Booking, Window, room_key};
use klar_engine::plan::{Plan, PlanInput, Target, plan};
use klar_engine::reconcile::{Observed, diff};
use klar_engine::rules::pack::{LoadOptions, load};
use klar_engine::rules::{Ctx, Decision, RuleRuntime};
use klar_engine::scale::native::NativeMargins;
use klar_engine::scale::{ScaleSite, ScaleSpec, changed, generate};
use rayon::prelude::*;

use super::Outcome;

#[derive(clap::Args)]
pub struct Args {
    /// A municipality a tenth of the size and shorter measurements: a smoke run.
    #[arg(long)]
    quick: bool,
    /// The seed of the generated municipality.
    #[arg(long, default_value_t = 2026)]
    seed: u64,
    /// The folder holding the shipped rule packs.
    #[arg(long, default_value = "rules")]
    rules: PathBuf,
}

/// Bookings per runtime call, as the planner batches them.
const BATCH: usize = 512;

pub fn run(args: Args) -> Outcome {
    if cfg!(debug_assertions) {
        eprintln!(
            "warning: this is a debug build; its numbers are meaningless. Run `cargo run --release -- bench`."
        );
    }
    let spec = ScaleSpec::municipal(args.seed);
    let spec = if args.quick {
        spec.scaled_down(10)
    } else {
        spec
    };
    let budget = if args.quick {
        Duration::from_millis(300)
    } else {
        Duration::from_secs(2)
    };
    let started = Instant::now();
    let site = generate(&spec);
    println!(
        "klar bench: {} buildings, {} resources, {} bookings over {} days (seed {}), {} cores{}",
        spec.buildings,
        site.site.rooms.len(),
        site.bookings.len(),
        spec.days,
        spec.seed,
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        if cfg!(debug_assertions) {
            ", DEBUG BUILD"
        } else {
            ""
        }
    );
    println!("  generated in {:.0} ms", ms(started.elapsed()));

    // The anchor decision of issue 9 natively (the floor), as the Rhai pack rules/anchor, as
    // rules/margins (the same decision written plainly) and as its Wasm twin margins-wasm; the
    // school pack for a realistic rule set.
    let native: Arc<dyn RuleRuntime> = Arc::new(NativeMargins::new("anchor"));
    let mut runtimes: Vec<(&str, &str, Arc<dyn RuleRuntime>)> =
        vec![("native Rust", "anchor", native.clone())];
    let mut missing = Vec::new();
    for (runtime, pack) in [
        ("Rhai", "anchor"),
        ("Rhai", "margins"),
        ("Wasm", "margins-wasm"),
        ("Rhai", "school"),
    ] {
        let dir = args.rules.join(pack);
        match load(&dir, &LoadOptions::default()) {
            Ok(rt) => runtimes.push((runtime, pack, rt)),
            Err(e) => missing.push(format!("{runtime} {pack}: not measured: {e}")),
        }
    }

    // decide, per booking, one core (and the anchor in Rhai on two).
    let n = if args.quick { 2_048 } else { 10_240 };
    println!();
    println!(
        "decide, per booking ({n} bookings, batches of {BATCH}, conversions included; the Wasm instance made once per batch)"
    );
    println!(
        "  {:<12} {:<14} {:>6} {:>12} {:>10} {:>10}",
        "runtime", "pack", "cores", "per booking", "vs native", "target"
    );
    let mut floor = None;
    let mut native_effects = None;
    let two = pool(2)?;
    for (runtime, pack, rt) in &runtimes {
        let contexts = contexts(&site, n, &rt.pack().settings);
        let decisions = decisions(&site, &contexts);
        let decided: Vec<_> = decisions
            .chunks(BATCH)
            .flat_map(|batch| rt.decide(batch))
            .collect();
        let failed = decided.iter().filter(|r| r.is_err()).count();
        let effects: Vec<Vec<_>> = decided
            .into_iter()
            .map(|r| {
                r.map(|v| v.into_iter().map(|e| e.effect).collect::<Vec<_>>())
                    .ok()
            })
            .map(Option::unwrap_or_default)
            .collect();
        let same = match &native_effects {
            None => {
                native_effects = Some(effects);
                true
            }
            Some(native) => *pack == "school" || *native == effects,
        };
        let mut rows = vec![(
            1,
            measure(budget, decisions.len(), || {
                for batch in decisions.chunks(BATCH) {
                    std::hint::black_box(rt.decide(batch));
                }
            }),
        )];
        if *runtime == "Rhai" && *pack == "anchor" {
            rows.push((
                2,
                measure(budget, decisions.len(), || {
                    two.install(|| {
                        decisions.par_chunks(BATCH).for_each(|batch| {
                            std::hint::black_box(rt.decide(batch));
                        })
                    })
                }),
            ));
        }
        for (cores, per) in rows {
            let base = *floor.get_or_insert(per);
            let target = if *runtime == "native Rust" {
                "floor".to_owned()
            } else {
                verdict(per < 2_000.0, "< 2 us")
            };
            println!(
                "  {:<12} {:<14} {:>6} {:>12} {:>9.1}x {:>10}{}{}",
                runtime,
                pack,
                cores,
                human(per),
                per / base,
                target,
                if failed > 0 {
                    format!("  ({failed} bookings failed)")
                } else {
                    String::new()
                },
                if same {
                    ""
                } else {
                    "  (DECIDES UNLIKE NATIVE)"
                }
            );
        }
    }
    for line in &missing {
        println!("  {line}");
    }

    // plan the whole week, 1 core and 2 cores. After the decide rows: a heap that has held a
    // plan of 100,000 bookings makes every allocation slower, and the rule runtimes allocate.
    // Resident memory counts what the allocator keeps; `cargo bench --bench plan` counts the
    // heap itself.
    println!();
    println!(
        "plan {} bookings end to end (rules, reasons, caps, merge, conflicts)",
        site.bookings.len()
    );
    println!(
        "  {:<24} {:>10} {:>10} {:>9} {:>20} {:>9}  target",
        "packs", "1 core", "2 cores", "speed-up", "peak RSS (+planning)", "entries"
    );
    let now = spec.start();
    // The process's peak resident memory, over the resets that measure each plan on its own.
    let mut overall = 0u64;
    for (runtime, pack, rt) in runtimes.iter().filter(|(_, pack, _)| *pack == "anchor") {
        let packs = vec![rt.clone()];
        let input = PlanInput {
            bookings: &site.bookings,
            packs: &packs,
            site: &site.site,
            now,
        };
        let one = pool(1)?;
        let two = pool(2)?;
        let rounds = if args.quick { 2 } else { 3 };
        let t1 = best_of(rounds, || {
            std::hint::black_box(one.install(|| plan(&input)));
        });
        overall = overall.max(peak_memory().unwrap_or(0));
        let resettable = reset_peak();
        // Resident before planning: the site, the bookings, and heap the allocator kept.
        let before = resident().unwrap_or(0);
        let mut entries = 0;
        let t2 = best_of(rounds, || {
            entries = two.install(|| plan(&input)).entries.len();
        });
        let peak = peak_memory();
        println!(
            "  {:<24} {:>10} {:>10} {:>8.2}x {:>20} {:>9}  {}",
            format!("{runtime} ({pack})"),
            human_s(t1),
            human_s(t2),
            t1.as_secs_f64() / t2.as_secs_f64(),
            match (peak, resettable) {
                (Some(kb), true) => format!(
                    "{} MB (+{} MB)",
                    kb / 1024,
                    kb.saturating_sub(before) / 1024
                ),
                (Some(kb), false) => format!("<= {} MB", kb / 1024),
                (None, _) => "unknown".into(),
            },
            entries,
            verdict(
                t2 < Duration::from_secs(1) && peak.is_some_and(|kb| kb < 300 * 1024),
                "< 1 s, peak < 300 MB"
            )
        );
    }

    // The reconciler's diff after 1% of the bookings changed.
    println!();
    let reconcile = diff_after_change(&site, native, now, budget);
    println!(
        "reconciler diff, {} rooms, {} objects, 1% of bookings changed: {} ({} actions; in step: {})  {}",
        site.site.rooms.len(),
        reconcile.objects,
        human(reconcile.changed_ns),
        reconcile.actions,
        human(reconcile.in_step_ns),
        verdict(reconcile.changed_ns < 50e6, "< 50 ms")
    );
    sync_cycles(&spec, args.quick)?;

    println!();
    let overall = overall.max(peak_memory().unwrap_or(0));
    println!(
        "peak resident memory of the whole run (VmHWM): {} MB",
        overall / 1024
    );
    println!("total {:.1} s", started.elapsed().as_secs_f64());
    Ok(ExitCode::SUCCESS)
}

/// A full poll cycle of both sources against the fakes holding the municipality's resources,
/// with two sizes of bookings: the requests must be the same for both.
fn sync_cycles(site: &ScaleSpec, quick: bool) -> anyhow::Result<()> {
    use klar_adapters::fake::municipal::{MunicipalFakes, MunicipalSpec};

    let rt = tokio::runtime::Runtime::new().context("cannot start a tokio runtime")?;
    let dir = std::env::temp_dir().join(format!("klar-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let rounds = if quick { 2 } else { 5 };
    println!();
    println!(
        "sync cycle: both sources polled 48 h ahead over loopback HTTP, {} resources on the fakes (100 locations each)",
        site.resources
    );
    println!(
        "  {:<18} {:>10} {:>10} {:>10} {:>10} {:>12}",
        "bookings a week", "in window", "requests", "Pronestor", "WinKAS", "cycle time"
    );
    let mut seen = Vec::new();
    for bookings in [site.bookings / 2, site.bookings] {
        let spec = MunicipalSpec {
            seed: site.seed,
            now: site.start(),
            locations: 100,
            resources: site.resources,
            bookings,
            lookahead_hours: 48,
        };
        let result = rt.block_on(async {
            let mut fakes = MunicipalFakes::start(spec, &dir).await?;
            let first = fakes.cycle().await?;
            let mut best = Duration::MAX;
            let mut steady = first;
            for _ in 0..rounds {
                let t = Instant::now();
                steady = fakes.cycle().await?;
                best = best.min(t.elapsed());
            }
            anyhow::Ok((first, steady, best))
        });
        let (first, steady, best) = result?;
        println!(
            "  {:<18} {:>10} {:>10} {:>10} {:>10} {:>12}  (first cycle, with logins: {} requests)",
            bookings,
            steady.bookings,
            steady.requests(),
            steady.pronestor_requests,
            steady.winkas_requests,
            human_s(best),
            first.requests()
        );
        seen.push(steady.requests());
    }
    let _ = std::fs::remove_dir_all(&dir);
    println!(
        "  requests per cycle {} with twice the bookings  {}",
        if seen.windows(2).all(|w| w[0] == w[1]) {
            "unchanged"
        } else {
            "CHANGED"
        },
        verdict(
            seen.windows(2).all(|w| w[0] == w[1]),
            "grow with locations, not bookings"
        )
    );
    Ok(())
}

struct DiffTimes {
    objects: usize,
    actions: usize,
    in_step_ns: f64,
    changed_ns: f64,
}

/// One object per plan target holding its windows: the shape of every driver's desired state.
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

fn diff_after_change(
    site: &ScaleSite,
    pack: Arc<dyn RuleRuntime>,
    now: chrono::DateTime<chrono::Utc>,
    budget: Duration,
) -> DiffTimes {
    let packs = vec![pack];
    let plan_of = |bookings: &[Booking]| {
        plan(&PlanInput {
            bookings,
            packs: &packs,
            site: &site.site,
            now,
        })
    };
    let before = objects(&plan_of(&site.bookings));
    let after = objects(&plan_of(&changed(&site.bookings, 1)));
    let observed = Observed {
        owned: before.clone(),
        foreign: BTreeSet::new(),
        room: Default::default(),
    };
    let actions = diff(&after, &observed).len();
    DiffTimes {
        objects: before.len(),
        actions,
        in_step_ns: measure(budget / 2, 1, || {
            std::hint::black_box(diff(&before, &observed));
        }),
        changed_ns: measure(budget / 2, 1, || {
            std::hint::black_box(diff(&after, &observed));
        }),
    }
}

/// Contexts for the first `n` bookings that are not cancelled, with the pack's settings.
fn contexts<'a>(
    site: &'a ScaleSite,
    n: usize,
    settings: &BTreeMap<String, toml::Value>,
) -> Vec<(&'a Booking, Ctx)> {
    site.bookings
        .iter()
        .filter(|b| !b.is_cancelled())
        .take(n)
        .map(|b| (b, Ctx::for_booking(b, &site.site, settings.clone())))
        .collect()
}

/// "ok" or "MISSED", with the target.
fn verdict(met: bool, target: &str) -> String {
    format!("{} {target}", if met { "ok" } else { "MISSED" })
}

fn decisions<'a>(site: &'a ScaleSite, contexts: &'a [(&'a Booking, Ctx)]) -> Vec<Decision<'a>> {
    contexts
        .iter()
        .map(|(booking, ctx)| Decision {
            booking,
            room: &site.site.rooms[&room_key(&booking.source, &booking.resource)],
            ctx,
        })
        .collect()
}

fn pool(threads: usize) -> anyhow::Result<rayon::ThreadPool> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .with_context(|| format!("cannot start a pool of {threads} threads"))
}

/// Nanoseconds per item of `f`, which handles `items` items per call: the fastest of seven
/// rounds that together take about `budget`, after one warm-up call (the round least disturbed
/// by other work on a shared machine, as [`best_of`] for plans).
fn measure(budget: Duration, items: usize, mut f: impl FnMut()) -> f64 {
    let warm = Instant::now();
    f();
    let one = warm.elapsed().max(Duration::from_nanos(1));
    let calls = ((budget.as_secs_f64() / 7.0) / one.as_secs_f64()).clamp(1.0, 1e7) as usize;
    (0..7)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..calls {
                f();
            }
            t.elapsed().as_nanos() as f64 / (calls * items.max(1)) as f64
        })
        .fold(f64::INFINITY, f64::min)
}

/// The fastest of `rounds` runs of `f`: the least disturbed by other work on the machine.
fn best_of(rounds: usize, mut f: impl FnMut()) -> Duration {
    (0..rounds.max(1))
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .min()
        .expect("at least one round")
}

/// Resets the process's peak resident memory (VmHWM) to its current size, so the next reading
/// is the peak of what runs in between. False where the kernel does not allow it.
fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// VmHWM in kB: the peak resident memory since start or the last [`reset_peak`].
fn peak_memory() -> Option<u64> {
    status_kb("VmHWM:")
}

/// VmRSS in kB: the resident memory now.
fn resident() -> Option<u64> {
    status_kb("VmRSS:")
}

fn status_kb(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1_000.0
}

fn human_s(d: Duration) -> String {
    human(d.as_nanos() as f64)
}

/// Nanoseconds as people read them.
fn human(ns: f64) -> String {
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
