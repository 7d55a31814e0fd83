//! A guest that panics on a booking tagged `misbehave` (a trap: `unreachable` under panic = abort).

wit_bindgen::generate!({
    path: "../../wit",
    world: "rules",
});

struct Fixture;

impl Guest for Fixture {
    fn decide(booking: Booking, room: Room, _ctx: Ctx) -> Result<Vec<Effect>, String> {
        if booking.tags.iter().any(|t| t == "misbehave") {
            panic!("the rule gave up on {}", booking.id);
        }
        Ok(unlock_doors(&booking, &room))
    }
}

/// What a well-behaved rule does: the room's doors unlocked for the booking.
fn unlock_doors(booking: &Booking, room: &Room) -> Vec<Effect> {
    room.doors
        .iter()
        .map(|door| {
            Effect::DoorMode(DoorMode {
                door: door.clone(),
                level: DoorLevel::Unlocked,
                window: Window {
                    from: booking.start,
                    to: booking.end,
                },
            })
        })
        .collect()
}

export!(Fixture);
