//! The Rhai runtime: a locked-down engine, scripts compiled once, effects built only through
//! registered constructors.
//!
//! Each rule file of a pack is compiled on its own to an AST and defines its own
//! `decide(booking, room, ctx)`; a booking's effects are the concatenation of every file's
//! result, in the pack's file order. Files do not share functions: that keeps every error and
//! every effect's rule line in the file that caused it (Rhai tracks one source per AST).
//!
//! A script returns an array of effects (or `()` for none); arrays nested in it are flattened.
//! Anything else, a thrown error, a limit hit or a constructor given a bad window fails that
//! booking closed with a [`RuleError`] naming the file, line and column; the batch goes on.

mod effects;
mod types;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use rhai::packages::{
    ArithmeticPackage, BasicArrayPackage, BasicIteratorPackage, BasicMapPackage,
    BasicStringPackage, LogicPackage, MoreStringPackage, Package,
};
use rhai::{AST, Caches, Dynamic, Engine, EvalAltResult, GlobalRuntimeState, Module, Scope};

use super::{
    Decision, PackError, PackInfo, RuleError, RuleErrorKind, RuleLocation, RuleRuntime, RuledEffect,
};
use crate::site::Room;

pub use effects::ScriptEffect;
pub use types::{BookingView, CtxView, Date, Instant, PersonView, RoomView, Settings, Span};

/// The limits every script runs under. An endless loop stops after `MAX_OPERATIONS`.
pub const MAX_OPERATIONS: u64 = 200_000;
pub const MAX_CALL_LEVELS: usize = 32;
pub const MAX_EXPR_DEPTH: usize = 64;
pub const MAX_FUNCTION_EXPR_DEPTH: usize = 32;
pub const MAX_STRING_SIZE: usize = 4_096;
pub const MAX_ARRAY_SIZE: usize = 1_024;
pub const MAX_MAP_SIZE: usize = 256;
pub const MAX_VARIABLES: usize = 256;
pub const MAX_FUNCTIONS: usize = 256;

/// The entry point every rule file defines.
pub const ENTRY: &str = "decide";

/// One rule file to compile: its name in reasons and errors (relative to the pack,
/// `rules/doors.rhai`), where it is on disk, and its text.
#[derive(Debug, Clone)]
pub struct RuleSource {
    pub name: String,
    pub path: PathBuf,
    pub text: String,
}

/// A compiled Rhai pack: one engine, one AST per rule file. Shared across threads.
pub struct RhaiRuntime {
    info: PackInfo,
    engine: Engine,
    files: Vec<RuleFile>,
    /// `decide(booking, room, ctx)` as a statement, compiled once: what each booking runs, with
    /// the three values in the batch's scope (see [`Batch`]).
    driver: AST,
}

struct RuleFile {
    name: String,
    ast: AST,
    /// Where `fn decide` is, for errors about what it returned.
    decide_line: u32,
    /// Where the file's loops (`loop`, `while`, `do`, `for`) start: Rhai reports a call that
    /// ran past the operation limit at the call, so an endless loop is named by these.
    loops: Vec<(u32, u32)>,
}

/// The locked-down engine: the raw engine, only the packages rules need, every limit set,
/// `eval` disabled, strict variables, and the rule vocabulary.
pub fn engine() -> Engine {
    let mut engine = Engine::new_raw();
    // One module holding every package: each function call searches the global modules in
    // turn, so fewer modules make every call cheaper.
    let mut packages = Module::new();
    for package in [
        ArithmeticPackage::new().as_shared_module(),
        LogicPackage::new().as_shared_module(),
        BasicStringPackage::new().as_shared_module(),
        MoreStringPackage::new().as_shared_module(),
        BasicArrayPackage::new().as_shared_module(),
        BasicMapPackage::new().as_shared_module(),
        BasicIteratorPackage::new().as_shared_module(),
    ] {
        packages.fill_with(&package);
    }
    packages.build_index();
    engine.register_global_module(packages.into());
    engine
        .set_max_operations(MAX_OPERATIONS)
        .set_max_call_levels(MAX_CALL_LEVELS)
        .set_max_expr_depths(MAX_EXPR_DEPTH, MAX_FUNCTION_EXPR_DEPTH)
        .set_max_string_size(MAX_STRING_SIZE)
        .set_max_array_size(MAX_ARRAY_SIZE)
        .set_max_map_size(MAX_MAP_SIZE)
        .set_max_variables(MAX_VARIABLES)
        .set_max_functions(MAX_FUNCTIONS)
        .set_strict_variables(true);
    engine.disable_symbol("eval");
    types::register(&mut engine);
    effects::register(&mut engine);
    engine
}

