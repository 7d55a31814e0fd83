//! Rule packs on disk: `pack.toml`, loading a pack into its runtime.
//!
//! A pack is a folder:
//! ```text
//! rules/school/
//!   pack.toml          name, version, runtime = "rhai" | "wasm", [settings]
//!   rules/*.rhai       the rules (all of them, in name order, unless `rules = [...]` lists them)
//!   cases/*.yaml       test cases (see `cases`)
//!   snapshots/*.snap   the accepted result of each case
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::rhai::{RhaiRuntime, RuleSource};
use super::wasm::{WasmOptions, WasmRuntime};
use super::{PackError, PackInfo, RuleRuntime, RuntimeKind};
use crate::site::SiteConfig;

/// How packs are loaded.
#[derive(Debug, Clone, Copy, Default)]
pub struct LoadOptions {
    /// Limits that do not depend on the machine's speed only (Wasm: fuel rather than epoch
    /// deadlines), for tests and `klar rules test`. The Rhai runtime is always deterministic:
    /// its limit counts operations.
    pub deterministic: bool,
}

/// `pack.toml`, parsed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PackManifest {
    pub name: String,
    pub version: String,
    pub runtime: RuntimeKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The rule files, relative to the pack; all `rules/*.rhai` in name order when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rules: Option<Vec<PathBuf>>,
    /// The folder of the test cases, relative to the pack.
    #[serde(default = "default_cases")]
    pub cases: PathBuf,
    /// The pack's settings, `ctx.settings` in the rules; the site config can override each.
    #[serde(default)]
    pub settings: BTreeMap<String, toml::Value>,
    /// Runtime-specific keys (for Wasm, where the component is), read by that runtime.
    #[serde(flatten)]
    pub extra: toml::Table,
}

fn default_cases() -> PathBuf {
    PathBuf::from("cases")
}

/// The manifest's file name in a pack folder.
pub const MANIFEST: &str = "pack.toml";

impl PackManifest {
    /// Reads and parses `<dir>/pack.toml`.
    pub fn read(dir: &Path) -> Result<PackManifest, PackError> {
        let path = dir.join(MANIFEST);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| PackError::new(&path, format!("cannot read: {e}")))?;
        PackManifest::parse(&text, &path)
    }

    /// Parses manifest text; `path` names the file in errors.
    pub fn parse(text: &str, path: &Path) -> Result<PackManifest, PackError> {
        let manifest: PackManifest = toml::from_str(text).map_err(|e| {
            let (line, column) = e
                .span()
                .map(|s| crate::site::line_column(text, s.start))
                .unwrap_or((1, 1));
            PackError::at(
                path,
                text,
                line as u32,
                column as u32,
                crate::reload::wording::in_klar_words(e.message()),
            )
        })?;
        if manifest.name.trim().is_empty() {
            return Err(PackError::new(path, "name must not be empty"));
        }
        if manifest.version.trim().is_empty() {
            return Err(PackError::new(path, "version must not be empty"));
        }
        Ok(manifest)
    }

    /// What identifies the pack in reasons and errors.
    pub fn info(&self, dir: &Path) -> PackInfo {
        PackInfo {
            name: self.name.clone(),
            version: self.version.clone(),
            runtime: self.runtime,
            dir: dir.to_owned(),
            settings: self.settings.clone(),
        }
    }

    /// The folder of the pack's cases.
    pub fn cases_dir(&self, dir: &Path) -> PathBuf {
        dir.join(&self.cases)
    }
}

/// Loads and compiles the pack in `dir`. On failure, the first error; see [`load_reporting`]
/// for all of them.
pub fn load(dir: &Path, options: &LoadOptions) -> Result<Arc<dyn RuleRuntime>, PackError> {
    load_reporting(dir, options).map_err(|mut errors| errors.remove(0))
}

/// Loads and compiles the pack in `dir`, reporting every error (every rule file that does not
/// compile). The error list is never empty.
pub fn load_reporting(
    dir: &Path,
    options: &LoadOptions,
) -> Result<Arc<dyn RuleRuntime>, Vec<PackError>> {
    let manifest = PackManifest::read(dir).map_err(|e| vec![e])?;
    match manifest.runtime {
        RuntimeKind::Rhai => load_rhai(&manifest, dir),
        RuntimeKind::Wasm => load_wasm(&manifest, dir, options).map_err(|e| vec![e]),
    }
}

