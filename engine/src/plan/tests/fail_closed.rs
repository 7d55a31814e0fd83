//! Fail closed per pack: an error never makes a target more open than the last good decision
//! or the other packs' decisions, in both directions (a pack that decided the booking well
//! before, and one that never did).

use super::*;

/// `exam`: card + PIN on the room's doors for bookings tagged `eksamen`.
fn exam() -> Arc<dyn RuleRuntime> {
    named_pack("exam", |b, room, _| {
        if !b.has_tag("eksamen") {
            return Ok(vec![]);
        }
        Ok(room
            .doors
            .iter()
            .map(|d| Effect::DoorMode {
                door: d.clone(),
                level: DoorLevel::CardPin,
                window: b.window().unwrap(),
            })
            .collect())
    })
}

/// `notify`: the common bug, `booking.responsible.name` on a booking without one; otherwise a
/// disarm for the booking.
fn notify() -> Arc<dyn RuleRuntime> {
    named_pack("notify", |b, room, _| match &b.responsible {
        None => Err("property 'name' not found on ()".into()),
        Some(_) => Ok(room
            .alarm_zone
            .iter()
            .map(|z| Effect::Disarm {
                zone: z.clone(),
                window: b.window().unwrap(),
            })
            .collect()),
    })
}

/// `doors`: unlocks the room's doors with 15-minute margins; a deny for bookings tagged
/// `privat`.
fn doors() -> Arc<dyn RuleRuntime> {
    named_pack("doors", |b, room, _| {
        let m = Duration::minutes(15);
        let mut out: Vec<Effect> = room
            .doors
            .iter()
            .map(|d| Effect::DoorMode {
                door: d.clone(),
                level: DoorLevel::Unlocked,
                window: w(b.start - m, b.end + m),
            })
            .collect();
        if b.has_tag("privat") {
            out.push(Effect::Deny {
                group: "Foreningsmedlemmer".into(),
                doors: room.doors.clone(),
                window: b.window().unwrap(),
            });
        }
        Ok(out)
    })
}

fn exam_booking() -> Booking {
    let mut b = booking("EX", "1", utc(24, 9, 0), utc(24, 12, 0));
    b.responsible = None;
    b.tags = vec!["eksamen".into()];
    b
}

fn card_pin() -> Target {
    level("D-1", DoorLevel::CardPin)
}

#[test]
fn another_packs_failure_never_drops_a_restrictive_effect() {
    // The exam's card + PIN stays although `notify` fails on the booking; the door is not left
    // to its weekly table (before: the failure dropped every effect of the booking).
    let packs = vec![exam(), notify()];
    let p = plan_at(&site(), &[exam_booking()], &packs, utc(24, 6, 0));
    assert_eq!(
        windows(&p, &card_pin()),
        vec![w(utc(24, 9, 0), utc(24, 12, 0))]
    );
    assert_eq!(p.errors.len(), 1);
    assert_eq!(p.errors[0].pack, "notify");
    assert_eq!(p.fail_closed.len(), 1);
    assert_eq!(p.fail_closed[0].failed, vec!["notify".to_owned()]);

    // A private club booking whose other pack fails keeps its deny.
    let failing = named_pack("titles", |b, _, _| {
        if b.title.len() > 10 {
            Err("string too long".into())
        } else {
            Ok(vec![])
        }
    });
    let mut club = booking("CLUB", "1", utc(24, 18, 0), utc(24, 20, 0));
    club.tags = vec!["privat".into()];
    club.title = "Klubaften med en meget lang titel".into();
    let p = plan_at(&site(), &[club], &[doors(), failing], utc(24, 6, 0));
    let deny = Target::Deny {
        group: "Foreningsmedlemmer".into(),
        door: "D-1".into(),
    };
    assert_eq!(windows(&p, &deny), vec![w(utc(24, 18, 0), utc(24, 20, 0))]);
}

