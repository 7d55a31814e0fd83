//! A guest that loops forever on a booking tagged `misbehave`: the time or fuel limit must stop it.

wit_bindgen::generate!({
    path: "../../wit",
    world: "rules",
});

struct Fixture;

impl Guest for Fixture {
    fn decide(booking: Booking, room: Room, _ctx: Ctx) -> Result<Vec<Effect>, String> {
        if booking.tags.iter().any(|t| t == "misbehave") {
            let mut n: u64 = 0;
            loop {
                n = std::hint::black_box(n.wrapping_add(1));
            }
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
