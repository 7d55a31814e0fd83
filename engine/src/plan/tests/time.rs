//! Time at the planner: a booking that has ended keeps what it caused until that ends on its
//! own; the site's safety margins bound every window; the one DST policy at `earliest_local`.

use super::*;

/// The school's shape: doors and the responsible person's grant with `margin` minutes either
/// side, the alarm with 30 before and 15 after, and the lights with 10 and 5.
fn school(margin: i64) -> impl Fn(&Booking, &Room, &Ctx) -> Result<Vec<Effect>, String> {
    move |b, room, _| {
        let m = Duration::minutes(margin);
        let doors = w(b.start - m, b.end + m);
        let mut out: Vec<Effect> = room
            .doors
            .iter()
            .map(|d| Effect::DoorMode {
                door: d.clone(),
                level: DoorLevel::Unlocked,
                window: doors,
            })
            .collect();
        if let Some(zone) = &room.alarm_zone {
            out.push(Effect::Disarm {
                zone: zone.clone(),
                window: w(
                    b.start - Duration::minutes(30),
                    b.end + Duration::minutes(15),
                ),
            });
        }
        out.push(Effect::SwitchOn {
            output: "K-LYS".into(),
            window: w(
                b.start - Duration::minutes(10),
                b.end + Duration::minutes(5),
            ),
        });
        if let Some(person) = b.responsible.as_ref().and_then(Person::key) {
            out.push(Effect::Grant {
                person,
                groups: room.person_groups.clone(),
                window: doors,
            });
        }
        Ok(out)
    }
}

#[test]
fn a_booking_that_ended_keeps_its_after_margins_until_they_end() {
    // 11:20-11:34 local (10:20Z-10:34Z), planned six seconds after it ended: the door, the
    // alarm, the lights and the grant stay until their own ends.
    let b = booking("A", "1", utc(23, 10, 20), utc(23, 10, 34));
    let packs = vec![named_pack("school", school(15))];
    let after = utc(23, 10, 34) + Duration::seconds(6);
    let p = plan_at(&site(), std::slice::from_ref(&b), &packs, after);
    assert_eq!(
        windows(&p, &door("D-1")),
        vec![w(utc(23, 10, 5), utc(23, 10, 49))]
    );
    assert_eq!(
        windows(
            &p,
            &Target::Zone {
                zone: ZoneId::new("Z-1")
            }
        ),
        vec![w(utc(23, 9, 50), utc(23, 10, 49))]
    );
    assert_eq!(
        windows(
            &p,
            &Target::Output {
                output: "K-LYS".into()
            }
        ),
        vec![w(utc(23, 10, 10), utc(23, 10, 39))]
    );
    let member = Target::Membership {
        person: "halls:member:42".into(),
        group: GroupId::new("Hal"),
    };
    assert_eq!(
        windows(&p, &member),
        vec![w(utc(23, 10, 5), utc(23, 10, 49))]
    );
    // Each goes at its own end.
    let p = plan_at(&site(), std::slice::from_ref(&b), &packs, utc(23, 10, 40));
    assert!(
        windows(
            &p,
            &Target::Output {
                output: "K-LYS".into()
            }
        )
        .is_empty()
    );
    assert_eq!(windows(&p, &door("D-1")).len(), 1);
    let p = plan_at(&site(), &[b], &packs, utc(23, 10, 49));
    assert!(p.entries.is_empty(), "{:#?}", p.entries);
}

#[test]
fn after_margins_longer_than_an_hour_outlive_the_booking() {
    // 17:00-18:00 local with 90-minute margins: at 19:00:30 the door is still open until 19:30.
    // (Before: the planner dropped a booking an hour after its end, and the door with it.)
    let b = booking("A", "1", utc(23, 16, 0), utc(23, 17, 0));
    let packs = vec![named_pack("school", school(90))];
    let p = plan_at(
        &site(),
        &[b],
        &packs,
        utc(23, 18, 0) + Duration::seconds(30),
    );
    assert_eq!(
        windows(&p, &door("D-1")),
        vec![w(utc(23, 14, 30), utc(23, 18, 30))]
    );
}

#[test]
fn an_open_house_day_type_lasts_its_whole_day_after_the_booking_ends() {
    let rules = vec![named_pack("calendar", |_, _, ctx| {
        let d = ctx.local_start.date();
        Ok(vec![Effect::DayType {
            from: d,
            to: d,
            day: DayKind::Special("open_house".into()),
        }])
    })];
    // 10:00-14:00 local, planned at 15:30 and at 23:30 local: the open house stays until local
    // midnight (23:00Z), then goes.
    let b = booking("A", "1", utc(28, 9, 0), utc(28, 13, 0));
    let open_house = Target::Day {
        day: DayKind::Special("open_house".into()),
    };
    for now in [utc(28, 14, 30), utc(28, 22, 30)] {
        let p = plan_at(&site(), std::slice::from_ref(&b), &rules, now);
        assert_eq!(
            windows(&p, &open_house),
            vec![w(utc(27, 23, 0), utc(28, 23, 0))],
            "at {now}"
        );
    }
    let p = plan_at(&site(), &[b], &rules, utc(28, 23, 0));
    assert!(windows(&p, &open_house).is_empty());
}