impl RhaiRuntime {
    /// Compiles every rule file with the engine that will run it. Returns every file's error,
    /// not just the first.
    pub fn compile(info: PackInfo, sources: &[RuleSource]) -> Result<RhaiRuntime, Vec<PackError>> {
        let mut engine = engine();
        types::register_settings(&mut engine, info.settings.keys().map(String::as_str));
        let driver = driver(&engine).map_err(|e| vec![PackError::new(&info.dir, e)])?;
        let mut files = Vec::with_capacity(sources.len());
        let mut errors = Vec::new();
        if sources.is_empty() {
            errors.push(PackError::new(
                info.dir.join("pack.toml"),
                "the pack has no rule files (rules/*.rhai)",
            ));
        }
        for source in sources {
            match compile_file(&engine, source) {
                Ok(file) => files.push(file),
                Err(e) => errors.push(e),
            }
        }
        if errors.is_empty() {
            Ok(RhaiRuntime {
                info,
                engine,
                files,
                driver,
            })
        } else {
            Err(errors)
        }
    }

    /// Decides one booking: every file's `decide`, concatenated.
    fn decide_one(
        &self,
        batch: &mut Batch,
        d: &Decision<'_>,
        [booking, room, ctx]: [Dynamic; 3],
    ) -> Result<Vec<RuledEffect>, RuleError> {
        batch.scope.rewind(0);
        batch.scope.push_dynamic(BOOKING, booking);
        batch.scope.push_dynamic(ROOM, room);
        batch.scope.push_dynamic(CTX, ctx);
        let mut out = Vec::new();
        for (file, state) in self.files.iter().zip(batch.files.iter_mut()) {
            // The operation limit is per booking and file, as if each call were the first.
            state.global.num_operations = 0;
            #[allow(deprecated)] // the one entry point that keeps the caches; see `Batch`
            let value = self
                .engine
                .eval_statements_raw(
                    &mut state.global,
                    &mut state.caches,
                    &mut batch.scope,
                    self.driver.statements(),
                )
                .map_err(|e| self.runtime_error(d, file, *e))?;
            self.collect(value, file, &mut out, 0)
                .map_err(|message| RuleError {
                    pack: self.info.name.clone(),
                    booking: d.booking.id.clone(),
                    kind: RuleErrorKind::BadOutput,
                    message,
                    location: Some(RuleLocation {
                        file: file.name.clone(),
                        line: file.decide_line,
                        column: 0,
                    }),
                })?;
        }
        super::bounds::check_count(out.iter().map(|e| &e.effect)).map_err(|message| RuleError {
            pack: self.info.name.clone(),
            booking: d.booking.id.clone(),
            kind: RuleErrorKind::BadOutput,
            message,
            location: None,
        })?;
        for e in &out {
            super::bounds::check(&e.effect, d.booking, d.ctx.time_zone).map_err(|message| {
                RuleError {
                    pack: self.info.name.clone(),
                    booking: d.booking.id.clone(),
                    kind: RuleErrorKind::BadOutput,
                    message,
                    location: Some(e.rule.clone()),
                }
            })?;
        }
        Ok(out)
    }

