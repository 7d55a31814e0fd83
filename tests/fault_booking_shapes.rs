//! Bookings of awkward shapes, read from WinKAS and applied to the simulator: one across
//! midnight keeps the door open through it; one longer than the site's cap is cut to the cap
//! (reported as an adjustment) and the door locks when the cap says; one that ends before it
//! starts never reaches a door: from WinKAS it is set aside on its own (the source reports it,
//! naming the booking; the rest of the answer is used and a booking klar knew under that id
//! stays as it was), and in a bookings file the planner rejects it with its reason.

mod fault_common;

use chrono::{DateTime, Duration, TimeZone, Utc};
use chrono_tz::Europe::Copenhagen;
use fault_common::{BOOKED, MARGIN, NORMAL_DAY, NORMAL_NIGHT, Rig, Site, controller, local, night};
use klar_adapters::fake::FakeData;
use klar_adapters::sources::guard::Health;
use klar_engine::plan::{AdjustmentKind, PlanInput, plan};

/// Tuesday 24 November 2026, local.
fn tuesday(h: u32, m: u32) -> DateTime<Utc> {
    Copenhagen
        .with_ymd_and_hms(2026, 11, 24, h, m, 0)
        .single()
        .expect("a local time")
        .with_timezone(&Utc)
}

#[tokio::test]
async fn a_booking_across_midnight() {
    let mut rig = Rig::start(local(20, 0)).await;
    rig.fake.add_booking(FakeData::booking(
        1,
        "Natfodbold",
        local(22, 0),
        tuesday(2, 0),
    ));
    assert_eq!(rig.cycle(local(20, 0)).await.health, Health::Healthy);
    for (at, expected, what) in [
        (local(21, 40), NORMAL_NIGHT.to_owned(), "21:40"),
        (local(21, 50), night(MARGIN), "21:50, the margin"),
        (local(23, 59), night(BOOKED), "23:59"),
        (tuesday(0, 0), night(BOOKED), "00:00"),
        (tuesday(1, 59), night(BOOKED), "01:59"),
        (tuesday(2, 10), night(MARGIN), "02:10, the margin"),
        (tuesday(2, 20), NORMAL_NIGHT.to_owned(), "02:20"),
    ] {
        assert_eq!(rig.state(at), expected, "{what}");
    }
    // Planned again after midnight, the rest of the booking still holds.
    rig.cycle(tuesday(0, 30)).await;
    assert_eq!(rig.state(tuesday(1, 0)), night(BOOKED));
    assert_eq!(rig.state(tuesday(2, 20)), NORMAL_NIGHT);
}

#[tokio::test]
async fn a_booking_longer_than_the_cap_is_cut_to_it() {
    let site = Site::with(&format!(
        "{}\n[site.caps]\nmax_window_hours = 14\n",
        controller::SITE
    ));
    let mut rig = Rig::with_site(local(5, 0), site, controller::Margins::pack()).await;
    // 06:00-23:00 is 17 hours; with the margins the door asks for 05:45-23:15.
    rig.fake
        .add_booking(FakeData::booking(1, "Stævne", local(6, 0), local(23, 0)));
    let cycle = rig.cycle(local(5, 0)).await;
    assert!(
        cycle
            .plan
            .adjustments
            .iter()
            .any(|a| a.kind == AdjustmentKind::MaxLength),
        "{:#?}",
        cycle.plan.adjustments
    );
    assert_eq!(rig.state(local(5, 50)), night(MARGIN));
    assert_eq!(rig.state(local(18, 0)), night(BOOKED));
    // 14 hours after 05:45 the door, zone and lights return to normal.
    let cut = local(5, 45) + Duration::hours(14);
    assert_eq!(
        rig.state(cut - Duration::minutes(1))
            .split(", halls:member")
            .next()
            .map(str::to_owned),
        Some(night(MARGIN))
    );
    assert!(
        rig.state(cut).starts_with(NORMAL_NIGHT),
        "{}",
        rig.state(cut)
    );
    assert!(
        rig.state(local(22, 30)).starts_with(NORMAL_NIGHT),
        "{}",
        rig.state(local(22, 30))
    );
}

#[tokio::test]
async fn a_booking_ending_before_it_starts_is_rejected() {
    let mut rig = Rig::start(local(8, 0)).await;
    let known = rig
        .fake
        .add_booking(FakeData::booking(1, "Håndbold", local(10, 0), local(11, 0)));
    assert_eq!(rig.cycle(local(8, 0)).await.health, Health::Healthy);

    // Someone types the times the wrong way round in WinKAS, in a new booking and in the known
    // one; a third booking, typed right, is added at the same time.
    rig.fake
        .add_booking(FakeData::booking(1, "Omvendt", local(15, 0), local(14, 0)));
    assert!(rig.fake.move_booking(known, local(11, 0), local(10, 0)));
    rig.fake.add_booking(FakeData::booking(
        1,
        "Badminton",
        local(17, 0),
        local(18, 0),
    ));
    let cycle = rig.cycle(local(8, 1)).await;
    match &cycle.health {
        Health::Unusable { problems } => {
            assert_eq!(problems.len(), 2, "{problems:?}");
            assert!(
                problems.iter().any(|p| p.contains(
                    "Stop (23-11-2026 14:00:00) is not after Start (23-11-2026 15:00:00)"
                )),
                "{problems:?}"
            );
        }
        other => panic!("the source should report the unusable bookings, not {other:?}"),
    }
    assert_eq!(
        rig.state(local(10, 30)),
        BOOKED,
        "the known booking stays as it was"
    );
    assert_eq!(rig.state(local(14, 30)), NORMAL_DAY, "never unlocked");
    assert_eq!(
        rig.state(local(17, 30)),
        night(BOOKED),
        "the good booking arrives"
    );
    assert_eq!(rig.stored(), ["håndbold confirmed", "badminton confirmed"]);

    // Put right in WinKAS: the known booking follows at the next poll.
    assert!(rig.fake.move_booking(known, local(12, 0), local(13, 0)));
    let cycle = rig.cycle(local(8, 2)).await;
    assert!(matches!(&cycle.health, Health::Unusable { problems } if problems.len() == 1));
    assert_eq!(
        rig.state(local(10, 30)),
        NORMAL_DAY,
        "{}",
        rig.state(local(10, 30))
    );
    assert_eq!(rig.state(local(12, 30)), BOOKED);

    // The same booking in a bookings file (klar plan, klar sync): rejected, named, no effect.
    let mut reversed = cycle.bookings[0].clone();
    reversed.id = "W-REV".into();
    reversed.title = "Omvendt".into();
    (reversed.start, reversed.end) = (local(15, 0), local(14, 0));
    let site = Site::new();
    let p = plan(&PlanInput {
        bookings: &[reversed],
        packs: &controller::Margins::pack(),
        site: &site.config,
        now: local(8, 0),
    });
    assert!(p.entries.is_empty(), "{:#?}", p.entries);
    assert_eq!(p.rejected.len(), 1);
    assert_eq!(p.rejected[0].booking.id.as_str(), "W-REV");
    assert!(
        p.rejected[0].reason.contains("ends before"),
        "{}",
        p.rejected[0].reason
    );
}
