//! The anchor decision in plain Rust, as a [`RuleRuntime`]: the floor the Rhai and Wasm packs
//! are measured against.
//!
//! The decision (issue 9, and the `rules/margins` pack it mirrors line for line): unlock each of
//! the room's doors from `margin_minutes` (15) before the booking to as long after it, unless the
//! booking is cancelled or starts on a holiday without the `holiday_tag` (`holiday-ok`) tag;
//! make the responsible person, when known, a member of the room's person groups for exactly
//! the booking (on holidays too). Settings are read from `ctx.settings` like the Rhai pack does.

use std::path::PathBuf;

use chrono::Duration;

use crate::model::{Booking, DoorLevel, Effect, Person, Window};
use crate::rules::{
    Ctx, Decision, PackInfo, RuleError, RuleErrorKind, RuleLocation, RuleRuntime, RuledEffect,
    RuntimeKind,
};
use crate::site::Room;

/// The anchor decision compiled into the binary.
pub struct NativeMargins {
    info: PackInfo,
    rule: RuleLocation,
}

impl NativeMargins {
    /// A native pack named `name` (use the Rhai pack's name to plan with it in its place).
    pub fn new(name: &str) -> NativeMargins {
        NativeMargins {
            info: PackInfo {
                name: name.to_owned(),
                version: "native".to_owned(),
                // There is no native runtime kind; the field only labels reports.
                runtime: RuntimeKind::Rhai,
                dir: PathBuf::from("native"),
                settings: Default::default(),
            },
            rule: RuleLocation {
                file: "native/margins.rs".to_owned(),
                line: 1,
                column: 0,
            },
        }
    }
}

/// The decision for one booking, without the runtime around it.
pub fn decide_one(booking: &Booking, room: &Room, ctx: &Ctx) -> Result<Vec<Effect>, String> {
    if booking.is_cancelled() {
        return Ok(Vec::new());
    }
    let settings = &ctx.settings;
    let margin = settings
        .get("margin_minutes")
        .and_then(toml::Value::as_integer)
        .unwrap_or(15);
    let holiday_tag = settings
        .get("holiday_tag")
        .and_then(toml::Value::as_str)
        .unwrap_or("holiday-ok");
    let mut out = Vec::with_capacity(room.doors.len() + 1);
    if !ctx.is_holiday || booking.has_tag(holiday_tag) {
        let window = Window::new(
            booking.start - Duration::minutes(margin),
            booking.end + Duration::minutes(margin),
        )
        .map_err(|e| e.to_string())?;
        out.extend(room.doors.iter().map(|door| Effect::DoorMode {
            door: door.clone(),
            level: DoorLevel::Unlocked,
            window,
        }));
    }
    if let Some(key) = booking.responsible.as_ref().and_then(Person::key)
        && !room.person_groups.is_empty()
    {
        out.push(Effect::Grant {
            person: key,
            groups: room.person_groups.clone(),
            window: booking.window().map_err(|e| e.to_string())?,
        });
    }
    Ok(out)
}

impl RuleRuntime for NativeMargins {
    fn pack(&self) -> &PackInfo {
        &self.info
    }

    fn decide(&self, batch: &[Decision<'_>]) -> Vec<Result<Vec<RuledEffect>, RuleError>> {
        batch
            .iter()
            .map(|d| {
                decide_one(d.booking, d.room, d.ctx)
                    .map(|effects| {
                        effects
                            .into_iter()
                            .map(|effect| RuledEffect {
                                effect,
                                rule: self.rule.clone(),
                                core: Default::default(),
                            })
                            .collect()
                    })
                    .map_err(|message| RuleError {
                        pack: self.info.name.clone(),
                        booking: d.booking.id.clone(),
                        kind: RuleErrorKind::Runtime,
                        message,
                        location: None,
                    })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scale::{ScaleSpec, generate};

    #[test]
    fn unlocks_with_margins_grants_pin_holders_and_skips_cancelled_and_holidays() {
        let s = generate(&ScaleSpec::municipal(5).scaled_down(100));
        let b = s
            .bookings
            .iter()
            .find(|b| !b.is_cancelled() && b.responsible.as_ref().is_some_and(|p| p.pin.is_some()))
            .expect("a booking with a PIN holder");
        let room = &s.site.rooms[&crate::model::room_key(&b.source, &b.resource)];
        let mut ctx = Ctx::for_booking(b, &s.site, Default::default());
        let effects = decide_one(b, room, &ctx).unwrap();
        assert_eq!(effects.len(), room.doors.len() + 1);
        let w = effects[0].window().unwrap();
        assert_eq!(w.from, b.start - Duration::minutes(15));
        assert_eq!(w.to, b.end + Duration::minutes(15));
        assert!(
            matches!(effects.last(), Some(Effect::Grant { window, .. }) if *window == b.window().unwrap())
        );

        // A holiday keeps the doors locked but the grant stands, unless the booking is tagged.
        ctx.is_holiday = true;
        assert_eq!(decide_one(b, room, &ctx).unwrap().len(), 1);
        let mut tagged = b.clone();
        tagged.tags.push("holiday-ok".into());
        assert_eq!(
            decide_one(&tagged, room, &ctx).unwrap().len(),
            effects.len()
        );
        ctx.is_holiday = false;
        let mut cancelled = b.clone();
        cancelled.status = crate::model::BookingStatus::Cancelled;
        assert!(decide_one(&cancelled, room, &ctx).unwrap().is_empty());
    }
}
