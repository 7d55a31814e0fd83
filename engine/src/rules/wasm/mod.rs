//! The Wasm component runtime: wasmtime with epoch deadlines (or fuel), memory caps and one
//! instance per pack and batch.
//!
//! A pack is a component implementing the world in `rules/wit/klar-rules.wit`, which imports
//! nothing: the linker is empty, so a guest can compute and nothing else. `pack.toml` names the
//! `.wasm` file; a core module (what `cargo build --target wasm32-unknown-unknown` makes) is
//! turned into a component at load with wit-component.
//!
//! Costs (../shared/notes/wasm.md, measured here): compiling a component takes tens of
//! milliseconds, so compiled artifacts are cached on disk ([`cache`]); a fresh instance costs
//! 25-50 us and a call on a live one under 2 us, so [`WasmRuntime::decide`] instantiates once
//! per batch from a pre-instantiated component and calls that instance for every booking.
//! A trapped instance cannot be entered again: after any trap (a limit, a panic, bad output the
//! canonical ABI refuses) that booking fails closed and the next one gets a fresh instance.
//!
//! Limits, per call: a memory cap (a `memory.grow` past it traps, and is reported as the cap),
//! and either an epoch deadline re-armed before every call (wall-clock time, the daemon) or fuel
//! (instructions, the same on every machine: `klar rules test`, [`LoadOptions::deterministic`]).
//!
//! [`LoadOptions::deterministic`]: super::pack::LoadOptions::deterministic

mod cache;
mod convert;
mod engine;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

use tracing::debug;
use wasmtime::component::{Component, Linker};
use wasmtime::{Engine, ResourceLimiter, Store, Trap};

use super::{
    Decision, PackError, PackInfo, RuleError, RuleErrorKind, RuleLocation, RuleRuntime, RuledEffect,
};
use crate::site::Room;

pub use cache::default_dir as default_cache_dir;
pub use convert::{MAX_EFFECTS, MAX_ID_LEN};
pub use engine::{EPOCH_TICK, MAX_MEMORY_CAP, Metering};

/// The default memory cap of a guest's linear memory.
pub const DEFAULT_MEMORY_CAP: usize = 16 << 20;
/// The default time one call may take under epoch metering.
pub const DEFAULT_DEADLINE: Duration = Duration::from_millis(100);
/// The default fuel of one call under fuel metering (about one unit per instruction; the
/// margins guest uses a few thousand per booking).
pub const DEFAULT_FUEL: u64 = 10_000_000;
/// The most elements a guest's table may grow to.
const MAX_TABLE_ELEMENTS: usize = 100_000;
/// The longest error text a guest may return; longer is cut.
const MAX_MESSAGE_LEN: usize = 1_000;

/// What one call of a guest may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The cap on the guest's linear memory, in bytes (at most [`MAX_MEMORY_CAP`]).
    pub memory_bytes: usize,
    /// Wall-clock time per call under [`Metering::Epoch`], in steps of [`EPOCH_TICK`].
    pub deadline: Duration,
    /// Fuel per call under [`Metering::Fuel`].
    pub fuel: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_bytes: DEFAULT_MEMORY_CAP,
            deadline: DEFAULT_DEADLINE,
            fuel: DEFAULT_FUEL,
        }
    }
}

/// How a Wasm pack is compiled and run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WasmOptions {
    pub metering: Metering,
    pub limits: Limits,
    /// Where compiled components are cached; `None` compiles in memory every time.
    pub cache_dir: Option<PathBuf>,
}

impl WasmOptions {
    /// Fuel when `deterministic` (tests, `klar rules test`), epoch deadlines otherwise; the
    /// default limits; the default cache folder ([`default_cache_dir`]).
    pub fn new(deterministic: bool) -> Self {
        WasmOptions {
            metering: if deterministic {
                Metering::Fuel
            } else {
                Metering::Epoch
            },
            limits: Limits::default(),
            cache_dir: default_cache_dir(),
        }
    }
}