#[test]
fn a_pack_that_never_decided_the_booking_well_withholds_its_permissive_effects() {
    // `doors` unlocks, `notify` fails, and there is no last good decision of `notify` for the
    // booking: an error never opens anything, so the unlock and the disarm are withheld and
    // reported; the exam's card + PIN (restrictive) stays.
    let packs = vec![doors(), exam(), notify()];
    let planned = plan_remembering(
        &PlanInput {
            bookings: &[exam_booking()],
            packs: &packs,
            site: &site(),
            now: utc(24, 6, 0),
        },
        &Decisions::default(),
    );
    let p = &planned.plan;
    assert!(windows(p, &door("D-1")).is_empty(), "{:#?}", p.entries);
    assert_eq!(
        windows(p, &card_pin()),
        vec![w(utc(24, 9, 0), utc(24, 12, 0))]
    );
    assert!(windows(p, &Target::Zone { zone: "Z-1".into() }).is_empty());
    let f = &p.fail_closed[0];
    assert!(f.last_good.is_empty());
    assert_eq!(f.withheld, vec!["door D-1 unlocked".to_owned()]);
    // The packs that decided it well have their decisions kept; the failing one has none.
    let kept: Vec<&str> = planned.decisions.iter().map(|d| d.pack.as_str()).collect();
    assert_eq!(kept, vec!["doors", "exam"]);
}

#[test]
fn a_pack_that_fails_falls_back_on_its_last_good_decision() {
    let packs = vec![doors(), notify()];
    let mut with_person = exam_booking();
    with_person.tags.clear();
    with_person.responsible = Some(Person {
        name: "Mette".into(),
        member_no: Some("42".into()),
        ..Person::default()
    });
    let input = |bookings: &[Booking], now| {
        plan_remembering(
            &PlanInput {
                bookings,
                packs: &packs,
                site: &site(),
                now,
            },
            &Decisions::default(),
        )
    };
    // First plan: both decide well; the decisions are kept.
    let first = input(std::slice::from_ref(&with_person), utc(24, 6, 0));
    assert!(first.plan.errors.is_empty());
    assert_eq!(first.decisions.len(), 2);
    let zone = Target::Zone { zone: "Z-1".into() };
    assert_eq!(
        windows(&first.plan, &zone),
        vec![w(utc(24, 9, 0), utc(24, 12, 0))]
    );

    // Then `notify` fails on the same booking (its responsible person went missing), times
    // unchanged: its last good decision stays whole, so the disarm stays, and so do the
    // other pack's effects.
    let mut without = with_person.clone();
    without.responsible = None;
    let again = plan_remembering(
        &PlanInput {
            bookings: std::slice::from_ref(&without),
            packs: &packs,
            site: &site(),
            now: utc(24, 7, 0),
        },
        &first.decisions,
    );
    let p = &again.plan;
    assert_eq!(p.errors.len(), 1);
    assert_eq!(windows(p, &zone), vec![w(utc(24, 9, 0), utc(24, 12, 0))]);
    assert_eq!(
        windows(p, &door("D-1")),
        vec![w(utc(24, 8, 45), utc(24, 12, 15))]
    );
    let f = &p.fail_closed[0];
    assert_eq!(f.last_good.len(), 1);
    assert!(f.last_good[0].whole && f.withheld.is_empty());
    assert_eq!(f.last_good[0].decided_at, utc(24, 6, 0));
    // The failing pack's decision is carried forward unchanged; the other's keeps its time.
    assert_eq!(again.decisions, first.decisions);

    // The booking moves an hour later while `notify` still fails: the old disarm (permissive)
    // no longer holds, and the booking's unlock is withheld: nothing opens on a guess.
    let mut moved = without.clone();
    moved.start += Duration::hours(1);
    moved.end += Duration::hours(1);
    let later = plan_remembering(
        &PlanInput {
            bookings: std::slice::from_ref(&moved),
            packs: &packs,
            site: &site(),
            now: utc(24, 7, 0),
        },
        &first.decisions,
    );
    let p = &later.plan;
    assert!(windows(p, &zone).is_empty());
    assert!(windows(p, &door("D-1")).is_empty());
    let f = &p.fail_closed[0];
    assert!(!f.last_good[0].whole);
    assert_eq!(
        f.withheld,
        vec![
            "door D-1 unlocked".to_owned(),
            "zone Z-1 disarmed".to_owned()
        ]
    );
}

