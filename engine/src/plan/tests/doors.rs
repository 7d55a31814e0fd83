//! Aggregation at a door: caps on the merged window, a deny that holds next to an unlock, and a
//! booking's core time over another booking's margin.

use super::*;

/// Unlocks each door of the room with 15-minute margins; card + PIN instead for bookings
/// tagged `check`; a deny of `Foreningsmedlemmer` for bookings tagged `privat`.
fn hall() -> Vec<Arc<dyn RuleRuntime>> {
    vec![named_pack("hall", |b, room, _| {
        let m = Duration::minutes(15);
        let level = if b.has_tag("check") {
            DoorLevel::CardPin
        } else {
            DoorLevel::Unlocked
        };
        let mut out: Vec<Effect> = room
            .doors
            .iter()
            .map(|d| Effect::DoorMode {
                door: d.clone(),
                level,
                window: w(b.start - m, b.end + m),
            })
            .collect();
        if b.has_tag("privat") {
            out.push(Effect::Deny {
                group: "Foreningsmedlemmer".into(),
                doors: room.doors.clone(),
                window: w(b.start - m, b.end + m),
            });
        }
        Ok(out)
    })]
}

#[test]
fn the_cap_applies_to_the_merged_window_with_every_booking_behind_it() {
    // Two public bookings back to back, Saturday 07:00-17:00 and 17:00-03:00 local: each
    // effect is under 14 hours, their union (06:45-03:15, 20.5 hours) is not. It is cut to
    // 14 hours from its start, 20:45 local, and both bookings are named.
    let a = booking("A", "1", utc(28, 6, 0), utc(28, 16, 0));
    let b = booking("B", "1", utc(28, 16, 0), utc(29, 2, 0));
    let p = plan_at(&site(), &[a.clone(), b.clone()], &hall(), utc(28, 4, 0));
    assert_eq!(
        windows(&p, &door("D-1")),
        vec![w(utc(28, 5, 45), utc(28, 19, 45))]
    );
    let cut: Vec<(&str, AdjustmentKind)> = p
        .adjustments
        .iter()
        .filter(|a| a.target == door("D-1"))
        .map(|a| (a.booking.id.as_str(), a.kind))
        .collect();
    assert_eq!(
        cut,
        vec![
            ("A", AdjustmentKind::MaxLength),
            ("B", AdjustmentKind::MaxLength)
        ]
    );
    assert_eq!(
        p.adjustments[0].before,
        w(utc(28, 5, 45), utc(29, 2, 15)),
        "the merged window, 20.5 hours"
    );
    // The cut stays where it is when the first booking's window has ended: the cap is on the
    // whole merged window, whenever it began.
    let p = plan_at(&site(), &[a, b], &hall(), utc(28, 17, 0));
    assert_eq!(
        windows(&p, &door("D-1")),
        vec![w(utc(28, 5, 45), utc(28, 19, 45))]
    );
}

#[test]
fn a_deny_holds_next_to_an_unlocked_door() {
    // A private hall booking: the rule unlocks the door and denies the general members. An
    // unlocked door lets everybody in, so the door is card while the deny holds, and the
    // conflict is reported (before: unlocked, silently).
    let mut club = booking("CLUB", "1", utc(24, 13, 0), utc(24, 14, 30));
    club.tags = vec!["privat".into()];
    let open = booking("OPEN", "1", utc(24, 15, 0), utc(24, 16, 0));
    let p = plan_at(&site(), &[club, open], &hall(), utc(24, 6, 0));
    assert_eq!(
        windows(&p, &level("D-1", DoorLevel::Card)),
        vec![w(utc(24, 12, 45), utc(24, 14, 45))]
    );
    assert_eq!(
        windows(&p, &door("D-1")),
        vec![w(utc(24, 14, 45), utc(24, 16, 15))]
    );
    let c = p
        .conflicts
        .iter()
        .find(|c| c.target == door("D-1"))
        .expect("the conflict is reported");
    assert!(c.resolution.contains("denied"), "{}", c.resolution);
    assert_eq!(c.window, w(utc(24, 12, 45), utc(24, 14, 45)));
    assert_eq!(c.winners[0].id.as_str(), "CLUB");
}

