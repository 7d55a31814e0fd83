//! The effect constructors, the only way a Rhai rule can ask for anything. Each effect records
//! the line and column of the call that built it.

use rhai::{Array, Dynamic, EvalAltResult, INT, ImmutableString, NativeCallContext, Position};

use super::types::{Date, Instant, PersonView, parse_date};
use crate::model::{
    DayKind, DoorId, DoorLevel, Effect, GroupId, OutputId, PersonKey, Window, ZoneId,
};
use crate::rules::Core;

/// An effect built by a rule, with the place of the call that built it.
#[derive(Debug, Clone)]
pub struct ScriptEffect {
    pub effect: Effect,
    pub line: u32,
    pub column: u32,
    /// Which part of the window is core time (`core(...)`, `margin(...)`); the booking's
    /// period unless the rule says otherwise.
    pub core: Core,
}

/// Thrown by a constructor given arguments that make no effect (a window that ends before it
/// starts, an unknown door level): the booking fails with "bad output".
#[derive(Debug, Clone)]
pub struct BadEffect(pub String);

type Built = Result<ScriptEffect, Box<EvalAltResult>>;

fn bad(call: &NativeCallContext, message: String) -> Box<EvalAltResult> {
    Box::new(EvalAltResult::ErrorRuntime(
        Dynamic::from(BadEffect(message)),
        call.call_position(),
    ))
}

fn built(call: &NativeCallContext, effect: Effect) -> Built {
    let pos: Position = call.call_position();
    Ok(ScriptEffect {
        effect,
        line: pos.line().unwrap_or(0) as u32,
        column: pos.position().unwrap_or(0) as u32,
        core: Core::Booking,
    })
}

fn window(
    call: &NativeCallContext,
    from: Instant,
    to: Instant,
) -> Result<Window, Box<EvalAltResult>> {
    Window::new(from.utc, to.utc).map_err(|_| {
        bad(
            call,
            format!(
                "{}: the window ends ({to}) before or when it starts ({from})",
                call.fn_name()
            ),
        )
    })
}

fn id_text(call: &NativeCallContext, what: &str, s: &str) -> Result<String, Box<EvalAltResult>> {
    if s.trim().is_empty() {
        Err(bad(
            call,
            format!("{}: the {what} is empty", call.fn_name()),
        ))
    } else {
        Ok(s.to_owned())
    }
}

/// A list of strings, or one string: `["D-1", "D-2"]` or `"D-1"`.
fn string_list(
    call: &NativeCallContext,
    what: &str,
    list: Array,
) -> Result<Vec<String>, Box<EvalAltResult>> {
    list.into_iter()
        .map(|item| match item.into_immutable_string() {
            Ok(s) => id_text(call, what, &s),
            Err(type_name) => Err(bad(
                call,
                format!(
                    "{}: every {what} must be a string, not {type_name}",
                    call.fn_name()
                ),
            )),
        })
        .collect()
}

fn day(call: &NativeCallContext, d: &Dynamic) -> Result<chrono::NaiveDate, Box<EvalAltResult>> {
    if let Some(date) = d.clone().try_cast::<Date>() {
        return Ok(date.0);
    }
    if let Ok(s) = d.clone().into_immutable_string()
        && let Some(date) = parse_date(&s)
    {
        return Ok(date);
    }
    Err(bad(
        call,
        format!(
            "{}: expected a date (ctx.date, date(\"2026-12-24\") or \"2026-12-24\"), not {}",
            call.fn_name(),
            d
        ),
    ))
}

fn person_key(call: &NativeCallContext, person: &Dynamic) -> Result<PersonKey, Box<EvalAltResult>> {
    if let Some(p) = person.read_lock::<PersonView>() {
        return p.key().ok_or_else(|| {
            bad(
                call,
                "grant: the person has no member number, e-mail or name".into(),
            )
        });
    }
    match person.clone().into_immutable_string() {
        Ok(s) => Ok(PersonKey(id_text(call, "person", &s)?)),
        Err(_) => Err(bad(
            call,
            "grant: the person must be booking.responsible or its .key".into(),
        )),
    }
}

fn list_or_one(
    call: &NativeCallContext,
    what: &str,
    v: Dynamic,
) -> Result<Vec<String>, Box<EvalAltResult>> {
    if v.is_array() {
        string_list(call, what, v.cast::<Array>())
    } else {
        match v.into_immutable_string() {
            Ok(s) => Ok(vec![id_text(call, what, &s)?]),
            Err(type_name) => Err(bad(
                call,
                format!(
                    "{}: expected a {what} or a list of them, not {type_name}",
                    call.fn_name()
                ),
            )),
        }
    }
}