/// A Wasm pack: `component = "<file>.wasm"` in `pack.toml`, a path inside the pack (a
/// component, or the core module `cargo build --target wasm32-unknown-unknown` makes).
fn load_wasm(
    manifest: &PackManifest,
    dir: &Path,
    options: &LoadOptions,
) -> Result<Arc<dyn RuleRuntime>, PackError> {
    let at = dir.join(MANIFEST);
    let file = match manifest.extra.get("component") {
        Some(toml::Value::String(file)) => PathBuf::from(file),
        Some(_) => {
            return Err(PackError::new(
                at,
                "component must be a path, e.g. component = \"margins.wasm\"",
            ));
        }
        None => {
            return Err(PackError::new(
                at,
                "runtime = \"wasm\" needs component = \"<file>.wasm\": the guest's .wasm file in the pack",
            ));
        }
    };
    if file.is_absolute()
        || file
            .components()
            .any(|c| c == std::path::Component::ParentDir)
    {
        return Err(PackError::new(
            at,
            format!(
                "component: {} must be a path inside the pack",
                file.display()
            ),
        ));
    }
    let name = file
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/");
    let runtime = WasmRuntime::load(
        manifest.info(dir),
        &dir.join(&file),
        &name,
        &WasmOptions::new(options.deterministic),
    )?;
    Ok(Arc::new(runtime))
}

fn load_rhai(manifest: &PackManifest, dir: &Path) -> Result<Arc<dyn RuleRuntime>, Vec<PackError>> {
    let files = rule_files(manifest, dir).map_err(|e| vec![e])?;
    let mut sources = Vec::with_capacity(files.len());
    let mut errors = Vec::new();
    for relative in files {
        let path = dir.join(&relative);
        match std::fs::read_to_string(&path) {
            Ok(text) => sources.push(RuleSource {
                name: relative
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy())
                    .collect::<Vec<_>>()
                    .join("/"),
                path,
                text,
            }),
            Err(e) => errors.push(PackError::new(&path, format!("cannot read: {e}"))),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let runtime = RhaiRuntime::compile(manifest.info(dir), &sources)?;
    Ok(Arc::new(runtime))
}

/// The pack's rule files, relative to the pack folder.
fn rule_files(manifest: &PackManifest, dir: &Path) -> Result<Vec<PathBuf>, PackError> {
    if let Some(listed) = &manifest.rules {
        for f in listed {
            if f.is_absolute() || f.components().any(|c| c == std::path::Component::ParentDir) {
                return Err(PackError::new(
                    dir.join(MANIFEST),
                    format!("rules: {} must be a path inside the pack", f.display()),
                ));
            }
        }
        return Ok(listed.clone());
    }
    let rules_dir = dir.join("rules");
    let entries = std::fs::read_dir(&rules_dir)
        .map_err(|e| PackError::new(&rules_dir, format!("cannot read the rules folder: {e}")))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "rhai") && p.is_file())
        .filter_map(|p| p.file_name().map(|n| Path::new("rules").join(n)))
        .collect();
    files.sort();
    Ok(files)
}

