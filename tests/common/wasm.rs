//! Helpers for the Wasm rule tests: the built guests (never skipped: a missing one fails with
//! the command that builds it), fixture packs in scratch folders, a small site and bookings.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use klar_engine::model::Booking;
use klar_engine::rules::RuleRuntime;
use klar_engine::rules::pack::{self, LoadOptions};
use klar_engine::site::SiteConfig;

const BUILD: &str =
    "scripts/build-guests (it needs the Rust target: rustup target add wasm32-unknown-unknown)";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A built guest of rules/wasm-fixtures, by crate name (`fixture-panic`).
pub fn fixture_wasm(name: &str) -> PathBuf {
    let path = repo()
        .join("target/guests/wasm32-unknown-unknown/release")
        .join(format!("{}.wasm", name.replace('-', "_")));
    assert!(
        path.is_file(),
        "{} is not built; run {BUILD}",
        path.display()
    );
    path
}

/// The margins-wasm pack's folder, its guest built.
pub fn margins_wasm_dir() -> PathBuf {
    let dir = repo().join("rules/margins-wasm");
    let wasm = dir.join("margins.wasm");
    assert!(
        wasm.is_file(),
        "{} is not built; run {BUILD}",
        wasm.display()
    );
    dir
}

/// A Wasm pack named `name` in `dir`, running the fixture guest `fixture`.
pub fn fixture_pack(dir: &Path, name: &str, fixture: &str) -> PathBuf {
    let pack = dir.join(name);
    std::fs::create_dir_all(&pack).expect("create the pack folder");
    std::fs::copy(fixture_wasm(fixture), pack.join("guest.wasm")).expect("copy the guest");
    std::fs::write(
        pack.join("pack.toml"),
        format!("name = \"{name}\"\nversion = \"0.1.0\"\nruntime = \"wasm\"\ncomponent = \"guest.wasm\"\n"),
    )
    .expect("write pack.toml");
    pack
}

/// Loads a pack; panics with its error.
pub fn load(dir: &Path, deterministic: bool) -> Arc<dyn RuleRuntime> {
    pack::load(dir, &LoadOptions { deterministic }).unwrap_or_else(|e| panic!("{e}"))
}

/// Two halls with one door each; the hall group on the first.
pub fn site() -> SiteConfig {
    let text = r#"
[site]
name = "wasm-tests"
time_zone = "Europe/Copenhagen"

[rooms."halls:7"]
name = "Hal 1"
doors = ["D-HAL-1"]
person_groups = ["Hal-brugere"]

[rooms."halls:8"]
name = "Hal 2"
doors = ["D-HAL-2"]
"#;
    let site = SiteConfig::parse(text, Path::new("site.toml"), PathBuf::new())
        .expect("the test site parses");
    site.validate().expect("the test site is valid");
    site
}

pub fn at(rfc3339: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(rfc3339)
        .expect("an RFC 3339 instant")
        .with_timezone(&Utc)
}

/// A booking of `halls:<resource>` with these tags.
pub fn booking(id: &str, resource: &str, start: &str, end: &str, tags: &[&str]) -> Booking {
    serde_json::from_value(serde_json::json!({
        "id": id, "source": "halls", "resource": resource, "title": format!("Booking {id}"),
        "start": start, "end": end, "tags": tags,
        "responsible": {"name": "Mette Hansen", "member_no": "1042", "pin": "4711"},
    }))
    .expect("a valid booking")
}
