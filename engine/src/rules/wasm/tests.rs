//! Unit tests of the Wasm runtime: the compile cache, one instance per batch replaced after a
//! trap, and what a file must be to load. The guests are built by scripts/build-guests; a
//! missing one fails the test with that command.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::*;
use crate::model::{Booking, Effect};
use crate::rules::{Ctx, RuntimeKind};
use crate::site::SiteConfig;

fn guest(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../target/guests/wasm32-unknown-unknown/release")
        .join(format!("{name}.wasm"));
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run scripts/build-guests (it needs: rustup target add wasm32-unknown-unknown)",
            path.display()
        )
    })
}

fn info() -> PackInfo {
    PackInfo {
        name: "test".into(),
        version: "0.1.0".into(),
        runtime: RuntimeKind::Wasm,
        dir: PathBuf::from("test"),
        settings: BTreeMap::new(),
    }
}

fn options(deterministic: bool, cache: Option<&Path>) -> WasmOptions {
    WasmOptions {
        cache_dir: cache.map(Path::to_owned),
        ..WasmOptions::new(deterministic)
    }
}

fn runtime(name: &str, options: &WasmOptions) -> WasmRuntime {
    WasmRuntime::from_bytes(info(), "guest.wasm", &guest(name), options)
        .unwrap_or_else(|e| panic!("{e}"))
}

fn site() -> SiteConfig {
    SiteConfig::parse(
        "[site]\nname = \"t\"\n[rooms.\"halls:7\"]\ndoors = [\"D-HAL\"]\n",
        Path::new("site.toml"),
        PathBuf::new(),
    )
    .unwrap()
}

fn booking(id: &str, tags: &[&str]) -> Booking {
    serde_json::from_value(serde_json::json!({
        "id": id, "source": "halls", "resource": "7", "title": "Håndbold",
        "start": "2026-11-23T16:00:00Z", "end": "2026-11-23T18:00:00Z", "tags": tags,
    }))
    .unwrap()
}

/// Decides the bookings as one batch; each result as the door it unlocked, or the error kind.
fn decide(rt: &WasmRuntime, bookings: &[Booking]) -> Vec<Result<String, RuleErrorKind>> {
    let site = site();
    let room = &site.rooms["halls:7"];
    let ctxs: Vec<Ctx> = bookings
        .iter()
        .map(|b| Ctx::for_booking(b, &site, BTreeMap::new()))
        .collect();
    let batch: Vec<Decision<'_>> = bookings
        .iter()
        .zip(&ctxs)
        .map(|(booking, ctx)| Decision { booking, room, ctx })
        .collect();
    rt.decide(&batch)
        .into_iter()
        .map(|r| match r {
            Ok(effects) => match &effects[..] {
                [
                    RuledEffect {
                        effect: Effect::DoorMode { door, .. },
                        rule,
                        ..
                    },
                ] => {
                    assert_eq!(rule.to_string(), "guest.wasm:0");
                    Ok(door.0.clone())
                }
                other => panic!("one door_mode expected: {other:?}"),
            },
            Err(e) => {
                assert_eq!(e.pack, "test");
                Err(e.kind)
            }
        })
        .collect()
}

#[test]
fn one_instance_serves_a_batch_and_a_trap_replaces_it() {
    for deterministic in [true, false] {
        let rt = runtime("fixture_stateful", &options(deterministic, None));
        let batch = [
            booking("A", &[]),
            booking("B", &[]),
            booking("C", &["misbehave"]),
            booking("D", &[]),
            booking("E", &[]),
        ];
        let door = |d: &str| Ok(d.to_owned());
        assert_eq!(
            decide(&rt, &batch),
            vec![
                door("D-CALL-1"),
                door("D-CALL-2"),
                Err(RuleErrorKind::Trap),
                door("D-CALL-1"),
                door("D-CALL-2"),
            ]
        );
        // The next batch gets an instance of its own.
        assert_eq!(decide(&rt, &batch[..1]), vec![door("D-CALL-1")]);
    }
}

#[test]
fn compiled_components_are_cached_and_a_corrupt_entry_is_compiled_again() {
    let cache = tempfile::tempdir().unwrap();
    let entries = || -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(cache.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        v.sort();
        v
    };
    let opts = options(true, Some(cache.path()));
    let rt = runtime("fixture_stateful", &opts);
    assert_eq!(
        decide(&rt, &[booking("A", &[])]),
        vec![Ok("D-CALL-1".into())]
    );
    let files = entries();
    assert_eq!(files.len(), 1, "{files:?}");
    let entry = &files[0];
    assert_eq!(entry.extension().unwrap(), "cwasm");
    let sound = std::fs::read(entry).unwrap();

    // Loaded from the cache: the entry is not written again.
    let before = std::fs::metadata(entry).unwrap().modified().unwrap();
    let rt = runtime("fixture_stateful", &opts);
    assert_eq!(
        decide(&rt, &[booking("A", &[])]),
        vec![Ok("D-CALL-1".into())]
    );
    assert_eq!(
        std::fs::metadata(entry).unwrap().modified().unwrap(),
        before
    );

    // A flipped byte, then a truncated file: compiled again, and the entry rewritten whole.
    let mut flipped = sound.clone();
    let middle = flipped.len() / 2;
    flipped[middle] ^= 0xff;
    for corrupt in [flipped, sound[..sound.len() / 3].to_vec()] {
        std::fs::write(entry, &corrupt).unwrap();
        let rt = runtime("fixture_stateful", &opts);
        assert_eq!(
            decide(&rt, &[booking("A", &[])]),
            vec![Ok("D-CALL-1".into())]
        );
        assert_eq!(std::fs::read(entry).unwrap(), sound);
    }
    assert_eq!(entries().len(), 1, "no temporary files are left behind");

    // Another engine configuration has an entry of its own.
    runtime("fixture_stateful", &options(false, Some(cache.path())));
    assert_eq!(entries().len(), 2);
}