/// A compiled, pre-instantiated Wasm pack. Shared across threads; every [`RuleRuntime::decide`]
/// call gets its own store and instance.
pub struct WasmRuntime {
    info: PackInfo,
    /// The component's file as reasons and errors name it (relative to the pack).
    file: String,
    engine: Engine,
    pre: convert::RulesPre<GuestState>,
    metering: Metering,
    limits: Limits,
}

impl std::fmt::Debug for WasmRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WasmRuntime")
            .field("pack", &self.info.name)
            .field("file", &self.file)
            .field("metering", &self.metering)
            .field("limits", &self.limits)
            .finish()
    }
}

impl WasmRuntime {
    /// Loads the pack `info` from the `.wasm` file at `path` (a component, or a core module
    /// that is made into one), compiles it (or takes it from the cache) and pre-instantiates
    /// it. `file` names it in reasons and errors, e.g. `margins.wasm`.
    ///
    /// This is the constructor to use outside the pack loader, e.g. to measure `decide`:
    /// ```no_run
    /// # use klar_engine::rules::wasm::{WasmOptions, WasmRuntime};
    /// # use klar_engine::rules::pack::PackManifest;
    /// # let dir = std::path::Path::new("rules/margins-wasm");
    /// let info = PackManifest::read(dir).unwrap().info(dir);
    /// let pack = WasmRuntime::load(info, &dir.join("margins.wasm"), "margins.wasm",
    ///     &WasmOptions::new(false)).unwrap();
    /// ```
    pub fn load(
        info: PackInfo,
        path: &Path,
        file: &str,
        options: &WasmOptions,
    ) -> Result<WasmRuntime, PackError> {
        let bytes = std::fs::read(path).map_err(|e| {
            PackError::new(
                path,
                format!(
                    "cannot read the Wasm file: {e}; build the guests with scripts/build-guests"
                ),
            )
        })?;
        Self::from_bytes(info, file, &bytes, options).map_err(|mut e| {
            e.file = path.to_owned();
            e
        })
    }

    /// As [`WasmRuntime::load`], from the bytes of the `.wasm` file.
    pub fn from_bytes(
        info: PackInfo,
        file: &str,
        bytes: &[u8],
        options: &WasmOptions,
    ) -> Result<WasmRuntime, PackError> {
        let at = info.dir.join(file);
        let fail = |message: String| PackError::new(&at, message);
        if options.limits.memory_bytes > MAX_MEMORY_CAP {
            return Err(fail(format!(
                "the memory cap {} is above the most the host allows ({MAX_MEMORY_CAP})",
                options.limits.memory_bytes
            )));
        }
        let component = componentize(bytes).map_err(fail)?;
        let engine = engine::engine(options.metering)
            .map_err(|e| fail(format!("cannot start the Wasm engine: {e}")))?;
        let compiled = cache::compile(&engine, &component, options.cache_dir.as_deref())
            .map_err(|e| fail(format!("the component does not compile: {e:#}")))?;
        // An empty linker: a component that imports anything does not instantiate.
        let linker: Linker<GuestState> = Linker::new(&engine);
        let instance_pre = linker.instantiate_pre(&compiled).map_err(|e| {
            fail(format!(
                "the component cannot be instantiated (rules may import nothing): {e:#}"
            ))
        })?;
        let pre = convert::RulesPre::new(instance_pre).map_err(|e| {
            fail(format!(
                "the component does not implement the klar:rules world \
                 (rules/wit/klar-rules.wit): {e:#}"
            ))
        })?;
        Ok(WasmRuntime {
            info,
            file: file.to_owned(),
            engine,
            pre,
            metering: options.metering,
            limits: options.limits,
        })
    }

    /// The compiled component, for tools that inspect it.
    pub fn component(&self) -> &Component {
        self.pre.instance_pre().component()
    }

    /// A fresh store and instance, the limits armed.
    fn instantiate(&self) -> Result<Live, (RuleErrorKind, String)> {
        let mut store = Store::new(
            &self.engine,
            GuestState {
                limiter: Limiter {
                    memory_cap: self.limits.memory_bytes,
                    memory_hit: false,
                },
            },
        );
        store.limiter(|s| &mut s.limiter);
        self.arm(&mut store);
        match self.pre.instantiate(&mut store) {
            Ok(rules) => Ok(Live { store, rules }),
            // A limit or trap in the guest's start-up code, or the host out of instances.
            Err(e) => {
                let (kind, message) = match self.classify(&e, &store) {
                    (RuleErrorKind::BadOutput, _) => (RuleErrorKind::Runtime, format!("{e:#}")),
                    other => other,
                };
                Err((kind, format!("cannot instantiate the component: {message}")))
            }
        }
    }