#[test]
fn safety_margins_cut_what_can_open_and_report_it() {
    // The rule asks for three hours either side; the site allows two (the default). A door
    // locked for the evening and a deny only close: they stay as asked.
    let rules = vec![named_pack("wide", |b, _, _| {
        let h = Duration::hours;
        Ok(vec![
            Effect::DoorMode {
                door: "D-1".into(),
                level: DoorLevel::Unlocked,
                window: w(b.start - h(3), b.end + h(3)),
            },
            Effect::Grant {
                person: "member:42".into(),
                groups: vec!["Hal".into()],
                window: w(b.start - h(3), b.end),
            },
            Effect::DoorMode {
                door: "D-2".into(),
                level: DoorLevel::Locked,
                window: w(b.end, b.end + h(5)),
            },
            Effect::Deny {
                group: "Alle".into(),
                doors: vec!["D-2".into()],
                window: w(b.start - h(4), b.end + h(4)),
            },
            // Entirely before the reach: nothing is left of it.
            Effect::Disarm {
                zone: "Z-1".into(),
                window: w(b.start - h(6), b.start - h(5)),
            },
        ])
    })];
    let b = booking("A", "1", utc(24, 12, 0), utc(24, 13, 0));
    let p = plan_at(&site(), &[b], &rules, utc(24, 6, 0));
    assert_eq!(
        windows(&p, &door("D-1")),
        vec![w(utc(24, 10, 0), utc(24, 15, 0))]
    );
    assert_eq!(
        windows(&p, &level("D-2", DoorLevel::Locked)),
        vec![w(utc(24, 13, 0), utc(24, 18, 0))]
    );
    assert_eq!(
        windows(
            &p,
            &Target::Deny {
                group: "Alle".into(),
                door: "D-2".into()
            }
        ),
        vec![w(utc(24, 8, 0), utc(24, 17, 0))]
    );
    assert!(windows(&p, &Target::Zone { zone: "Z-1".into() }).is_empty());
    let cuts: Vec<(String, Option<Window>)> = p
        .adjustments
        .iter()
        .filter(|a| a.kind == AdjustmentKind::SafetyMargin)
        .map(|a| (a.target.to_string(), a.after))
        .collect();
    assert_eq!(
        cuts,
        vec![
            (
                "door D-1 unlocked".into(),
                Some(w(utc(24, 10, 0), utc(24, 15, 0)))
            ),
            ("zone Z-1 disarmed".into(), None),
            (
                "person halls:member:42 in group Hal".into(),
                Some(w(utc(24, 10, 0), utc(24, 13, 0)))
            ),
        ]
    );
    // A site that declares shorter margins gets them.
    let short = site_with("[site.safety]\nmax_before_minutes = 30\nmax_after_minutes = 0");
    let b = booking("A", "1", utc(24, 12, 0), utc(24, 13, 0));
    let p = plan_at(&short, &[b], &rules, utc(24, 6, 0));
    assert_eq!(
        windows(&p, &door("D-1")),
        vec![w(utc(24, 11, 30), utc(24, 13, 0))]
    );
}

#[test]
fn an_earliest_hour_in_the_spring_gap_moves_the_start_to_the_end_of_the_gap() {
    // 2027-03-28: 02:00 -> 03:00 in Copenhagen. `earliest_local = "02:30"` does not exist that
    // night; a window from 01:30 local moves to 03:00 CEST (01:00Z) rather than vanishing.
    let site = SiteConfig::parse(
        &SITE.replace("earliest_local = \"06:00\"", "earliest_local = \"02:30\""),
        Path::new("site.toml"),
        PathBuf::new(),
    )
    .unwrap();
    let rules = vec![named_pack("lights", |b, _, _| {
        Ok(vec![Effect::SwitchOn {
            output: "K-1".into(),
            window: b.window().unwrap(),
        }])
    })];
    let at = |h, m| Utc.with_ymd_and_hms(2027, 3, 28, h, m, 0).unwrap();
    let b = booking("A", "1", at(0, 30), at(3, 0));
    let p = plan_at(&site, &[b], &rules, at(0, 0));
    assert_eq!(
        windows(
            &p,
            &Target::Output {
                output: "K-1".into()
            }
        ),
        vec![w(at(1, 0), at(3, 0))]
    );
    assert_eq!(p.adjustments[0].kind, AdjustmentKind::EarliestStart);
}