#[test]
fn the_cache_key_depends_on_the_engine_and_the_component() {
    let epoch = engine::engine(Metering::Epoch).unwrap();
    let fuel = engine::engine(Metering::Fuel).unwrap();
    let a = guest("fixture_stateful");
    let b = guest("fixture_panic");
    assert_eq!(cache::key(&epoch, &a), cache::key(&epoch, &a));
    assert_ne!(cache::key(&epoch, &a), cache::key(&fuel, &a));
    assert_ne!(cache::key(&epoch, &a), cache::key(&epoch, &b));
    assert_eq!(cache::key(&epoch, &a).len(), 64);
}

#[test]
fn a_component_loads_as_it_is_and_other_files_are_refused_with_reasons() {
    let component = componentize(&guest("fixture_stateful")).unwrap();
    assert_eq!(&component[4..8], b"\x0d\0\x01\0");
    let rt =
        WasmRuntime::from_bytes(info(), "guest.wasm", &component, &options(true, None)).unwrap();
    assert_eq!(
        decide(&rt, &[booking("A", &[])]),
        vec![Ok("D-CALL-1".into())]
    );

    let refused = |bytes: &[u8]| {
        WasmRuntime::from_bytes(info(), "guest.wasm", bytes, &options(true, None))
            .unwrap_err()
            .to_string()
    };
    let e = refused(b"PK\x03\x04 a zip file");
    assert!(
        e.starts_with("test/guest.wasm: not a WebAssembly file"),
        "{e}"
    );
    // An empty core module exports nothing: not the klar:rules world.
    let e = refused(b"\0asm\x01\0\0\0");
    assert!(e.contains("klar:rules"), "{e}");
    // A memory cap above what the pool holds.
    let mut big = options(true, None);
    big.limits.memory_bytes = MAX_MEMORY_CAP + 1;
    let e = WasmRuntime::from_bytes(info(), "guest.wasm", &component, &big)
        .unwrap_err()
        .to_string();
    assert!(e.contains("memory cap"), "{e}");
}

#[test]
fn limits_are_configurable_per_pack() {
    let mut opts = options(true, None);
    opts.limits.fuel = 1_000;
    let rt = runtime("fixture_stateful", &opts);
    // Too little fuel even to decide an ordinary booking: a limit, not a trap.
    assert_eq!(
        decide(&rt, &[booking("A", &[])]),
        vec![Err(RuleErrorKind::Limit)]
    );
    let rt = runtime("fixture_stateful", &options(true, None));
    assert_eq!(
        decide(&rt, &[booking("A", &[])]),
        vec![Ok("D-CALL-1".into())]
    );
}

/// What one booking costs on a live instance, and what a batch's fresh instance costs. Not a
/// benchmark (benches/ has those): `cargo test --release -p klar-engine --lib
/// rules::wasm::tests::cost -- --ignored --nocapture`.
#[test]
#[ignore = "a measurement, not a check"]
fn cost() {
    let site = site();
    let room = &site.rooms["halls:7"];
    let settings: BTreeMap<String, toml::Value> =
        toml::from_str("margin_minutes = 15\nholiday_tag = \"holiday-ok\"").unwrap();
    let bookings: Vec<Booking> = (0..512).map(|i| booking(&format!("B-{i}"), &[])).collect();
    let ctxs: Vec<Ctx> = bookings
        .iter()
        .map(|b| Ctx::for_booking(b, &site, settings.clone()))
        .collect();
    let batch: Vec<Decision<'_>> = bookings
        .iter()
        .zip(&ctxs)
        .map(|(booking, ctx)| Decision { booking, room, ctx })
        .collect();
    for deterministic in [false, true] {
        let rt = runtime("margins_guest", &options(deterministic, None));
        for _ in 0..3 {
            let started = std::time::Instant::now();
            let results = rt.decide(&batch);
            let per_booking = started.elapsed() / batch.len() as u32;
            assert!(results.iter().all(Result::is_ok));
            let started = std::time::Instant::now();
            for d in &batch[..64] {
                assert!(rt.decide(std::slice::from_ref(d))[0].is_ok());
            }
            let per_fresh = started.elapsed() / 64;
            println!(
                "deterministic={deterministic}: {per_booking:?} per booking in a batch of 512, \
                 {per_fresh:?} per booking with an instance of its own"
            );
        }
    }
}
