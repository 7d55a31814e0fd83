//! A source that answers, but badly: garbage (HTTP 200 with broken JSON), HTTP 200 with the
//! vendor's error envelope, an HTML error page, and an empty list. None of them deletes a known
//! booking or unlocks a door: the garbage and the errors mark the source degraded and keep the
//! last good snapshot (in force and in the store); the empty list is held back. When the vendor
//! answers properly again, everything is as before.

mod fault_common;

use chrono::Duration;
use fault_common::{BOOKED, MARGIN, NORMAL_DAY, NORMAL_NIGHT, Rig, local};
use klar_adapters::fake::{FakeData, Fault};
use klar_adapters::sources::guard::Health;

const STORED: [&str; 4] = [
    "håndbold confirmed",
    "badminton confirmed",
    "floorball confirmed",
    "volleyball confirmed",
];

async fn rig_with_four_bookings() -> Rig {
    let mut rig = Rig::start(local(8, 0)).await;
    for (title, h) in [
        ("Håndbold", 10),
        ("Badminton", 12),
        ("Floorball", 14),
        ("Volleyball", 16),
    ] {
        rig.fake
            .add_booking(FakeData::booking(1, title, local(h, 0), local(h + 1, 0)));
    }
    let first = rig.cycle(local(8, 0)).await;
    assert_eq!((first.health, first.bookings.len()), (Health::Healthy, 4));
    rig
}

/// The doors follow all four bookings, from `now` on.
fn assert_all_four_in_force(rig: &Rig, when: &str) {
    for h in [10, 12, 14, 16] {
        assert_eq!(
            rig.state(local(h, 30)),
            BOOKED,
            "{when}: the {h}:00 booking"
        );
        // D-102 follows the office table: card until 17:00, locked after.
        let after = if h + 1 < 17 { NORMAL_DAY } else { NORMAL_NIGHT };
        assert_eq!(
            rig.state(local(h + 1, 20)),
            after,
            "{when}: after the {h}:00 booking"
        );
    }
    assert_eq!(rig.stored(), STORED, "{when}: the store");
}

#[tokio::test]
async fn garbage_and_error_envelopes_keep_the_last_good_snapshot() {
    let mut rig = rig_with_four_bookings().await;
    let faults = [
        (Fault::MalformedJson, "malformed"),
        (Fault::ErrorEnvelope, "uventet fejl"),
        (Fault::Html500, "500"),
    ];
    for (i, (fault, words)) in faults.into_iter().enumerate() {
        let now = local(8, 10) + Duration::minutes(10 * i as i64);
        // Enough for every request of the poll, its retries and the re-login.
        rig.fake.push_fault(fault.clone(), 20);
        let cycle = rig.cycle(now).await;
        rig.fake.clear_faults();
        match &cycle.health {
            Health::Degraded {
                error,
                as_of: Some(at),
                ..
            } => {
                assert_eq!(*at, local(8, 0), "{fault:?}");
                assert!(
                    error.to_lowercase().contains(words),
                    "{fault:?}: {error:?} should say {words:?}"
                );
            }
            other => panic!("{fault:?}: the source should be degraded, not {other:?}"),
        }
        assert_eq!(cycle.bookings.len(), 4, "{fault:?}");
        assert!(cycle.plan.errors.is_empty(), "{fault:?}");
        assert_all_four_in_force(&rig, &format!("{fault:?}"));
        assert_eq!(rig.state(now), NORMAL_DAY, "{fault:?}");
    }
    // Answering properly again: healthy, the same four, no change on the controller.
    let back = rig.cycle(local(9, 0)).await;
    assert_eq!(back.health, Health::Healthy);
    assert_eq!(back.actions, 0, "nothing to redo");
    assert_all_four_in_force(&rig, "back");
}

#[tokio::test]
async fn an_empty_list_is_held_back_and_a_good_answer_restores_it() {
    let mut rig = rig_with_four_bookings().await;
    let kept = rig.fake.bookings();
    // One glitch: the calendar comes back empty (HTTP 200, well formed).
    rig.fake.clear_bookings();
    let glitch = rig.cycle(local(9, 40)).await;
    match &glitch.health {
        Health::HeldBack { vanished, of } => assert_eq!((vanished.len(), *of), (4, 4)),
        other => panic!("the empty answer should be held back, not {other:?}"),
    }
    assert_eq!(rig.state(local(9, 40)), NORMAL_DAY);
    assert_eq!(
        rig.state(local(9, 50)),
        MARGIN,
        "the door still opens at 09:45"
    );
    assert_all_four_in_force(&rig, "held back");

    // The next poll has them all again: nothing was lost, nothing changes on the controller.
    for b in kept {
        rig.fake.add_booking(b);
    }
    let back = rig.cycle(local(9, 41)).await;
    assert_eq!(back.health, Health::Healthy);
    assert_eq!(back.actions, 0);
    assert_all_four_in_force(&rig, "back");
}
