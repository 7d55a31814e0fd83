//! What is in force after a poll: the [`SnapshotGuard`] takes each poll result and the last good
//! snapshot and decides. Pure: no clock, no store, no network.
//!
//! - A failed or malformed fetch never reads as "no bookings": the last good snapshot stays in
//!   force and the source is marked degraded.
//! - Inside the polled window the source is the authority: a booking it no longer reports is
//!   cancelled (kept, marked cancelled, until it ends, so the room is returned to normal).
//!   Outside the window the last snapshot's bookings stay as they were.
//! - A booking that has ended is not cancelled, whatever the source says of it afterwards: it
//!   stays as klar knew it when it ended for as long as its windows can last
//!   ([`Retention`]: the site's longest after-margin, and the rest of the day for day types),
//!   so its after-margins, re-arm and grants end on their own. Only a later end from the source
//!   (the booking was extended) replaces it.
//! - A poll in which most live bookings vanish at once (more than `vanish_fraction` of them and
//!   more than `vanish_min`) is held back: the vanished bookings stay in force and the poll is
//!   reported, until the next poll confirms it.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use klar_engine::model::{Booking, BookingId, BookingStatus, SourceName, Window};
use klar_engine::site::Retention;
use serde::{Deserialize, Serialize};
use tracing::{info, warn};

use super::{PollOutcome, SourceError};

/// The last good state of one source, as the store keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    pub source: SourceName,
    pub taken_at: DateTime<Utc>,
    /// The window the last poll covered.
    pub window: Window,
    pub bookings: Vec<Booking>,
}

/// When a poll counts as "most bookings vanished at once".
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GuardConfig {
    /// More than this fraction of the live bookings in the window...
    pub vanish_fraction: f64,
    /// ...and more than this many.
    pub vanish_min: usize,
}

impl Default for GuardConfig {
    fn default() -> Self {
        GuardConfig {
            vanish_fraction: 0.5,
            vanish_min: 3,
        }
    }
}

/// A source's health after a poll.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Health {
    Healthy,
    /// The poll failed; the snapshot taken at `as_of` stays in force (none if there is none).
    Degraded {
        error: String,
        transient: bool,
        as_of: Option<DateTime<Utc>>,
    },
    /// Most bookings vanished at once; they stay in force until the next poll confirms.
    HeldBack {
        vanished: Vec<BookingId>,
        of: usize,
    },
    /// The poll was used, but some entries were unusable (each named); a booking klar knew
    /// under such an entry stays in force as it was until the source sends it readable again.
    Unusable {
        problems: Vec<String>,
    },
}

/// The guard's decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// The bookings in force now (cancelled ones included until they end).
    pub bookings: Vec<Booking>,
    /// The new last good snapshot to store, when the poll succeeded.
    pub store: Option<Snapshot>,
    pub health: Health,
}

/// Keeps what it needs between polls of one source: the vanish set awaiting confirmation.
#[derive(Debug, Clone, Default)]
pub struct SnapshotGuard {
    config: GuardConfig,
    retention: Retention,
    pending: Option<BTreeSet<BookingId>>,
}

impl SnapshotGuard {
    pub fn new(config: GuardConfig) -> Self {
        SnapshotGuard {
            config,
            retention: Retention::default(),
            pending: None,
        }
    }

    /// How long a booking that has ended stays in force: the site's (`SiteConfig::retention`).
    pub fn with_retention(mut self, retention: Retention) -> Self {
        self.retention = retention;
        self
    }

    /// Follows a changed site config.
    pub fn set_retention(&mut self, retention: Retention) {
        self.retention = retention;
    }

    /// Whether a held-back poll awaits confirmation.
    pub fn is_holding(&self) -> bool {
        self.pending.is_some()
    }