#[test]
fn a_bookings_own_time_wins_over_another_bookings_margin() {
    // The Aula: a sound check 17:00-18:15 local at card + PIN (16:45-18:30 with margins), a
    // concert 18:00-20:30 unlocked (17:45-20:45). Both their own time 18:00-18:15: the more
    // secure wins. 18:15-18:30 is the concert's own time and the sound check's margin: the
    // concert's guests are not locked out. 17:45-18:00 the other way round: card + PIN.
    let mut check = booking("CHECK", "1", utc(25, 16, 0), utc(25, 17, 15));
    check.tags = vec!["check".into()];
    let concert = booking("CONCERT", "1", utc(25, 17, 0), utc(25, 19, 30));
    let p = plan_at(&site(), &[check, concert], &hall(), utc(25, 6, 0));
    assert_eq!(
        windows(&p, &level("D-1", DoorLevel::CardPin)),
        vec![w(utc(25, 15, 45), utc(25, 17, 15))]
    );
    assert_eq!(
        windows(&p, &door("D-1")),
        vec![w(utc(25, 17, 15), utc(25, 19, 45))]
    );
    let resolutions: Vec<(String, Window)> = p
        .conflicts
        .iter()
        .map(|c| (c.resolution.clone(), c.window))
        .collect();
    assert_eq!(resolutions.len(), 2, "{resolutions:#?}");
    assert!(
        resolutions.iter().any(
            |(r, win)| r.contains("more secure") && *win == w(utc(25, 16, 45), utc(25, 17, 15))
        )
    );
    assert!(
        resolutions
            .iter()
            .any(|(r, win)| r.contains("own time wins")
                && *win == w(utc(25, 17, 15), utc(25, 17, 30)))
    );
    // Both margins (no core time on either side): the more secure level wins.
    let mut late_check = booking("CHECK", "1", utc(25, 16, 0), utc(25, 17, 0));
    late_check.tags = vec!["check".into()];
    let late_concert = booking("CONCERT", "1", utc(25, 17, 20), utc(25, 19, 0));
    let p = plan_at(&site(), &[late_check, late_concert], &hall(), utc(25, 6, 0));
    // 17:05-17:15Z: the check's after-margin and the concert's before-margin.
    assert_eq!(
        windows(&p, &level("D-1", DoorLevel::CardPin)),
        vec![w(utc(25, 15, 45), utc(25, 17, 15))]
    );
}

#[test]
fn a_rule_can_say_which_part_is_margin() {
    // A cleaning round the rule marks as margin throughout: a meeting's own time beats it,
    // although card + PIN is the more secure level.
    let rules = vec![Arc::new(MarginPack) as Arc<dyn RuleRuntime>];
    let cleaning = booking("CLEAN", "1", utc(24, 16, 0), utc(24, 17, 0));
    let meeting = booking("MEET", "1", utc(24, 16, 30), utc(24, 18, 0));
    let p = plan_at(&site(), &[cleaning, meeting], &rules, utc(24, 6, 0));
    // The cleaning's card + PIN (all margin) loses to the meeting's unlocked own time from
    // 16:30; before it, nothing else is asked.
    assert_eq!(
        windows(&p, &level("D-1", DoorLevel::CardPin)),
        vec![w(utc(24, 16, 0), utc(24, 16, 30))]
    );
    assert_eq!(
        windows(&p, &door("D-1")),
        vec![w(utc(24, 16, 30), utc(24, 18, 0))]
    );
}

/// Card + PIN for `CLEAN` marked all margin (`margin(...)` in Rhai); unlocked for the rest.
struct MarginPack;

impl RuleRuntime for MarginPack {
    fn pack(&self) -> &PackInfo {
        static INFO: std::sync::OnceLock<PackInfo> = std::sync::OnceLock::new();
        INFO.get_or_init(|| PackInfo {
            name: "margin".into(),
            version: "1.0.0".into(),
            runtime: RuntimeKind::Rhai,
            dir: PathBuf::new(),
            settings: Default::default(),
        })
    }
    fn decide(&self, batch: &[Decision<'_>]) -> Vec<Result<Vec<RuledEffect>, RuleError>> {
        batch
            .iter()
            .map(|d| {
                let clean = d.booking.id.as_str() == "CLEAN";
                Ok(vec![RuledEffect {
                    effect: Effect::DoorMode {
                        door: "D-1".into(),
                        level: if clean {
                            DoorLevel::CardPin
                        } else {
                            DoorLevel::Unlocked
                        },
                        window: d.booking.window().unwrap(),
                    },
                    rule: RuleLocation {
                        file: "margin.rs".into(),
                        line: 1,
                        column: 0,
                    },
                    core: if clean {
                        crate::rules::Core::Margin
                    } else {
                        crate::rules::Core::Booking
                    },
                }])
            })
            .collect()
    }
}