    /// Turns what `decide` returned into effects, or says why it cannot.
    fn collect(
        &self,
        value: Dynamic,
        file: &RuleFile,
        out: &mut Vec<RuledEffect>,
        depth: usize,
    ) -> Result<(), String> {
        if value.is_unit() && depth == 0 {
            return Ok(());
        }
        if value.is_array() {
            if depth > 4 {
                return Err("decide returned arrays nested too deep".into());
            }
            for item in value.cast::<rhai::Array>() {
                self.collect(item, file, out, depth + 1)?;
            }
            return Ok(());
        }
        let type_name = value.type_name();
        match value.try_cast::<ScriptEffect>() {
            Some(e) => {
                out.push(RuledEffect {
                    effect: e.effect,
                    rule: RuleLocation {
                        file: file.name.clone(),
                        line: e.line,
                        column: e.column,
                    },
                    core: e.core,
                });
                Ok(())
            }
            None if depth == 0 => Err(format!(
                "decide returned {}; it must return an array of effects \
                 (built with unlock, door_mode, disarm, switch_on, grant, deny, day_type, \
                 shared_exception)",
                self.engine.map_type_name(type_name)
            )),
            None => Err(format!(
                "decide returned an array holding {}; only effects (built with unlock, \
                 door_mode, disarm, switch_on, grant, deny, day_type, shared_exception) may be in it",
                self.engine.map_type_name(type_name)
            )),
        }
    }

