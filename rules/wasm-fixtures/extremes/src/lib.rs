//! A guest that returns the extreme effects its settings describe on a booking tagged
//! `extreme`, for the property test that no effect value a rule can return stops the planner
//! (tests/props_extreme_effects.rs): a door unlocked from `from_seconds` to `to_seconds`, a
//! holiday from `from_year`-`from_month`-`from_day` to `to_year`-`to_month`-`to_day`, and an
//! alarm zone whose id is `id_len` bytes long. Any other booking gets its doors unlocked.

wit_bindgen::generate!({
    path: "../../wit",
    world: "rules",
});

struct Fixture;

fn int(ctx: &Ctx, name: &str) -> i64 {
    ctx.settings
        .iter()
        .find(|(n, _)| n == name)
        .and_then(|(_, s)| match s {
            Setting::Integer(i) => Some(*i),
            _ => None,
        })
        .unwrap_or(0)
}

impl Guest for Fixture {
    fn decide(booking: Booking, room: Room, ctx: Ctx) -> Result<Vec<Effect>, String> {
        let door = room.doors.first().cloned().unwrap_or_else(|| "D".into());
        if !booking.tags.iter().any(|t| t == "extreme") {
            return Ok(vec![Effect::DoorMode(DoorMode {
                door,
                level: DoorLevel::Unlocked,
                window: Window {
                    from: booking.start,
                    to: booking.end,
                },
            })]);
        }
        let at = |seconds: i64| Instant {
            seconds,
            nanoseconds: 0,
        };
        let date = |prefix: &str| Date {
            year: int(&ctx, &format!("{prefix}_year")) as i32,
            month: int(&ctx, &format!("{prefix}_month")) as u8,
            day: int(&ctx, &format!("{prefix}_day")) as u8,
        };
        Ok(vec![
            Effect::DoorMode(DoorMode {
                door,
                level: DoorLevel::Unlocked,
                window: Window {
                    from: at(int(&ctx, "from_seconds")),
                    to: at(int(&ctx, "to_seconds")),
                },
            }),
            Effect::DayType(DayType {
                from: date("from"),
                to: date("to"),
                day: DayKind::Holiday,
            }),
            Effect::Disarm(Disarm {
                zone: "Z".repeat(int(&ctx, "id_len").clamp(0, 1 << 16) as usize),
                window: Window {
                    from: booking.start,
                    to: booking.end,
                },
            }),
        ])
    }
}

export!(Fixture);
