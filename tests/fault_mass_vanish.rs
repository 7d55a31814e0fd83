//! Most bookings vanish from the source at once (a vendor glitch, a wrong filter, a purge): the
//! poll is held back, so the doors keep following the vanished bookings and the source says so,
//! until the next poll confirms the vanish; only then are they cancelled and the rooms return to
//! normal. A booking that appears in the held-back poll still arrives at once, and a vanish of a
//! few bookings (not most) is applied straight away.

mod fault_common;

use fault_common::{BOOKED, MARGIN, NORMAL_DAY, NORMAL_NIGHT, Rig, local};
use klar_adapters::fake::FakeData;
use klar_adapters::sources::guard::Health;
use klar_engine::model::BookingStatus;

#[tokio::test]
async fn a_mass_vanish_is_held_back_until_a_second_poll_confirms_it() {
    let mut rig = Rig::start(local(8, 0)).await;
    let ids: Vec<u64> = [("Håndbold", 10), ("Badminton", 12), ("Floorball", 14)]
        .into_iter()
        .chain([("Volleyball", 16), ("Fodbold", 18)])
        .map(|(title, h)| {
            rig.fake
                .add_booking(FakeData::booking(1, title, local(h, 0), local(h + 1, 0)))
        })
        .collect();
    let first = rig.cycle(local(8, 0)).await;
    assert_eq!((first.health, first.bookings.len()), (Health::Healthy, 5));

    // Four of five vanish at once; a new booking appears in the same answer.
    for id in &ids[..4] {
        rig.fake.cancel_booking(*id);
    }
    rig.fake
        .add_booking(FakeData::booking(1, "Yoga", local(20, 0), local(21, 0)));
    let held = rig.cycle(local(9, 0)).await;
    match &held.health {
        Health::HeldBack { vanished, of } => assert_eq!((vanished.len(), *of), (4, 5)),
        other => panic!("the vanish should be held back, not {other:?}"),
    }
    // After 17:00 D-102 follows the office table to locked; the grant still lists it.
    let evening = BOOKED.replace("D-102 card", "D-102 locked");
    for h in [10, 12, 14, 16] {
        assert_eq!(rig.state(local(h, 30)), BOOKED, "held: the {h}:00 booking");
    }
    assert_eq!(rig.state(local(18, 30)), evening, "held: the 18:00 booking");
    assert_eq!(rig.state(local(20, 30)), evening, "the new booking arrives");
    assert_eq!(rig.state(local(9, 50)), MARGIN);
    assert_eq!(rig.stored().len(), 6);
    assert!(
        held.bookings
            .iter()
            .all(|b| b.status == BookingStatus::Confirmed),
        "nothing cancelled while held"
    );

    // The next poll sees the same: the vanish is confirmed and applied.
    let confirmed = rig.cycle(local(9, 1)).await;
    assert_eq!(confirmed.health, Health::Healthy);
    assert!(confirmed.actions > 0);
    for h in [10, 12, 14] {
        assert_eq!(
            rig.state(local(h, 30)),
            NORMAL_DAY,
            "confirmed: {h}:00 cancelled"
        );
    }
    assert_eq!(
        rig.state(local(16, 30)),
        NORMAL_DAY,
        "confirmed: 16:00 cancelled"
    );
    assert_eq!(rig.state(local(18, 30)), evening, "Fodbold stays");
    assert_eq!(rig.state(local(20, 30)), evening, "Yoga stays");
    assert_eq!(rig.state(local(21, 30)), NORMAL_NIGHT);
    let stored = rig.stored();
    assert_eq!(
        stored,
        [
            "håndbold cancelled",
            "badminton cancelled",
            "floorball cancelled",
            "volleyball cancelled",
            "fodbold confirmed",
            "yoga confirmed",
        ]
    );
}

#[tokio::test]
async fn a_few_cancellations_apply_at_once() {
    let mut rig = Rig::start(local(8, 0)).await;
    let ids: Vec<u64> = [10, 12, 14, 15]
        .into_iter()
        .map(|h| {
            rig.fake
                .add_booking(FakeData::booking(1, "Træning", local(h, 0), local(h, 30)))
        })
        .collect();
    rig.cycle(local(8, 0)).await;
    assert_eq!(rig.state(local(12, 10)), BOOKED);
    // One of four is cancelled in WinKAS (it just disappears): no hold, the door stays locked.
    rig.fake.cancel_booking(ids[1]);
    let cycle = rig.cycle(local(8, 1)).await;
    assert_eq!(cycle.health, Health::Healthy);
    assert_eq!(rig.state(local(12, 10)), NORMAL_DAY);
    assert_eq!(rig.state(local(10, 10)), BOOKED);
    assert_eq!(
        rig.stored(),
        [
            "træning confirmed",
            "træning cancelled",
            "træning confirmed",
            "træning confirmed"
        ]
    );
}