    fn runtime_error(&self, d: &Decision<'_>, file: &RuleFile, err: EvalAltResult) -> RuleError {
        // What `decide` raised, without the driver's call around it. A limit is reported at
        // `fn decide` (Rhai places it at the call, which is the driver's, not the rule's).
        let err = match err {
            EvalAltResult::ErrorInFunctionCall(name, _, inner, _) if name == ENTRY => *inner,
            mut other => {
                if other.is_system_exception() {
                    other.set_position(rhai::Position::NONE);
                }
                other
            }
        };
        let inner = err.unwrap_inner();
        let (kind, message) = match inner {
            EvalAltResult::ErrorTooManyOperations(..) => (
                RuleErrorKind::Limit,
                match file.loops.as_slice() {
                    [] => format!(
                        "{} ran past the operation limit ({MAX_OPERATIONS}); endless recursion?",
                        file.name
                    ),
                    [_] => format!(
                        "{} ran past the operation limit ({MAX_OPERATIONS}) in this loop: an endless loop?",
                        file.name
                    ),
                    many => format!(
                        "{} ran past the operation limit ({MAX_OPERATIONS}): an endless loop? (loops at lines {})",
                        file.name,
                        many.iter()
                            .map(|(l, _)| l.to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                },
            ),
            EvalAltResult::ErrorStackOverflow(..) => (
                RuleErrorKind::Limit,
                format!(
                    "{} called functions deeper than the limit ({MAX_CALL_LEVELS}); endless recursion?",
                    file.name
                ),
            ),
            EvalAltResult::ErrorDataTooLarge(what, ..) => (
                RuleErrorKind::Limit,
                format!(
                    "{}: {what} grew past its limit (strings {MAX_STRING_SIZE}, arrays {MAX_ARRAY_SIZE}, maps {MAX_MAP_SIZE})",
                    file.name
                ),
            ),
            EvalAltResult::ErrorTooManyVariables(..) | EvalAltResult::ErrorTooManyModules(..) => {
                (RuleErrorKind::Limit, without_position(inner))
            }
            EvalAltResult::ErrorRuntime(value, ..) => {
                match value.clone().try_cast::<effects::BadEffect>() {
                    Some(bad) => (RuleErrorKind::BadOutput, bad.0),
                    None => (RuleErrorKind::Runtime, format!("the rule threw: {value}")),
                }
            }
            _ => (RuleErrorKind::Runtime, without_position(inner)),
        };
        let pos = if inner.position().is_none() {
            err.position()
        } else {
            inner.position()
        };
        let (line, column) = match (inner, file.loops.first()) {
            // The limit is reported at the call: name the loop that ran (the first of several).
            (EvalAltResult::ErrorTooManyOperations(..), Some(&at)) => at,
            _ => (
                pos.line().map_or(file.decide_line, |l| l as u32),
                pos.position().unwrap_or(0) as u32,
            ),
        };
        RuleError {
            pack: self.info.name.clone(),
            booking: d.booking.id.clone(),
            kind,
            message,
            location: Some(RuleLocation {
                file: file.name.clone(),
                line,
                column,
            }),
        }
    }
}

/// Rhai's message without its trailing `(line 3, position 5)`: the location is reported apart.
fn without_position(e: &EvalAltResult) -> String {
    let text = e.to_string();
    match text.rfind(" (line ") {
        Some(i) if text.ends_with(')') => text[..i].to_owned(),
        _ => text,
    }
}

fn compile_file(engine: &Engine, source: &RuleSource) -> Result<RuleFile, PackError> {
    let mut ast = engine.compile(&source.text).map_err(|e| {
        let pos = e.position();
        let message = e.0.to_string();
        match (pos.line(), pos.position()) {
            (Some(line), column) => pointed(
                &source.path,
                &source.text,
                line as u32,
                column.unwrap_or(1) as u32,
                message,
            ),
            _ => PackError::new(&source.path, message),
        }
    })?;
    ast.set_source(source.name.as_str());
    if ast.shared_lib().get_script_fn(ENTRY, 3).is_none() {
        return Err(PackError::new(
            &source.path,
            format!("defines no {ENTRY}(booking, room, ctx); every rule file must"),
        ));
    }
    let decide_line = source
        .text
        .lines()
        .position(|l| {
            let l = l.trim_start();
            l.starts_with("fn decide") || l.starts_with("private fn decide")
        })
        .map_or(1, |i| i as u32 + 1);
    // `loop`, `while` and `do` first: a `for` over an array ends by itself.
    let mut found = Vec::new();
    ast.walk(&mut |path: &[rhai::ASTNode]| {
        if let Some(rhai::ASTNode::Stmt(
            stmt @ (rhai::Stmt::While(..) | rhai::Stmt::Do(..) | rhai::Stmt::For(..)),
        )) = path.last()
        {
            let p = stmt.position();
            if let Some(line) = p.line() {
                let rank = u8::from(matches!(stmt, rhai::Stmt::For(..)));
                found.push((rank, line as u32, p.position().unwrap_or(0) as u32));
            }
        }
        true
    });
    found.sort_unstable();
    found.dedup();
    let loops = found.into_iter().map(|(_, l, c)| (l, c)).collect();
    Ok(RuleFile {
        name: source.name.clone(),
        ast,
        decide_line,
        loops,
    })
}

/// A compile error with a pointer under the offending token (Rhai gives a position, not a
/// span: widen it to the token that starts there).
fn pointed(
    path: &std::path::Path,
    text: &str,
    line: u32,
    column: u32,
    message: String,
) -> PackError {
    let mut e = PackError::at(path, text, line, column, message);
    if let Some(src_line) = text.lines().nth(line.saturating_sub(1) as usize) {
        let rest: String = src_line
            .chars()
            .skip(column.saturating_sub(1) as usize)
            .collect();
        let width = token_width(&rest);
        if width > 1
            && let Some(snippet) = e.snippet.as_mut()
        {
            snippet.push_str(&"^".repeat(width - 1));
        }
    }
    e
}

fn token_width(rest: &str) -> usize {
    let mut chars = rest.chars();
    match chars.next() {
        None => 1,
        Some(c) if c.is_alphanumeric() || c == '_' => {
            1 + chars
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .count()
        }
        Some('"') => {
            let body = chars.take_while(|c| *c != '"').count();
            (body + 2).min(rest.chars().count())
        }
        Some(_) => 1,
    }
}

impl RuleRuntime for RhaiRuntime {
    fn pack(&self) -> &PackInfo {
        &self.info
    }

    fn decide(&self, batch: &[Decision<'_>]) -> Vec<Result<Vec<RuledEffect>, RuleError>> {
        let mut state = Batch::new(&self.engine, &self.files);
        // Rooms and settings repeat across a batch: build each view once.
        let mut rooms: HashMap<*const Room, Dynamic> = HashMap::new();
        let mut settings: Option<(&BTreeMap<String, toml::Value>, Settings)> = None;
        batch
            .iter()
            .map(|d| {
                let room = rooms
                    .entry(std::ptr::from_ref(d.room))
                    .or_insert_with(|| Dynamic::from(RoomView::new(d.room)))
                    .clone();
                let known = match &settings {
                    Some((known, view))
                        if std::ptr::eq(*known, &d.ctx.settings) || *known == &d.ctx.settings =>
                    {
                        view.clone()
                    }
                    _ => {
                        let view = Settings::new(&d.ctx.settings);
                        settings = Some((&d.ctx.settings, view.clone()));
                        view
                    }
                };
                let args = [
                    Dynamic::from(BookingView::new(d.booking, d.ctx.time_zone)),
                    room,
                    Dynamic::from(CtxView::new(d.ctx, d.booking, known)),
                ];
                // A panic anywhere below is a bug, but it must fail this booking closed, not
                // the whole plan.
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    self.decide_one(&mut state, d, args)
                }))
                .unwrap_or_else(|_| {
                    state = Batch::new(&self.engine, &self.files);
                    Err(RuleError {
                        pack: self.info.name.clone(),
                        booking: d.booking.id.clone(),
                        kind: RuleErrorKind::Runtime,
                        message: "the rule runtime failed unexpectedly (a bug in klar)".into(),
                        location: None,
                    })
                })
            })
            .collect()
    }
}

