//! A guest that reads the wall clock (WASI's `wasi:clocks/wall-clock`) on a booking tagged
//! `misbehave`. klar's rules may import nothing: the host refuses this component at load.

wit_bindgen::generate!({
    inline: "package klar:fixture; world clock { include klar:rules/rules@1.0.0; import wasi:clocks/wall-clock@0.2.0; }",
    path: ["../../wit/klar-rules.wit", "../wasi-wit/clocks.wit"],
    world: "klar:fixture/clock",
    generate_all,
});

struct Fixture;

impl Guest for Fixture {
    fn decide(booking: Booking, room: Room, _ctx: Ctx) -> Result<Vec<Effect>, String> {
        let mut from = booking.start;
        if booking.tags.iter().any(|t| t == "misbehave") {
            // What a rule must not do: decide by the time it runs.
            let now = wasi::clocks::wall_clock::now();
            from.seconds = now.seconds as i64;
        }
        Ok(unlock_doors(from, booking.end, &room))
    }
}

fn unlock_doors(from: Instant, to: Instant, room: &Room) -> Vec<Effect> {
    room.doors
        .iter()
        .map(|door| {
            Effect::DoorMode(DoorMode {
                door: door.clone(),
                level: DoorLevel::Unlocked,
                window: Window { from, to },
            })
        })
        .collect()
}

export!(Fixture);
