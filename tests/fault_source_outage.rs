//! A vendor outage across a booking's start and its end: WinKAS is down from before the door
//! opens until after it closes. Every cycle of the outage fails to poll, yet the door, the zone,
//! the lights and the person follow the known booking minute by minute (the last good snapshot
//! stays in force), the store keeps that snapshot, and nothing is lost when the vendor is back.

mod fault_common;

use chrono::Duration;
use fault_common::{BOOKED, MARGIN, NORMAL_DAY, Rig, local};
use klar_adapters::fake::FakeData;
use klar_adapters::sources::guard::Health;

#[tokio::test]
async fn known_bookings_open_and_close_doors_through_an_outage() {
    let t0 = local(9, 0);
    let mut rig = Rig::start(t0).await;
    rig.fake
        .add_booking(FakeData::booking(1, "Håndbold", local(10, 0), local(11, 0)));
    rig.fake.add_booking(FakeData::booking(
        1,
        "Badminton",
        local(14, 0),
        local(15, 0),
    ));
    let first = rig.cycle(t0).await;
    assert_eq!((first.health, first.bookings.len()), (Health::Healthy, 2));
    assert_eq!(rig.state(t0), NORMAL_DAY);

    // Down from 09:05 to 11:35: across Håndbold's margin (09:45) and end (11:15).
    rig.fake.take_down().await;
    let expected = |minute: i64| match minute {
        // 09:00 + minute
        ..45 => NORMAL_DAY,
        45..60 => MARGIN,
        60..120 => BOOKED,
        120..135 => MARGIN,
        _ => NORMAL_DAY,
    };
    for minute in (10..=150).step_by(5) {
        let now = t0 + Duration::minutes(minute);
        let cycle = rig.cycle(now).await;
        assert!(
            matches!(
                &cycle.health,
                Health::Degraded { transient: true, as_of: Some(at), .. } if *at == t0
            ),
            "at 09:00 + {minute} min: {:?}",
            cycle.health
        );
        assert_eq!(rig.state(now), expected(minute), "at 09:00 + {minute} min");
        // Badminton, later today, is still planned.
        assert_eq!(rig.state(local(14, 30)), BOOKED, "at 09:00 + {minute} min");
        // The store still holds the snapshot taken before the outage.
        assert_eq!(
            rig.stored(),
            ["håndbold confirmed", "badminton confirmed"],
            "at 09:00 + {minute} min"
        );
    }

    // Back at 11:40: Håndbold has ended but stays in the snapshot as it was (not cancelled)
    // until its after-margins could have ended; Badminton stays.
    rig.fake.bring_up().await.expect("the fake comes back");
    let now = local(11, 40);
    let back = rig.cycle(now).await;
    assert_eq!(back.health, Health::Healthy);
    assert_eq!(rig.stored(), ["håndbold confirmed", "badminton confirmed"]);
    assert_eq!(rig.state(now), NORMAL_DAY);
    assert_eq!(rig.state(local(13, 50)), MARGIN);
    assert_eq!(rig.state(local(14, 30)), BOOKED);
    assert_eq!(rig.state(local(15, 20)), NORMAL_DAY);
    // Nothing was cancelled: the audit has no cancellation, only what the bookings created
    // and what ran out.
    let audit = rig.site.store().audit(100).expect("read the audit");
    assert!(
        audit
            .iter()
            .all(|a| a.reason != klar_engine::reconcile::ChangeReason::Cancelled),
        "{audit:#?}"
    );
}
