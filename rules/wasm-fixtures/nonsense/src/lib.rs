//! A guest that returns nonsense on a booking tagged `misbehave`: an empty door and a window that ends before it starts. The host must refuse it.

wit_bindgen::generate!({
    path: "../../wit",
    world: "rules",
});

struct Fixture;

impl Guest for Fixture {
    fn decide(booking: Booking, room: Room, _ctx: Ctx) -> Result<Vec<Effect>, String> {
        if booking.tags.iter().any(|t| t == "misbehave") {
            let (start, end) = (booking.start, booking.end);
            return Ok(vec![
                Effect::DoorMode(DoorMode {
                    door: String::new(),
                    level: DoorLevel::Locked,
                    window: Window {
                        from: start,
                        to: end,
                    },
                }),
                Effect::DoorMode(DoorMode {
                    door: "D-NOWHERE".into(),
                    level: DoorLevel::Unlocked,
                    window: Window {
                        from: end,
                        to: start,
                    },
                }),
            ]);
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