#[test]
fn a_last_good_restrictive_decision_holds_even_when_the_times_change() {
    // The exam pack decided card + PIN for 10:00-12:00; the booking moves to 11:00-13:00 and
    // the exam pack now fails: the old card + PIN stays (restrictive), the other pack's unlock
    // is withheld (the exam pack's decision for the new times is unknown).
    let failing_exam = named_pack("exam", |_, _, _| Err("boom".into()));
    let mut b = exam_booking();
    b.start = utc(24, 10, 0);
    b.end = utc(24, 12, 0);
    let first = plan_remembering(
        &PlanInput {
            bookings: std::slice::from_ref(&b),
            packs: &[doors(), exam()],
            site: &site(),
            now: utc(24, 6, 0),
        },
        &Decisions::default(),
    );
    b.start += Duration::hours(1);
    b.end += Duration::hours(1);
    let p = plan_remembering(
        &PlanInput {
            bookings: &[b],
            packs: &[doors(), failing_exam],
            site: &site(),
            now: utc(24, 7, 0),
        },
        &first.decisions,
    )
    .plan;
    assert_eq!(
        windows(&p, &card_pin()),
        vec![w(utc(24, 10, 0), utc(24, 12, 0))]
    );
    assert!(windows(&p, &door("D-1")).is_empty(), "{:#?}", p.entries);
    assert_eq!(
        p.fail_closed[0].withheld,
        vec!["door D-1 unlocked".to_owned()]
    );
}

#[test]
fn a_failing_booking_never_touches_another_booking() {
    let packs = vec![doors(), notify()];
    let mut ok = booking("OK", "2", utc(24, 14, 0), utc(24, 15, 0));
    ok.responsible = Some(Person {
        name: "Bo".into(),
        member_no: Some("7".into()),
        ..Person::default()
    });
    let p = plan_at(&site(), &[exam_booking(), ok], &packs, utc(24, 6, 0));
    assert_eq!(
        windows(&p, &door("D-2")),
        vec![w(utc(24, 13, 45), utc(24, 15, 15))]
    );
    assert_eq!(
        windows(&p, &door("D-1")),
        vec![w(utc(24, 13, 45), utc(24, 15, 15))]
    );
}

#[test]
fn one_failing_pack_without_a_last_good_decision_withholds_the_others_last_good_permissive_parts() {
    // `notify` decided the booking well before and now fails; `extreme` fails and never
    // decided it well. Nothing permissive of the booking stays, not even `notify`'s last good
    // disarm; the exam's card + PIN does.
    let extreme = |fails: bool| {
        named_pack("extreme", move |_, _, _| {
            if fails {
                Err("out of range".into())
            } else {
                Ok(vec![])
            }
        })
    };
    let mut b = exam_booking();
    b.responsible = Some(Person {
        name: "Mette".into(),
        ..Person::default()
    });
    let first = plan_remembering(
        &PlanInput {
            bookings: std::slice::from_ref(&b),
            packs: &[exam(), notify()],
            site: &site(),
            now: utc(24, 6, 0),
        },
        &Decisions::default(),
    );
    let zone = Target::Zone { zone: "Z-1".into() };
    assert_eq!(windows(&first.plan, &zone).len(), 1);
    b.responsible = None;
    let p = plan_remembering(
        &PlanInput {
            bookings: &[b],
            packs: &[exam(), notify(), extreme(true)],
            site: &site(),
            now: utc(24, 7, 0),
        },
        &first.decisions,
    )
    .plan;
    assert!(windows(&p, &zone).is_empty(), "{:#?}", p.entries);
    assert_eq!(
        windows(&p, &card_pin()),
        vec![w(utc(24, 9, 0), utc(24, 12, 0))]
    );
    let f = &p.fail_closed[0];
    assert_eq!(f.failed, vec!["notify".to_owned(), "extreme".to_owned()]);
    assert!(!f.last_good[0].whole);
    assert_eq!(f.withheld, vec!["zone Z-1 disarmed".to_owned()]);
}
