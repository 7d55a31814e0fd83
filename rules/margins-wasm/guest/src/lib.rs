//! margins, in Rust: the same decision as `rules/margins/rules/margins.rhai`.
//!
//! - Each of the room's doors is unlocked from `margin_minutes` before the booking starts to
//!   `margin_minutes` after it ends, unless the booking is cancelled, or its local start date is
//!   a holiday (a public holiday or a holiday period) and it is not tagged `holiday_tag`.
//! - The responsible person, if the booking has one, is a member of the room's person groups for
//!   exactly the booking period (also on holidays: the doors stay locked, their card and PIN
//!   open).
//! - A cancelled booking causes nothing.
//!
//! Pure: nothing is kept between calls.

wit_bindgen::generate!({
    path: "../../wit",
    world: "rules",
});

struct Margins;

impl Guest for Margins {
    fn decide(booking: Booking, room: Room, ctx: Ctx) -> Result<Vec<Effect>, String> {
        if booking.status == BookingStatus::Cancelled {
            return Ok(Vec::new());
        }
        let mut effects = Vec::new();

        let closed_for_holiday =
            ctx.is_holiday && !has_tag(&booking.tags, text(&ctx, "holiday_tag")?);
        if !closed_for_holiday {
            let margin = minutes(integer(&ctx, "margin_minutes")?)?;
            let window = Window {
                from: shift(booking.start, -margin)?,
                to: shift(booking.end, margin)?,
            };
            for door in &room.doors {
                effects.push(Effect::DoorMode(DoorMode {
                    door: door.clone(),
                    level: DoorLevel::Unlocked,
                    window,
                }));
            }
        }

        if let Some(key) = booking.responsible.and_then(|p| p.key)
            && !room.person_groups.is_empty()
        {
            effects.push(Effect::Grant(Grant {
                person: key,
                groups: room.person_groups,
                window: Window {
                    from: booking.start,
                    to: booking.end,
                },
            }));
        }
        Ok(effects)
    }
}

/// Tags compare without regard to case, as `booking.has_tag` does in Rhai.
fn has_tag(tags: &[String], tag: &str) -> bool {
    tags.iter().any(|t| t.eq_ignore_ascii_case(tag))
}

fn setting<'a>(ctx: &'a Ctx, name: &str) -> Result<&'a Setting, String> {
    ctx.settings
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v)
        .ok_or_else(|| format!("ctx.settings.{name} is not set (pack.toml [settings])"))
}

fn text<'a>(ctx: &'a Ctx, name: &str) -> Result<&'a str, String> {
    match setting(ctx, name)? {
        Setting::Text(s) => Ok(s),
        _ => Err(format!("ctx.settings.{name} must be a string")),
    }
}

fn integer(ctx: &Ctx, name: &str) -> Result<i64, String> {
    match setting(ctx, name)? {
        Setting::Integer(n) => Ok(*n),
        _ => Err(format!("ctx.settings.{name} must be an integer")),
    }
}

/// A number of minutes as seconds; out of range is an error, as `minutes(n)` is in Rhai.
fn minutes(n: i64) -> Result<i64, String> {
    n.checked_mul(60)
        .ok_or_else(|| format!("minutes({n}) is out of range"))
}

fn shift(at: Instant, seconds: i64) -> Result<Instant, String> {
    at.seconds
        .checked_add(seconds)
        .map(|s| Instant {
            seconds: s,
            nanoseconds: at.nanoseconds,
        })
        .ok_or_else(|| "an instant is out of range".to_owned())
}

export!(Margins);