/// The names the driver passes to `decide`.
const BOOKING: &str = "booking";
const ROOM: &str = "room";
const CTX: &str = "ctx";

/// Compiles `decide(booking, room, ctx)` with the engine that runs the rules (strict variables
/// hold: the three names are in the scope it is compiled with).
fn driver(engine: &Engine) -> Result<AST, String> {
    let mut scope = Scope::new();
    scope.push_dynamic(BOOKING, Dynamic::UNIT);
    scope.push_dynamic(ROOM, Dynamic::UNIT);
    scope.push_dynamic(CTX, Dynamic::UNIT);
    engine
        .compile_with_scope(&scope, format!("{ENTRY}({BOOKING}, {ROOM}, {CTX})"))
        .map_err(|e| format!("cannot compile the call of {ENTRY}: {e}"))
}

/// What a batch reuses from one booking to the next: the scope holding the booking, room and
/// context, and for each rule file its runtime state and function-resolution cache.
///
/// `Engine::call_fn` builds a fresh state and an empty cache on every call, so every function a
/// rule calls (getters, operators, `unlock`) is looked up again for every booking (Rhai caches
/// a lookup only on its second use within a call). Instead, a compiled `decide(booking, room,
/// ctx)` statement runs over a scope holding the three values, with the state and cache kept
/// for the batch: every lookup after the first booking is a cache hit. The entry point is
/// `internals`' `eval_statements_raw` (deprecated since 1.12, present through 1.x; the
/// workspace pins rhai 1.27). Each file has its own state and cache: its own functions.
struct Batch {
    scope: Scope<'static>,
    files: Vec<FileState>,
}

struct FileState {
    global: GlobalRuntimeState,
    caches: Caches,
}

impl Batch {
    fn new(engine: &Engine, files: &[RuleFile]) -> Batch {
        Batch {
            scope: Scope::new(),
            files: files
                .iter()
                .map(|file| {
                    let mut global = engine.new_global_runtime_state();
                    global.lib.push(file.ast.shared_lib().clone());
                    global.source = file.ast.source().map(Into::into);
                    let mut caches = Caches::new();
                    // The statement block keeps a cache that exists before it starts.
                    caches.push_fn_resolution_cache();
                    FileState { global, caches }
                })
                .collect(),
        }
    }
}
