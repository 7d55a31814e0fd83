//! Reload latency: a rule file of a 20-file pack is saved -> the watcher sees it -> debounce
//! (150 ms, the daemon's default) -> the pack is compiled and its cases run -> the rule set is
//! swapped -> the plan is rebuilt -> the change is applied to the embedded UniLock simulator
//! (with its state file, as `klar run` does). The daemon's reload path, step for step, with the
//! same library calls its tasks make.
//!
//! Baseline in the same run: re-plan and apply alone (the rule set swapped in memory, no file,
//! no watcher, no debounce, no compile). Target: reload median under 300 ms.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use klar_adapters::controllers::unilock::{EmbeddedUnilock, driver_for};
use klar_engine::model::Booking;
use klar_engine::plan::{PlanInput, plan};
use klar_engine::reconcile::{Controller, ReconcileOptions, reconcile};
use klar_engine::reload::watch::watch;
use klar_engine::reload::{Debouncer, ReloadOutcome, Reloader, RuleSetCell, load_initial};
use klar_engine::rules::cases;
use klar_engine::rules::pack::{LoadOptions, load};

const FILES: usize = 20;
const DEBOUNCE: Duration = Duration::from_millis(150);

/// Rule file `i`: the doors of "Room i" unlocked `margin` minutes around each booking.
fn rule(i: usize, margin: u32) -> String {
    format!(
        "// Room {i}: doors open {margin} minutes around each booking.\nfn decide(booking, room, ctx) {{\n    if booking.is_cancelled || room.name != \"Room {i}\" {{ return []; }}\n    let m = minutes({margin});\n    let effects = [];\n    for door in room.doors {{ effects.push(unlock(door, booking.start - m, booking.end + m)); }}\n    effects\n}}\n"
    )
}

const CASE: &str = r#"
site:
  rooms:
    "bench:1": {name: Room 1, doors: [D-1]}
now: 2026-11-23T07:00:00+01:00
bookings:
  - {id: B-1, source: bench, resource: "1", title: Møde, start: 2026-11-23T16:00:00+01:00, end: 2026-11-23T18:00:00+01:00}
expect:
  "door D-1 unlocked": ["2026-11-23 15:45 .. 2026-11-23 18:15"]
"#;

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-23T07:00:00+01:00")
        .expect("valid")
        .with_timezone(&Utc)
}

fn site_toml() -> String {
    let mut s = String::from(
        "[site]\nname = \"Bench\"\n[rules]\npacks = [\"rules/bench\"]\n[[sources]]\nname = \"bench\"\nkind = \"local\"\n[controller]\nkind = \"unilock-sim\"\n[controller.installation.tables.locked]\nall = [\"00:00 locked\"]\n",
    );
    for i in 1..=FILES {
        s += &format!(
            "[rooms.\"bench:{i}\"]\nname = \"Room {i}\"\ndoors = [\"D-{i}\"]\n[controller.installation.tables.t{i}]\nall = [\"00:00 locked\"]\n[controller.installation.doors.\"D-{i}\"]\ntable = \"t{i}\"\n"
        );
    }
    s
}

/// Three bookings per room today.
fn bookings() -> Vec<Booking> {
    let mut out = Vec::new();
    for i in 1..=FILES {
        for (k, hour) in [9, 13, 17].into_iter().enumerate() {
            let start = now() + chrono::Duration::hours(hour - 7);
            out.push(
                serde_json::from_value(serde_json::json!({
                    "id": format!("B-{i}-{k}"), "source": "bench", "resource": i.to_string(),
                    "title": "Møde", "start": start, "end": start + chrono::Duration::hours(1),
                }))
                .expect("a valid booking"),
            );
        }
    }
    out
}

struct Rig {
    _dir: tempfile::TempDir,
    config: PathBuf,
    edited: PathBuf,
}

fn rig() -> Rig {
    let dir = tempfile::tempdir().expect("tempdir");
    let pack = dir.path().join("rules/bench");
    std::fs::create_dir_all(pack.join("rules")).expect("mkdir");
    std::fs::create_dir_all(pack.join("cases")).expect("mkdir");
    std::fs::write(
        pack.join("pack.toml"),
        "name = \"bench\"\nversion = \"1\"\nruntime = \"rhai\"\n",
    )
    .expect("write");
    for i in 1..=FILES {
        std::fs::write(pack.join(format!("rules/r{i:02}.rhai")), rule(i, 15)).expect("write");
    }
    std::fs::write(pack.join("cases/room1.yaml"), CASE).expect("write");
    let runtime = load(&pack, &LoadOptions::default()).expect("the pack compiles");
    assert!(cases::accept(&pack, &runtime).passed());
    let config = dir.path().join("site.toml");
    std::fs::write(&config, site_toml()).expect("write");
    let config = std::fs::canonicalize(&config).expect("canonical");
    let edited = config.with_file_name("rules/bench/rules/r20.rhai");
    Rig {
        _dir: dir,
        config,
        edited,
    }
}