/// Loads every pack the site config names (paths relative to the config file). Reports every
/// error of every pack, and settings for a pack that is not loaded.
pub fn load_all(
    site: &SiteConfig,
    options: &LoadOptions,
) -> Result<Vec<Arc<dyn RuleRuntime>>, Vec<PackError>> {
    let mut packs: Vec<Arc<dyn RuleRuntime>> = Vec::new();
    let mut errors = Vec::new();
    for dir in &site.rules.packs {
        let dir = site.resolve(dir);
        match load_reporting(&dir, options) {
            Ok(pack) => {
                if let Some(other) = packs.iter().find(|p| p.pack().name == pack.pack().name) {
                    errors.push(PackError::new(
                        dir.join(MANIFEST),
                        format!(
                            "pack name {:?} is also the name of the pack in {}",
                            pack.pack().name,
                            other.pack().dir.display()
                        ),
                    ));
                }
                packs.push(pack);
            }
            Err(e) => errors.extend(e),
        }
    }
    if errors.is_empty() {
        for name in site.rules.settings.keys() {
            if !packs.iter().any(|p| &p.pack().name == name) {
                errors.push(PackError::new(
                    site.base_dir.join("site.toml"),
                    format!("[rules.settings.{name}]: no loaded pack is named {name:?}"),
                ));
            }
        }
    }
    if errors.is_empty() {
        Ok(packs)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pack_dir(manifest: &str, files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(MANIFEST), manifest).unwrap();
        std::fs::create_dir_all(dir.path().join("rules")).unwrap();
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        dir
    }

    const OK: &str = "fn decide(booking, room, ctx) { [] }";

    #[test]
    fn loads_every_rule_file_in_name_order() {
        let dir = pack_dir(
            "name = \"p\"\nversion = \"1.2.0\"\nruntime = \"rhai\"\n[settings]\nmargin = 15\n",
            &[
                ("rules/b.rhai", OK),
                ("rules/a.rhai", OK),
                ("rules/notes.txt", "x"),
            ],
        );
        let pack = load(dir.path(), &LoadOptions::default()).unwrap();
        assert_eq!(pack.pack().name, "p");
        assert_eq!(pack.pack().version, "1.2.0");
        assert_eq!(pack.pack().settings["margin"], toml::Value::Integer(15));
    }

    #[test]
    fn every_broken_file_is_reported_with_its_place() {
        let dir = pack_dir(
            "name = \"p\"\nversion = \"1\"\nruntime = \"rhai\"\n",
            &[
                ("rules/a.rhai", "fn decide(booking, room, ctx) {\n  [x]\n}"),
                ("rules/b.rhai", "fn decide(booking, room, ctx) { ( }"),
            ],
        );
        let errors = load_reporting(dir.path(), &LoadOptions::default())
            .err()
            .unwrap();
        assert_eq!(errors.len(), 2);
        assert!(errors[0].file.ends_with("rules/a.rhai"));
        assert_eq!((errors[0].line, errors[0].column), (Some(2), Some(4)));
    }

    #[test]
    fn manifest_errors_name_the_line() {
        let dir = pack_dir("name = \"p\"\nversion = \"1\"\nruntime = \"lua\"\n", &[]);
        let e = load(dir.path(), &LoadOptions::default()).err().unwrap();
        assert!(e.file.ends_with(MANIFEST));
        assert_eq!(e.line, Some(3));
    }

    #[test]
    fn a_wasm_pack_names_its_component_inside_the_pack() {
        let dir = pack_dir(
            "name = \"p\"\nversion = \"1\"\nruntime = \"wasm\"\ncomponent = \"x.wasm\"\n",
            &[],
        );
        let m = PackManifest::read(dir.path()).unwrap();
        assert_eq!(m.extra["component"].as_str(), Some("x.wasm"));
        let e = load(dir.path(), &LoadOptions::default()).err().unwrap();
        assert!(e.file.ends_with("x.wasm"), "{e}");
        assert!(e.message.contains("scripts/build-guests"), "{e}");

        std::fs::write(dir.path().join("x.wasm"), b"not wasm").unwrap();
        let e = load(dir.path(), &LoadOptions::default()).err().unwrap();
        assert!(e.message.contains("not a WebAssembly file"), "{e}");

        for (line, wanted) in [
            ("", "needs component"),
            ("component = 3\n", "must be a path"),
            ("component = \"../x.wasm\"\n", "inside the pack"),
        ] {
            std::fs::write(
                dir.path().join(MANIFEST),
                format!("name = \"p\"\nversion = \"1\"\nruntime = \"wasm\"\n{line}"),
            )
            .unwrap();
            let e = load(dir.path(), &LoadOptions::default()).err().unwrap();
            assert!(
                e.file.ends_with(MANIFEST) && e.message.contains(wanted),
                "{e}"
            );
        }
    }
}