    /// Decides what is in force after a poll of `source` at `now`.
    pub fn accept(
        &mut self,
        source: &SourceName,
        last_good: Option<&Snapshot>,
        poll: Result<&PollOutcome, &SourceError>,
        now: DateTime<Utc>,
    ) -> Verdict {
        let degraded = |error: String, transient: bool| Verdict {
            bookings: last_good.map(|s| s.bookings.clone()).unwrap_or_default(),
            store: None,
            health: Health::Degraded {
                error,
                transient,
                as_of: last_good.map(|s| s.taken_at),
            },
        };
        let poll = match poll {
            Ok(p) => p,
            Err(e) => {
                warn!(source = %source, error = %e, "Poll failed; the last good snapshot stays in force.");
                return degraded(e.to_string(), e.is_transient());
            }
        };
        // Unusable entries are set aside one by one; what klar knew under them stays as it was.
        let mut problems: Vec<String> = poll.unusable.iter().map(|u| u.problem.clone()).collect();
        let mut keep: BTreeSet<BookingId> = poll
            .unusable
            .iter()
            .flat_map(|u| u.ids.iter().cloned())
            .collect();
        let mut usable: Vec<&Booking> = Vec::with_capacity(poll.bookings.len());
        for b in &poll.bookings {
            match b.validate() {
                Ok(()) => usable.push(b),
                Err(problem) => {
                    problems.push(format!("booking {}: {problem}", b.id));
                    keep.insert(b.id.clone());
                }
            }
        }
        for problem in &problems {
            warn!(source = %source, error = %problem, "Unusable booking set aside; what klar knew of it stays in force.");
        }
        let previous: &[Booking] = last_good.map(|s| s.bookings.as_slice()).unwrap_or(&[]);
        let reported: BTreeMap<&BookingId, &Booking> = usable.iter().map(|b| (&b.id, *b)).collect();
        let in_window = |b: &Booking| b.start < poll.window.to && poll.window.from < b.end;
        let live_before: Vec<&Booking> = previous
            .iter()
            .filter(|b| b.status != BookingStatus::Cancelled && b.end > now && in_window(b))
            .filter(|b| !keep.contains(&b.id))
            .collect();
        let vanished: BTreeSet<BookingId> = live_before
            .iter()
            .filter(|b| {
                reported
                    .get(&b.id)
                    .is_none_or(|r| r.status == BookingStatus::Cancelled)
            })
            .map(|b| b.id.clone())
            .collect();
        let mass = vanished.len() > self.config.vanish_min
            && vanished.len() as f64 > self.config.vanish_fraction * live_before.len() as f64;
        let mut hold: BTreeSet<BookingId> = BTreeSet::new();
        let mut health = Health::Healthy;
        if mass {
            let confirmed = self
                .pending
                .as_ref()
                .is_some_and(|p| p.intersection(&vanished).count() * 2 >= p.len());
            if confirmed {
                info!(source = %source, vanished = vanished.len(), of = live_before.len(), "Mass cancellation confirmed by a second poll; applying it.");
                self.pending = None;
            } else {
                warn!(source = %source, vanished = vanished.len(), of = live_before.len(), "Most bookings vanished at once; holding them in force until the next poll confirms.");
                health = Health::HeldBack {
                    vanished: vanished.iter().cloned().collect(),
                    of: live_before.len(),
                };
                hold = vanished.clone();
                self.pending = Some(vanished);
            }
        } else {
            self.pending = None;
        }
        let retention = self.retention;
        let mut merged: BTreeMap<BookingId, Booking> = BTreeMap::new();
        // Bookings that ended while klar knew them: kept as they were, never cancelled.
        let mut frozen: BTreeSet<&BookingId> = BTreeSet::new();
        for b in previous {
            if !retention.in_force(b, now) {
                continue;
            }
            if b.end <= now {
                let extended = reported
                    .get(&b.id)
                    .is_some_and(|r| r.end > now && r.status != BookingStatus::Cancelled);
                if !extended {
                    frozen.insert(&b.id);
                    merged.insert(b.id.clone(), b.clone());
                }
                continue;
            }
            if hold.contains(&b.id) || (keep.contains(&b.id) && !reported.contains_key(&b.id)) {
                merged.insert(b.id.clone(), b.clone());
            } else if !reported.contains_key(&b.id) {
                if in_window(b) {
                    // The source is the authority inside its window: gone means cancelled.
                    let mut gone = b.clone();
                    if gone.status != BookingStatus::Cancelled {
                        gone.status = BookingStatus::Cancelled;
                        gone.attrs
                            .entry("klar.cancelled".into())
                            .or_insert_with(|| "missing from the source".into());
                    }
                    merged.insert(b.id.clone(), gone);
                } else {
                    merged.insert(b.id.clone(), b.clone());
                }
            }
        }
        if matches!(health, Health::Healthy) && !problems.is_empty() {
            health = Health::Unusable { problems };
        }
        for b in usable {
            if hold.contains(&b.id) || frozen.contains(&b.id) || !retention.in_force(b, now) {
                continue;
            }
            merged.insert(b.id.clone(), b.clone());
        }
        let mut bookings: Vec<Booking> = merged.into_values().collect();
        bookings.sort_by(|a, b| (a.start, &a.id).cmp(&(b.start, &b.id)));
        let snapshot = Snapshot {
            source: source.clone(),
            taken_at: now,
            window: poll.window,
            bookings: bookings.clone(),
        };
        Verdict {
            bookings,
            store: Some(snapshot),
            health,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(h: i64) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-23T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
            + chrono::Duration::hours(h)
    }

    fn b(id: &str, from: i64, to: i64) -> Booking {
        Booking {
            id: id.into(),
            source: "halls".into(),
            resource: "1".into(),
            resource_name: None,
            location: None,
            title: id.into(),
            start: t(from),
            end: t(to),
            setup_minutes: 0,
            teardown_minutes: 0,
            status: BookingStatus::Confirmed,
            responsible: None,
            attendees: vec![],
            tags: vec![],
            attrs: BTreeMap::new(),
        }
    }

    fn poll(from: i64, to: i64, bookings: Vec<Booking>) -> PollOutcome {
        PollOutcome {
            window: Window::new(t(from), t(to)).unwrap(),
            bookings,
            unusable: Vec::new(),
        }
    }

    fn ids(v: &Verdict) -> Vec<(String, BookingStatus)> {
        v.bookings
            .iter()
            .map(|b| (b.id.0.clone(), b.status))
            .collect()
    }

    fn snap(v: &Verdict) -> Snapshot {
        v.store.clone().unwrap()
    }

    #[test]
    fn a_failed_or_malformed_poll_keeps_the_last_snapshot() {
        let mut g = SnapshotGuard::default();
        let first = g.accept(
            &"halls".into(),
            None,
            Ok(&poll(0, 24, vec![b("a", 10, 11), b("b", 12, 13)])),
            t(0),
        );
        assert_eq!(first.health, Health::Healthy);
        let last = snap(&first);
        let err = SourceError::Malformed {
            what: "WinKAS".into(),
            message: "not JSON".into(),
        };
        let v = g.accept(&"halls".into(), Some(&last), Err(&err), t(1));
        assert_eq!(v.bookings, last.bookings);
        assert!(v.store.is_none());
        assert!(
            matches!(v.health, Health::Degraded { transient: true, as_of: Some(at), .. } if at == t(0))
        );
        // An unusable booking is set aside on its own and the rest of the poll is used: "a"
        // comes back ending before it starts (kept as klar knew it), "b" is gone (cancelled),
        // "c" is new; the source says which booking is unusable and why.
        let mut garbled = b("a", 14, 15);
        garbled.end = garbled.start;
        let v = g.accept(
            &"halls".into(),
            Some(&last),
            Ok(&poll(1, 25, vec![garbled, b("c", 16, 17)])),
            t(1),
        );
        let got: Vec<(String, BookingStatus)> = ids(&v);
        assert_eq!(
            got,
            [
                ("a".to_owned(), BookingStatus::Confirmed),
                ("b".to_owned(), BookingStatus::Cancelled),
                ("c".to_owned(), BookingStatus::Confirmed),
            ]
        );
        assert_eq!(v.bookings[0], last.bookings[0]);
        assert!(
            matches!(&v.health, Health::Unusable { problems } if problems.len() == 1 && problems[0].starts_with("booking a: ")),
            "{:?}",
            v.health
        );
        assert!(snap(&v).bookings.contains(&last.bookings[0]));
        // An entry the source could not read at all, naming a known booking: kept the same way.
        let unreadable = PollOutcome {
            unusable: vec![super::super::Unusable {
                ids: vec!["b".into()],
                problem: "booking #1: no Start".into(),
            }],
            ..poll(1, 25, vec![b("a", 10, 11)])
        };
        let v = g.accept(&"halls".into(), Some(&last), Ok(&unreadable), t(1));
        assert_eq!(v.bookings, last.bookings);
        assert!(
            matches!(&v.health, Health::Unusable { problems } if problems == &["booking #1: no Start"])
        );
        // No snapshot at all and a failure: nothing in force, and degraded, not healthy.
        let v = g.accept(&"halls".into(), None, Err(&err), t(1));
        assert!(v.bookings.is_empty() && matches!(v.health, Health::Degraded { as_of: None, .. }));
    }

    #[test]
    fn missing_inside_the_window_is_cancelled_outside_it_is_kept() {
        let mut g = SnapshotGuard::default();
        let last = snap(&g.accept(
            &"halls".into(),
            None,
            Ok(&poll(
                0,
                48,
                vec![
                    b("a", 10, 11),
                    b("b", 12, 13),
                    b("c", 14, 15),
                    b("d", 16, 17),
                    b("far", 40, 41),
                ],
            )),
            t(0),
        ));
        // The next poll covers only 0..24 and lacks "b"; "far" lies outside and stays.
        let v = g.accept(
            &"halls".into(),
            Some(&last),
            Ok(&poll(
                0,
                24,
                vec![b("a", 10, 11), b("c", 14, 15), b("d", 16, 17)],
            )),
            t(1),
        );
        assert_eq!(v.health, Health::Healthy);
        assert_eq!(
            ids(&v),
            vec![
                ("a".into(), BookingStatus::Confirmed),
                ("b".into(), BookingStatus::Cancelled),
                ("c".into(), BookingStatus::Confirmed),
                ("d".into(), BookingStatus::Confirmed),
                ("far".into(), BookingStatus::Confirmed),
            ]
        );
        // An ended booking stays as it was (its after-margins end on their own) until the day
        // its longest after-margin reaches has ended; then it drops out.
        let v = g.accept(
            &"halls".into(),
            Some(&snap(&v)),
            Ok(&poll(12, 36, vec![b("c", 14, 15), b("d", 16, 17)])),
            t(12),
        );
        assert_eq!(
            ids(&v),
            vec![
                ("a".into(), BookingStatus::Confirmed),
                ("b".into(), BookingStatus::Cancelled),
                ("c".into(), BookingStatus::Confirmed),
                ("d".into(), BookingStatus::Confirmed),
                ("far".into(), BookingStatus::Confirmed),
            ]
        );
        let v = g.accept(
            &"halls".into(),
            Some(&snap(&v)),
            Ok(&poll(23, 47, vec![])),
            t(23),
        );
        assert_eq!(
            ids(&v).iter().map(|x| x.0.as_str()).collect::<Vec<_>>(),
            vec!["far"]
        );
    }

    #[test]
    fn a_booking_that_ended_is_never_cancelled() {
        let mut g = SnapshotGuard::default();
        // 11:20-11:34 local (10:20Z-10:34Z), polled before it ends.
        let mut short = b("short", 10, 11);
        short.start = t(10) + chrono::Duration::minutes(20);
        short.end = t(10) + chrono::Duration::minutes(34);
        let last = snap(&g.accept(
            &"halls".into(),
            None,
            Ok(&poll(9, 33, vec![short.clone()])),
            t(9),
        ));
        // Six seconds after its end the source no longer reports it, although the polled window
        // covers it: it ended, so it is kept as it was, not cancelled.
        let after = short.end + chrono::Duration::seconds(6);
        let v = g.accept(
            &"halls".into(),
            Some(&last),
            Ok(&PollOutcome {
                window: Window::new(t(9), t(33)).unwrap(),
                bookings: vec![],
                unusable: vec![],
            }),
            after,
        );
        assert_eq!(v.bookings, vec![short.clone()]);
        assert_eq!(v.health, Health::Healthy);
        // Reported cancelled after its end (deleted in the vendor system afterwards): still kept
        // as it was.
        let mut deleted = short.clone();
        deleted.status = BookingStatus::Cancelled;
        let v = g.accept(
            &"halls".into(),
            Some(&snap(&v)),
            Ok(&poll(9, 33, vec![deleted])),
            after + chrono::Duration::minutes(1),
        );
        assert_eq!(v.bookings, vec![short.clone()]);
        // Extended by the source (a later end): the new end replaces it.
        let mut extended = short.clone();
        extended.end = t(12);
        let v = g.accept(
            &"halls".into(),
            Some(&snap(&v)),
            Ok(&poll(9, 33, vec![extended.clone()])),
            after + chrono::Duration::minutes(2),
        );
        assert_eq!(v.bookings, vec![extended]);
        // A booking the guard never saw, reported after it ended: in force for its margins.
        let mut g = SnapshotGuard::default();
        let v = g.accept(
            &"halls".into(),
            None,
            Ok(&poll(9, 33, vec![short.clone()])),
            after,
        );
        assert_eq!(v.bookings, vec![short]);
    }

    #[test]
    fn a_mass_vanish_is_held_back_until_the_next_poll_confirms_it() {
        let all: Vec<Booking> = (0..6)
            .map(|i| b(&format!("x{i}"), 10 + i, 11 + i))
            .collect();
        let mut g = SnapshotGuard::default();
        let last = snap(&g.accept(&"halls".into(), None, Ok(&poll(0, 24, all.clone())), t(0)));
        // 5 of 6 vanish at once (> 50 % and > 3): held back, a new booking still arrives.
        let glitch = poll(0, 24, vec![all[0].clone(), b("new", 20, 21)]);
        let v = g.accept(&"halls".into(), Some(&last), Ok(&glitch), t(1));
        assert!(matches!(&v.health, Health::HeldBack { vanished, of: 6 } if vanished.len() == 5));
        assert_eq!(v.bookings.len(), 7);
        assert!(
            v.bookings
                .iter()
                .all(|b| b.status == BookingStatus::Confirmed)
        );
        assert!(g.is_holding());
        // The glitch passes: everything is back, nothing was cancelled.
        let v2 = g.accept(
            &"halls".into(),
            Some(&snap(&v)),
            Ok(&poll(0, 24, [all.clone(), vec![b("new", 20, 21)]].concat())),
            t(2),
        );
        assert_eq!(v2.health, Health::Healthy);
        assert!(!g.is_holding());
        // A real mass cancellation: held once, then confirmed and applied.
        let v3 = g.accept(&"halls".into(), Some(&snap(&v2)), Ok(&glitch), t(3));
        assert!(matches!(v3.health, Health::HeldBack { .. }));
        let v4 = g.accept(&"halls".into(), Some(&snap(&v3)), Ok(&glitch), t(4));
        assert_eq!(v4.health, Health::Healthy);
        let cancelled = v4
            .bookings
            .iter()
            .filter(|b| b.status == BookingStatus::Cancelled)
            .count();
        assert_eq!(cancelled, 5);
    }

    #[test]
    fn few_cancellations_are_not_a_mass_vanish() {
        let all: Vec<Booking> = (0..3)
            .map(|i| b(&format!("x{i}"), 10 + i, 11 + i))
            .collect();
        let mut g = SnapshotGuard::default();
        let last = snap(&g.accept(&"halls".into(), None, Ok(&poll(0, 24, all)), t(0)));
        // All 3 vanish, but 3 is not more than vanish_min = 3.
        let v = g.accept(&"halls".into(), Some(&last), Ok(&poll(0, 24, vec![])), t(1));
        assert_eq!(v.health, Health::Healthy);
        assert!(
            v.bookings
                .iter()
                .all(|b| b.status == BookingStatus::Cancelled)
        );
    }
}