fn controller(config: &Path) -> EmbeddedUnilock {
    let site = klar_engine::site::SiteConfig::load(config).expect("site");
    let (_, driver) = driver_for(&site).expect("driver");
    EmbeddedUnilock::open(driver, Some(config.with_file_name("klar.unilock-sim.json")))
        .expect("simulator")
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn reloading(c: &mut Criterion) {
    let rig = rig();
    let bookings = bookings();
    let cell = Arc::new(RuleSetCell::new(
        load_initial(&rig.config, &LoadOptions::default())
            .expect("loads")
            .rules,
    ));
    let reloader = Reloader::new(rig.config.clone(), LoadOptions::default(), cell.clone());
    let mut sim = controller(&rig.config);
    let (tx, rx) = mpsc::channel::<PathBuf>();
    let rules = cell.current();
    let dirs: Vec<PathBuf> = rules
        .site
        .rules
        .packs
        .iter()
        .map(|p| rules.site.resolve(p))
        .collect();
    let _watcher = watch(&rig.config, &dirs, move |p| {
        let _ = tx.send(p);
    })
    .expect("watching");
    let apply = |sim: &mut EmbeddedUnilock| {
        let rules = cell.current();
        let p = plan(&PlanInput {
            bookings: &bookings,
            packs: &rules.packs,
            site: &rules.site,
            now: now(),
        });
        let report = reconcile(sim, &p, ReconcileOptions::at(now())).expect("applies");
        assert!(
            !report.actions.is_empty(),
            "each round changes Room 20's door"
        );
    };
    apply(&mut sim);

    let mut margin = 15;
    let mut reload_times = Vec::new();
    let mut group = c.benchmark_group("reload");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(6));
    group.bench_function("file_saved_to_applied_20_files", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                while rx.try_recv().is_ok() {}
                margin = if margin == 15 { 40 } else { 15 };
                let t = Instant::now();
                std::fs::write(&rig.edited, rule(FILES, margin)).expect("write");
                let mut debouncer = Debouncer::new(DEBOUNCE);
                let batch: BTreeSet<PathBuf> = loop {
                    let wait = debouncer.deadline().map_or(Duration::from_secs(5), |d| {
                        d.saturating_duration_since(Instant::now())
                    });
                    match rx.recv_timeout(wait) {
                        Ok(p) => debouncer.push(p, Instant::now()),
                        Err(mpsc::RecvTimeoutError::Timeout) => {
                            if let Some(batch) = debouncer.take_due(Instant::now()) {
                                break batch;
                            }
                            panic!("no file event within 5 s");
                        }
                        Err(e) => panic!("watcher gone: {e}"),
                    }
                };
                match reloader.reload(&batch) {
                    ReloadOutcome::Swapped { .. } => {}
                    other => panic!("the edit must be swapped in: {other:?}"),
                }
                apply(&mut sim);
                let took = t.elapsed();
                reload_times.push(took);
                total += took;
            }
            total
        })
    });

    // Baseline: the same change (two rule sets prepared in memory, swapped alternately) re-
    // planned and applied, without file, watcher, debounce or compile.
    let pack = rig.config.with_file_name("rules/bench");
    std::fs::write(&rig.edited, rule(FILES, 15)).expect("write");
    let a = load(&pack, &LoadOptions::default()).expect("compiles");
    std::fs::write(&rig.edited, rule(FILES, 40)).expect("write");
    let b_ = load(&pack, &LoadOptions::default()).expect("compiles");
    let site = cell.current().site.clone();
    // Start with the rule set the simulator does not hold, so every round changes something.
    let mut flip = margin == 15;
    let mut base_times = Vec::new();
    group.bench_function("baseline_plan_and_apply", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                flip = !flip;
                let pack = if flip { a.clone() } else { b_.clone() };
                let t = Instant::now();
                let p = plan(&PlanInput {
                    bookings: &bookings,
                    packs: &[pack],
                    site: &site,
                    now: now(),
                });
                let report = reconcile(&mut sim, &p, ReconcileOptions::at(now())).expect("applies");
                assert!(!report.actions.is_empty());
                let took = t.elapsed();
                base_times.push(took);
                total += took;
            }
            total
        })
    });
    group.finish();
    let (r, base) = (median(reload_times), median(base_times));
    eprintln!(
        "reload: file saved -> applied, {FILES} rule files: median {:.1} ms (debounce {} ms included; target < 300 ms); baseline plan+apply median {:.2} ms; reload/baseline = {:.0}x",
        r.as_secs_f64() * 1e3,
        DEBOUNCE.as_millis(),
        base.as_secs_f64() * 1e3,
        r.as_secs_f64() / base.as_secs_f64()
    );
    let _ = sim.name();
}

criterion_group!(benches, reloading);
criterion_main!(benches);
