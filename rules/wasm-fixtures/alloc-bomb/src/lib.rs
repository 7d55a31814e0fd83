//! A guest that allocates without bound on a booking tagged `misbehave`: the memory cap must stop it.

wit_bindgen::generate!({
    path: "../../wit",
    world: "rules",
});

struct Fixture;

impl Guest for Fixture {
    fn decide(booking: Booking, room: Room, _ctx: Ctx) -> Result<Vec<Effect>, String> {
        if booking.tags.iter().any(|t| t == "misbehave") {
            let mut hoard: Vec<Vec<u8>> = Vec::new();
            loop {
                // Reserved, not written: the memory grows as fast as the allocator can ask.
                hoard.push(std::hint::black_box(Vec::with_capacity(1 << 20)));
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
