//! A guest that lists the host's directories (WASI's `wasi:filesystem/preopens`) on a booking
//! tagged `misbehave`. klar's rules may import nothing: the host refuses this component at load.

wit_bindgen::generate!({
    inline: "package klar:fixture; world filesystem { include klar:rules/rules@1.0.0; import wasi:filesystem/preopens@0.2.0; }",
    path: ["../../wit/klar-rules.wit", "../wasi-wit/filesystem.wit"],
    world: "klar:fixture/filesystem",
    generate_all,
});

struct Fixture;

impl Guest for Fixture {
    fn decide(booking: Booking, room: Room, _ctx: Ctx) -> Result<Vec<Effect>, String> {
        if booking.tags.iter().any(|t| t == "misbehave") {
            // What a rule must not do: read files.
            let dirs = wasi::filesystem::preopens::get_directories();
            return Err(format!("found {} directories", dirs.len()));
        }
        Ok(room
            .doors
            .iter()
            .map(|door| {
                Effect::DoorMode(DoorMode {
                    door: door.clone(),
                    level: DoorLevel::Unlocked,
                    window: Window { from: booking.start, to: booking.end },
                })
            })
            .collect())
    }
}

export!(Fixture);
