//! A guest that resolves a host name (WASI's `wasi:sockets/ip-name-lookup`) on a booking tagged
//! `misbehave`. klar's rules may import nothing: the host refuses this component at load.

wit_bindgen::generate!({
    inline: "package klar:fixture; world sockets { include klar:rules/rules@1.0.0; import wasi:sockets/ip-name-lookup@0.2.0; }",
    path: ["../../wit/klar-rules.wit", "../wasi-wit/sockets.wit"],
    world: "klar:fixture/sockets",
    generate_all,
});

struct Fixture;

impl Guest for Fixture {
    fn decide(booking: Booking, room: Room, _ctx: Ctx) -> Result<Vec<Effect>, String> {
        if booking.tags.iter().any(|t| t == "misbehave") {
            // What a rule must not do: reach the network.
            let found = wasi::sockets::ip_name_lookup::resolve_addresses(&booking.title);
            return Err(format!("resolved {} addresses", found.len()));
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
