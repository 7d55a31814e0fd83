//! The rule sandboxes refuse file, network and clock access (DESIGN.md §5: rules are pure).
//!
//! - Wasm: a component that imports WASI's clocks, filesystem or sockets is refused when the
//!   pack loads, by the library and by `klar rules test`, naming what it imports; the fixtures
//!   (rules/wasm-fixtures/import-*) are rule guests that call those interfaces.
//! - Rhai: the engine has no module system (`import` does not compile) and no function that
//!   reads a clock, a file or the network; a rule calling one fails its booking closed (no
//!   effects) while the other bookings go on. (`eval` is refused at compile time:
//!   engine/src/rules/rhai/tests.rs.)

mod common;
#[path = "common/rules.rs"]
mod rules;
#[path = "common/wasm.rs"]
mod wasm;

use std::path::Path;
use std::sync::Arc;

use klar_engine::rules::pack::{LoadOptions, load};
use klar_engine::rules::{Ctx, Decision, RuleErrorKind, RuleRuntime};
use wasm::{booking, fixture_pack, site};

fn options() -> LoadOptions {
    LoadOptions {
        deterministic: true,
    }
}

#[test]
fn a_wasm_rule_importing_a_clock_files_or_sockets_is_refused_at_load() {
    let tmp = tempfile::tempdir().unwrap();
    for (fixture, interface) in [
        ("fixture-import-clock", "wasi:clocks/wall-clock@0.2.0"),
        (
            "fixture-import-filesystem",
            "wasi:filesystem/preopens@0.2.0",
        ),
        (
            "fixture-import-sockets",
            "wasi:sockets/ip-name-lookup@0.2.0",
        ),
    ] {
        let pack = fixture_pack(tmp.path(), fixture, fixture);
        let e = load(&pack, &options())
            .err()
            .unwrap_or_else(|| panic!("{fixture} loaded: its import was not refused"))
            .to_string();
        assert!(e.contains("rules may import nothing"), "{fixture}: {e}");
        assert!(e.contains(interface), "{fixture}: {e}");
        assert!(e.contains("guest.wasm"), "{fixture}: {e}");

        // The command line says the same and fails.
        let r = rules::run(
            common::klar()
                .args(["rules", "test", fixture, "--dir"])
                .arg(tmp.path()),
        );
        assert_eq!(r.code, Some(1), "{fixture}: {}\n{}", r.stdout, r.stderr);
        let out = format!("{}{}", r.stdout, r.stderr);
        assert!(
            out.contains("rules may import nothing") && out.contains(interface),
            "{fixture}: {out}"
        );
    }
    // The same guests without the import are accepted: it is the import that is refused.
    load(
        &fixture_pack(tmp.path(), "plain", "fixture-panic"),
        &options(),
    )
    .expect("a guest that imports nothing loads");
}

/// A Rhai pack of one rule file, loaded as the daemon loads it.
fn rhai_pack(dir: &Path, name: &str, rule: &str) -> Result<Arc<dyn RuleRuntime>, String> {
    let pack = dir.join(name);
    std::fs::create_dir_all(pack.join("rules")).unwrap();
    std::fs::write(
        pack.join("pack.toml"),
        format!("name = \"{name}\"\nversion = \"1\"\nruntime = \"rhai\"\n"),
    )
    .unwrap();
    std::fs::write(pack.join("rules/sneaky.rhai"), rule).unwrap();
    load(&pack, &options()).map_err(|e| e.to_string())
}

#[test]
fn a_rhai_rule_cannot_import_modules() {
    let tmp = tempfile::tempdir().unwrap();
    for import in [
        "import \"rules/secrets\" as s;",
        "import \"/etc/passwd\" as p;",
    ] {
        let rule = format!("{import}\nfn decide(booking, room, ctx) {{ [] }}\n");
        let e = rhai_pack(tmp.path(), "importer", &rule)
            .err()
            .unwrap_or_else(|| panic!("{import:?} compiled"));
        assert!(e.contains("rules/sneaky.rhai:1:"), "{e}");
    }
}

#[test]
fn a_rhai_rule_has_no_clock_file_or_network_function_and_fails_closed_trying() {
    let tmp = tempfile::tempdir().unwrap();
    let site = site();
    let room = &site.rooms["halls:7"];
    let other_room = &site.rooms["halls:8"];
    let b = booking(
        "W-1",
        "7",
        "2026-11-23T16:00:00+01:00",
        "2026-11-23T17:00:00+01:00",
        &[],
    );
    let other = booking(
        "W-2",
        "8",
        "2026-11-23T16:00:00+01:00",
        "2026-11-23T17:00:00+01:00",
        &[],
    );
    let calls = [
        // Clocks: Rhai's BasicTimePackage and what people reach for.
        "timestamp()",
        "now()",
        "timestamp().elapsed",
        "sleep(1)",
        "Fn(\"timestamp\").call()",
        // Files.
        "open_file(\"/etc/passwd\")",
        "read_file(\"/etc/passwd\")",
        "read_string(\"/etc/passwd\")",
        // Network.
        "http_get(\"http://127.0.0.1:1/\")",
        "connect(\"127.0.0.1:1\")",
        // Another way into code.
        "Fn(\"eval\").call(\"1\")",
    ];
    for call in calls {
        let rule = format!(
            "fn decide(booking, room, ctx) {{\n    if room.name == \"Hal 1\" {{ let x = {call}; }}\n    [unlock(room.doors[0], booking.start, booking.end)]\n}}\n"
        );
        let runtime = match rhai_pack(tmp.path(), "sneaky", &rule) {
            // Refused at compile time: fine.
            Err(e) => {
                assert!(e.contains("rules/sneaky.rhai:2:"), "{call}: {e}");
                continue;
            }
            Ok(rt) => rt,
        };
        let ctx = Ctx::for_booking(&b, &site, Default::default());
        let other_ctx = Ctx::for_booking(&other, &site, Default::default());
        let results = runtime.decide(&[
            Decision {
                booking: &b,
                room,
                ctx: &ctx,
            },
            Decision {
                booking: &other,
                room: other_room,
                ctx: &other_ctx,
            },
        ]);
        let e = results[0]
            .as_ref()
            .err()
            .unwrap_or_else(|| panic!("{call} ran: {:?}", results[0]));
        assert!(
            matches!(e.kind, RuleErrorKind::Runtime | RuleErrorKind::Limit),
            "{call}: {e}"
        );
        assert_eq!(e.booking.as_str(), "W-1");
        // The other booking is decided as usual.
        assert_eq!(
            results[1].as_ref().map(Vec::len),
            Ok(1),
            "{call}: the other booking"
        );
    }
}