/// Registers the constructors.
pub fn register(engine: &mut rhai::Engine) {
    engine
        .register_type_with_name::<ScriptEffect>("Effect")
        .register_get("kind", |e: &mut ScriptEffect| e.effect.kind().to_string())
        .register_fn("to_string", |e: &mut ScriptEffect| {
            format!("{:?}", e.effect)
        })
        .register_fn("to_debug", |e: &mut ScriptEffect| format!("{:?}", e.effect));
    engine.register_type_with_name::<BadEffect>("BadEffect");

    engine.register_fn(
        "unlock",
        |call: NativeCallContext, door: ImmutableString, from: Instant, to: Instant| -> Built {
            let effect = Effect::DoorMode {
                door: DoorId(id_text(&call, "door", &door)?),
                level: DoorLevel::Unlocked,
                window: window(&call, from, to)?,
            };
            built(&call, effect)
        },
    );
    engine.register_fn(
        "door_mode",
        |call: NativeCallContext,
         door: ImmutableString,
         level: ImmutableString,
         from: Instant,
         to: Instant|
         -> Built {
            let Some(level) = DoorLevel::parse(&level) else {
                return Err(bad(
                    &call,
                    format!(
                        "door_mode: unknown level {level:?}; use \"unlocked\", \"card\", \"card_pin\" or \"locked\""
                    ),
                ));
            };
            let effect = Effect::DoorMode {
                door: DoorId(id_text(&call, "door", &door)?),
                level,
                window: window(&call, from, to)?,
            };
            built(&call, effect)
        },
    );
    engine.register_fn(
        "disarm",
        |call: NativeCallContext, zone: ImmutableString, from: Instant, to: Instant| -> Built {
            let effect = Effect::Disarm {
                zone: ZoneId(id_text(&call, "zone", &zone)?),
                window: window(&call, from, to)?,
            };
            built(&call, effect)
        },
    );
    engine.register_fn(
        "switch_on",
        |call: NativeCallContext, output: ImmutableString, from: Instant, to: Instant| -> Built {
            let effect = Effect::SwitchOn {
                output: OutputId(id_text(&call, "output", &output)?),
                window: window(&call, from, to)?,
            };
            built(&call, effect)
        },
    );
    engine.register_fn(
        "grant",
        |call: NativeCallContext,
         person: Dynamic,
         groups: Dynamic,
         from: Instant,
         to: Instant|
         -> Built {
            let effect = Effect::Grant {
                person: person_key(&call, &person)?,
                groups: list_or_one(&call, "group", groups)?
                    .into_iter()
                    .map(GroupId)
                    .collect(),
                window: window(&call, from, to)?,
            };
            built(&call, effect)
        },
    );
    engine.register_fn(
        "deny",
        |call: NativeCallContext,
         group: ImmutableString,
         doors: Dynamic,
         from: Instant,
         to: Instant|
         -> Built {
            let effect = Effect::Deny {
                group: GroupId(id_text(&call, "group", &group)?),
                doors: list_or_one(&call, "door", doors)?
                    .into_iter()
                    .map(DoorId)
                    .collect(),
                window: window(&call, from, to)?,
            };
            built(&call, effect)
        },
    );
    engine.register_fn(
        "day_type",
        |call: NativeCallContext, from: Dynamic, to: Dynamic, kind: ImmutableString| -> Built {
            let (from, to) = (day(&call, &from)?, day(&call, &to)?);
            if to < from {
                return Err(bad(
                    &call,
                    format!("day_type: the last date ({to}) is before the first ({from})"),
                ));
            }
            let kind = id_text(&call, "day type", &kind)?;
            built(
                &call,
                Effect::DayType {
                    from,
                    to,
                    day: DayKind::parse(&kind),
                },
            )
        },
    );
    // Which part of an effect is core time: `core(unlock(d, a, b), s, e)` or
    // `unlock(d, a, b).core(s, e)`; `margin(effect)` makes all of it margin.
    engine.register_fn(
        "core",
        |call: NativeCallContext, mut e: ScriptEffect, from: Instant, to: Instant| -> Built {
            let core = window(&call, from, to)?;
            if matches!(e.effect, Effect::DayType { .. }) {
                return Err(bad(
                    &call,
                    "core: a day type has no core time (it covers whole local days)".into(),
                ));
            }
            e.core = Core::Window(core);
            Ok(e)
        },
    );
    engine.register_fn("margin", |mut e: ScriptEffect| -> ScriptEffect {
        e.core = Core::Margin;
        e
    });
    engine.register_fn(
        "shared_exception",
        |call: NativeCallContext, id: INT, from: Instant, to: Instant| -> Built {
            let Ok(id) = u32::try_from(id) else {
                return Err(bad(
                    &call,
                    format!("shared_exception: {id} is not a valid id"),
                ));
            };
            let effect = Effect::SharedException {
                id,
                window: window(&call, from, to)?,
            };
            built(&call, effect)
        },
    );
}