    /// Re-arms the time or fuel limit before a call.
    fn arm(&self, store: &mut Store<GuestState>) {
        store.data_mut().limiter.memory_hit = false;
        match self.metering {
            Metering::Epoch => store.set_epoch_deadline(self.deadline_ticks()),
            Metering::Fuel => {
                // Fails only if the engine does not meter fuel, and the fuel engine does.
                let _ = store.set_fuel(self.limits.fuel);
            }
        }
    }

    fn deadline_ticks(&self) -> u64 {
        let tick = EPOCH_TICK.as_micros().max(1);
        (self.limits.deadline.as_micros().div_ceil(tick)).max(1) as u64
    }

    /// What stopped a call, in words a rule author can act on.
    fn classify(&self, e: &wasmtime::Error, store: &Store<GuestState>) -> (RuleErrorKind, String) {
        if store.data().limiter.memory_hit {
            return (
                RuleErrorKind::Limit,
                format!(
                    "its memory grew past the cap ({} MiB); unbounded allocation?",
                    self.limits.memory_bytes >> 20
                ),
            );
        }
        match e.downcast_ref::<Trap>() {
            Some(Trap::Interrupt) => (
                RuleErrorKind::Limit,
                format!(
                    "it ran past its time limit ({} ms); an endless loop?",
                    self.limits.deadline.as_millis()
                ),
            ),
            Some(Trap::OutOfFuel) => (
                RuleErrorKind::Limit,
                format!(
                    "it ran past its fuel limit ({} units); an endless loop?",
                    self.limits.fuel
                ),
            ),
            Some(Trap::StackOverflow) => (
                RuleErrorKind::Limit,
                "it overflowed its stack; endless recursion?".into(),
            ),
            Some(Trap::UnreachableCodeReached) => (
                RuleErrorKind::Trap,
                "the guest trapped: wasm `unreachable` executed (a Rust guest panicked or aborted)"
                    .into(),
            ),
            Some(trap) => (RuleErrorKind::Trap, format!("the guest trapped: {trap}")),
            // Not a trap: the canonical ABI refused what the guest returned (a string that is
            // not UTF-8, a bad discriminant, an out-of-bounds pointer).
            None => (
                RuleErrorKind::BadOutput,
                format!("the guest's result does not fit the WIT contract: {e:#}"),
            ),
        }
    }

    fn error(&self, d: &Decision<'_>, kind: RuleErrorKind, message: String) -> RuleError {
        RuleError {
            pack: self.info.name.clone(),
            booking: d.booking.id.clone(),
            kind,
            message,
            location: Some(self.location()),
        }
    }

    fn location(&self) -> RuleLocation {
        RuleLocation {
            file: self.file.clone(),
            line: 0,
            column: 0,
        }
    }

    /// Decides one booking on the batch's instance, creating it if there is none; drops it
    /// after a trap.
    fn decide_one(
        &self,
        live: &mut Option<Live>,
        d: &Decision<'_>,
        args: &convert::Args,
    ) -> Result<Vec<RuledEffect>, RuleError> {
        let l = match live {
            Some(l) => l,
            None => live.insert(
                self.instantiate()
                    .map_err(|(kind, message)| self.error(d, kind, message))?,
            ),
        };
        self.arm(&mut l.store);
        match l
            .rules
            .call_decide(&mut l.store, &args.booking, &args.room, &args.ctx)
        {
            Ok(Ok(list)) => {
                let effects = convert::effects(list)
                    .map_err(|m| self.error(d, RuleErrorKind::BadOutput, m))?;
                super::bounds::check_count(&effects)
                    .map_err(|m| self.error(d, RuleErrorKind::BadOutput, m))?;
                for e in &effects {
                    super::bounds::check(e, d.booking, d.ctx.time_zone)
                        .map_err(|m| self.error(d, RuleErrorKind::BadOutput, m))?;
                }
                let rule = self.location();
                Ok(effects
                    .into_iter()
                    .map(|effect| RuledEffect {
                        effect,
                        rule: rule.clone(),
                        core: Default::default(),
                    })
                    .collect())
            }
            Ok(Err(message)) => Err(self.error(
                d,
                RuleErrorKind::Runtime,
                format!("the rule returned an error: {}", cut(&message)),
            )),
            Err(e) => {
                let (kind, message) = self.classify(&e, &l.store);
                *live = None;
                debug!(pack = %self.info.name, booking = %d.booking.id, %kind, "Wasm instance dropped after a failed call; the next booking gets a fresh one.");
                Err(self.error(d, kind, message))
            }
        }
    }
}

