//! Compiled components cached on disk, so a pack compiles once per engine configuration and
//! component, not once per start or reload.
//!
//! A cache file is `<dir>/<key>.cwasm`, the key being the SHA-256 of the engine's compatibility
//! hash (wasmtime version, target, every setting that changes the machine code) and of the
//! component. Its contents are the SHA-256 of the artifact, then the artifact. An entry that does
//! not check out (truncated, corrupted, or refused by wasmtime) is compiled again and rewritten.
//! The cache is an optimisation only: when it cannot be read or written the component is
//! compiled in memory and a warning is logged.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest, Sha256};
use tracing::{debug, warn};
use wasmtime::Engine;
use wasmtime::component::Component;

const CHECKSUM_LEN: usize = 32;

/// The default cache folder: `$KLAR_CACHE_DIR`, else `$XDG_CACHE_HOME/klar/wasm`, else
/// `$HOME/.cache/klar/wasm`; none (compile in memory) when none of them is set.
pub fn default_dir() -> Option<PathBuf> {
    let env = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    if let Some(dir) = env("KLAR_CACHE_DIR") {
        return Some(PathBuf::from(dir));
    }
    if let Some(dir) = env("XDG_CACHE_HOME") {
        return Some(PathBuf::from(dir).join("klar").join("wasm"));
    }
    env("HOME").map(|home| PathBuf::from(home).join(".cache").join("klar").join("wasm"))
}

/// Feeds `Hash` output into SHA-256, so the key is stable across runs and Rust versions.
struct ShaHasher(Sha256);

impl Hasher for ShaHasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
    fn finish(&self) -> u64 {
        0 // never used: the digest is read with `finalize`
    }
}

/// The cache key of `component` compiled by `engine`.
pub fn key(engine: &Engine, component: &[u8]) -> String {
    let mut hasher = ShaHasher(Sha256::new());
    engine.precompile_compatibility_hash().hash(&mut hasher);
    hasher.0.update(Sha256::digest(component));
    hex(&hasher.0.finalize())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The component compiled by `engine`, from the cache in `dir` when it holds a sound entry;
/// otherwise compiled and stored there.
pub fn compile(
    engine: &Engine,
    component: &[u8],
    dir: Option<&Path>,
) -> Result<Component, wasmtime::Error> {
    let Some(dir) = dir else {
        return Component::new(engine, component);
    };
    if let Err(why) = usable_dir(dir) {
        warn!(reason = %why, "Wasm compile cache unusable; compiling in memory.");
        return Component::new(engine, component);
    }
    let path = dir.join(format!("{}.cwasm", key(engine, component)));
    match std::fs::read(&path) {
        Ok(bytes) => match load(engine, &bytes) {
            Ok(compiled) => {
                debug!(path = %path.display(), "Wasm component loaded from the cache.");
                return Ok(compiled);
            }
            Err(why) => {
                warn!(path = %path.display(), reason = %why, "Cached Wasm component is unusable; compiling it again.");
            }
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            warn!(path = %path.display(), error = %e, "Cannot read the cached Wasm component; compiling it again.");
        }
    }
    let compiled = Component::new(engine, component)?;
    if let Err(e) = store(&path, &compiled) {
        warn!(path = %path.display(), error = %e, "Cannot cache the compiled Wasm component.");
    }
    Ok(compiled)
}

fn load(engine: &Engine, bytes: &[u8]) -> Result<Component, String> {
    if bytes.len() < CHECKSUM_LEN {
        return Err("truncated".into());
    }
    let (sum, artifact) = bytes.split_at(CHECKSUM_LEN);
    if Sha256::digest(artifact).as_slice() != sum {
        return Err("checksum mismatch".into());
    }
    // SAFETY: `deserialize` trusts that the bytes are an artifact wasmtime produced. They were
    // written by `store` below with their checksum, which matches, into a folder only this
    // user can write (`usable_dir`); wasmtime itself refuses an artifact of another version or
    // configuration.
    unsafe { Component::deserialize(engine, artifact) }.map_err(|e| format!("{e:#}"))
}

fn store(path: &Path, compiled: &Component) -> Result<(), String> {
    let artifact = compiled.serialize().map_err(|e| format!("{e:#}"))?;
    let mut bytes = Vec::with_capacity(CHECKSUM_LEN + artifact.len());
    bytes.extend_from_slice(&Sha256::digest(&artifact));
    bytes.extend_from_slice(&artifact);
    // Write beside, then rename: a reader sees the old entry or the whole new one.
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let tmp = path.with_extension(format!(
        "{}.{}.tmp",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::write(&tmp, &bytes).map_err(|e| format!("{}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        format!("{}: {e}", path.display())
    })
}

/// Creates the cache folder (only its owner may use it) and refuses one others can write:
/// they could plant machine code.
fn usable_dir(dir: &Path) -> Result<(), String> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        builder.mode(0o700);
        builder
            .create(dir)
            .map_err(|e| format!("{}: {e}", dir.display()))?;
        let mode = std::fs::metadata(dir)
            .map_err(|e| format!("{}: {e}", dir.display()))?
            .permissions()
            .mode();
        if mode & 0o022 != 0 {
            return Err(format!(
                "{}: others may write to it (mode {:o}); not caching there",
                dir.display(),
                mode & 0o777
            ));
        }
        Ok(())
    }
    #[cfg(not(unix))]
    {
        builder
            .create(dir)
            .map_err(|e| format!("{}: {e}", dir.display()))
    }
}
