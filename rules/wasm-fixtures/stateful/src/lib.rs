//! An impure guest: it counts the calls made on its instance and unlocks door `D-CALL-<n>`
//! for the n-th call; it panics on a booking tagged `misbehave`. It shows that one instance
//! serves a batch, that a trap replaces it (the count starts again), and that the case runner's
//! purity check (the same bookings in reverse order) catches state kept between calls.

use std::sync::atomic::{AtomicU32, Ordering};

wit_bindgen::generate!({
    path: "../../wit",
    world: "rules",
});

static CALLS: AtomicU32 = AtomicU32::new(0);

struct Fixture;

impl Guest for Fixture {
    fn decide(booking: Booking, _room: Room, _ctx: Ctx) -> Result<Vec<Effect>, String> {
        let n = CALLS.fetch_add(1, Ordering::Relaxed) + 1;
        if booking.tags.iter().any(|t| t == "misbehave") {
            panic!("call {n} gave up");
        }
        Ok(vec![Effect::DoorMode(DoorMode {
            door: format!("D-CALL-{n}"),
            level: DoorLevel::Unlocked,
            window: Window {
                from: booking.start,
                to: booking.end,
            },
        })])
    }
}

export!(Fixture);