/// A guest's message, cut to a readable length on a character boundary.
fn cut(message: &str) -> String {
    if message.len() <= MAX_MESSAGE_LEN {
        return message.to_owned();
    }
    let mut end = MAX_MESSAGE_LEN;
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &message[..end])
}

/// A core module becomes a component (no imports, the world's export); a component is taken
/// as it is.
fn componentize(bytes: &[u8]) -> Result<Vec<u8>, String> {
    const CORE: [u8; 8] = *b"\0asm\x01\0\0\0";
    const COMPONENT: [u8; 8] = *b"\0asm\x0d\0\x01\0";
    match bytes.get(..8) {
        Some(h) if h == COMPONENT => Ok(bytes.to_vec()),
        Some(h) if h == CORE => wit_component::ComponentEncoder::default()
            .module(bytes)
            .and_then(|e| e.validate(true).encode())
            .map_err(|e| format!("cannot make a component of the core module: {e:#}")),
        _ => Err("not a WebAssembly file (no \\0asm header of a module or component)".into()),
    }
}

/// One batch's live instance.
struct Live {
    store: Store<GuestState>,
    rules: convert::Rules,
}

/// What a store holds: only the limiter. The guest can reach nothing of the host.
struct GuestState {
    limiter: Limiter,
}

/// The memory cap, remembering when it was hit so the error can say so.
struct Limiter {
    memory_cap: usize,
    memory_hit: bool,
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.memory_cap {
            self.memory_hit = true;
            // An error, not `Ok(false)`: the guest's allocator would turn a refused grow into
            // an abort, which says nothing about the cap.
            return Err(wasmtime::format_err!(
                "memory would grow to {desired} bytes, past the cap of {}",
                self.memory_cap
            ));
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }
}

impl RuleRuntime for WasmRuntime {
    fn pack(&self) -> &PackInfo {
        &self.info
    }

    fn decide(&self, batch: &[Decision<'_>]) -> Vec<Result<Vec<RuledEffect>, RuleError>> {
        let mut live: Option<Live> = None;
        // Rooms and settings repeat across a batch: convert each once.
        let mut rooms: HashMap<*const Room, convert::WitRoom> = HashMap::new();
        let mut settings: Option<(&BTreeMap<String, toml::Value>, convert::WitSettings)> = None;
        batch
            .iter()
            .map(|d| {
                let room = rooms
                    .entry(std::ptr::from_ref(d.room))
                    .or_insert_with(|| convert::room(d.room))
                    .clone();
                let known = match &settings {
                    Some((known, converted)) if *known == &d.ctx.settings => converted.clone(),
                    _ => {
                        let converted = convert::settings(&d.ctx.settings);
                        settings = Some((&d.ctx.settings, converted.clone()));
                        converted
                    }
                };
                let args = convert::Args {
                    booking: convert::booking(d.booking),
                    room,
                    ctx: convert::ctx(d.ctx, known),
                };
                // A panic below is a bug in klar, but it must fail this booking closed, not
                // the whole plan; the instance may be in any state, so it goes.
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    self.decide_one(&mut live, d, &args)
                }))
                .unwrap_or_else(|_| {
                    live = None;
                    Err(self.error(
                        d,
                        RuleErrorKind::Runtime,
                        "the Wasm runtime failed unexpectedly (a bug in klar)".into(),
                    ))
                })
            })
            .collect()
    }
}
